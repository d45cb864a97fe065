#include "balancer/routing/route_table.h"

#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "balancer/routing/compiled_match.h"
#include "balancer/routing/smooth_sequence.h"

namespace ferry::balancer::routing {

namespace {

Route default_route() {
  Route route;
  route.name = "default";
  route.pools.push_back(PoolShare{0, 1});
  route.sequence.push_back(0);
  return route;
}

std::optional<uint32_t> pool_index(const std::vector<config::PoolConfig>& pools,
                                   std::string_view name) {
  for (std::size_t i = 0; i < pools.size(); ++i)
    if (pools[i].name == name) return static_cast<uint32_t>(i);
  return std::nullopt;
}

void fill_forward(const config::RouteConfig& route_config,
                  const std::vector<config::PoolConfig>& pools, Route* route) {
  route->action = Action::Forward;
  route->strip_prefix = route_config.strip_prefix;
  std::vector<uint32_t> weights;
  for (const config::WeightedPool& entry : route_config.forward) {
    const std::optional<uint32_t> index = pool_index(pools, entry.pool);
    if (!index || entry.weight == 0) continue;
    route->pools.push_back(PoolShare{*index, entry.weight});
    weights.push_back(entry.weight);
  }
  for (uint32_t position : smooth_sequence(weights))
    route->sequence.push_back(route->pools[position].pool);
  if (!route->sequence.empty()) return;
  // Every weight is 0 (or no pool could be found): no pool may receive these requests. Say so
  // with a 503 rather than hand choose_pool() an empty route, whose answer would be pool 0.
  route->action = Action::Respond;
  route->pools.clear();
  route->status = 503;
  route->content_type = "text/plain";
  route->body = "no pool to forward to\n";
}

}  // namespace

RouteTable RouteTable::from(const config::Config& config) {
  RouteTable table;
  if (config.routes.empty()) {
    table.routes_.push_back(default_route());
    return table;
  }
  const std::vector<config::PoolConfig> pools = config::pools_of(config);
  table.routes_.reserve(config.routes.size());
  for (const config::RouteConfig& route_config : config.routes) {
    Route route;
    route.index = static_cast<uint32_t>(table.routes_.size());
    route.name = route_config.name.empty() ? "route-" + std::to_string(route.index + 1)
                                           : route_config.name;
    if (std::optional<CompiledMatch> compiled =
            CompiledMatch::compile(route_config.match, config.listen))
      route.match = std::make_shared<const CompiledMatch>(std::move(*compiled));
    route.rate_limit = route_config.rate_limit;
    switch (route_config.action) {
      case config::RouteAction::Forward:
        fill_forward(route_config, pools, &route);
        break;
      case config::RouteAction::Redirect:
        route.action = Action::Redirect;
        route.location = route_config.location;
        route.status = route_config.status == 0 ? 301 : route_config.status;
        break;
      case config::RouteAction::Respond:
        route.action = Action::Respond;
        route.status = route_config.status;
        route.content_type = route_config.content_type;
        route.body = route_config.body;
        break;
    }
    table.hosts_.add_route(route.index, route.match ? route_config.match.host : std::vector<std::string>{},
                           route.match && route.match->never);
    table.routes_.push_back(std::move(route));
  }
  table.hosts_.finish();
  return table;
}

const Route* RouteTable::match(const Request& request) const {
  if (routes_.empty()) return nullptr;
  // A file without routes (or one opening with a catch-all) needs nothing from the request.
  if (!routes_.front().match) return &routes_.front();
  const MatchInput input = match_input_of(request);
  auto holds = [&](const Route& route) { return !route.match || route.match->holds(input); };
  // Routes before the first one the host index covers are tried in order; from there on only
  // those the request's host leaves possible, still in order.
  const std::size_t walked = hosts_.empty() ? routes_.size() : hosts_.first_indexed();
  for (std::size_t i = 0; i < walked; ++i)
    if (holds(routes_[i])) return &routes_[i];
  if (hosts_.empty()) return nullptr;
  for (const uint32_t i : hosts_.candidates(input.host))
    if (holds(routes_[i])) return &routes_[i];
  return nullptr;
}

uint32_t choose_pool(const Route& route, uint64_t counter) {
  return route.sequence.empty() ? 0 : route.sequence[counter % route.sequence.size()];
}

}  // namespace ferry::balancer::routing
