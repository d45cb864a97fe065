// ns per RouteTable::match: a table of 100 routes with host and path conditions where only
// the last one matches (the worst case an ALB-sized rule set gives: every route is tried), a
// table of one such route, and the table a file without `routes` gets.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "balancer/request.h"
#include "balancer/routing/route_table.h"
#include "config/config.h"

namespace ferry::balancer::routing {
namespace {

config::Config config_with_routes(int count, bool wildcard_hosts) {
  config::Config config;
  config.backends = {{"10.0.0.1:8000", 1}};
  for (int i = 0; i < count; ++i) {
    config::RouteConfig route;
    route.name = "route-" + std::to_string(i + 1);
    const std::string service = "svc" + std::to_string(i);
    route.match.host = {wildcard_hosts ? "*." + service + ".example.com"
                                       : service + ".example.com"};
    route.match.path = {"/" + service + "/*"};
    route.forward = {{"default", 1}};
    config.routes.push_back(std::move(route));
  }
  return config;
}

void BM_RouteMatch(benchmark::State& state, bool wildcard_hosts) {
  const int count = static_cast<int>(state.range(0));
  const RouteTable table = RouteTable::from(config_with_routes(count, wildcard_hosts));
  const std::string last = "svc" + std::to_string(count - 1);
  const std::string host = (wildcard_hosts ? "eu." : "") + last + ".example.com:443";
  const std::string target = "/" + last + "/orders/123?expand=items";
  const HeaderList headers{{"Host", host}, {"User-Agent", "bench"}};
  const Request request{"GET", target, "192.0.2.1", headers, host, 0, nullptr};
  if (table.match(request) != &table.routes().back()) state.SkipWithError("wrong route");
  for (auto _ : state) benchmark::DoNotOptimize(table.match(request));
}

BENCHMARK_CAPTURE(BM_RouteMatch, exact_host, false)->Arg(1)->Arg(100);
BENCHMARK_CAPTURE(BM_RouteMatch, wildcard_host, true)->Arg(1)->Arg(100);

void BM_RouteMatchWithoutRoutes(benchmark::State& state) {
  const RouteTable table = RouteTable::from(config::Config{});
  const HeaderList headers{{"Host", "example.com"}};
  const Request request{"GET", "/index.html", "192.0.2.1", headers, "example.com", 0, nullptr};
  for (auto _ : state) benchmark::DoNotOptimize(table.match(request));
}
BENCHMARK(BM_RouteMatchWithoutRoutes);

}  // namespace
}  // namespace ferry::balancer::routing
