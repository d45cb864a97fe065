#include "proxy/core/worker.h"

#include <algorithm>
#include <chrono>

#include <unistd.h>

#include <unordered_set>
#include <utility>

#include "proxy/admin/log.h"
#include "proxy/core/client_conn.h"
#include "proxy/core/pool_tls.h"
#include "proxy/core/upstream_conn.h"

namespace ferry::proxy {

namespace {

uv_handle_t* as_handle(void* h) { return static_cast<uv_handle_t*>(h); }
constexpr int kBacklog = 511;
// How long an idle client connection may still bring a request once the worker drains.
constexpr uint64_t kDrainIdleMs = 1000;
// How often the spares a period left untaken (read blocks, exchanges) are freed. A steady load
// takes its spares again within a second; a burst's are gone a second or two after it.
constexpr uint64_t kSpareCheckMs = 1000;

}  // namespace

Worker::Worker(unsigned index, WorkerShared& shared, const Settings& settings,
               std::vector<ListenFd> listen_fds, std::shared_ptr<AccessLogSink> access_log)
    : index_(index),
      shared_(shared),
      settings_(settings),
      listen_fds_(std::move(listen_fds)),
      access_log_(std::move(access_log)),
      exchanges_(&loop_, blocks_, &writes_, &ClientConn::on_written, &ClientConn::on_timer) {
  // Handles are set up here, on the creating thread, so drain() can uv_async_send as soon as
  // the constructor returns; the loop then runs only on the worker's thread.
  uv_loop_init(&loop_);
  loop_.data = this;  // how a connection finds its worker (ClientConn::worker)
  writes_.start(&loop_);  // its ring comes in run(), on the worker's own thread
  uv_async_init(&loop_, &snapshot_nudge_, &Worker::on_snapshot_nudge);
  snapshot_nudge_.data = this;
  uv_async_init(&loop_, &control_nudge_, &Worker::on_control_nudge);
  control_nudge_.data = this;
  uv_timer_init(&loop_, &grace_timer_);
  grace_timer_.data = this;
  uv_timer_init(&loop_, &idle_timer_);
  idle_timer_.data = this;
  uv_timer_init(&loop_, &log_flush_timer_);
  log_flush_timer_.data = this;
  // Access log batches go to the writer at least every 100ms.
  uv_timer_start(&log_flush_timer_, &Worker::on_log_flush, 100, 100);
  uv_timer_init(&loop_, &ticket_timer_);
  ticket_timer_.data = this;
  uv_timer_init(&loop_, &spare_timer_);
  spare_timer_.data = this;
  uv_timer_start(&spare_timer_, &Worker::on_spare_check, kSpareCheckMs, kSpareCheckMs);
  // One worker rotates the process's session-ticket keys; rotate() is a no-op until due, so a
  // minute's tick keeps every rotation within a minute of its time.
  if (index_ == 0) uv_timer_start(&ticket_timer_, &Worker::on_ticket_tick, 60'000, 60'000);
  random_ = balancer::SplitMix64(0x2545F4914F6CDD1DULL * (index_ + 1));
  shared_.publisher->subscribe(&snapshot_nudge_);
  // The snapshot to serve from, before the thread starts: the Server makes workers under the
  // lock reloads take, so the latest snapshot is of these settings' configuration. Left to the
  // thread, a reload landing first would publish a snapshot of the next configuration before
  // this worker has its routes, and the worker would have none to serve a request with.
  adopt_latest_snapshot();
  for (const ListenFd& fd : listen_fds_) {
    auto listener = std::make_unique<Listener>();
    listener->worker = this;
    listener->index = fd.listener;
    const int rc = listen_with_peer(&loop_, *listener, fd.fd, kBacklog, &Worker::on_connection);
    if (rc != 0) log_error("worker %u: listen: %s", index_, uv_err_name(rc));
    listeners_.push_back(std::move(listener));
  }
}

Worker::~Worker() {
  join();
  if (uv_loop_close(&loop_) != 0) log_error("worker %u: loop closed with handles open", index_);
}

void Worker::start() {
  thread_ = std::thread([this] { run(); });
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::drain() {
  drain_requested_.store(true, std::memory_order_release);
  uv_async_send(&control_nudge_);
}

void Worker::run() {
  // The ring is opened here, not in the constructor, so that the thread which sets it up and
  // submits to it is the loop's. io_uring may interrupt the system calls of the thread that
  // submits (its completion work is run on that thread): libuv's loop retries, where a
  // blocking read on the constructing thread (a test's client, say) would fail with EINTR.
  std::string why_no_ring;
  std::unique_ptr<SocketRing> ring = SocketRing::open(&why_no_ring);
  const SocketRing* send_ring = ring.get();
  if (send_ring == nullptr && index_ == 0) log_info("sends go through send(2), not io_uring: %s", why_no_ring.c_str());
  writes_.use_ring(std::move(ring));
  if (send_ring != nullptr) {
    // One io_uring for both: see SocketRing::share.
    reads_ = ReadRing::open(
        &loop_, [](void* blocks, char* block) { static_cast<BlockPool*>(blocks)->put(block); }, &blocks_,
        &why_no_ring, send_ring);
    if (reads_ == nullptr && index_ == 0) log_info("reads go through libuv, not io_uring: %s", why_no_ring.c_str());
  }
  adopt_latest_snapshot();
  if (drain_requested_.load(std::memory_order_acquire)) begin_drain();
  uv_run(&loop_, UV_RUN_DEFAULT);
}

void Worker::on_connection(PeerAcceptListener& accepting, int status, const sockaddr_storage* peer) {
  const auto* listener = static_cast<const Listener*>(&accepting);
  Worker* w = listener->worker;
  if (status < 0) {
    // EMFILE and friends: log and go on; the listener stays, and accepting resumes once
    // descriptors free up.
    log_error("worker %u: accept: %s", w->index_, uv_err_name(status));
    return;
  }
  ClientConn::accept_from(*w, reinterpret_cast<uv_stream_t*>(&accepting.tcp), listener->index, peer);
}

void Worker::on_snapshot_nudge(uv_async_t* handle) {
  static_cast<Worker*>(handle->data)->adopt_latest_snapshot();
}

void Worker::rebuild_balancers() {
  const Routing& routing = *settings_.routing;
  std::vector<std::unique_ptr<balancer::Balancer>> next;
  for (const PoolSettings& pool : routing.pools) {
    std::unique_ptr<balancer::Balancer> kept;
    // A pool that stays with the same algorithm keeps its balancer (cursor, weights, ring).
    if (balancers_routing_ != nullptr) {
      const std::vector<PoolSettings>& old = balancers_routing_->pools;
      for (std::size_t i = 0; i < old.size() && i < balancers_.size(); ++i) {
        if (old[i].name == pool.name && old[i].balancer == pool.balancer && balancers_[i] != nullptr) {
          kept = std::move(balancers_[i]);
          break;
        }
      }
    }
    if (kept == nullptr) kept = balancer::make_balancer(pool.balancer, index_, 0x9e3779b97f4a7c15ULL * (index_ + 1));
    next.push_back(std::move(kept));
  }
  balancers_ = std::move(next);
  balancers_routing_ = settings_.routing;
  route_splits_.assign(routing.routes.routes().size(), index_);  // workers start apart in the split
}

void Worker::adopt_latest_snapshot() {
  balancer::SnapshotPtr latest = shared_.publisher->latest();
  if (!latest || (current_ != nullptr && current_->snapshot == latest && current_->routing == settings_.routing))
    return;
  // A reload publishes its snapshot before the workers get its routes: until both have
  // arrived, keep serving from the pair in use.
  if (latest->config_generation != settings_.routing->config_generation) return;
  const bool backends_changed =
      current_ == nullptr || current_->snapshot->backend_set != latest->backend_set;
  const bool routing_changed = current_ == nullptr || current_->routing != settings_.routing;
  // Backends whose drain time ran out: the requests and WebSockets still on them are cut. (A
  // drain that ended because its last request finished has nothing left to cut; a request that
  // picked a removed backend from an older snapshot, in the moment before this worker saw the
  // reload, is not cut either.)
  std::unordered_set<const void*> drain_over;
  if (backends_changed && current_ != nullptr) {
    const balancer::Snapshot& before = *current_->snapshot;
    uv_update_time(&loop_);
    const auto now = static_cast<int64_t>(uv_now(&loop_));
    for (std::size_t i = 0; i < before.size(); ++i) {
      if (before.is_draining(i) && before.drain_until_ms[i] != 0 && now >= before.drain_until_ms[i])
        drain_over.insert(before.backends[i].load.get());
    }
    for (const balancer::Backend& b : latest->backends) drain_over.erase(b.load.get());
  }
  if (current_ != nullptr) {
    current_->retired = true;
    if (current_->users == 0) release_snapshot(current_);
  }
  if (balancers_routing_ != settings_.routing) rebuild_balancers();
  snapshots_.push_back(LocalSnapshot{latest, settings_.routing, 0, false});
  current_ = &snapshots_.back();
  for (std::size_t p = 0; p < latest->pools.size() && p < balancers_.size(); ++p)
    balancers_[p]->on_snapshot(latest->pool(p));
  if (backends_changed) {
    // Pooled connections to backends that left the set, or are draining, close now.
    std::unordered_set<const void*> keep;
    for (std::size_t i = 0; i < latest->size(); ++i)
      if (!latest->is_draining(i)) keep.insert(latest->backends[i].load.get());
    for (UpstreamConn* c : pool_.take_all()) {
      if (keep.count(c->pool_key()) != 0) {
        pool_.put(c->pool_key(), c);
      } else {
        c->close();
      }
    }
    if (!drain_over.empty()) {
      for (ClientConn* c : all_clients()) {
        const void* key = c->backend_in_use();
        if (key != nullptr && drain_over.count(key) != 0) c->close();
      }
    }
  }
  if ((backends_changed || routing_changed) && backend_sessions_.size() > 0) prune_backend_sessions();
}

void Worker::prune_backend_sessions() {
  const balancer::Snapshot& snap = current_->get();
  const Routing& routing = current_->routes();
  std::unordered_set<std::string> keep;
  for (const balancer::Backend& b : snap.backends) {
    if (b.pool < routing.pools.size() && routing.pools[b.pool].tls != nullptr)
      keep.insert(backend_session_key(routing.pools[b.pool], b));
  }
  backend_sessions_.retain_if([&keep](std::string_view key) { return keep.count(std::string(key)) != 0; });
}

LocalSnapshot* Worker::acquire_snapshot() {
  ++current_->users;
  return current_;
}

void Worker::release_snapshot(LocalSnapshot* snap) {
  if (snap->users > 0) --snap->users;
  if (!snap->retired || snap->users != 0) return;
  for (auto it = snapshots_.begin(); it != snapshots_.end(); ++it) {
    if (&*it == snap) {
      snapshots_.erase(it);
      return;
    }
  }
}

void Worker::client_opened(ClientConn* conn) {
  link(conn, kActiveList);
  ++client_count_;
}

void Worker::client_closed(ClientConn* conn) {
  unlink(conn);
  --client_count_;
  maybe_finish_drain();
}

void Worker::link(ClientConn* conn, uint8_t list) {
  ClientList& l = lists_[list - 1];
  conn->list_ = list;
  conn->prev_ = l.tail;
  conn->next_ = nullptr;
  if (l.tail != nullptr) {
    l.tail->next_ = conn;
  } else {
    l.head = conn;
  }
  l.tail = conn;
}

void Worker::unlink(ClientConn* conn) {
  if (conn->list_ == 0) return;
  ClientList& l = lists_[conn->list_ - 1];
  if (conn->prev_ != nullptr) conn->prev_->next_ = conn->next_;
  if (conn->next_ != nullptr) conn->next_->prev_ = conn->prev_;
  if (l.head == conn) l.head = conn->next_;
  if (l.tail == conn) l.tail = conn->prev_;
  conn->prev_ = conn->next_ = nullptr;
  conn->list_ = 0;
}

std::vector<ClientConn*> Worker::all_clients() const {
  std::vector<ClientConn*> all;
  all.reserve(client_count_);
  for (const ClientList& l : lists_) {
    for (ClientConn* c = l.head; c != nullptr; c = c->next_) all.push_back(c);
  }
  return all;
}

void Worker::on_control_nudge(uv_async_t* handle) {
  auto* w = static_cast<Worker*>(handle->data);
  w->apply_update();
  if (w->drain_requested_.load(std::memory_order_acquire)) w->begin_drain();
}

void Worker::update(const Settings& settings, std::shared_ptr<AccessLogSink> access_log) {
  {
    std::lock_guard lock(update_mutex_);
    pending_update_.emplace(settings, std::move(access_log));
  }
  uv_async_send(&control_nudge_);
}

void Worker::apply_update() {
  std::optional<std::pair<Settings, std::shared_ptr<AccessLogSink>>> update;
  {
    std::lock_guard lock(update_mutex_);
    update.swap(pending_update_);
  }
  if (!update) return;
  settings_ = update->first;
  access_log_.reset(std::move(update->second));
  adopt_latest_snapshot();  // the snapshot of this generation may be waiting for these routes
}

void Worker::idle_add(ClientConn* conn, IdleKind kind) {
  unlink(conn);
  uint64_t ms = kind == IdleKind::New ? settings_.client_header_ms : settings_.client_idle_ms;
  // A connection that goes idle while the worker drains gets what those idle at its start got
  // (begin_drain); every deadline still comes after the ones before it in its list.
  if (draining_) ms = std::min<uint64_t>(ms, kDrainIdleMs);
  conn->idle_deadline_ = static_cast<uint32_t>(uv_now(&loop_) + ms);
  link(conn, static_cast<uint8_t>(kind));
  arm_idle_sweep();
}

void Worker::idle_remove(ClientConn* conn) {
  if (conn->list_ == 0 || conn->list_ == kActiveList) return;
  unlink(conn);
  link(conn, kActiveList);
}

void Worker::arm_idle_sweep() {
  const uint64_t now = uv_now(&loop_);
  uint64_t due = 0;
  for (const ClientList* list : {&lists_[0], &lists_[1]}) {
    if (list->head == nullptr) continue;
    const uint64_t at = now + static_cast<uint64_t>(std::max<int64_t>(ms_until(list->head->idle_deadline_, now), 0));
    if (due == 0 || at < due) due = at;
  }
  if (due == 0 || (idle_timer_due_ != 0 && idle_timer_due_ <= due)) return;
  uv_timer_start(&idle_timer_, &Worker::on_idle_sweep, due - now, 0);
  idle_timer_due_ = due;
}

void Worker::on_idle_sweep(uv_timer_t* handle) {
  auto* w = static_cast<Worker*>(handle->data);
  w->idle_timer_due_ = 0;
  const uint64_t now = uv_now(&w->loop_);
  for (ClientList* list : {&w->lists_[0], &w->lists_[1]}) {
    while (list->head != nullptr && ms_until(list->head->idle_deadline_, now) <= 0) list->head->idle_expired();
  }
  w->arm_idle_sweep();
}

void Worker::on_spare_check(uv_timer_t* handle) {
  auto* w = static_cast<Worker*>(handle->data);
  w->blocks_.free_unused();
  w->exchanges_.free_unused();
}

void Worker::on_log_flush(uv_timer_t* handle) {
  static_cast<Worker*>(handle->data)->access_log_.flush();
}

void Worker::begin_drain() {
  if (std::exchange(draining_, true)) return;
  for (auto& l : listeners_) uv_close(as_handle(&l->tcp), nullptr);
  for (UpstreamConn* c : pool_.take_all()) c->close();
  uv_timer_start(&grace_timer_, &Worker::on_grace_timeout, settings_.shutdown_grace_ms, 0);
  // drain() may close a connection or move it between lists: walk a copy of them.
  for (ClientConn* c : all_clients()) c->drain();
  // Idle connections stay open a moment longer for a request already on its way (see
  // ClientConn::drain); every deadline capped alike keeps each list in deadline order.
  const uint64_t now = uv_now(&loop_);
  for (ClientList* list : {&lists_[0], &lists_[1]}) {
    for (ClientConn* c = list->head; c != nullptr; c = c->next_) {
      if (ms_until(c->idle_deadline_, now) > static_cast<int64_t>(kDrainIdleMs))
        c->idle_deadline_ = static_cast<uint32_t>(now + kDrainIdleMs);
    }
  }
  uv_timer_stop(&idle_timer_);
  idle_timer_due_ = 0;
  arm_idle_sweep();
  maybe_finish_drain();
}

void Worker::on_grace_timeout(uv_timer_t* handle) {
  auto* w = static_cast<Worker*>(handle->data);
  if (w->client_count_ > 0) {
    log_info("worker %u: shutdown grace over, closing %zu connections", w->index_, w->client_count_);
  }
  for (ClientConn* c : w->all_clients()) c->close();
  w->maybe_finish_drain();
}

void Worker::on_ticket_tick(uv_timer_t* handle) {
  auto* w = static_cast<Worker*>(handle->data);
  if (w->settings_.ticket_keys == nullptr) return;
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch()).count();
  if (w->settings_.ticket_keys->rotate(now) < 0) log_error("TLS: session-ticket key rotation failed (no randomness); the current keys stay");
}

void Worker::note_tls_failure(const char* client_ip, const std::string& why) {
  // At most one line per client address per minute: a scanner or a broken client must not
  // flood the log. The map is bounded; when full it starts over.
  constexpr uint64_t kQuietMs = 60'000;
  constexpr std::size_t kMaxAddresses = 4096;
  const uint64_t now = uv_now(&loop_);
  auto [it, inserted] = tls_failures_logged_.try_emplace(client_ip, now);
  if (!inserted) {
    if (now - it->second < kQuietMs) return;
    it->second = now;
  } else if (tls_failures_logged_.size() > kMaxAddresses) {
    tls_failures_logged_.clear();
    tls_failures_logged_.emplace(client_ip, now);
  }
  log_info("TLS handshake with %s failed: %s", client_ip, why.c_str());
}

void Worker::maybe_finish_drain() {
  if (!draining_ || client_count_ != 0 || finished_) return;
  finished_ = true;
  close_everything();
}

void Worker::close_everything() {
  shared_.publisher->unsubscribe(&snapshot_nudge_);
  for (UpstreamConn* c : pool_.take_all()) c->close();
  uv_timer_stop(&grace_timer_);
  uv_close(as_handle(&grace_timer_), nullptr);
  access_log_.flush();
  uv_close(as_handle(&log_flush_timer_), nullptr);
  uv_close(as_handle(&ticket_timer_), nullptr);
  uv_close(as_handle(&spare_timer_), nullptr);
  uv_close(as_handle(&idle_timer_), nullptr);
  exchanges_.close();
  writes_.close();
  if (reads_ != nullptr) reads_->close();
  uv_close(as_handle(&snapshot_nudge_), nullptr);
  uv_close(as_handle(&control_nudge_), nullptr);
}

}  // namespace ferry::proxy
