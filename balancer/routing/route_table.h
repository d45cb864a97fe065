// Which pool serves a request: the listener rules of an ALB, or nginx's location blocks. The
// table is built once at load and reload from the configuration, and matching is a pure
// function of the request head, so every rule is testable without a socket.
//
// Today the configuration has one pool and no rules, so the table holds one route, "default",
// that matches every request. Routing by host, path, method, header, query and source fills in
// RouteTable::from() and Route's conditions; the proxy already asks the table for every request.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "balancer/request.h"
#include "config/config.h"

namespace ferry::balancer::routing {

struct Route {
  std::string name;       // for metrics and the access log
  uint32_t pool = 0;      // the pool it forwards to: an index into the snapshot's pools
};

class RouteTable {
 public:
  // The table `config` describes.
  static RouteTable from(const config::Config& config);

  // The first route whose conditions all hold for `request`, or nullptr when none does (the
  // proxy answers 404). Runs on a worker's loop for every request: never allocates or blocks.
  const Route* match(const Request& request) const;

  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
};

}  // namespace ferry::balancer::routing
