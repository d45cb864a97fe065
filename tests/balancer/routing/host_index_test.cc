// The host index: routes whose host condition names only exact hosts are skipped by one lookup
// when the request's host is none of them. It must never change which route matches.
#include "balancer/routing/host_index.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "routes_for_tests.h"

namespace ferry::balancer::routing {
namespace {

using Routes = std::vector<uint32_t>;

TEST(HostIndex, ListsTheRoutesAHostLeavesPossibleInTableOrder) {
  HostIndex index;
  index.add_route(0, {}, false);                                  // no host condition
  index.add_route(1, {"a.example.com", "b.example.com"}, false);
  index.add_route(2, {}, false);
  index.add_route(3, {"c.example.com"}, false);
  index.add_route(4, {"*.example.org"}, false);  // a pattern: on every list
  index.add_route(5, {"a.example.com"}, true);   // can never match: on no list
  index.finish();
  EXPECT_EQ(index.first_indexed(), 1u);  // route 0 is tried before any lookup
  EXPECT_EQ(index.candidates("A.Example.COM."), (Routes{1, 2, 4}));  // case, one trailing dot
  EXPECT_EQ(index.candidates("b.example.com"), (Routes{1, 2, 4}));
  EXPECT_EQ(index.candidates("c.example.com"), (Routes{2, 3, 4}));
  EXPECT_EQ(index.candidates("z.example.com"), (Routes{2, 4}));
  EXPECT_EQ(index.candidates(""), (Routes{2, 4}));
  EXPECT_EQ(index.candidates("a.example.co"), (Routes{2, 4}));  // prefixes are other hosts
  EXPECT_EQ(index.candidates("a.example.comm"), (Routes{2, 4}));
}

TEST(HostIndex, HandlesManyHostsAndRoutes) {
  HostIndex index;
  for (uint32_t i = 0; i < 300; ++i) index.add_route(i, {"h" + std::to_string(i) + ".example.com"}, false);
  index.add_route(300, {}, false);
  index.finish();
  for (uint32_t i = 0; i < 300; i += 37)
    EXPECT_EQ(index.candidates("h" + std::to_string(i) + ".example.com"), (Routes{i, 300})) << i;
  EXPECT_EQ(index.candidates("h300.example.com"), (Routes{300}));
}

// Through the table: first match wins among indexed and walked routes alike.
TEST(HostIndex, KeepsTheTablesFirstMatchOrder) {
  std::vector<config::RouteConfig> routes;
  routes.push_back(forward("wild", Conditions().host({"*.shop.example"}).path({"/wild/*"})));
  for (int i = 0; i < 99; ++i)
    routes.push_back(forward("exact-" + std::to_string(i), Conditions().host({"app-" + std::to_string(i) + ".example.com"})));
  routes.push_back(forward("shop-exact", Conditions().host({"www.shop.example"}).path({"/api/*"})));
  routes.push_back(forward("catch-all", Conditions()));
  const RouteTable table = RouteTable::from(config_with(routes));
  EXPECT_EQ(route_name(table, Probe("GET", "/", "app-42.example.com")), "exact-42");
  EXPECT_EQ(route_name(table, Probe("GET", "/", "APP-7.Example.Com:8080")), "exact-7");
  EXPECT_EQ(route_name(table, Probe("GET", "/wild/x", "www.shop.example")), "wild");
  EXPECT_EQ(route_name(table, Probe("GET", "/api/x", "www.shop.example")), "shop-exact");
  EXPECT_EQ(route_name(table, Probe("GET", "/api/x", "other.example")), "catch-all");
  EXPECT_EQ(route_name(table, Probe("GET", "/", "app-100.example.com")), "catch-all");
}

}  // namespace
}  // namespace ferry::balancer::routing
