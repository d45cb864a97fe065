// Configurations and requests for the routing tests: pools "web", "canary" and "static" after
// the top-level "default", two listeners, and a one-call way to ask which route a request gets.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "balancer/routing/route_table.h"
#include "config/config.h"

namespace ferry::balancer::routing {

inline constexpr uint32_t kDefaultPool = 0;  // indices in pools_of(): top-level backends first
inline constexpr uint32_t kWebPool = 1;
inline constexpr uint32_t kCanaryPool = 2;
inline constexpr uint32_t kStaticPool = 3;

inline config::PoolConfig pool_named(std::string name) {
  config::PoolConfig pool;
  pool.name = std::move(name);
  pool.backends = {{"10.0.0.9:8000", 1}};
  return pool;
}

inline config::Config config_with(std::vector<config::RouteConfig> routes) {
  config::Config config;
  config.listen = {"0.0.0.0:80", "[::]:443"};
  config.backends = {{"10.0.0.1:8000", 1}};
  config.pools = {pool_named("web"), pool_named("canary"), pool_named("static")};
  config.routes = std::move(routes);
  return config;
}

// A route's conditions, set one by one: `Conditions().host({"a.example.com"}).path({"/x"})`.
// (Designated initializers that leave fields out trip -Wmissing-field-initializers on GCC.)
class Conditions {
 public:
  using Pairs = std::vector<std::pair<std::string, std::string>>;
  Conditions& host(std::vector<std::string> v) { return set(&config::RouteMatch::host, v); }
  Conditions& path(std::vector<std::string> v) { return set(&config::RouteMatch::path, v); }
  Conditions& method(std::vector<std::string> v) { return set(&config::RouteMatch::method, v); }
  Conditions& header(Pairs v) { return set(&config::RouteMatch::header, v); }
  Conditions& query(Pairs v) { return set(&config::RouteMatch::query, v); }
  Conditions& source(std::vector<std::string> v) { return set(&config::RouteMatch::source, v); }
  Conditions& listener(std::vector<std::string> v) {
    return set(&config::RouteMatch::listener, v);
  }
  // Implicit, so a chain goes wherever a RouteMatch does.
  operator config::RouteMatch() const { return match_; }

 private:
  template <class Field>
  Conditions& set(Field config::RouteMatch::*field, Field& value) {
    match_.*field = std::move(value);
    return *this;
  }
  config::RouteMatch match_;
};

inline config::RouteConfig forward(std::string name, config::RouteMatch match,
                                   std::vector<config::WeightedPool> pools = {{"web", 1}}) {
  config::RouteConfig route;
  route.name = std::move(name);
  route.match = std::move(match);
  route.action = config::RouteAction::Forward;
  route.forward = std::move(pools);
  return route;
}

// One request, with the defaults most tests leave alone.
struct Probe {
  explicit Probe(std::string request_method = "GET", std::string request_target = "/",
                 std::string host_header = "example.com", uint32_t listener_index = 0,
                 const sockaddr_storage* tcp_peer = nullptr)
      : method(std::move(request_method)),
        target(std::move(request_target)),
        host(std::move(host_header)),
        listener(listener_index),
        peer(tcp_peer) {}

  std::string method;
  std::string target;
  std::string host;
  uint32_t listener;
  const sockaddr_storage* peer;
};

// The name of the route `table` picks for `probe`, or "(none)".
inline std::string route_name(const RouteTable& table, const Probe& probe,
                              const RequestHeaders& headers) {
  const Route* route = table.match(Request{probe.method, probe.target, "192.0.2.1", headers,
                                           probe.host, probe.listener, probe.peer});
  return route == nullptr ? "(none)" : route->name;
}

inline std::string route_name(const RouteTable& table, const Probe& probe) {
  const HeaderList no_headers{};
  return route_name(table, probe, no_headers);
}

}  // namespace ferry::balancer::routing
