// The parts of the configuration the data path reads, in the units it uses. Each worker holds
// one by value (copied on reload), so reading a setting is a plain load.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "balancer/pick_key.h"
#include "balancer/routing/route_table.h"
#include "config/config.h"
#include "proxy/limits/client_key.h"
#include "proxy/limits/token_bucket.h"
#include "proxy/tls/client_context.h"
#include "proxy/tls/published_context.h"
#include "proxy/tls/server_context.h"
#include "proxy/tls/ticket_keys.h"

namespace ferry::proxy {

// What a worker needs of one listener. Index = the listener's place in `listen`.
struct ListenerSettings {
  std::string name;  // the address as written: the `listener` metric label
  // "Strict-Transport-Security: max-age=N\r\n" for TLS listeners with hsts; else empty.
  std::string hsts_line;
  // The certificates and options of a TLS listener, swapped by a reload (connections already
  // open keep the one they started with); null for plain HTTP.
  std::shared_ptr<const tls::ServerContext> tls;
  // `protocols`: HTTP/2 (by ALPN over TLS, by prior knowledge on plain), and HTTP/1.1.
  bool h2 = false;
  bool http1 = true;
  // Instead of `tls` on a listener serving the ACME certificate: the latest one, swapped at
  // run time by the ACME thread (and refusing handshakes until the first).
  std::shared_ptr<tls::PublishedContext> published_tls;

  bool speaks_tls() const { return tls != nullptr || published_tls != nullptr; }
  // The context a new connection starts with.
  std::shared_ptr<const tls::ServerContext> server_tls() const { return published_tls ? published_tls->current() : tls; }
};

// A route's own rate limit, ready for the limiter: its rate and what keeps its buckets apart.
struct RouteRateLimit {
  limits::Rate rate;  // off: the route has no rate_limit
  uint64_t salt = 0;  // limits::route_salt of the route's name
};

// What a worker needs of one pool (its backends and health travel in the snapshot).
struct PoolSettings {
  std::string name;
  config::BalancerKind balancer = config::BalancerKind::RoundRobin;
  balancer::KeySpec hash_key;  // consistent_hash only
  uint32_t retries = 1;
  bool health_checks = false;  // a refused connect is reported to the checker
  int64_t slow_start_ms = 0;
  std::string sticky_cookie;      // the stickiness cookie's name; empty: no stickiness
  uint64_t sticky_max_age_s = 0;
  // HTTPS to the backends (`tls:`), set by the server (pool_tls.h); null: plain HTTP.
  std::shared_ptr<const tls::ClientContext> tls;
  std::string tls_server_name;  // checked and sent as SNI; empty: each backend's host
  // Names `tls` and `tls_server_name` together (0: plain). A pooled connection or a session
  // made under another id (a reload changed them) is not used again.
  uint64_t tls_id = 0;
  bool h2c = false;  // `protocol: h2c`: HTTP/2 in the clear to the backends (gRPC)
};

// The routes and the pools they forward to, as one value: built at load and every reload, and
// adopted by a worker together with the snapshot of the same `config_generation`, so pool
// indices in routes always mean the pools of the snapshot in use. Requests in flight keep the
// one they started with (a worker holds it with its snapshot, local_snapshot.h).
struct Routing {
  uint64_t config_generation = 0;
  balancer::routing::RouteTable routes;
  std::vector<uint32_t> route_slots;  // by Route::index: ferry_route_requests_total's counters
  std::vector<RouteRateLimit> route_limits;  // by Route::index
  std::vector<PoolSettings> pools;    // by pool index, as config::pools_of() orders them
  bool routes_by_source = false;      // some route has a `source` condition: match needs the peer

