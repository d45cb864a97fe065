#include "proxy/core/server.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <algorithm>
#include <chrono>
#include <thread>
#include <utility>

#include "proxy/admin/admin_token.h"
#include "proxy/admin/backend_control_path.h"
#include "proxy/admin/log.h"
#include "proxy/admin/status_page.h"
#include "proxy/core/listen_socket.h"

namespace ferry::proxy {

namespace {

bool same_address(const sockaddr_storage& a, const sockaddr_storage& b) {
  return config::to_string(a) == config::to_string(b);
}

bool same_backend_set(const balancer::Snapshot& a, const balancer::Snapshot& b) {
  if (a.size() != b.size() || a.pools.size() != b.pools.size() || a.draining != b.draining) return false;
  for (std::size_t p = 0; p < a.pools.size(); ++p) {
    if (a.pools[p].name != b.pools[p].name || a.pools[p].count != b.pools[p].count) return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a.backends[i].name != b.backends[i].name ||
        !same_address(a.backends[i].address, b.backends[i].address) ||
        a.backends[i].weight != b.backends[i].weight) {
      return false;
    }
  }
  return true;
}

// The (pool, address) pairs of `backends` that `config` still lists.
std::set<std::pair<std::string, std::string>> listed_in(const config::Config& config,
                                                        const std::set<std::pair<std::string, std::string>>& backends) {
  std::set<std::pair<std::string, std::string>> listed;
  for (const config::PoolConfig& pool : config::pools_of(config)) {
    for (const config::BackendConfig& b : pool.backends)
      if (backends.count({pool.name, b.address}) != 0) listed.insert({pool.name, b.address});
  }
  return listed;
}

int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Server::Server(config::Config config, Resolver resolver)
    : config_(std::move(config)), resolver_(std::move(resolver)) {
  if (!resolver_) resolver_ = [](const config::HostPort& hp, std::string* e) { return config::resolve(hp, e); };
  shared_.publisher = &publisher_;
  shared_.on_refused = [this](uint64_t backend_set, std::size_t index) {
    if (health::Checker* c = checker_ptr_.load(std::memory_order_acquire)) c->report_refused(backend_set, index);
  };
}

Server::~Server() {
  drain();
  wait();
}

config::Config Server::config() const {
  std::lock_guard lock(mutex_);
  return config_;
}

bool Server::build_snapshot(const config::Config& config, const balancer::Snapshot* previous,
                            balancer::Snapshot* out, std::string* error) {
  *out = balancer::Snapshot{};
  const int64_t now = steady_ms();
  // A backend of `previous` that is in the same pool with the same name and address: it keeps
  // its health, load (so its in-flight count and pooled connections) and slow-start ramp.
  auto find_previous = [&](const std::string& pool, const std::string& name, const sockaddr_storage& addr) -> int64_t {
    if (previous == nullptr) return -1;
    for (std::size_t i = 0; i < previous->size(); ++i) {
      const balancer::Backend& old = previous->backends[i];
      const uint32_t old_pool = old.pool;
      const std::string& old_pool_name =
          old_pool < previous->pools.size() ? previous->pools[old_pool].name : std::string();
      if (old_pool_name == pool && old.name == name && same_address(old.address, addr)) return static_cast<int64_t>(i);
    }
    return -1;
  };
  std::vector<bool> kept(previous != nullptr ? previous->size() : 0, false);
  const std::vector<config::PoolConfig> pools = config::pools_of(config);
  for (std::size_t p = 0; p < pools.size(); ++p) {
    const config::PoolConfig& pc = pools[p];
    balancer::PoolSlice slice;
    slice.name = pc.name;
    slice.balancer = pc.balancer;
    slice.first = static_cast<uint32_t>(out->backends.size());
    slice.fail_open = pc.health_check.fail_open;
    slice.slow_start_ms = pc.slow_start.count();
    slice.drain_ms = pc.drain.count();
    slice.health = std::make_shared<const config::HealthCheck>(pc.health_check);
    slice.tls = pc.tls;
    // Slow start applies to a backend that turns healthy or joins while the pool already serves
    // from others at full weight, never to a whole pool starting up (it would ramp from 0).
    bool pool_serving = false;
    for (const config::BackendConfig& bc : pc.backends) {
      std::string why;
      const std::optional<config::HostPort> hp = config::parse_host_port(bc.address, &why);
      if (!hp) {
        *error = "pool " + pc.name + ": backend " + bc.address + ": " + why;
        return false;
      }
      const std::vector<sockaddr_storage> addresses = resolver_(*hp, &why);
      if (addresses.empty()) {
        *error = "pool " + pc.name + ": backend " + bc.address + ": " + why;
        return false;
      }
      for (const sockaddr_storage& addr : addresses) {
        balancer::Backend b;
        b.name = bc.address;
        b.address = addr;
        b.weight = bc.weight;
        b.pool = static_cast<uint32_t>(p);
        b.metrics_slot = slots_.slot_for(pc.name, bc.address);
        if (pc.stickiness) b.sticky_id = sticky_id(sticky_key_, pc.name, bc.address, addr);
        uint8_t healthy = 1;  // a backend starts healthy
        int64_t ramp_since = -1;  // -1: joined now
        if (const int64_t old = find_previous(pc.name, bc.address, addr); old >= 0) {
          const auto i = static_cast<std::size_t>(old);
          kept[i] = true;
          b.load = previous->backends[i].load;
          healthy = previous->healthy[i];
          ramp_since = i < previous->ramp_since_ms.size() ? previous->ramp_since_ms[i] : 0;
          pool_serving = pool_serving || (healthy != 0 && ramp_since == 0 && !previous->is_draining(i));
        }
        if (!pc.health_check.enabled) healthy = 1;  // without checks every backend is eligible
        out->backends.push_back(std::move(b));
        out->healthy.push_back(healthy);
        out->ramp_since_ms.push_back(ramp_since);
      }
    }
    // Backends this reload removed from the pool drain: no new requests, in-flight ones finish,
    // gone once idle or after the pool's drain time (the health thread ends drains).
    if (previous != nullptr && slice.drain_ms > 0) {
      for (std::size_t i = 0; i < previous->size(); ++i) {
        const balancer::Backend& old = previous->backends[i];
        if (kept[i] || old.pool >= previous->pools.size() || previous->pools[old.pool].name != pc.name) continue;
        if (old.load->outstanding.load(std::memory_order_relaxed) == 0) continue;  // nothing to finish
        const bool already = previous->is_draining(i) && i < previous->drain_until_ms.size();
        balancer::Backend b = old;
        b.pool = static_cast<uint32_t>(p);
        out->backends.push_back(std::move(b));
        out->healthy.push_back(previous->healthy[i]);
        out->ramp_since_ms.push_back(0);
        out->draining.resize(out->backends.size(), 0);
        out->drain_until_ms.resize(out->backends.size(), 0);
        out->draining.back() = 1;
        out->drain_until_ms.back() = already ? previous->drain_until_ms[i] : now + slice.drain_ms;
      }
    }
    slice.count = static_cast<uint32_t>(out->backends.size()) - slice.first;
    for (uint32_t i = slice.first; i < slice.first + slice.count; ++i) {
      int64_t& since = out->ramp_since_ms[i];
      if (since == -1) since = slice.slow_start_ms > 0 && pool_serving ? now : 0;
      if (since != 0 && now - since >= slice.slow_start_ms) since = 0;  // ramp done
    }
    out->pools.push_back(std::move(slice));
  }
  // Backends drained from the admin API stay drained while the file keeps them.
  for (std::size_t i = 0; i < out->size() && !drained_by_hand_.empty(); ++i) {
    const balancer::Backend& b = out->backends[i];
    if (out->is_draining(i) || drained_by_hand_.count({out->pools[b.pool].name, b.name}) == 0) continue;
    out->draining.resize(out->backends.size(), 0);
    out->drain_until_ms.resize(out->backends.size(), 0);
    out->draining[i] = 1;
    out->drain_until_ms[i] = 0;
  }
  if (!out->draining.empty()) {
    out->draining.resize(out->backends.size(), 0);
    out->drain_until_ms.resize(out->backends.size(), 0);
  }
  out->fail_open = !pools.empty() && pools.front().health_check.fail_open;
  out->config_generation = config_generation_;
  out->backend_set = previous != nullptr && same_backend_set(*previous, *out) ? previous->backend_set
                                                                             : publisher_.new_backend_set();
  return true;
}

bool Server::start(std::string* error) {
  std::lock_guard lock(mutex_);
  drained_by_hand_ = listed_in(config_, drained_by_hand_);  // inherited from an upgrade
  balancer::Snapshot first;
  if (!build_snapshot(config_, nullptr, &first, error)) return false;
  publisher_.publish(std::move(first));

  access_log_ = AccessLogSink::open(config_.access_log, error);
  if (!access_log_ && !error->empty()) {
    *error = "access_log: " + *error;
    return false;
  }

  // Certificates before any socket: a bad file fails the start with nothing to undo.
  ticket_keys_ = tls::TicketKeys::create(unix_now());
  listener_tls_ = build_listener_tls(config_, ticket_keys_, unix_now());
  for (const std::string& w : listener_tls_.warnings) log_info("%s", w.c_str());
  if (!listener_tls_.ok()) {
    *error = join_lines(listener_tls_.errors);
    return false;
  }
  pool_tls_ = build_pool_tls(config_, nullptr);
  if (!pool_tls_.ok()) {
    *error = join_lines(pool_tls_.errors);
    return false;
  }
  if (config_.acme) {
    // Storage and a stored certificate now, so a restart serves it from the first handshake.
    {
      std::lock_guard held(acme_mutex_);
      acme_listeners_ = listener_tls_.published;
    }
    shared_.acme_tokens = &acme_tokens_;
    acme_ = std::make_unique<acme::Manager>(
        *config_.acme, acme_tokens_, acme_board_,
        [this](std::shared_ptr<const tls::CertificateSet> set) { publish_acme(std::move(set)); }, acme_options_);
    if (!acme_->load(error)) {
      acme_.reset();
      return false;
    }
  }

  unsigned workers = config_.workers;
  if (workers == 0) workers = std::max(1u, std::thread::hardware_concurrency());

  // fds[w] = the listening sockets of worker w, usually one per listen address.
  std::vector<std::vector<ListenFd>> fds(workers);
  auto close_all = [&fds] {
    for (auto& v : fds)
      for (const ListenFd& fd : v) ::close(fd.fd);
  };
  for (std::size_t i = 0; i < config_.listen.size(); ++i) {
    if (!listen_on(static_cast<uint32_t>(i), config_.listen[i], workers, &fds, error)) {
      close_all();
      return false;
    }
  }
  if (!ticket_keys_) {
    close_all();
    *error = "TLS session tickets: the random generator failed";
    return false;
  }
  if (!inherited_ring_.empty()) {
    if (const std::string why = ticket_keys_->import_ring(inherited_ring_); !why.empty())
      log_error("upgrade: the old process's ticket keys were refused (%s); TLS clients make new sessions", why.c_str());
    OPENSSL_cleanse(inherited_ring_.data(), inherited_ring_.size());
    inherited_ring_.clear();
  }

  if (!config_.admin.empty() && config_.admin != "off") {
    std::string why;
    const std::optional<config::HostPort> hp = config::parse_bind_address(config_.admin, &why);
    std::vector<sockaddr_storage> addrs;
    if (hp) addrs = resolver_(*hp, &why);
    if (addrs.empty()) {
      *error = "admin " + config_.admin + ": " + why;
      close_all();
      return false;
    }
    admin_ = std::make_unique<AdminServer>(
        [this](const AdminRequest& request, AdminResponse* r) { handle_admin(request, r); });
    const std::vector<int> taken = inherited_.take(lifecycle::admin_socket_name(config_.admin), addrs.front());
    for (std::size_t extra = 1; extra < taken.size(); ++extra) ::close(taken[extra]);
    if (!admin_->start(addrs.front(), taken.empty() ? -1 : taken.front(), &why)) {
      *error = "admin " + config_.admin + ": " + why;
      admin_.reset();
      close_all();
      return false;
    }
  }

  for (const std::string& closed : inherited_.close_rest())
    log_info("%s: %s matches no listen or admin address; closed", inherited_.source().c_str(), closed.c_str());

  const Settings settings = settings_for(config_, listener_tls_, ticket_keys_, pool_tls_);
  for (unsigned w = 0; w < workers; ++w) {
    workers_.push_back(std::make_unique<Worker>(w, shared_, settings, std::move(fds[w]), access_log_));
  }
  // Always running: besides the checks of pools that have them, the health thread ends drains.
  start_checker(config_.health_check);
  if (acme_) acme_->start();

  MetricsSources sources;
  sources.slots = &slots_;
  sources.routes = &route_slots_;
  for (const auto& w : workers_) sources.workers.push_back(&w->metrics());
  sources.publisher = &publisher_;
  sources.checker = checker_.get();
  sources.reloads_ok = &reloads_ok_;
  sources.reloads_failed = &reloads_failed_;
  sources.balancer = std::string(config::balancer_name(config_.balancer));
  sources.listeners = config_.listen;
  for (std::size_t i = 0; i < listener_tls_.contexts.size(); ++i) {
    if (listener_tls_.is_tls(i)) sources.tls_listeners.emplace_back(static_cast<uint32_t>(i), config_.listen[i]);
  }
  if (config_.acme) sources.acme = &acme_board_;
  sources.certificate_expiry = [this] {
    std::lock_guard held(mutex_);
    return listener_tls_.expiry();
  };
  sources.config_file = config_.source;
  status_ = std::make_unique<StatusCollector>(sources);
  collector_ = std::make_unique<MetricsCollector>(std::move(sources));

  for (auto& w : workers_) w->start();
  return true;
}

bool Server::listen_on(uint32_t index, const std::string& listen, unsigned workers,
                       std::vector<std::vector<ListenFd>>* fds, std::string* error) {
  std::string why;
  const std::optional<config::HostPort> hp = config::parse_bind_address(listen, &why);
  std::vector<sockaddr_storage> addrs;
  if (hp) addrs = resolver_(*hp, &why);
  if (addrs.empty()) {
    *error = "listen " + listen + ": " + why;
    return false;
  }
  std::vector<int> sockets = inherited_.take(listen, addrs.front());
  uint16_t port = 0;
  if (sockets.empty()) {
    sockets = bind_listeners(addrs.front(), workers, &port, &why);
    if (sockets.empty()) {
      *error = "listen " + listen + ": " + why;
      return false;
    }
  } else {
    sockaddr_storage bound{};
    socklen_t len = sizeof bound;
    ::getsockname(sockets.front(), reinterpret_cast<sockaddr*>(&bound), &len);
    port = config::port_of(bound);
    log_info("listen %s: took over %zu socket(s) from %s", listen.c_str(), sockets.size(),
             inherited_.source().c_str());
    // Accepted connections inherit Nagle from the listener: with it on, a response's small
    // last write waits for the client's delayed ACK (40 ms). systemd binds without NoDelay.
    for (int fd : sockets) set_no_delay(fd);
  }
  for (int fd : sockets) handover_.push_back(lifecycle::HandoverSocket{fd, listen});
  // Every socket gets a worker. With fewer sockets than workers (systemd gives one per
  // address), the rest share one: each worker polls its own copy of the descriptor, and
  // whichever is free accepts.
  for (std::size_t i = 0; i < std::max<std::size_t>(sockets.size(), workers); ++i) {
    int fd = sockets[i % sockets.size()];
    if (i >= sockets.size() && (fd = ::fcntl(fd, F_DUPFD_CLOEXEC, 3)) < 0) {
      *error = "listen " + listen + ": dup: " + std::strerror(errno);
      return false;
    }
    (*fds)[i % workers].push_back(ListenFd{fd, index});
  }
  listen_ports_.push_back(port);
  return true;
}

std::vector<lifecycle::HandoverSocket> Server::handover_sockets() const {
  std::lock_guard lock(mutex_);
  std::vector<lifecycle::HandoverSocket> out = handover_;
  if (admin_ && admin_->listening_fd() >= 0)
    out.push_back(lifecycle::HandoverSocket{admin_->listening_fd(), lifecycle::admin_socket_name(config_.admin)});
  return out;
}

std::vector<std::pair<std::string, std::string>> Server::drained_backends() const {
  std::lock_guard lock(mutex_);
  return {drained_by_hand_.begin(), drained_by_hand_.end()};
}

std::vector<uint8_t> Server::export_ticket_ring() const {
  std::lock_guard lock(mutex_);
  return ticket_keys_ ? ticket_keys_->export_ring() : std::vector<uint8_t>();
}

void Server::hand_over() {
  if (admin_) admin_->stop();
  drain();
}

int64_t Server::unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string Server::join_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& l : lines) out += (out.empty() ? "" : "\n") + l;
  return out;
}

