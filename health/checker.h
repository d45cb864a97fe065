// Active health checks on their own thread and uv loop: every `interval`, for each backend in
// the publisher's latest snapshot, connect, send GET <path>, read the status line, all within
// one `timeout`, and feed the result to that backend's HealthState. A Changed step becomes a new
// snapshot through Publisher::set_healthy and one line on stderr saying why. Backends of a pool
// with `tls:` are checked over HTTPS, verified as the workers verify them (a failed handshake is
// a failed check); the checker makes its own client contexts from the snapshot's settings.
#pragma once

#include <uv.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "config/config.h"
#include "health/health_state.h"
#include "health/publisher.h"
#include "health/status_match.h"
#include "proxy/tls/client_context.h"
#include "proxy/tls/client_session_cache.h"

namespace ferry::health {

// One backend's health as the checker last saw it: for /backends, metrics and logs.
struct BackendHealth {
  std::string name;             // Backend::name ("host:port" as configured)
  std::string pool = "default";
  bool healthy = true;
  bool checked = true;          // false: its pool has no health checks (or it is draining)
  std::string last_result;      // "GET /health answered 200", "connect refused", ...; empty before
                                // the first check
  std::chrono::system_clock::time_point last_check{};  // epoch before the first check
  uint32_t consecutive_passes = 0;
  uint32_t consecutive_failures = 0;
  uint64_t checks_ok = 0;       // ferry_health_checks_total{result="success"}
  uint64_t checks_failed = 0;   // ferry_health_checks_total{result="failure"}
};

class Checker {
 public:
  // `publisher` must outlive the Checker. `settings` apply to snapshots without pools (tests
  // and tools); a snapshot's pools carry their own. Nothing runs until start(). An invalid
  // expected_status (config validation should have caught it) falls back to 200-399, logged.
  Checker(Publisher& publisher, config::HealthCheck settings);
  ~Checker();  // stop()
  Checker(const Checker&) = delete;
  Checker& operator=(const Checker&) = delete;

  // Any thread but the health thread. Spawns the health thread and its loop. Returns false (and
  // logs) when libuv can't set the loop up. Calling it again, or after stop(), does nothing.
  bool start();

  // Any thread but the health thread. Idempotent. Closes every handle, joins the thread and
  // closes the loop; in-flight checks are abandoned.
  void stop();

  // Any thread. Takes effect on the health thread at once: thresholds apply to the next result,
  // a new interval restarts the schedule, path/host/timeout apply to the next check. With
  // `enabled` false, checks stop and every backend is made healthy (always eligible).
  void reconfigure(config::HealthCheck settings);

  // Any thread, typically a worker whose connect was refused. Marks backend `index` of
  // `backend_set` unhealthy at once (a new snapshot before this returns) and resets its state so
  // it takes healthy_threshold passing checks to come back. Ignored when the set is no longer
  // current, when checks are disabled (nothing would bring it back) or when not running.
  void report_refused(uint64_t backend_set, std::size_t index);

  // Any thread. One entry per backend of the current set, in snapshot order. With checks
  // disabled, every backend with its snapshot health and no check results.
  std::vector<BackendHealth> status() const;

  // After stop(): whether uv_loop_close returned 0, i.e. every handle was closed. For tests.
  bool closed_cleanly() const { return closed_cleanly_; }

 private:
  struct Target;
  struct Probe;

  // Health thread only, unless noted.
  void run();
  void on_wake();
  void service();  // drain the inbox, follow a new backend set, reconcile published health
  void apply_settings(std::shared_ptr<const config::HealthCheck> settings);
  void sync(const balancer::Snapshot& snap);
  // Backend `index`'s pool's checks (any thread).
  std::shared_ptr<const config::HealthCheck> settings_for(const balancer::Snapshot& snap,
                                                          std::size_t index) const;
  static std::string pool_name(const balancer::Snapshot& snap, std::size_t index);
  void schedule(Target& target, std::size_t position, std::size_t count);
  void close_target(Target& target);
  void start_probe(Target& target);
  void on_result(Target& target, bool ok, std::string text);
  void update_record(Target& target);
  void shutdown();
  static std::string target_key(const balancer::Snapshot& snap, std::size_t index);
  // A client context for `tls` (made on first use in each config generation; a CA file that
  // cannot be read gives null and the reason).
  struct TlsTrust {
    std::shared_ptr<const proxy::tls::ClientContext> context;
    std::string error;
  };
  const TlsTrust& trust_for(const config::PoolTls& tls);

  Publisher& publisher_;

  // Health thread only (before start(): the constructing thread).
  std::shared_ptr<const config::HealthCheck> settings_;  // for snapshots without pools
  uv_loop_t loop_{};
  uv_timer_t round_timer_{};
  uint64_t synced_set_ = 0;
  uint64_t synced_config_ = 0;
  bool synced_ = false;
  bool resync_ = false;  // settings changed: rebuild targets even if the set did not
  std::unordered_map<std::string, Target*> targets_;  // by target_key; freed in close_cb
  std::unordered_set<Probe*> probes_;  // every check in flight or draining; freed in close_cb
  // By verify and CA file; emptied when the configuration changes, so a reload reads the
  // files again.
  std::unordered_map<std::string, TlsTrust> tls_trusts_;
  // The latest session per target (by target key), so checks resume their handshakes.
  // Emptied with tls_trusts_: a session is never resumed under another trust.
  proxy::tls::ClientSessionCache tls_sessions_;

  // Set by start(), joined by stop(); both on the controlling thread.
  std::thread thread_;
  bool started_ = false;
  bool closed_cleanly_ = false;  // written by the health thread before it exits, read after join

  // Cross-thread inbox. inbox_mutex_ guards these and is held around uv_async_send, so nothing
  // sends to wake_ after shutdown begins. Also held while the health thread reconciles published
  // health, so a worker's report_refused never interleaves with it.
  mutable std::mutex inbox_mutex_;
  uv_async_t wake_{};
  bool running_ = false;          // wake_ is valid to send to
  bool stop_requested_ = false;
  std::shared_ptr<const config::HealthCheck> new_settings_;
  std::vector<std::string> refused_;  // target keys a worker reported refused

  // settings_ as any thread reads it (report_refused, status()); guarded by unpooled_mutex_.
  mutable std::mutex unpooled_mutex_;
  std::shared_ptr<const config::HealthCheck> unpooled_settings_;

  // status_mutex_ guards order_ and every Target's record; written by the health thread,
  // read by status() on any thread.
  mutable std::mutex status_mutex_;
  std::vector<Target*> order_;  // targets in snapshot order
  std::unordered_map<std::string, Target*> status_index_;  // order_ by target key
};

// "2s", "250ms", "2m": a duration as the configuration writes it. For messages.
std::string format_duration(config::Duration d);

}  // namespace ferry::health