  static Routing from(const config::Config& c) {
    Routing r;
    r.routes = balancer::routing::RouteTable::from(c);
    r.route_slots.assign(r.routes.routes().size(), 0);
    for (const balancer::routing::Route& route : r.routes.routes()) {
      const limits::Rate rate = limits::Rate::of(route.rate_limit.rate, route.rate_limit.burst);
      r.route_limits.push_back(RouteRateLimit{rate, rate.on() ? limits::route_salt(route.name) : 0});
    }
    for (const config::RouteConfig& route : c.routes) r.routes_by_source = r.routes_by_source || !route.match.source.empty();
    for (const config::PoolConfig& pc : config::pools_of(c)) {
      PoolSettings p;
      p.name = pc.name;
      p.balancer = pc.balancer;
      if (auto spec = balancer::parse_key_spec(pc.hash_key, nullptr)) p.hash_key = *spec;
      p.retries = pc.retries;
      p.health_checks = pc.health_check.enabled;
      p.slow_start_ms = pc.slow_start.count();
      p.h2c = pc.protocol == config::PoolProtocol::H2c;
      if (pc.stickiness) {
        p.sticky_cookie = pc.stickiness->cookie;
        p.sticky_max_age_s = static_cast<uint64_t>(
            std::chrono::duration_cast<std::chrono::seconds>(pc.stickiness->duration).count());
      }
      r.pools.push_back(std::move(p));
    }
    return r;
  }
};

struct Settings {
  uint64_t connect_ms = 3000;
  uint64_t client_header_ms = 10000;
  uint64_t client_idle_ms = 60000;
  uint64_t backend_response_ms = 60000;
  uint64_t backend_idle_ms = 4000;
  uint64_t shutdown_grace_ms = 10000;
  uint32_t max_connections = 10000;
  uint64_t max_header_bytes = 32768;
  uint64_t max_body_bytes = 0;
  uint32_t http2_max_concurrent_streams = 128;
  limits::Rate per_client;  // every request of a client address (limits.per_client); off: none
  uint64_t request_buffer = 64 * 1024;
  uint64_t response_buffer = 256 * 1024;
  // Never null; shared by every worker (read-only), replaced by a reload.
  std::shared_ptr<const Routing> routing = std::make_shared<const Routing>();
  std::vector<ListenerSettings> listeners;  // TLS contexts are set by the server (server.cc)
  // The process's session-ticket ring when some listener speaks TLS: worker 0 rotates it.
  std::shared_ptr<tls::TicketKeys> ticket_keys;

  static Settings from(const config::Config& c) {
    Settings s;
    s.connect_ms = static_cast<uint64_t>(c.timeouts.connect.count());
    s.client_header_ms = static_cast<uint64_t>(c.timeouts.client_header.count());
    s.client_idle_ms = static_cast<uint64_t>(c.timeouts.client_idle.count());
    s.backend_response_ms = static_cast<uint64_t>(c.timeouts.backend_response.count());
    s.backend_idle_ms = static_cast<uint64_t>(c.timeouts.backend_idle.count());
    s.shutdown_grace_ms = static_cast<uint64_t>(c.timeouts.shutdown_grace.count());
    s.max_connections = c.limits.max_connections;
    s.max_header_bytes = c.limits.max_header_bytes;
    s.max_body_bytes = c.limits.max_body_bytes;
    s.http2_max_concurrent_streams = c.limits.http2_max_concurrent_streams;
    s.per_client = limits::Rate::of(c.limits.per_client.rate, c.limits.per_client.burst);
    s.request_buffer = c.buffers.request;
    s.response_buffer = c.buffers.response;
    s.routing = std::make_shared<const Routing>(Routing::from(c));
    for (std::size_t i = 0; i < c.listen.size(); ++i) {
      ListenerSettings l;
      l.name = c.listen[i];
      if (i < c.listeners.size()) {
        const std::vector<std::string>& p = c.listeners[i].protocols;
        l.h2 = std::find(p.begin(), p.end(), "h2") != p.end();
        l.http1 = std::find(p.begin(), p.end(), "http/1.1") != p.end();
      }
      if (i < c.listeners.size() && c.listeners[i].tls && c.listeners[i].hsts.count() > 0) {
        const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(c.listeners[i].hsts).count();
        l.hsts_line = "Strict-Transport-Security: max-age=" + std::to_string(seconds) + "\r\n";
      }
      s.listeners.push_back(std::move(l));
    }
    return s;
  }
};

}  // namespace ferry::proxy
