#include "balancer/routing/route_table.h"

namespace ferry::balancer::routing {

RouteTable RouteTable::from(const config::Config&) {
  RouteTable table;
  table.routes_.push_back(Route{"default", 0});
  return table;
}

const Route* RouteTable::match(const Request&) const {
  // A route without conditions matches everything; the default route has none.
  return routes_.empty() ? nullptr : &routes_.front();
}

}  // namespace ferry::balancer::routing
