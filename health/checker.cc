#include "health/checker.h"

#include <netinet/in.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <utility>

#include "health/status_line.h"

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
  Target(Checker* o, std::string k, const balancer::Backend& backend, const config::HealthCheck& s)
      : owner(o), key(std::move(k)), name(backend.name), address(backend.address),
        state(s.healthy_threshold, s.unhealthy_threshold) {
    record.name = name;
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
  uv_timer_t timer{};
  Probe* probe = nullptr;  // the check in flight, if any
  bool closing = false;
  BackendHealth record;  // guarded by owner->status_mutex_
};

// One check: connect, write the request, read the status line, all under one timer. After the
// status line it keeps reading to EOF (or the timeout) before closing, so the backend sees an
// orderly close rather than a reset from unread bytes. Freed when both handles have closed.
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
    uv_buf_t buf = uv_buf_init(self->request.data(), static_cast<unsigned>(self->request.size()));
    self->write_req.data = self;
    if (int rc = uv_write(&self->write_req, as_stream(&self->tcp), &buf, 1, on_write); rc < 0) {
      self->finish(false, self->what + " failed: " + uv_err_name(rc));
      self->close();
      return;
    }
    if (int rc = uv_read_start(as_stream(&self->tcp), on_alloc, on_read); rc < 0) {
      self->finish(false, self->what + " failed: " + uv_err_name(rc));
      self->close();
    }
  }

  static void on_write(uv_write_t* req, int status) {
    auto* self = static_cast<Probe*>(req->data);
    if (status >= 0 || self->closing || self->reported) return;
    self->finish(false, self->what + " failed: " + uv_err_name(status));
    self->close();
  }

  static void on_alloc(uv_handle_t* h, std::size_t /*suggested*/, uv_buf_t* buf) {
    auto* self = static_cast<Probe*>(h->data);
    // Draining reuses the whole buffer; before that, bytes accumulate until the status line.
    const std::size_t used = self->reported ? 0 : self->received;
    *buf = uv_buf_init(self->buffer + used, static_cast<unsigned>(sizeof self->buffer - used));
  }

  static void on_read(uv_stream_t* s, ssize_t nread, const uv_buf_t* /*buf*/) {
    auto* self = static_cast<Probe*>(s->data);
    if (self->closing || nread == 0) return;
    if (nread < 0) {
      if (!self->reported) {
        if (nread != UV_EOF)
          self->finish(false, self->what + " failed: " + uv_err_name(static_cast<int>(nread)));
        else if (self->received == 0)
          self->finish(false, self->what + " got no response");
        else
          self->finish(false, self->what + " answered a truncated status line");
      }
      self->close();
      return;
    }
    if (self->reported) return;  // draining the rest of the response
    self->received += static_cast<std::size_t>(nread);
    const StatusLine line = parse_status_line({self->buffer, self->received});
    if (line.state == StatusLine::State::NeedMore && self->received < sizeof self->buffer) return;
    if (line.state != StatusLine::State::Complete) {
      self->finish(false, self->what + " answered a malformed status line");
      self->close();
      return;
    }
    self->finish(self->owner->expected_.matches(line.code),
                 self->what + " answered " + std::to_string(line.code));
  }

  static void on_timeout(uv_timer_t* timer) {
    auto* self = static_cast<Probe*>(timer->data);
    if (!self->reported)
      self->finish(false, (self->connected ? self->what : std::string("connect")) +
                              " timed out after " + self->timeout_text);
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
  uv_tcp_t tcp{};
  uv_timer_t timer{};
  uv_connect_t connect_req{};
  uv_write_t write_req{};
  char buffer[64];
  std::size_t received = 0;
  int open_handles = 0;
  bool timer_open = false;
  bool connected = false;
  bool reported = false;
  bool closing = false;
};

Checker::Checker(Publisher& publisher, config::HealthCheck settings)
    : publisher_(publisher),
      settings_(std::move(settings)),
      expected_(parse_or_default(settings_.expected_status)),
      duration_text_(format_duration(settings_.timeout)),
      enabled_(settings_.enabled) {}

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
  enabled_ = settings.enabled;
  std::lock_guard lock(inbox_mutex_);
  new_settings_ = std::move(settings);
  if (running_)
    if (int rc = uv_async_send(&wake_); rc < 0) log_uv("uv_async_send", rc);
}

void Checker::report_refused(uint64_t backend_set, std::size_t index) {
  if (!enabled_) return;
  const balancer::SnapshotPtr snap = publisher_.latest();
  if (!snap || snap->backend_set != backend_set || index >= snap->size()) return;
  std::lock_guard lock(inbox_mutex_);
  if (!running_) return;
  // Published here, on the reporting thread, so the very next pick already avoids it.
  publisher_.set_healthy(backend_set, index, false);
  refused_.push_back(target_key(snap->backends[index]));
  if (int rc = uv_async_send(&wake_); rc < 0) log_uv("uv_async_send", rc);
}

