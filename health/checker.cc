#include "health/checker.h"

#include <netinet/in.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <utility>

#include "health/status_line.h"
#include "proxy/tls/session.h"

namespace ferry::health {

namespace {

template <class T>
uv_handle_t* as_handle(T* h) {
  return reinterpret_cast<uv_handle_t*>(h);
}
template <class T>
uv_stream_t* as_stream(T* h) {
  return reinterpret_cast<uv_stream_t*>(h);
}

// One line per event, written with a single call so lines from threads don't interleave.
void log_line(const std::string& text) {
  const std::string line = "ferry: health: " + text + "\n";
  std::fputs(line.c_str(), stderr);
}

void log_uv(const char* call, int rc) { log_line(std::string(call) + ": " + uv_err_name(rc)); }

std::string connect_failure(int status) {
  if (status == UV_ECONNREFUSED) return "connect refused";
  return std::string("connect failed: ") + uv_err_name(status);
}

StatusMatch parse_or_default(const std::string& text) {
  std::string error;
  if (auto match = StatusMatch::parse(text, &error)) return *match;
  log_line(error + "; using 200-399");
  return *StatusMatch::parse("200-399", nullptr);
}

uint64_t interval_ms(const config::HealthCheck& settings) {
  return static_cast<uint64_t>(std::max<int64_t>(settings.interval.count(), 1));
}

// How often service() runs besides after every result: it reconciles published health with
// the checks, follows new backend sets and ends drains whose backends went quiet.
constexpr uint64_t kServiceMs = 500;

// A TLS check reads ciphertext in pieces of this size.
constexpr std::size_t kTlsReadBytes = 16 * 1024;

// "TLS handshake failed: certificate verify failed: hostname mismatch" from a Session's error.
std::string tls_failure(const std::string& error) {
  constexpr std::string_view kHandshake = "handshake: ";
  if (error.compare(0, kHandshake.size(), kHandshake) == 0)
    return "TLS handshake failed: " + error.substr(kHandshake.size());
  return "TLS: " + error;
}

int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::string format_duration(config::Duration d) {
  const auto ms = d.count();
  if (ms > 0 && ms % 60000 == 0) return std::to_string(ms / 60000) + "m";
  if (ms > 0 && ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

// One backend being checked. Lives on the health thread; kept across backend-set changes by
// target_key, so a backend that stays keeps its HealthState. Freed in its timer's close_cb.
struct Checker::Target {
  Target(Checker* o, std::string k, const balancer::Backend& backend, std::string pool_name,
         std::shared_ptr<const config::HealthCheck> s)
      : owner(o), key(std::move(k)), name(backend.name), address(backend.address),
        state(s->healthy_threshold, s->unhealthy_threshold) {
    record.name = name;
    record.pool = std::move(pool_name);
    adopt(std::move(s));
  }

  // Takes the pool's (possibly changed) settings; thresholds apply to the next result.
  void adopt(std::shared_ptr<const config::HealthCheck> s) {
    settings = std::move(s);
    expected = parse_or_default(settings->expected_status);
    timeout_text = format_duration(settings->timeout);
    state.set_thresholds(settings->healthy_threshold, settings->unhealthy_threshold);
  }

  // The pool's HTTPS settings (none: plain HTTP); they apply from the next check. `host`:
  // the backend's, the name to verify when the pool names none.
  void adopt_tls(const std::optional<config::PoolTls>& pool_tls, std::string_view host) {
    tls = pool_tls;
    server_name = !tls ? std::string() : !tls->server_name.empty() ? tls->server_name : std::string(host);
  }

  static void on_tick(uv_timer_t* timer) {
    auto* self = static_cast<Target*>(timer->data);
    if (self->closing || self->probe) return;  // a check still running skips this round
    self->owner->start_probe(*self);
  }
  static void on_closed(uv_handle_t* h) { delete static_cast<Target*>(h->data); }

  Checker* owner;
  std::string key;
  std::string name;
  sockaddr_storage address;
  std::size_t index = 0;  // in the synced snapshot
  HealthState state;
  std::shared_ptr<const config::HealthCheck> settings;  // its pool's
  std::optional<config::PoolTls> tls;  // its pool's; none: plain HTTP
  std::string server_name;             // with tls: verified and sent as SNI
  StatusMatch expected = *StatusMatch::parse("200-399", nullptr);
  std::string timeout_text;  // settings->timeout for messages: "2s", "40ms"
  uv_timer_t timer{};
  Probe* probe = nullptr;  // the check in flight, if any
  bool closing = false;
  BackendHealth record;  // guarded by owner->status_mutex_
};

// One check: connect, write the request, read the status line, all under one timer. After the
// status line it keeps reading to EOF (or the timeout) before closing, so the backend sees an
// orderly close rather than a reset from unread bytes. Freed when both handles have closed.
//
// Over TLS the connect is followed by the handshake, and the request goes out once it is
// done; ciphertext is read into `cipher` and decrypted into `buffer`, so the status line is
// parsed as for plain HTTP.
struct Checker::Probe {
  static void on_connect(uv_connect_t* req, int status) {
    auto* self = static_cast<Probe*>(req->data);
    if (self->closing || self->reported) return;  // UV_ECANCELED from close()
    if (status < 0) {
      self->finish(false, connect_failure(status));
      self->close();
      return;
    }
    self->connected = true;
    if (self->tls != nullptr) {
      if (self->tls->handshake().status == proxy::tls::Session::Status::Error) {  // the ClientHello
        self->finish(false, tls_failure(self->tls->error()));
        self->close();
        return;
      }
      self->send_ciphertext();
    } else {
      uv_buf_t buf = uv_buf_init(self->request.data(), static_cast<unsigned>(self->request.size()));
      self->write_req.data = self;
      if (int rc = uv_write(&self->write_req, as_stream(&self->tcp), &buf, 1, on_write); rc < 0) {
        self->finish(false, self->what + " failed: " + uv_err_name(rc));
        self->close();
        return;
      }
    }
    if (self->closing) return;
    if (int rc = uv_read_start(as_stream(&self->tcp), on_alloc, on_read); rc < 0) {
      self->finish(false, self->what + " failed: " + uv_err_name(rc));
      self->close();
    }
  }

  static void on_write(uv_write_t* req, int status) {
    auto* self = static_cast<Probe*>(req->data);
    self->writing_ciphertext = false;
    if (self->closing) return;
    if (status < 0) {
      if (self->reported) return;
      self->finish(false, self->what + " failed: " + uv_err_name(status));
      self->close();
      return;
    }
    if (self->tls != nullptr) self->send_ciphertext();  // what the session made meanwhile
  }

  static void on_tls_output(void* owner, const char* data, std::size_t length) {
    static_cast<Probe*>(owner)->outbox.append(data, length);
  }

  // Writes what the session has made, one write at a time (`in_flight` stays untouched until
  // its callback).
  void send_ciphertext() {
    if (writing_ciphertext || outbox.empty() || closing) return;
    in_flight.swap(outbox);
    outbox.clear();
    uv_buf_t buf = uv_buf_init(in_flight.data(), static_cast<unsigned>(in_flight.size()));
    write_req.data = this;
    if (int rc = uv_write(&write_req, as_stream(&tcp), &buf, 1, on_write); rc < 0) {
      finish(false, what + " failed: " + uv_err_name(rc));
      close();
      return;
    }
    writing_ciphertext = true;
  }

  static void on_alloc(uv_handle_t* h, std::size_t /*suggested*/, uv_buf_t* buf) {
    auto* self = static_cast<Probe*>(h->data);
    if (self->tls != nullptr) {
      *buf = uv_buf_init(self->cipher.get(), static_cast<unsigned>(kTlsReadBytes));
      return;
    }
    // Draining reuses the whole buffer; before that, bytes accumulate until the status line.
    const std::size_t used = self->reported ? 0 : self->received;
    *buf = uv_buf_init(self->buffer + used, static_cast<unsigned>(sizeof self->buffer - used));
  }

  static void on_read(uv_stream_t* s, ssize_t nread, const uv_buf_t* /*buf*/) {
    auto* self = static_cast<Probe*>(s->data);
    if (self->closing || nread == 0) return;
    if (nread < 0) {
      if (!self->reported) {
        if (self->tls != nullptr && !self->tls->handshake_done())
          self->finish(false, nread == UV_EOF ? "TLS handshake failed: the backend closed the connection"
                                              : "TLS handshake failed: " + std::string(uv_err_name(static_cast<int>(nread))));
        else if (nread != UV_EOF)
          self->finish(false, self->what + " failed: " + uv_err_name(static_cast<int>(nread)));
        else if (self->received == 0)
          self->finish(false, self->what + " got no response");
        else
          self->finish(false, self->what + " answered a truncated status line");
      }
      self->close();
      return;
    }
    if (self->tls != nullptr) {
      self->read_tls(static_cast<std::size_t>(nread));
      return;
    }
    if (self->reported) return;  // draining the rest of the response
    self->received += static_cast<std::size_t>(nread);
    self->check_status_line();
  }

  // Parses what `buffer` holds so far; reports once the status line is complete or cannot be.
  void check_status_line() {
    const StatusLine line = parse_status_line({buffer, received});
    if (line.state == StatusLine::State::NeedMore && received < sizeof buffer) return;
    if (line.state != StatusLine::State::Complete) {
      finish(false, what + " answered a malformed status line");
      close();
      return;
    }
    finish(expected.matches(line.code), what + " answered " + std::to_string(line.code));
  }

  void read_tls(std::size_t length) {
    tls->feed(cipher.get(), length);
    while (!closing) {
      const bool was_done = tls->handshake_done();
      // Before the status line, plaintext accumulates in `buffer`; after it, it is dropped
      // (into `cipher`, whose bytes the session has copied already).
      char* into = reported ? cipher.get() : buffer + received;
      const std::size_t room = reported ? kTlsReadBytes : sizeof buffer - received;
      const proxy::tls::Session::Result r = tls->read(into, room);
      if (!was_done && tls->handshake_done()) {
        // The request, encrypted, right behind the handshake's last records.
        if (tls->write(request).status != proxy::tls::Session::Status::Ok) {
          finish(false, tls_failure(tls->error()));
          close();
          return;
        }
      }
      if (r.status == proxy::tls::Session::Status::Ok) {
        if (!reported) {
          received += r.bytes;
          check_status_line();
        }
        continue;
      }
      if (r.status == proxy::tls::Session::Status::WantMore) break;
      if (!reported) {
        if (r.status == proxy::tls::Session::Status::Closed)
          finish(false, received == 0 ? what + " got no response" : what + " answered a truncated status line");
        else
          finish(false, tls_failure(tls->error()));
      }
      send_ciphertext();  // an alert, if the session made one
      close();
      return;
    }
    send_ciphertext();
  }

  static void on_timeout(uv_timer_t* timer) {
    auto* self = static_cast<Probe*>(timer->data);
    if (!self->reported) {
      std::string step = !self->connected                                      ? std::string("connect")
                         : self->tls != nullptr && !self->tls->handshake_done() ? std::string("TLS handshake")
                                                                                : self->what;
      self->finish(false, step + " timed out after " + self->timeout_text);
    }
    self->close();
  }

  static void on_closed(uv_handle_t* h) {
    auto* self = static_cast<Probe*>(h->data);
    if (--self->open_handles > 0) return;
    self->owner->probes_.erase(self);
    delete self;
  }

  // Reports the result once; the target learns it and no longer points here.
  void finish(bool ok, std::string text) {
    if (std::exchange(reported, true)) return;
    Target* t = std::exchange(target, nullptr);
    if (t == nullptr) return;  // abandoned: the backend left the set
    t->probe = nullptr;
    owner->on_result(*t, ok, std::move(text));
  }

  // Idempotent. Pending connect/write callbacks then run with UV_ECANCELED; memory goes in
  // on_closed.
  void close() {
    if (std::exchange(closing, true)) return;
    if (Target* t = std::exchange(target, nullptr); t && t->probe == this) t->probe = nullptr;
    uv_close(as_handle(&tcp), on_closed);
    if (timer_open) uv_close(as_handle(&timer), on_closed);
  }

  Checker* owner = nullptr;
  Target* target = nullptr;  // null once reported or abandoned
  std::string what;          // "GET /health", for messages
  std::string timeout_text;  // "2s"
  std::string request;       // stays alive until the write callback
  StatusMatch expected = *StatusMatch::parse("200-399", nullptr);  // the target's, when started
  uv_tcp_t tcp{};
  uv_timer_t timer{};
  uv_connect_t connect_req{};
  uv_write_t write_req{};
  char buffer[64];
  std::size_t received = 0;
  // Over TLS only:
  std::unique_ptr<proxy::tls::Session> tls;
  std::unique_ptr<char[]> cipher;  // kTlsReadBytes, read into from the socket
  std::string outbox;              // ciphertext made, not yet handed to uv_write
  std::string in_flight;           // ciphertext of the write in flight
  bool writing_ciphertext = false;
  int open_handles = 0;
  bool timer_open = false;
  bool connected = false;
  bool reported = false;
  bool closing = false;
};

Checker::Checker(Publisher& publisher, config::HealthCheck settings)
    : publisher_(publisher),
      settings_(std::make_shared<const config::HealthCheck>(std::move(settings))),
      unpooled_settings_(settings_) {
  parse_or_default(settings_->expected_status);  // logs a bad one once, here
}

Checker::~Checker() { stop(); }

bool Checker::start() {
  if (std::exchange(started_, true)) return thread_.joinable();
  if (int rc = uv_loop_init(&loop_); rc < 0) {
    log_uv("uv_loop_init", rc);
    return false;
  }
  if (int rc = uv_async_init(&loop_, &wake_, [](uv_async_t* a) {
        static_cast<Checker*>(a->data)->on_wake();
      });
      rc < 0) {
    log_uv("uv_async_init", rc);
    uv_loop_close(&loop_);
    return false;
  }
  wake_.data = this;
  if (int rc = uv_timer_init(&loop_, &round_timer_); rc < 0) {
    log_uv("uv_timer_init", rc);
    uv_close(as_handle(&wake_), nullptr);
    uv_run(&loop_, UV_RUN_DEFAULT);  // lets the close finish so the loop can close
    uv_loop_close(&loop_);
    return false;
  }
  round_timer_.data = this;
  {
    std::lock_guard lock(inbox_mutex_);
    running_ = true;
  }
  // Handles set up on this thread are the loop thread's from here on: std::thread's start
  // orders these writes before anything run() does.
  thread_ = std::thread(&Checker::run, this);
  return true;
}

void Checker::stop() {
  {
    std::lock_guard lock(inbox_mutex_);
    if (running_) {
      stop_requested_ = true;
      if (int rc = uv_async_send(&wake_); rc < 0) log_uv("uv_async_send", rc);
      running_ = false;  // nothing sends to wake_ after this
    }
  }
  if (thread_.joinable()) thread_.join();
}

void Checker::reconfigure(config::HealthCheck settings) {
  auto shared = std::make_shared<const config::HealthCheck>(std::move(settings));
  {
    std::lock_guard lock(unpooled_mutex_);
    unpooled_settings_ = shared;
  }
  std::lock_guard lock(inbox_mutex_);
  new_settings_ = std::move(shared);
  if (running_)
    if (int rc = uv_async_send(&wake_); rc < 0) log_uv("uv_async_send", rc);
}

std::shared_ptr<const config::HealthCheck> Checker::settings_for(const balancer::Snapshot& snap,
                                                                 std::size_t index) const {
  const uint32_t pool = snap.backends[index].pool;
  if (!snap.pools.empty() && pool < snap.pools.size()) return snap.pools[pool].health;
  std::lock_guard lock(unpooled_mutex_);
  return unpooled_settings_;
}

const Checker::TlsTrust& Checker::trust_for(const config::PoolTls& tls) {
  std::string key = (tls.verify ? "verify\n" : "no verification\n") + tls.ca;
  auto it = tls_trusts_.find(key);
  if (it != tls_trusts_.end()) return it->second;
  proxy::tls::ClientOptions options;
  options.verify = tls.verify;
  options.ca_file = tls.ca;
  proxy::tls::ClientContext::Built built = proxy::tls::ClientContext::build(options);
  TlsTrust trust;
  trust.context = std::move(built.context);
  for (const std::string& e : built.errors) trust.error += (trust.error.empty() ? "" : "; ") + e;
  return tls_trusts_.emplace(std::move(key), std::move(trust)).first->second;
}

std::string Checker::pool_name(const balancer::Snapshot& snap, std::size_t index) {
  const uint32_t pool = snap.backends[index].pool;
  return pool < snap.pools.size() ? snap.pools[pool].name : std::string("default");
}

void Checker::report_refused(uint64_t backend_set, std::size_t index) {
  const balancer::SnapshotPtr snap = publisher_.latest();
  if (!snap || snap->backend_set != backend_set || index >= snap->size()) return;
  if (!settings_for(*snap, index)->enabled) return;  // nothing would bring it back
  std::lock_guard lock(inbox_mutex_);
  if (!running_) return;
  // Published here, on the reporting thread, so the very next pick already avoids it.
  publisher_.set_healthy(backend_set, index, false);
  refused_.push_back(target_key(*snap, index));
  if (int rc = uv_async_send(&wake_); rc < 0) log_uv("uv_async_send", rc);
}

std::vector<BackendHealth> Checker::status() const {
  std::vector<BackendHealth> out;
  const balancer::SnapshotPtr snap = publisher_.latest();
  if (!snap) return out;
  out.reserve(snap->size());
  std::lock_guard lock(status_mutex_);
  for (std::size_t i = 0; i < snap->size(); ++i) {
    // A backend is checked when the health thread has a target for it; one in a pool without
    // checks (or draining, or not synced yet) shows its snapshot health and no results.
    if (auto it = status_index_.find(target_key(*snap, i)); it != status_index_.end()) {
      out.push_back(it->second->record);
      continue;
    }
    BackendHealth h;
    h.name = snap->backends[i].name;
    h.pool = pool_name(*snap, i);
    h.healthy = snap->healthy[i] != 0;
    h.checked = false;
    out.push_back(std::move(h));
  }
  return out;
}

void Checker::run() {
  if (int rc = uv_timer_start(&round_timer_, [](uv_timer_t* t) {
        static_cast<Checker*>(t->data)->service();
      }, 0, kServiceMs);
      rc < 0)
    log_uv("uv_timer_start", rc);
  // Returns only once shutdown() has closed every handle (nothing calls uv_stop).
  if (uv_run(&loop_, UV_RUN_DEFAULT) != 0) log_line("uv_run returned with handles active");
  const int rc = uv_loop_close(&loop_);
  closed_cleanly_ = rc == 0;
  if (rc < 0) {
    log_uv("uv_loop_close", rc);
    uv_walk(&loop_, [](uv_handle_t* h, void*) {
      log_line(std::string("handle still open at exit: ") + uv_handle_type_name(h->type));
    }, nullptr);
  }
}

void Checker::on_wake() {
  bool stop = false;
  {
    std::lock_guard lock(inbox_mutex_);
    stop = stop_requested_;
  }
  if (stop) {
    shutdown();
    return;
  }
  service();
}

void Checker::service() {
  // Held throughout so a worker's report_refused lands wholly before or after this, never
  // between reading a snapshot and reconciling against it.
  std::lock_guard lock(inbox_mutex_);
  if (new_settings_) {
    apply_settings(std::move(new_settings_));
    new_settings_.reset();
  }
  std::vector<std::string> refused = std::exchange(refused_, {});

  // Drains end here: a backend a reload removed leaves the set once its last request is done
  // or its pool's drain time is up.
  publisher_.end_finished_drains(steady_ms());
  const balancer::SnapshotPtr snap = publisher_.latest();
  if (!snap) return;
  if (!synced_ || resync_ || snap->backend_set != synced_set_ || snap->config_generation != synced_config_)
    sync(*snap);

  for (const std::string& key : refused) {
    auto it = targets_.find(key);
    if (it == targets_.end() || it->second->closing) continue;
    Target& t = *it->second;
    const bool was_healthy = t.state.mark_unhealthy();
    {
      std::lock_guard status_lock(status_mutex_);
      t.record.last_result = "connect refused (reported by a worker)";
      t.record.last_check = std::chrono::system_clock::now();
    }
    update_record(t);
    if (was_healthy) log_line(t.name + " unhealthy: connect refused (reported by a worker)");
  }

  // The checker's HealthState is the truth: a new set from a reload starts from whatever its
  // publisher filled in, and a refused report flips a flag before the state hears of it. A
  // backend without checks (its pool has none) is always healthy.
  for (std::size_t i = 0; i < snap->size(); ++i) {
    if (snap->healthy[i] == 0 && !snap->is_draining(i) && !settings_for(*snap, i)->enabled)
      publisher_.set_healthy(snap->backend_set, i, true);
  }
  for (const Target* t : order_) {
    if (t->index < snap->size() && (snap->healthy[t->index] != 0) != t->state.healthy())
      publisher_.set_healthy(snap->backend_set, t->index, t->state.healthy());
  }
}

void Checker::apply_settings(std::shared_ptr<const config::HealthCheck> settings) {
  settings_ = std::move(settings);
  resync_ = true;  // targets of snapshots without pools take the new settings
}

std::string Checker::target_key(const balancer::Snapshot& snap, std::size_t index) {
  const balancer::Backend& backend = snap.backends[index];
  // One address in two pools is two backends, each checked with its pool's settings.
  std::string key = pool_name(snap, index);
  key.push_back('\0');
  key += backend.name;
  key.push_back('\0');
  const auto* bytes = reinterpret_cast<const char*>(&backend.address);
  if (backend.address.ss_family == AF_INET)
    key.append(bytes, sizeof(sockaddr_in));
  else if (backend.address.ss_family == AF_INET6)
    key.append(bytes, sizeof(sockaddr_in6));
  return key;
}

void Checker::sync(const balancer::Snapshot& snap) {
  const bool reschedule_all = resync_;
  if (!synced_ || snap.config_generation != synced_config_) {
    // A reload may have changed a CA file under the same name: contexts are made again, and
    // no session made under the old ones is resumed.
    tls_trusts_.clear();
    tls_sessions_.clear();
  }
  synced_ = true;
  synced_set_ = snap.backend_set;
  synced_config_ = snap.config_generation;
  resync_ = false;

  std::unordered_map<std::string, Target*> next;
  std::vector<Target*> order;
  std::vector<Target*> to_schedule;
  for (std::size_t i = 0; i < snap.size(); ++i) {
    std::shared_ptr<const config::HealthCheck> settings = settings_for(snap, i);
    // A backend a reload removed gets no new requests, so checking it would only add load to
    // it; one drained by hand stays checked, so whoever makes it ready sees whether it is well.
    if (!settings->enabled || (snap.is_draining(i) && !snap.drained_by_hand(i))) continue;
    const balancer::Backend& backend = snap.backends[i];
    std::string key = target_key(snap, i);
    if (next.count(key)) continue;  // listed twice: one target checks it
    Target* t = nullptr;
    if (auto it = targets_.find(key); it != targets_.end()) {
      t = it->second;
      targets_.erase(it);
      if (*t->settings != *settings) {
        t->adopt(std::move(settings));  // the pool's checks changed: new interval from now
        to_schedule.push_back(t);
      } else if (reschedule_all) {
        to_schedule.push_back(t);
      }
    } else {
      t = new Target(this, key, backend, pool_name(snap, i), std::move(settings));
      if (int rc = uv_timer_init(&loop_, &t->timer); rc < 0) {
        log_uv("uv_timer_init", rc);
        delete t;
        continue;
      }
      t->timer.data = t;
      to_schedule.push_back(t);
    }
    t->index = i;
    const uint32_t pool = backend.pool;
    t->adopt_tls(!snap.pools.empty() && pool < snap.pools.size() ? snap.pools[pool].tls : std::nullopt,
                 backend.host());
    next.emplace(std::move(key), t);
    order.push_back(t);
  }
  for (auto& [key, t] : targets_) close_target(*t);  // left the set
  targets_ = std::move(next);
  tls_sessions_.retain_if([this](std::string_view key) { return targets_.count(std::string(key)) != 0; });
  {
    std::lock_guard lock(status_mutex_);
    order_ = std::move(order);
    status_index_.clear();
    for (Target* t : order_) status_index_.emplace(t->key, t);
  }
  for (Target* t : to_schedule) {
    update_record(*t);
    schedule(*t, t->index, snap.size());
  }
}

void Checker::schedule(Target& target, std::size_t position, std::size_t count) {
  const uint64_t interval = interval_ms(*target.settings);
  // Spread the first checks over one interval rather than connecting to everything at once.
  const uint64_t delay = count == 0 ? 0 : interval * position / count;
  if (int rc = uv_timer_start(&target.timer, &Target::on_tick, delay, interval); rc < 0)
    log_uv("uv_timer_start", rc);
}

void Checker::close_target(Target& target) {
  if (std::exchange(target.closing, true)) return;
  if (target.probe) target.probe->close();
  uv_close(as_handle(&target.timer), &Target::on_closed);
}

void Checker::start_probe(Target& target) {
  auto* p = new Probe;
  p->owner = this;
  p->target = &target;
  const config::HealthCheck& settings = *target.settings;
  p->what = "GET " + settings.path;
  p->timeout_text = target.timeout_text;
  p->expected = target.expected;
  p->request = "GET " + settings.path + " HTTP/1.1\r\nHost: " +
               (settings.host.empty() ? target.name : settings.host) +
               "\r\nUser-Agent: ferry-health\r\nConnection: close\r\n\r\n";
  if (target.tls) {
    const TlsTrust& trust = trust_for(*target.tls);
    if (trust.context != nullptr)
      p->tls = proxy::tls::Session::client(trust.context, target.server_name, &tls_sessions_, target.key);
    if (p->tls == nullptr) {
      delete p;
      on_result(target, false, "TLS: " + (trust.context == nullptr ? trust.error : std::string("out of memory")));
      return;
    }
    p->tls->set_output_sink(&Probe::on_tls_output, p);
    p->cipher = std::make_unique<char[]>(kTlsReadBytes);
  }
  if (int rc = uv_tcp_init(&loop_, &p->tcp); rc < 0) {
    log_uv("uv_tcp_init", rc);
    delete p;
    on_result(target, false, std::string("could not open a socket: ") + uv_err_name(rc));
    return;
  }
  p->tcp.data = p;
  p->open_handles = 1;
  probes_.insert(p);
  target.probe = p;
  if (int rc = uv_timer_init(&loop_, &p->timer); rc < 0) {
    log_uv("uv_timer_init", rc);
    p->finish(false, std::string("could not start a timer: ") + uv_err_name(rc));
    p->close();
    return;
  }
  p->timer.data = p;
  p->timer_open = true;
  ++p->open_handles;
  const auto timeout = static_cast<uint64_t>(std::max<int64_t>(settings.timeout.count(), 1));
  if (int rc = uv_timer_start(&p->timer, &Probe::on_timeout, timeout, 0); rc < 0) {
    log_uv("uv_timer_start", rc);
    p->finish(false, std::string("could not start a timer: ") + uv_err_name(rc));
    p->close();
    return;
  }
  p->connect_req.data = p;
  if (int rc = uv_tcp_connect(&p->connect_req, &p->tcp,
                              reinterpret_cast<const sockaddr*>(&target.address),
                              &Probe::on_connect);
      rc < 0) {
    p->finish(false, connect_failure(rc));
    p->close();
  }
}

void Checker::on_result(Target& target, bool ok, std::string text) {
  const Transition transition = target.state.observe(ok);
  {
    std::lock_guard lock(status_mutex_);
    target.record.last_result = text;
    target.record.last_check = std::chrono::system_clock::now();
    ++(ok ? target.record.checks_ok : target.record.checks_failed);
  }
  update_record(target);
  if (transition != Transition::Changed) return;
  const bool healthy = target.state.healthy();
  log_line(target.name + (healthy ? " healthy: " : " unhealthy: ") + text + " (" +
           std::to_string(healthy ? target.state.consecutive_passes()
                                  : target.state.consecutive_failures()) +
           " of " +
           std::to_string(healthy ? target.state.healthy_threshold()
                                  : target.state.unhealthy_threshold()) +
           ")");
  service();  // publishes it, following a new backend set first if one is out
}

void Checker::update_record(Target& target) {
  std::lock_guard lock(status_mutex_);
  target.record.healthy = target.state.healthy();
  target.record.consecutive_passes = target.state.consecutive_passes();
  target.record.consecutive_failures = target.state.consecutive_failures();
}

void Checker::shutdown() {
  for (auto& [key, t] : targets_) close_target(*t);
  targets_.clear();
  {
    std::lock_guard lock(status_mutex_);
    order_.clear();
    status_index_.clear();
  }
  for (Probe* p : probes_) p->close();  // draining ones no target owns
  uv_close(as_handle(&round_timer_), nullptr);
  uv_close(as_handle(&wake_), nullptr);
}

}  // namespace ferry::health