Settings Server::settings_for(const config::Config& config, const ListenerTls& tls,
                              const std::shared_ptr<tls::TicketKeys>& ticket_keys,
                              const PoolTlsContexts& pool_tls) {
  Settings settings = Settings::from(config);
  Routing routing = Routing::from(config);
  routing.config_generation = config_generation_;
  pool_tls.apply_to(routing);
  for (const balancer::routing::Route& route : routing.routes.routes())
    routing.route_slots[route.index] = route_slots_.slot_for(route.name);
  settings.routing = std::make_shared<const Routing>(std::move(routing));
  for (std::size_t i = 0; i < settings.listeners.size() && i < tls.contexts.size(); ++i) {
    settings.listeners[i].tls = tls.contexts[i];
    settings.listeners[i].published_tls = tls.published[i];
  }
  if (tls.any()) settings.ticket_keys = ticket_keys;
  return settings;
}

bool Server::start_checker(const config::HealthCheck& settings) {
  checker_ = std::make_unique<health::Checker>(publisher_, settings);
  if (!checker_->start()) {
    checker_.reset();
    return false;
  }
  checker_ptr_.store(checker_.get(), std::memory_order_release);
  return true;
}

void Server::publish_acme(std::shared_ptr<const tls::CertificateSet> certificates) {
  std::lock_guard held(acme_mutex_);
  acme_certificate_ = certificates;
  for (const auto& p : acme_listeners_) {
    if (p == nullptr) continue;
    for (const std::string& e : p->publish(certificates)) log_error("acme: cannot serve the new certificate: %s", e.c_str());
  }
}

