// The whole proxy in one object: resolves the configuration into a snapshot, binds the
// listeners, and runs the workers, the health checker and the admin listener. main() and the
// integration tests drive it the same way.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "balancer/snapshot.h"
#include "config/address.h"
#include "config/config.h"
#include "health/checker.h"
#include "health/publisher.h"
#include "proxy/acme/challenge_tokens.h"
#include "proxy/acme/manager.h"
#include "proxy/admin/acme_status.h"
#include "proxy/admin/access_log.h"
#include "proxy/admin/admin_listener.h"
#include "proxy/admin/metrics.h"
#include "proxy/admin/metrics_collector.h"
#include "proxy/admin/status_collector.h"
#include "proxy/core/listener_tls.h"
#include "proxy/core/pool_tls.h"
#include "proxy/core/sticky_cookie.h"
#include "proxy/core/worker.h"
#include "proxy/lifecycle/inherited_sockets.h"
#include "proxy/tls/ticket_keys.h"

namespace ferry::proxy {

// Host name resolution, replaceable in tests (a resolver they control on loopback).
using Resolver = std::function<std::vector<sockaddr_storage>(const config::HostPort&, std::string* error)>;

class Server {
 public:
  explicit Server(config::Config config, Resolver resolver = nullptr);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Before start(): listening sockets to take over instead of binding (from systemd's socket
  // activation or the ferry this one replaces), matched to listen and admin by name or address.
  void inherit(lifecycle::InheritedSockets sockets) { inherited_ = std::move(sockets); }
  // Before start(): the session-ticket key ring of the ferry this one replaces.
  void inherit_ticket_ring(std::vector<uint8_t> ring) { inherited_ring_ = std::move(ring); }
  // Before start(): the backends it had drained from the admin API, as (pool, address); those
  // the file still lists start drained.
  void inherit_drained(const std::vector<std::pair<std::string, std::string>>& drained) {
    drained_by_hand_.insert(drained.begin(), drained.end());
  }
  // The backends drained from the admin API now, for an upgrade's new process.
  std::vector<std::pair<std::string, std::string>> drained_backends() const;

  // Before start(): how the ACME thread talks and tells time (tests: short limits, a clock).
  void set_acme_options(acme::ManagerOptions options) { acme_options_ = std::move(options); }
  // The ACME thread, or null without an acme section (tests read its counters and wake it).
  acme::Manager* acme() { return acme_.get(); }

  // Binds (or takes over) and starts everything. False (with *error) if anything could not
  // start; nothing is left running then.
  bool start(std::string* error);

  // For a zero-downtime upgrade: every listening socket (each listen address's, named as
  // written, then the admin's) and the ticket key ring (secret: wipe it once sent).
  std::vector<lifecycle::HandoverSocket> handover_sockets() const;
  std::vector<uint8_t> export_ticket_ring() const;
  // The new process serves: stop the admin listener (the new one answers on the same socket),
  // then drain() as on SIGTERM.
  void hand_over();

  // Drains a backend by hand (no new requests, in-flight ones finish, health checks go on), or
  // makes it ready again; the state survives reloads while the backend stays in the file.
  // `address` as written in the file. NotFound names what was unknown.
  enum class BackendControl { Done, NoSuchPool, NoSuchBackend };
  BackendControl set_drained(const std::string& pool, const std::string& address, bool drained);
  // Any thread: stop accepting, let in-flight requests finish within shutdown_grace. Idempotent.
  void drain();
  // Blocks until every worker has finished, then stops the checker and the admin listener.
  void wait();

  // Applies `next` without dropping connections: backends, weights, balancer, health checks,
  // timeouts, limits, buffers, retries, access log. listen, workers and admin need a restart:
  // a change to them rejects the whole reload. Counts ferry_config_reloads_total either way.
  // Any thread but a worker's; reloads are serialised.
  bool reload(const config::Config& next, std::string* error);
  // Counts a reload that failed before reaching reload() (the file did not load).
  void count_failed_reload();
  // Resolves the backends' names again and publishes a new backend set if any address
  // changed. Backends that stay keep their health, load and pooled connections.
  bool resolve_now(std::string* error);

  // Bound ports, in the order of config.listen (useful with port 0).
  const std::vector<uint16_t>& listen_ports() const { return listen_ports_; }
  uint16_t admin_port() const { return admin_ ? admin_->port() : 0; }
  config::Config config() const;
  health::Publisher& publisher() { return publisher_; }
  unsigned worker_count() const { return static_cast<unsigned>(workers_.size()); }
  // Workers that have served at least one request (any thread).
  unsigned workers_serving() const;
  uint64_t requests_served() const;
  const MetricsCollector* collector() const { return collector_.get(); }
  // Reopens the access log file (SIGUSR1). Any thread.
  void reopen_access_log();

 private:
  static int64_t unix_now();
  static std::string join_lines(const std::vector<std::string>& lines);
  // The workers' settings for `config`, with the TLS contexts of `tls` and `pool_tls`.
  Settings settings_for(const config::Config& config, const ListenerTls& tls,
                        const std::shared_ptr<tls::TicketKeys>& ticket_keys, const PoolTlsContexts& pool_tls);
  bool build_snapshot(const config::Config& config, const balancer::Snapshot* previous,
                      balancer::Snapshot* out, std::string* error);
  void handle_admin(const AdminRequest& request, AdminResponse* response);
  // POST /pools/NAME/backends/ADDRESS/drain and .../ready.
  void handle_admin_control(const AdminRequest& request, AdminResponse* response);
  // The sockets of one listen address for every worker: taken over when inherited, else bound.
  bool listen_on(uint32_t index, const std::string& listen, unsigned workers,
                 std::vector<std::vector<ListenFd>>* fds, std::string* error);
  bool start_checker(const config::HealthCheck& settings);
  // The ACME thread's new certificate (or the stored one, at start): to every listener serving it.
  void publish_acme(std::shared_ptr<const tls::CertificateSet> certificates);

  mutable std::mutex mutex_;  // guards config_ and access_log_; held through reload
  config::Config config_;
  // Session-ticket keys: one ring for the process, kept across reloads (a reload would
  // otherwise end every client's resumption). Rotated by worker 0's timer.
  std::shared_ptr<tls::TicketKeys> ticket_keys_;
  ListenerTls listener_tls_;
  PoolTlsContexts pool_tls_;  // the pools' client contexts in use; guarded by mutex_
  const StickyKey sticky_key_ = make_sticky_key();  // for every pool's stickiness cookie  // the contexts serving now; guarded by mutex_
  Resolver resolver_;
  health::Publisher publisher_;
  WorkerShared shared_;
  MetricSlots slots_;        // per backend (pool and address)
  RouteSlots route_slots_;  // per route name
  std::shared_ptr<AccessLogSink> access_log_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<uint16_t> listen_ports_;
  lifecycle::InheritedSockets inherited_;  // consumed by start()
  std::vector<uint8_t> inherited_ring_;     // likewise (wiped)
  std::vector<lifecycle::HandoverSocket> handover_;  // one per listening socket, not per copy
  // Backends drained from the admin API, as (pool, address as written); guarded by mutex_.
  std::set<std::pair<std::string, std::string>> drained_by_hand_;
  std::unique_ptr<health::Checker> checker_;
  std::atomic<health::Checker*> checker_ptr_{nullptr};  // read by workers' on_refused
  std::unique_ptr<MetricsCollector> collector_;
  std::unique_ptr<StatusCollector> status_;  // GET /; the admin thread's only
  std::unique_ptr<AdminServer> admin_;
  std::atomic<uint64_t> reloads_ok_{0};
  std::atomic<uint64_t> reloads_failed_{0};
  // Bumped by every applied reload; snapshots and workers' settings carry it (guarded by mutex_).
  uint64_t config_generation_ = 1;
  bool stopped_ = false;
  // ACME: the answers workers give to HTTP-01, what the admin shows, and the thread. The
  // latest certificate and the listeners it goes to are guarded by acme_mutex_ (the ACME
  // thread publishes, a reload swaps the listeners).
  acme::ChallengeTokens acme_tokens_;
  AcmeBoard acme_board_;
  acme::ManagerOptions acme_options_;
  std::mutex acme_mutex_;
  std::shared_ptr<const tls::CertificateSet> acme_certificate_;
  std::vector<std::shared_ptr<tls::PublishedContext>> acme_listeners_;
  std::unique_ptr<acme::Manager> acme_;  // declared last: stopped and gone before the rest
};

}  // namespace ferry::proxy