std::vector<BackendHealth> Checker::status() const {
  std::vector<BackendHealth> out;
  if (!enabled_) {
    if (const balancer::SnapshotPtr snap = publisher_.latest()) {
      for (std::size_t i = 0; i < snap->size(); ++i) {
        BackendHealth h;
        h.name = snap->backends[i].name;
        h.healthy = snap->healthy[i] != 0;
        out.push_back(std::move(h));
      }
    }
    return out;
  }
  std::lock_guard lock(status_mutex_);
  out.reserve(order_.size());
  for (const Target* t : order_) out.push_back(t->record);
  return out;
}

void Checker::run() {
  const auto interval = static_cast<uint64_t>(std::max<int64_t>(settings_.interval.count(), 1));
  if (int rc = uv_timer_start(&round_timer_, [](uv_timer_t* t) {
        static_cast<Checker*>(t->data)->service();
      }, 0, interval);
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
    apply_settings(std::move(*new_settings_));
    new_settings_.reset();
  }
  std::vector<std::string> refused = std::exchange(refused_, {});

  const balancer::SnapshotPtr snap = publisher_.latest();
  if (!snap) return;
  if (!synced_ || resync_ || snap->backend_set != synced_set_) sync(*snap);

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
  // publisher filled in, and a refused report flips a flag before the state hears of it.
  if (!settings_.enabled) {
    for (std::size_t i = 0; i < snap->size(); ++i)
      if (snap->healthy[i] == 0) publisher_.set_healthy(snap->backend_set, i, true);
    return;
  }
  for (const Target* t : order_) {
    if (t->index < snap->size() && (snap->healthy[t->index] != 0) != t->state.healthy())
      publisher_.set_healthy(snap->backend_set, t->index, t->state.healthy());
  }
}

void Checker::apply_settings(config::HealthCheck settings) {
  settings_ = std::move(settings);
  std::string error;
  if (auto match = StatusMatch::parse(settings_.expected_status, &error))
    expected_ = *match;
  else
    log_line(error + "; keeping the previous expected_status");
  duration_text_ = format_duration(settings_.timeout);
  for (auto& [key, t] : targets_)
    t->state.set_thresholds(settings_.healthy_threshold, settings_.unhealthy_threshold);
  resync_ = true;  // reschedules every target with the new interval
  const auto interval = static_cast<uint64_t>(std::max<int64_t>(settings_.interval.count(), 1));
  if (int rc = uv_timer_start(&round_timer_, [](uv_timer_t* t) {
        static_cast<Checker*>(t->data)->service();
      }, interval, interval);
      rc < 0)
    log_uv("uv_timer_start", rc);
}

std::string Checker::target_key(const balancer::Backend& backend) {
  std::string key = backend.name;
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
  synced_ = true;
  synced_set_ = snap.backend_set;
  resync_ = false;

  std::unordered_map<std::string, Target*> next;
  std::vector<Target*> order;
  std::vector<Target*> to_schedule;
  if (settings_.enabled) {
    for (std::size_t i = 0; i < snap.size(); ++i) {
      const balancer::Backend& backend = snap.backends[i];
      std::string key = target_key(backend);
      if (next.count(key)) continue;  // listed twice: one target checks it
      Target* t = nullptr;
      if (auto it = targets_.find(key); it != targets_.end()) {
        t = it->second;
        targets_.erase(it);
        if (reschedule_all) to_schedule.push_back(t);
      } else {
        t = new Target(this, key, backend, settings_);
        if (int rc = uv_timer_init(&loop_, &t->timer); rc < 0) {
          log_uv("uv_timer_init", rc);
          delete t;
          continue;
        }
        t->timer.data = t;
        to_schedule.push_back(t);
      }
      t->index = i;
      next.emplace(std::move(key), t);
      order.push_back(t);
    }
  }
  for (auto& [key, t] : targets_) close_target(*t);  // left the set
  targets_ = std::move(next);
  {
    std::lock_guard lock(status_mutex_);
    order_ = std::move(order);
  }
  for (Target* t : to_schedule) {
    update_record(*t);
    schedule(*t, t->index, snap.size());
  }
}

void Checker::schedule(Target& target, std::size_t position, std::size_t count) {
  const auto interval = static_cast<uint64_t>(std::max<int64_t>(settings_.interval.count(), 1));
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
  p->what = "GET " + settings_.path;
  p->timeout_text = duration_text_;
  p->request = "GET " + settings_.path + " HTTP/1.1\r\nHost: " +
               (settings_.host.empty() ? target.name : settings_.host) +
               "\r\nUser-Agent: ferry-health\r\nConnection: close\r\n\r\n";
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
  const auto timeout = static_cast<uint64_t>(std::max<int64_t>(settings_.timeout.count(), 1));
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
  }
  for (Probe* p : probes_) p->close();  // draining ones no target owns
  uv_close(as_handle(&round_timer_), nullptr);
  uv_close(as_handle(&wake_), nullptr);
}

}  // namespace ferry::health
