#include "balancer/routing/route_table.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>

#include "balancer/routing/routes_for_tests.h"

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

TEST(RouteTable, TheFirstRouteWhoseConditionsHoldWins) {
  const RouteTable table = RouteTable::from(config_with({
      forward("api-v1", Conditions().path({"/api/v1/*"})),
      forward("api", Conditions().path({"/api/*"})),
      forward("api-v1-shadowed", Conditions().path({"/api/v1/users"})),
      forward("everything", {}),
      forward("never-reached", Conditions().path({"/x"})),
  }));
  EXPECT_EQ(route_name(table, Probe{"GET", "/api/v1/users"}), "api-v1");
  EXPECT_EQ(route_name(table, Probe{"GET", "/api/v2/users"}), "api");
  EXPECT_EQ(route_name(table, Probe{"GET", "/x"}), "everything");
  EXPECT_EQ(route_name(table, Probe{"GET", "/"}), "everything");
}

TEST(RouteTable, NoMatchingRouteIsNull) {
  const RouteTable table =
      RouteTable::from(config_with({forward("api", Conditions().path({"/api/*"}))}));
  EXPECT_EQ(route_name(table, Probe{"GET", "/web"}), "(none)");
}

TEST(RouteTable, RoutesKeepTheirPositionAndGetADefaultName) {
  config::RouteConfig unnamed = forward("", {});
  const RouteTable table =
      RouteTable::from(config_with({forward("a", Conditions().path({"/a"})), unnamed}));
  ASSERT_EQ(table.routes().size(), 2u);
  EXPECT_EQ(table.routes()[0].index, 0u);
  EXPECT_EQ(table.routes()[1].index, 1u);
  EXPECT_EQ(table.routes()[1].name, "route-2");
}

TEST(RouteTable, ForwardNamesPoolsByTheirIndexInPoolsOf) {
  const RouteTable table = RouteTable::from(config_with({
      forward("static", Conditions().path({"/static/*"}), {{"static", 1}}),
      forward("default", {}, {{"default", 1}}),
  }));
  const Route& first = table.routes()[0];
  EXPECT_EQ(first.action, Action::Forward);
  ASSERT_EQ(first.pools.size(), 1u);
  EXPECT_EQ(first.pools[0].pool, kStaticPool);
  EXPECT_EQ(choose_pool(first, 0), kStaticPool);
  EXPECT_EQ(choose_pool(table.routes()[1], 12345), kDefaultPool);
}

TEST(RouteTable, WithoutTopLevelBackendsTheFirstNamedPoolIsIndexZero) {
  config::Config config = config_with({forward("web", {}, {{"web", 1}})});
  config.backends.clear();
  EXPECT_EQ(choose_pool(RouteTable::from(config).routes()[0], 0), 0u);
}

TEST(RouteTable, NinetyTenSplitsExactlyAndInterleaved) {
  const RouteTable table = RouteTable::from(
      config_with({forward("split", {}, {{"web", 90}, {"canary", 10}})}));
  const Route& route = table.routes()[0];
  ASSERT_EQ(route.pools.size(), 2u);
  EXPECT_EQ(route.pools[0].weight, 90u);
  EXPECT_EQ(route.pools[1].weight, 10u);
  EXPECT_EQ(route.sequence.size(), 10u);

  std::array<std::size_t, 4> counts{};
  std::size_t run = 0;
  std::size_t longest_web_run = 0;
  for (uint64_t counter = 0; counter < 10000; ++counter) {
    const uint32_t pool = choose_pool(route, counter);
    ASSERT_TRUE(pool == kWebPool || pool == kCanaryPool) << pool;
    ++counts[pool];
    run = pool == kWebPool ? run + 1 : 0;
    longest_web_run = std::max(longest_web_run, run);
    // Exact within every cycle of ten, not only in the long run.
    if ((counter + 1) % 10 == 0) {
      EXPECT_EQ(counts[kCanaryPool], (counter + 1) / 10);
    }
  }
  EXPECT_EQ(counts[kWebPool], 9000u);
  EXPECT_EQ(counts[kCanaryPool], 1000u);
  EXPECT_LE(longest_web_run, 9u);  // never more than ceil(90 / 10) in a row
}

TEST(RouteTable, ThreeWaySplitIsSmooth) {
  const RouteTable table = RouteTable::from(
      config_with({forward("split", {}, {{"web", 50}, {"canary", 25}, {"static", 25}})}));
  const Route& route = table.routes()[0];
  ASSERT_EQ(route.sequence.size(), 4u);
  std::array<std::size_t, 4> counts{};
  for (uint64_t counter = 0; counter < 400; ++counter) {
    const uint32_t pool = choose_pool(route, counter);
    ++counts[pool];
    if (counter > 0) {  // the small pools never come twice in a row
      EXPECT_FALSE(pool != kWebPool && pool == choose_pool(route, counter - 1));
    }
  }
  EXPECT_EQ(counts[kWebPool], 200u);
  EXPECT_EQ(counts[kCanaryPool], 100u);
  EXPECT_EQ(counts[kStaticPool], 100u);
}