void Server::handle_admin(const AdminRequest& request, AdminResponse* r) {
  const std::string_view path = request.path;
  const bool page = path == "/" || path == "/metrics" || path == "/healthz" || path == "/backends";
  if (request.method == "POST" && page) {
    r->status = 405;
    r->body = std::string(path) + " takes GET\n";
  } else if (request.method == "POST") {
    handle_admin_control(request, r);
  } else if (path == "/metrics") {
    r->content_type = "text/plain; version=0.0.4; charset=utf-8";
    r->body = collector_ ? collector_->render_text() : "";
  } else if (path == "/") {
    r->content_type = "text/html; charset=utf-8";
    r->body = status_ ? render_status_page(status_->collect()) : "";
  } else if (path == "/healthz") {
    r->content_type = "application/json";
    r->body = "{\"status\": \"ok\", \"pid\": " + std::to_string(::getpid()) + "}\n";
  } else if (path == "/backends") {
    r->content_type = "application/json";
    r->body = collector_ ? collector_->render_backends_json() : "{}\n";
  } else if (parse_backend_control(path)) {
    r->status = 405;
    r->body = "drain and ready take POST\n";
  } else {
    r->status = 404;
    r->body = "not found: try /, /metrics, /healthz or /backends\n";
  }
}

void Server::handle_admin_control(const AdminRequest& request, AdminResponse* r) {
  const std::optional<BackendControlPath> control = parse_backend_control(request.path);
  if (!control) {
    r->status = 404;
    r->body = "not found: POST /pools/NAME/backends/ADDRESS/drain or .../ready\n";
    return;
  }
  std::string token;
  {
    std::lock_guard lock(mutex_);
    token = config_.admin_token;
  }
  if (!token.empty() && !bearer_token_matches(request.authorization, token)) {
    r->status = 401;
    r->body = "this control needs the admin token: Authorization: Bearer TOKEN (admin_token)\n";
    return;
  }
  switch (set_drained(control->pool, control->address, control->drain)) {
    case BackendControl::NoSuchPool:
      r->status = 404;
      r->body = "no pool named \"" + control->pool + "\"\n";
      return;
    case BackendControl::NoSuchBackend:
      r->status = 404;
      r->body = "pool " + control->pool + " has no backend \"" + control->address + "\" (the address as written in the file)\n";
      return;
    case BackendControl::Done:
      break;
  }
  log_info("admin: backend %s of pool %s %s", control->address.c_str(), control->pool.c_str(),
           control->drain ? "drained: no new requests, in-flight ones finish" : "ready: takes requests again");
  r->content_type = "application/json";
  r->body = collector_ ? collector_->render_backend_entry(control->pool, control->address) : "{}\n";
}

