#include "balancer/routing/route_table.h"

#include <gtest/gtest.h>

namespace ferry::balancer::routing {
namespace {

TEST(RouteTable, AConfigWithoutRoutesSendsEveryRequestToTheOnePool) {
  const RouteTable table = RouteTable::from(config::Config{});
  ASSERT_EQ(table.routes().size(), 1u);
  const HeaderList headers{{"Host", "example.com"}};
  for (const char* method : {"GET", "POST", "DELETE"}) {
    for (const char* target : {"/", "/api/v1?x=1", "*"}) {
      const Route* route = table.match(Request{method, target, "192.0.2.1", headers});
      ASSERT_NE(route, nullptr) << method << " " << target;
      EXPECT_EQ(route->name, "default");
      EXPECT_EQ(choose_pool(*route, 0), 0u);
    }
  }
}

}  // namespace
}  // namespace ferry::balancer::routing
