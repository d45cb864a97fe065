// The host index: routes whose host condition names only exact hosts are skipped by one lookup
// when the request's host is none of them. It must never change which route matches.
#include "balancer/routing/host_index.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "routes_for_tests.h"

namespace ferry::balancer::routing {
namespace {

TEST(HostIndex, SkipsOnlyIndexedRoutesThatDoNotNameTheHost) {
  HostIndex index;
  index.add_route(0, {"a.example.com", "b.example.com"});
  index.add_route(2, {"c.example.com"});
  index.add_route(3, {"*.example.org"});  // a pattern: never indexed
  index.finish(5);
  const HostIndex::Lookup a = index.lookup("A.Example.COM.");  // case and one trailing dot
  EXPECT_TRUE(a.may_match(0));
  EXPECT_TRUE(a.may_match(1));   // no host condition: not indexed
  EXPECT_FALSE(a.may_match(2));
  EXPECT_TRUE(a.may_match(3));
  EXPECT_TRUE(a.may_match(4));
  const HostIndex::Lookup none = index.lookup("z.example.com");
  EXPECT_FALSE(none.may_match(0));
  EXPECT_FALSE(none.may_match(2));
  EXPECT_TRUE(none.may_match(3));
  EXPECT_FALSE(index.lookup("").may_match(0));
  EXPECT_FALSE(index.lookup("a.example.co").may_match(0));  // prefixes are other hosts
  EXPECT_FALSE(index.lookup("a.example.comm").may_match(0));
}

TEST(HostIndex, ReachesRoutesPastTheFirst64) {
  HostIndex index;
  for (uint32_t i = 0; i < 130; ++i) index.add_route(i, {"h" + std::to_string(i) + ".example.com"});
  index.finish(131);
  const HostIndex::Lookup l = index.lookup("h129.example.com");
  for (uint32_t i = 0; i < 130; ++i) EXPECT_EQ(l.may_match(i), i == 129) << i;
  EXPECT_TRUE(l.may_match(130));
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