Server::BackendControl Server::set_drained(const std::string& pool, const std::string& address, bool drained) {
  std::lock_guard lock(mutex_);
  const std::vector<config::PoolConfig> pools = config::pools_of(config_);
  const auto named = std::find_if(pools.begin(), pools.end(), [&](const config::PoolConfig& p) { return p.name == pool; });
  if (named == pools.end()) return BackendControl::NoSuchPool;
  const bool listed = std::any_of(named->backends.begin(), named->backends.end(),
                                  [&](const config::BackendConfig& b) { return b.address == address; });
  if (!listed) return BackendControl::NoSuchBackend;
  if (drained) {
    drained_by_hand_.insert({pool, address});
  } else {
    drained_by_hand_.erase({pool, address});
  }
  publisher_.set_drained_by_hand(pool, address, drained);
  return BackendControl::Done;
}

bool Server::reload(const config::Config& next, std::string* error) {
  std::lock_guard lock(mutex_);
  auto fail = [&](std::string why) {
    *error = std::move(why);
    reloads_failed_.fetch_add(1, std::memory_order_relaxed);
    return false;
  };
  if (next.listen != config_.listen) {
    return fail("listen changed; ferry keeps its listening sockets across reloads, so restart it to listen elsewhere (nothing was applied)");
  }
  if (next.workers != config_.workers) {
    return fail("workers changed; restart ferry to change the number of workers (nothing was applied)");
  }
  if (next.admin != config_.admin) {
    return fail("admin changed; restart ferry to move the admin listener (nothing was applied)");
  }
  if (next.acme != config_.acme) {
    return fail("acme changed; restart ferry to change it (nothing was applied)");
  }
  std::shared_ptr<AccessLogSink> log = access_log_;
  if (next.access_log != config_.access_log) {
    std::string why;
    log = AccessLogSink::open(next.access_log, &why);
    if (!log && !why.empty()) return fail("access_log: " + why);
  }
  // Certificates are read again on every reload; a bad or missing file rejects the whole
  // reload, and the old certificates keep serving.
  ListenerTls tls = build_listener_tls(next, ticket_keys_, unix_now());
  for (const std::string& w : tls.warnings) log_info("%s", w.c_str());
  if (!tls.ok()) return fail(join_lines(tls.errors));
  if (tls.any() != listener_tls_.any() || tls.contexts.size() != listener_tls_.contexts.size()) {
    return fail("listeners changed between plain and TLS; restart ferry for that (nothing was applied)");
  }
  for (std::size_t i = 0; i < tls.contexts.size(); ++i) {
    if (tls.is_tls(i) != listener_tls_.is_tls(i))
      return fail("listener " + next.listen[i] + " changed between plain and TLS; restart ferry for that (nothing was applied)");
  }
  // Pools' CA files likewise: a bad one rejects the reload; unchanged ones keep their context.
  PoolTlsContexts pool_tls = build_pool_tls(next, &pool_tls_);
  if (!pool_tls.ok()) return fail(join_lines(pool_tls.errors));
  // A backend drained by hand and gone from the file forgets it: added back later, it is ready.
  std::set<std::pair<std::string, std::string>> still_drained = listed_in(next, drained_by_hand_);
  std::swap(drained_by_hand_, still_drained);
  balancer::SnapshotPtr previous = publisher_.latest();
  balancer::Snapshot snap;
  ++config_generation_;
  if (!build_snapshot(next, previous.get(), &snap, error)) {
    --config_generation_;
    std::swap(drained_by_hand_, still_drained);
    return fail(*error);
  }
  // Workers adopt this snapshot together with the settings of the same generation (its pools
  // and routes), so a request never sees routes of one file with pools of another.
  publisher_.publish(std::move(snap));
  if (checker_ != nullptr) checker_->reconfigure(next.health_check);  // wakes it for the new pools
  listener_tls_ = std::move(tls);
  {
    // The new listeners serving ACME's certificate start with the one in hand.
    std::lock_guard held(acme_mutex_);
    acme_listeners_ = listener_tls_.published;
    for (const auto& p : acme_listeners_)
      if (p != nullptr && acme_certificate_ != nullptr) p->publish(acme_certificate_);
  }
  pool_tls_ = std::move(pool_tls);
  const Settings settings = settings_for(next, listener_tls_, ticket_keys_, pool_tls_);
  for (auto& w : workers_) w->update(settings, log);
  if (log != access_log_) {
    std::shared_ptr<AccessLogSink> old = std::exchange(access_log_, log);
    // Workers drop their reference on adopting the update; the writer drains when the last goes.
    (void)old;
  }
  config_ = next;
  reloads_ok_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

void Server::count_failed_reload() { reloads_failed_.fetch_add(1, std::memory_order_relaxed); }

bool Server::resolve_now(std::string* error) {
  std::lock_guard lock(mutex_);
  balancer::SnapshotPtr previous = publisher_.latest();
  balancer::Snapshot snap;
  if (!build_snapshot(config_, previous.get(), &snap, error)) return false;
  if (previous && snap.backend_set == previous->backend_set) return true;  // nothing moved
  log_info("backends re-resolved: %zu addresses", snap.size());
  publisher_.publish(std::move(snap));
  return true;
}

void Server::reopen_access_log() {
  std::lock_guard lock(mutex_);
  if (access_log_) access_log_->reopen();
}

void Server::drain() {
  for (auto& w : workers_) w->drain();
}

unsigned Server::workers_serving() const {
  unsigned n = 0;
  for (const auto& w : workers_) n += w->requests_served() > 0 ? 1 : 0;
  return n;
}

uint64_t Server::requests_served() const {
  uint64_t n = 0;
  for (const auto& w : workers_) n += w->requests_served();
  return n;
}

void Server::wait() {
  for (auto& w : workers_) w->join();
  if (stopped_) return;
  stopped_ = true;
  checker_ptr_.store(nullptr, std::memory_order_release);
  if (acme_) acme_->stop();
  if (checker_) checker_->stop();
  if (admin_) admin_->stop();
  std::lock_guard lock(mutex_);
  if (access_log_) access_log_->close();
}

}  // namespace ferry::proxy
