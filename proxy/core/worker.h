// One event-loop thread. It owns its loop and everything on it: its listening sockets, client
// and backend connections, the keep-alive pool, the balancer and its hold on the snapshot.
// Other threads reach it only through uv_async handles.
#pragma once

#include <uv.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <list>
#include <mutex>
#include <optional>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "balancer/balancer.h"
#include "balancer/random.h"
#include "health/publisher.h"
#include "proxy/admin/access_log.h"
#include "proxy/admin/metrics.h"
#include "proxy/core/request_id.h"
#include "proxy/core/buffer.h"
#include "proxy/core/splice_pipe.h"
#include "proxy/core/conn_pool.h"
#include "proxy/core/exchange.h"
#include "proxy/core/local_snapshot.h"
#include "proxy/core/peer_accept.h"
#include "proxy/core/read_ring.h"
#include "proxy/core/settings.h"
#include "proxy/core/write_batch.h"
#include "proxy/limits/client_rate_limiter.h"
#include "proxy/tls/client_session_cache.h"

namespace ferry::proxy {

class ClientConn;

namespace acme {
class ChallengeTokens;
}

// State shared by every worker. Fields are set before workers start and read-only after,
// except the atomics.
struct WorkerShared {
  health::Publisher* publisher = nullptr;
  // Client connections across all workers: touched on accept and close only.
  std::atomic<uint32_t> connections{0};
  // A connect to a backend was refused (any worker thread). Set before start; may be empty.
  std::function<void(uint64_t backend_set, std::size_t index)> on_refused;
  // Every client's rate-limit buckets, for the whole process so a limit holds across workers;
  // any worker thread, lock-free. Kept across reloads: a reload changes limits, not buckets.
  limits::ClientRateLimiter rate_limiter;
  // The HTTP-01 answers every plain listener gives (any worker, lock-free); null without acme.
  const acme::ChallengeTokens* acme_tokens = nullptr;
};

// A bound, listening-ready socket a worker adopts, and the listener (index into
// Settings::listeners) whose connections it accepts.
struct ListenFd {
  int fd = -1;
  uint32_t listener = 0;
};

class Worker {
 public:
  // `listen_fds`: usually one SO_REUSEPORT socket per listening address; sockets inherited from
  // systemd or an upgrade may make it several per address, or one shared with other workers.
  Worker(unsigned index, WorkerShared& shared, const Settings& settings,
         std::vector<ListenFd> listen_fds, std::shared_ptr<AccessLogSink> access_log);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void start();  // spawns the thread
  // Any thread: stop accepting, finish in-flight requests within the grace period, then end
  // the loop. Idempotent.
  void drain();
  void join();
  // Any thread: new settings (and access log) from a reload, adopted on the loop at once.
  // Connections read them from their next step on.
  void update(const Settings& settings, std::shared_ptr<AccessLogSink> access_log);
  // Any thread (a scrape).
  const WorkerMetrics& metrics() const { return metrics_; }

  // ---- loop thread only, for connections ----
  uv_loop_t* loop() { return &loop_; }
  unsigned index() const { return index_; }
  const Settings& settings() const { return settings_; }
  // A TLS handshake with `client_ip` failed: logged at most once a minute per address.
  void note_tls_failure(const char* client_ip, const std::string& why);
  BlockPool& blocks() { return blocks_; }
  WriteBatch& writes() { return writes_; }
  // A connection's socket is read through the worker's ring (read_ring.h) where the kernel
  // allows one: watched once, told when its reading starts again and before it closes.
  void read_through_ring(uv_stream_t* s) {
    if (reads_ != nullptr) reads_->watch(s);
  }
  // A socket just accepted, reading: its first read goes with this turn's ring reads
  // (ReadRing::read_soon). False: there is no ring, or it cannot take the read.
  bool read_soon(uv_stream_t* s) { return reads_ != nullptr && reads_->read_soon(s); }
  bool has_read_ring() const { return reads_ != nullptr; }
  // The stream whose read_soon() read is being handed over, or null.
  const uv_stream_t* first_read() const { return reads_ != nullptr ? reads_->first_read() : nullptr; }
  void reading_resumed(uv_stream_t* s) {
    if (reads_ != nullptr) reads_->resumed(s);
  }
  void reading_ends(uv_stream_t* s) {
    if (reads_ != nullptr) reads_->forget(s);
  }
  SplicePipe& splice_pipe() { return splice_pipe_; }
  ConnPool& pool() { return pool_; }
  // The latest TLS session with each backend of a TLS pool (pool_tls.h names the keys), so a
  // new connection resumes instead of paying a full handshake.
  tls::ClientSessionCache& backend_sessions() { return backend_sessions_; }
  // The balancer of pool `pool` of the routing in use (current_'s).
  balancer::Balancer& balancer(uint32_t pool) { return *balancers_[pool]; }
  // Whether the balancers are the ones for `snap`'s pools: a request that started before a
  // reload may outlive them (its pools' balancers are gone or now serve other pools).
  bool balancers_fit(const LocalSnapshot* snap) const { return snap->routing == balancers_routing_; }
  // The number of the next request forward route `route` splits (a per-worker counter).
  uint64_t next_split(uint32_t route) { return route < route_splits_.size() ? route_splits_[route]++ : 0; }
  WorkerShared& shared() { return shared_; }
  WorkerMetrics& metrics() { return metrics_; }
  AccessLogBuffer* access_log() { return access_log_.enabled() ? &access_log_ : nullptr; }
  RequestIdSource& request_ids() { return request_ids_; }
  balancer::SplitMix64& random() { return random_; }  // per-worker draws (slow start)
  bool draining() const { return draining_; }
  // The snapshot to pick from; the caller takes a use and gives it back with release_snapshot.
  LocalSnapshot* acquire_snapshot();
  void release_snapshot(LocalSnapshot* snap);

