// Each condition of a route's `match:` on its own, through RouteTable as the proxy calls it.
#include <gtest/gtest.h>

#include "balancer/routing/route_table.h"
#include "balancer/routing/routes_for_tests.h"
#include "balancer/routing/test_peers.h"

namespace ferry::balancer::routing {
namespace {

// A table whose one route, "hit", has the conditions `match`.
RouteTable table_matching(config::RouteMatch match) {
  return RouteTable::from(config_with({forward("hit", std::move(match))}));
}

bool hits(const RouteTable& table, const Probe& probe, const RequestHeaders& headers) {
  return route_name(table, probe, headers) == "hit";
}

bool hits(const RouteTable& table, const Probe& probe) {
  return route_name(table, probe) == "hit";
}

Probe to_host(std::string host) {
  Probe probe;
  probe.host = std::move(host);
  return probe;
}

Probe to_target(std::string target) {
  Probe probe;
  probe.target = std::move(target);
  return probe;
}

TEST(RouteConditions, NoConditionMatchesEveryRequest) {
  const RouteTable table = table_matching({});
  EXPECT_EQ(table.routes().front().match, nullptr);
  EXPECT_TRUE(hits(table, Probe{}));
  EXPECT_TRUE(hits(table, Probe{"BREW", "*", "", 1, nullptr}));
}

TEST(RouteConditions, HostWildcardNeedsASubdomainAsInALB) {
  const RouteTable table = table_matching(Conditions().host({"*.example.com"}));
  EXPECT_TRUE(hits(table, to_host("test.example.com")));
  EXPECT_TRUE(hits(table, to_host("a.b.example.com")));
  EXPECT_FALSE(hits(table, to_host("example.com")));
  EXPECT_FALSE(hits(table, to_host("badexample.com")));
  EXPECT_FALSE(hits(table, to_host("test.example.com.evil")));
}

TEST(RouteConditions, HostIgnoresCaseAndPort) {
  const RouteTable table = table_matching(Conditions().host({"API.example.com"}));
  EXPECT_TRUE(hits(table, to_host("api.example.com")));
  EXPECT_TRUE(hits(table, to_host("Api.Example.COM:8080")));
  EXPECT_TRUE(hits(table, to_host("api.example.com:")));
  EXPECT_FALSE(hits(table, to_host("api.example.co")));
  EXPECT_FALSE(hits(table, to_host("api.example.com.au")));
}

TEST(RouteConditions, HostIgnoresOneTrailingDot) {
  const RouteTable table = table_matching(Conditions().host({"api.example.com"}));
  EXPECT_TRUE(hits(table, to_host("api.example.com.")));
  EXPECT_TRUE(hits(table, to_host("api.example.com.:443")));
  EXPECT_FALSE(hits(table, to_host("api.example.com..")));
  EXPECT_TRUE(
      hits(table_matching(Conditions().host({"api.example.com."})), to_host("api.example.com")));
}

TEST(RouteConditions, HostIsAnyOfTheList) {
  const RouteTable table = table_matching(Conditions().host({"api.example.com", "*.example.org"}));
  EXPECT_TRUE(hits(table, to_host("api.example.com")));
  EXPECT_TRUE(hits(table, to_host("www.example.org")));
  EXPECT_FALSE(hits(table, to_host("www.example.com")));
}

TEST(RouteConditions, HostMatchesAnIPv6LiteralWithItsBrackets) {
  const RouteTable table = table_matching(Conditions().host({"[::1]"}));
  EXPECT_TRUE(hits(table, to_host("[::1]:8080")));
  EXPECT_TRUE(hits(table, to_host("[::1]")));
  EXPECT_FALSE(hits(table, to_host("[::2]:8080")));
}

TEST(RouteConditions, OnlyAStarMatchesAMissingHost) {
  EXPECT_FALSE(hits(table_matching(Conditions().host({"*.example.com"})), to_host("")));
  EXPECT_TRUE(hits(table_matching(Conditions().host({"*"})), to_host("")));
}

TEST(RouteConditions, AnAbsoluteFormTargetNamesTheHost) {
  const RouteTable table = table_matching(Conditions().host({"api.example.com"}).path({"/v1/*"}));
  Probe probe;
  probe.host = "other.example.com";
  probe.target = "http://API.example.com:80/v1/users?x=1";
  EXPECT_TRUE(hits(table, probe));
  probe.target = "http://other.example.com/v1/users";
  probe.host = "api.example.com";
  EXPECT_FALSE(hits(table, probe));
}

TEST(RouteConditions, PathIsCaseSensitiveAndNeverSeesTheQuery) {
  const RouteTable table = table_matching(Conditions().path({"/img/*"}));
  EXPECT_TRUE(hits(table, to_target("/img/picture.jpg")));
  EXPECT_TRUE(hits(table, to_target("/img/picture.jpg?size=large")));
  EXPECT_FALSE(hits(table, to_target("/IMG/picture.jpg")));
  EXPECT_FALSE(hits(table, to_target("/img")));
  EXPECT_FALSE(hits(table, to_target("/?/img/")));
  const RouteTable exact = table_matching(Conditions().path({"/health"}));
  EXPECT_TRUE(hits(exact, to_target("/health")));
  EXPECT_TRUE(hits(exact, to_target("/health?verbose")));
  EXPECT_TRUE(hits(exact, to_target("/health#frag")));
  EXPECT_FALSE(hits(exact, to_target("/health/")));
  EXPECT_FALSE(hits(table_matching(Conditions().path({"*.jpg"})), to_target("/a.png?x=.jpg")));
}

TEST(RouteConditions, PathIsComparedAsSentWithoutDecoding) {
  const RouteTable table = table_matching(Conditions().path({"/api/*"}));
  EXPECT_FALSE(hits(table, to_target("/%61pi/users")));
  EXPECT_TRUE(hits(table, to_target("/api/../admin")));
  EXPECT_TRUE(hits(table_matching(Conditions().path({"/a%20b"})), to_target("/a%20b")));
}

TEST(RouteConditions, PathOfAnAbsoluteFormTarget) {
  EXPECT_TRUE(hits(table_matching(Conditions().path({"/"})), to_target("http://h")));
  EXPECT_TRUE(hits(table_matching(Conditions().path({"/"})), to_target("http://h?x=1")));
  EXPECT_TRUE(hits(table_matching(Conditions().path({"/a/*"})), to_target("https://h:8443/a/b")));
  EXPECT_TRUE(hits(table_matching(Conditions().path({"*"})), to_target("*")));
  EXPECT_FALSE(hits(table_matching(Conditions().path({"/*"})), to_target("*")));
}

TEST(RouteConditions, PathIsAnyOfTheList) {
  const RouteTable table = table_matching(Conditions().path({"/api/*", "/v?/*"}));
  EXPECT_TRUE(hits(table, to_target("/api/x")));
  EXPECT_TRUE(hits(table, to_target("/v2/x")));
  EXPECT_FALSE(hits(table, to_target("/web/x")));
}

TEST(RouteConditions, MethodIsExactAndCaseSensitive) {
  const RouteTable table = table_matching(Conditions().method({"GET", "POST"}));
  Probe probe;
  for (const char* method : {"GET", "POST"}) {
    probe.method = method;
    EXPECT_TRUE(hits(table, probe)) << method;
  }
  for (const char* method : {"get", "PUT", "GETS", "GE", ""}) {
    probe.method = method;
    EXPECT_FALSE(hits(table, probe)) << method;
  }
  probe.method = "PURGE";
  EXPECT_TRUE(hits(table_matching(Conditions().method({"PURGE"})), probe));
}

TEST(RouteConditions, HeaderNameIgnoresCaseAndValueIsACaseInsensitivePattern) {
  const RouteTable table = table_matching(Conditions().header({{"User-Agent", "*Chrome*"}}));
  EXPECT_TRUE(hits(table, Probe{}, HeaderList{{"user-agent", "Mozilla/5.0 chrome/120"}}));
  EXPECT_TRUE(hits(table, Probe{}, HeaderList{{"USER-AGENT", "CHROME"}}));
  EXPECT_FALSE(hits(table, Probe{}, HeaderList{{"User-Agent", "Firefox/121"}}));
  EXPECT_FALSE(hits(table, Probe{}, HeaderList{{"X-User-Agent", "Chrome"}}));
}

TEST(RouteConditions, AnAbsentHeaderNeverHoldsEvenForAStar) {
  const RouteTable table = table_matching(Conditions().header({{"X-Canary", "*"}}));
  EXPECT_FALSE(hits(table, Probe{}, HeaderList{{"Host", "example.com"}}));
  EXPECT_TRUE(hits(table, Probe{}, HeaderList{{"X-Canary", ""}}));
}

TEST(RouteConditions, AHeaderSentSeveralTimesHoldsWhenAnyValueFits) {
  const RouteTable table = table_matching(Conditions().header({{"X-Canary", "1"}}));
  EXPECT_TRUE(hits(table, Probe{}, HeaderList{{"X-Canary", "0"}, {"X-Canary", "1"}}));
  EXPECT_TRUE(hits(table, Probe{}, HeaderList{{"X-Canary", "1"}, {"X-Canary", "0"}}));
  EXPECT_FALSE(hits(table, Probe{}, HeaderList{{"X-Canary", "0"}, {"X-Canary", "2"}}));
  // One field with a comma-separated list is one value.
  EXPECT_FALSE(hits(table, Probe{}, HeaderList{{"X-Canary", "0, 1"}}));
}

TEST(RouteConditions, HeaderValuesAreTrimmedOfSpacesAndTabs) {
  const RouteTable table = table_matching(Conditions().header({{"X-Canary", "on"}}));
  EXPECT_TRUE(hits(table, Probe{}, HeaderList{{"X-Canary", " \ton \t"}}));
  EXPECT_FALSE(hits(table, Probe{}, HeaderList{{"X-Canary", "o n"}}));
}

TEST(RouteConditions, EveryHeaderPairMustHold) {
  const RouteTable table = table_matching(Conditions().header({{"X-A", "1"}, {"X-B", "2?"}}));
  EXPECT_TRUE(hits(table, Probe{}, HeaderList{{"X-B", "2x"}, {"X-A", "1"}}));
  EXPECT_FALSE(hits(table, Probe{}, HeaderList{{"X-A", "1"}}));
  EXPECT_FALSE(hits(table, Probe{}, HeaderList{{"X-A", "1"}, {"X-B", "2"}}));
}

TEST(RouteConditions, QueryKeyAndValueIgnoreCase) {
  const RouteTable table = table_matching(Conditions().query({{"version", "v2"}}));
  EXPECT_TRUE(hits(table, to_target("/?version=v2")));
  EXPECT_TRUE(hits(table, to_target("/?VERSION=V2")));
  EXPECT_TRUE(hits(table, to_target("/p?a=1&Version=v2&b")));
  EXPECT_FALSE(hits(table, to_target("/?version=v21")));
  EXPECT_FALSE(hits(table, to_target("/?versions=v2")));
  EXPECT_FALSE(hits(table, to_target("/version=v2")));
  EXPECT_FALSE(hits(table, to_target("/")));
}

TEST(RouteConditions, QueryValuesTakeWildcards) {
  const RouteTable table = table_matching(Conditions().query({{"lang", "en-??"}}));
  EXPECT_TRUE(hits(table, to_target("/?lang=en-GB")));
  EXPECT_FALSE(hits(table, to_target("/?lang=en")));
  EXPECT_TRUE(hits(table_matching(Conditions().query({{"id", "*"}})), to_target("/?id")));
  EXPECT_FALSE(hits(table_matching(Conditions().query({{"id", "*"}})), to_target("/?other=1")));
}

TEST(RouteConditions, QueryParsingEdgeCases) {
  const RouteTable empty_value = table_matching(Conditions().query({{"a", ""}}));
  EXPECT_TRUE(hits(empty_value, to_target("/?a")));
  EXPECT_TRUE(hits(empty_value, to_target("/?a=")));
  EXPECT_TRUE(hits(empty_value, to_target("/?&&a&&")));
  EXPECT_FALSE(hits(empty_value, to_target("/?a=1")));
  EXPECT_FALSE(hits(empty_value, to_target("/?")));
  EXPECT_FALSE(hits(empty_value, to_target("/")));
  const RouteTable one = table_matching(Conditions().query({{"a", "1"}}));
  EXPECT_TRUE(hits(one, to_target("/?a=2&a=1")));   // a repeated key: any occurrence
  EXPECT_FALSE(hits(one, to_target("/?a=2&a=3")));
  EXPECT_FALSE(hits(one, to_target("/?a=1=1")));     // the first '=' ends the key
  EXPECT_TRUE(hits(one, to_target("/?a=1#frag")));
  EXPECT_FALSE(hits(one, to_target("/#?a=1")));
}

TEST(RouteConditions, QueryIsComparedAsSentWithoutDecoding) {
  EXPECT_FALSE(hits(table_matching(Conditions().query({{"q", "a b"}})), to_target("/?q=a%20b")));
  EXPECT_FALSE(hits(table_matching(Conditions().query({{"q", "a b"}})), to_target("/?q=a+b")));
  EXPECT_TRUE(hits(table_matching(Conditions().query({{"q", "a+b"}})), to_target("/?q=a+b")));
  EXPECT_TRUE(hits(table_matching(Conditions().query({{"q", "a%20b"}})), to_target("/?q=a%20B")));
}

TEST(RouteConditions, EveryQueryPairMustHold) {
  const RouteTable table = table_matching(Conditions().query({{"a", "1"}, {"b", "*"}}));
  EXPECT_TRUE(hits(table, to_target("/?b=x&a=1")));
  EXPECT_FALSE(hits(table, to_target("/?a=1")));
  EXPECT_FALSE(hits(table, to_target("/?b=1")));
}

TEST(RouteConditions, AnEmptyQueryKeyMatchesAnyKey) {
  const RouteTable table = table_matching(Conditions().query({{"", "debug"}}));
  EXPECT_TRUE(hits(table, to_target("/?mode=DEBUG")));
  EXPECT_TRUE(hits(table, to_target("/?x=1&y=debug")));
  EXPECT_FALSE(hits(table, to_target("/?debug")));  // "debug" is a key there, not a value
}

TEST(RouteConditions, AQueryKeyMayHoldWildcards) {
  const RouteTable table = table_matching(Conditions().query({{"utm_*", "*"}}));
  EXPECT_TRUE(hits(table, to_target("/?UTM_source=news")));
  EXPECT_FALSE(hits(table, to_target("/?utm=1")));
}

TEST(RouteConditions, SourceIsAnyCidrOfThePeer) {
  const RouteTable table = table_matching(Conditions().source({"10.0.0.0/8", "2001:db8::/32"}));
  const sockaddr_storage inside_v4 = ipv4_peer("10.1.2.3");
  const sockaddr_storage outside_v4 = ipv4_peer("192.0.2.1");
  const sockaddr_storage inside_v6 = ipv6_peer("2001:db8::5");
  const sockaddr_storage mapped = ipv6_peer("::ffff:10.1.2.3");
  const sockaddr_storage outside_v6 = ipv6_peer("2001:db9::5");
  Probe probe;
  for (const sockaddr_storage* peer : {&inside_v4, &inside_v6, &mapped}) {
    probe.peer = peer;
    EXPECT_TRUE(hits(table, probe));
  }
  for (const sockaddr_storage* peer : {&outside_v4, &outside_v6}) {
    probe.peer = peer;
    EXPECT_FALSE(hits(table, probe));
  }
}

TEST(RouteConditions, AnUnknownPeerNeverMatchesASource) {
  EXPECT_FALSE(hits(table_matching(Conditions().source({"0.0.0.0/0"})), Probe{}));
  EXPECT_FALSE(hits(table_matching(Conditions().source({"::/0"})), Probe{}));
}

TEST(RouteConditions, SourceIgnoresForwardedHeaders) {
  const RouteTable table = table_matching(Conditions().source({"10.0.0.0/8"}));
  const sockaddr_storage outside = ipv4_peer("192.0.2.1");
  Probe probe;
  probe.peer = &outside;
  EXPECT_FALSE(hits(table, probe, HeaderList{{"X-Forwarded-For", "10.1.1.1"}}));
}

TEST(RouteConditions, ListenerIsAnyOfTheIndices) {
  const RouteTable table = table_matching(Conditions().listener({"[::]:443"}));
  Probe probe;
  probe.listener = 1;
  EXPECT_TRUE(hits(table, probe));
  probe.listener = 0;
  EXPECT_FALSE(hits(table, probe));
  const RouteTable both = table_matching(Conditions().listener({"0.0.0.0:80", "[::]:443"}));
  for (uint32_t listener : {0u, 1u}) {
    probe.listener = listener;
    EXPECT_TRUE(hits(both, probe));
  }
}

TEST(RouteConditions, AConditionWithNothingUsableMatchesNothingNotEverything) {
  EXPECT_FALSE(hits(table_matching(Conditions().listener({"0.0.0.0:81"})), Probe{}));
  const sockaddr_storage peer = ipv4_peer("10.1.1.1");
  Probe probe;
  probe.peer = &peer;
  EXPECT_FALSE(hits(table_matching(Conditions().source({"not-a-cidr"})), probe));
  // An unusable alternative beside a usable one only drops itself.
  EXPECT_TRUE(hits(table_matching(Conditions().source({"not-a-cidr", "10.0.0.0/8"})), probe));
  EXPECT_TRUE(hits(table_matching(Conditions().listener({"0.0.0.0:81", "0.0.0.0:80"})), Probe{}));
}

TEST(RouteConditions, EveryGivenConditionMustHold) {
  const RouteTable table = table_matching(Conditions()
                                              .host({"api.example.com"})
                                              .path({"/v1/*"})
                                              .method({"POST"})
                                              .header({{"X-Canary", "1"}})
                                              .query({{"debug", "*"}})
                                              .source({"10.0.0.0/8"})
                                              .listener({"[::]:443"}));
  const sockaddr_storage inside = ipv6_peer("::ffff:10.0.0.7");
  const sockaddr_storage outside = ipv4_peer("11.0.0.7");
  const HeaderList canary{{"X-Canary", "1"}};
  const HeaderList plain{{"X-Other", "1"}};
  const Probe all{"POST", "/v1/orders?debug", "api.example.com:443", 1, &inside};
  EXPECT_TRUE(hits(table, all, canary));
  EXPECT_FALSE(hits(table, all, plain));
  Probe probe = all;
  probe.host = "www.example.com";
  EXPECT_FALSE(hits(table, probe, canary));
  probe = all;
  probe.target = "/v2/orders?debug";
  EXPECT_FALSE(hits(table, probe, canary));
  probe = all;
  probe.method = "GET";
  EXPECT_FALSE(hits(table, probe, canary));
  probe = all;
  probe.target = "/v1/orders";
  EXPECT_FALSE(hits(table, probe, canary));
  probe = all;
  probe.peer = &outside;
  EXPECT_FALSE(hits(table, probe, canary));
  probe = all;
  probe.listener = 0;
  EXPECT_FALSE(hits(table, probe, canary));
}

}  // namespace
}  // namespace ferry::balancer::routing
