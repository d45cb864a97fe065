#include "balancer/routing/route_table.h"

namespace ferry::balancer::routing {

struct CompiledMatch {};

RouteTable RouteTable::from(const config::Config&) {
  RouteTable table;
  Route route;
  route.name = "default";
  route.pools.push_back(PoolShare{0, 1});
  route.sequence.push_back(0);
  table.routes_.push_back(std::move(route));
  return table;
}

const Route* RouteTable::match(const Request&) const {
  return routes_.empty() ? nullptr : &routes_.front();
}

uint32_t choose_pool(const Route& route, uint64_t counter) {
  return route.sequence.empty() ? 0 : route.sequence[counter % route.sequence.size()];
}

}  // namespace ferry::balancer::routing