TEST(RouteTable, PoolsOfWeightZeroAreLeftOut) {
  const RouteTable table =
      RouteTable::from(config_with({forward("blue", {}, {{"web", 0}, {"canary", 5}})}));
  const Route& route = table.routes()[0];
  ASSERT_EQ(route.pools.size(), 1u);
  EXPECT_EQ(route.pools[0].pool, kCanaryPool);
  for (uint64_t counter = 0; counter < 10; ++counter)
    EXPECT_EQ(choose_pool(route, counter), kCanaryPool);
}

TEST(RouteTable, AForwardWithNoPoolLeftAnswers503) {
  const RouteTable table = RouteTable::from(config_with({
      forward("off", {}, {{"web", 0}, {"canary", 0}}),
      forward("missing", {}, {{"no-such-pool", 1}}),
  }));
  for (const Route& route : table.routes()) {
    EXPECT_EQ(route.action, Action::Respond) << route.name;
    EXPECT_EQ(route.status, 503u);
    EXPECT_EQ(route.content_type, "text/plain");
    EXPECT_FALSE(route.body.empty());
    EXPECT_TRUE(route.pools.empty());
  }
}

TEST(RouteTable, ForwardCopiesStripPrefix) {
  config::RouteConfig route = forward("api", Conditions().path({"/api/*"}));
  route.strip_prefix = "/api";
  EXPECT_EQ(RouteTable::from(config_with({route})).routes()[0].strip_prefix, "/api");
}

TEST(RouteTable, EachRouteCarriesItsOwnRateLimitAndTheDefaultRouteNone) {
  config::RouteConfig login = forward("login", Conditions().path({"/login"}));
  login.rate_limit = {1, 5};
  const RouteTable table = RouteTable::from(config_with({login, forward("rest", Conditions())}));
  EXPECT_EQ(table.routes()[0].rate_limit, (config::RateLimit{1, 5}));
  EXPECT_EQ(table.routes()[1].rate_limit, config::RateLimit{});
  EXPECT_EQ(RouteTable::from(config::Config{}).routes()[0].rate_limit, config::RateLimit{});
}

TEST(RouteTable, RedirectAndRespondCarryTheirFields) {
  config::RouteConfig redirect;
  redirect.name = "to-https";
  redirect.match.listener = {"0.0.0.0:80"};
  redirect.action = config::RouteAction::Redirect;
  redirect.location = "https://#{host}:443/#{path}?#{query}";
  redirect.status = 308;
  config::RouteConfig unset_status = redirect;
  unset_status.name = "to-https-default";
  unset_status.status = 0;
  config::RouteConfig respond;
  respond.name = "maintenance";
  respond.match.path = {"/maintenance"};
  respond.action = config::RouteAction::Respond;
  respond.status = 503;
  respond.content_type = "application/json";
  respond.body = "{\"back\":\"soon\"}";

  const RouteTable table = RouteTable::from(config_with({redirect, unset_status, respond}));
  const Route& to_https = table.routes()[0];
  EXPECT_EQ(to_https.action, Action::Redirect);
  EXPECT_EQ(to_https.location, "https://#{host}:443/#{path}?#{query}");
  EXPECT_EQ(to_https.status, 308u);
  EXPECT_TRUE(to_https.sequence.empty());
  EXPECT_EQ(table.routes()[1].status, 301u);  // the contract's default
  const Route& maintenance = table.routes()[2];
  EXPECT_EQ(maintenance.action, Action::Respond);
  EXPECT_EQ(maintenance.status, 503u);
  EXPECT_EQ(maintenance.content_type, "application/json");
  EXPECT_EQ(maintenance.body, "{\"back\":\"soon\"}");

  Probe probe;
  probe.target = "/maintenance";
  EXPECT_EQ(route_name(table, probe), "to-https");
  probe.listener = 1;
  EXPECT_EQ(route_name(table, probe), "maintenance");
}

TEST(RouteTable, TheContractExampleRoutesAsWritten) {
  config::RouteConfig api = forward("api",
                                    Conditions()
                                        .host({"api.example.com", "*.example.org"})
                                        .path({"/api/*"})
                                        .method({"GET", "POST"}),
                                    {{"web", 90}, {"canary", 10}});
  config::RouteConfig redirect;
  redirect.name = "route-2";
  redirect.match.listener = {"0.0.0.0:80"};
  redirect.action = config::RouteAction::Redirect;
  redirect.location = "https://#{host}:443/#{path}?#{query}";
  redirect.status = 301;
  config::RouteConfig maintenance;
  maintenance.name = "route-3";
  maintenance.match.path = {"/maintenance"};
  maintenance.action = config::RouteAction::Respond;
  maintenance.status = 503;
  maintenance.body = "back soon\n";
  const RouteTable table = RouteTable::from(config_with({api, redirect, maintenance}));

  EXPECT_EQ(route_name(table, Probe{"GET", "/api/x", "API.example.com", 0}), "api");
  EXPECT_EQ(route_name(table, Probe{"POST", "/api/x", "eu.example.org:8443", 1}), "api");
  EXPECT_EQ(route_name(table, Probe{"DELETE", "/api/x", "api.example.com", 0}), "route-2");
  EXPECT_EQ(route_name(table, Probe{"GET", "/maintenance", "api.example.com", 1}), "route-3");
  EXPECT_EQ(route_name(table, Probe{"GET", "/other", "api.example.com", 1}), "(none)");
}

}  // namespace
}  // namespace ferry::balancer::routing