  // Every client connection of this worker (HTTP/2 streams aside) is in one of its lists from
  // client_opened to client_closed: an idle list, or, while it holds an exchange, the active
  // list. So the lists together are every connection, without a second pair of links in each.
  void client_opened(ClientConn* conn);  // into the active list
  void client_closed(ClientConn* conn);
  ExchangePool& exchanges() { return exchanges_; }
  // Connections between requests hold no exchange and no timer of their own: they wait in a
  // list per worker, oldest first, swept by one timer. New connections get client_header for
  // their first byte, connections between requests client_idle. idle_remove moves a connection
  // back to the active list; it is fine for a connection in no idle list.
  enum class IdleKind : uint8_t { New = 1, BetweenRequests = 2 };
  static constexpr uint8_t kActiveList = 3;
  void idle_add(ClientConn* conn, IdleKind kind);
  void idle_remove(ClientConn* conn);
  // Milliseconds from loop time `now` to an idle deadline kept modulo 2^32 (negative: past).
  // Exact while deadlines lie within 24 days of now; client_header and client_idle are at
  // most 24 hours.
  static int64_t ms_until(uint32_t deadline, uint64_t now) {
    return static_cast<int32_t>(deadline - static_cast<uint32_t>(now));
  }

  // Any thread (a relaxed read of a counter only this worker writes).
  uint64_t requests_served() const { return requests_served_.load(std::memory_order_relaxed); }
  void count_request() {
    requests_served_.store(requests_served_.load(std::memory_order_relaxed) + 1,
                           std::memory_order_relaxed);
  }

 private:
  static void on_connection(PeerAcceptListener& accepting, int status, const sockaddr_storage* peer);
  static void on_snapshot_nudge(uv_async_t* handle);
  static void on_control_nudge(uv_async_t* handle);
  static void on_grace_timeout(uv_timer_t* handle);
  static void on_log_flush(uv_timer_t* handle);
  static void on_ticket_tick(uv_timer_t* handle);
  static void on_idle_sweep(uv_timer_t* handle);
  static void on_spare_check(uv_timer_t* handle);
  void arm_idle_sweep();
  void apply_update();
  void run();
  void adopt_latest_snapshot();
  void begin_drain();
  void maybe_finish_drain();
  void close_everything();

  unsigned index_;
  WorkerShared& shared_;
  Settings settings_;
  std::vector<ListenFd> listen_fds_;
  uv_loop_t loop_{};
  // One per adopted socket.
  struct Listener : PeerAcceptListener {
    Worker* worker = nullptr;
    uint32_t index = 0;  // into Settings::listeners
  };
  std::vector<std::unique_ptr<Listener>> listeners_;
  uv_async_t snapshot_nudge_{};
  uv_async_t control_nudge_{};
  uv_timer_t grace_timer_{};
  uv_timer_t log_flush_timer_{};
  uv_timer_t ticket_timer_{};
  uv_timer_t spare_timer_{};  // frees the block and exchange spares a period did not use
  std::unordered_map<std::string, uint64_t> tls_failures_logged_;  // client address -> loop ms
  uv_timer_t idle_timer_{};
  uint64_t idle_timer_due_ = 0;  // loop time the idle sweep is armed for; 0 = not armed
  struct ClientList {
    ClientConn* head = nullptr;  // idle lists: the oldest, so the first to expire
    ClientConn* tail = nullptr;
  };
  ClientList lists_[3];  // [New - 1], [BetweenRequests - 1], [kActiveList - 1]
  void link(ClientConn* conn, uint8_t list);  // at the tail
  void unlink(ClientConn* conn);
  // Every connection in the lists, for a walk that may close them (closing one unlinks it).
  std::vector<ClientConn*> all_clients() const;
  WorkerMetrics metrics_;
  AccessLogBuffer access_log_;
  RequestIdSource request_ids_;
  balancer::SplitMix64 random_{0x2545F4914F6CDD1DULL};
  BlockPool blocks_;
  WriteBatch writes_;  // before every queue that joins it
  std::unique_ptr<ReadRing> reads_;  // opened in run(), on the loop's thread
  SplicePipe splice_pipe_;
  ExchangePool exchanges_;
  ConnPool pool_;
  tls::ClientSessionCache backend_sessions_;  // outlives every UpstreamConn (they close first)
  std::vector<std::unique_ptr<balancer::Balancer>> balancers_;  // by pool of current_'s routing
  std::shared_ptr<const Routing> balancers_routing_;  // the routing balancers_ were made for
  std::vector<uint64_t> route_splits_;  // by route index
  void rebuild_balancers();
  // Drops the sessions of backends (or TLS settings) the snapshot in use no longer has.
  void prune_backend_sessions();
  LocalSnapshot* current_ = nullptr;
  std::list<LocalSnapshot> snapshots_;  // current and retired ones still in use
  std::size_t client_count_ = 0;
  std::atomic<uint64_t> requests_served_{0};  // written by this worker only
  bool draining_ = false;
  bool finished_ = false;
  std::atomic<bool> drain_requested_{false};  // written by any thread, read by the loop
  // A reload's new settings: written by the reloading thread, taken by the loop. Guarded by
  // update_mutex_, which is taken on reload only.
  std::mutex update_mutex_;
  std::optional<std::pair<Settings, std::shared_ptr<AccessLogSink>>> pending_update_;
  std::thread thread_;
};

}  // namespace ferry::proxy
