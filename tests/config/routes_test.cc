// `routes`: every accepted form with what it decodes to, and every mistake with its exact
// position and message.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/load.h"

namespace ferry::config {
namespace {

using Messages = std::vector<std::string>;
using Pairs = std::vector<std::pair<std::string, std::string>>;
using Strings = std::vector<std::string>;

// Two pools for the routes below to name.
constexpr std::string_view kPools = R"(pools:
  web:
    backends: ["10.0.0.1:80"]
  web-canary:
    backends: ["10.0.0.2:80"]
)";

Messages errors_of(std::string_view yaml) {
  Messages out;
  for (const LoadError& e : load_text(yaml, "f.yaml").errors) out.push_back(e.to_string());
  return out;
}

// `routes` follows kPools, so its first line is line 6.
Messages route_errors(std::string_view routes) {
  return errors_of(std::string(kPools) + std::string(routes));
}

LoadResult load_ok(std::string_view yaml) {
  LoadResult r = load_text(yaml, "f.yaml");
  for (const LoadError& e : r.errors) ADD_FAILURE() << e.to_string();
  return r;
}

std::vector<RouteConfig> routes_of(std::string_view routes) {
  return load_ok(std::string(kPools) + std::string(routes)).config.routes;
}

TEST(Routes, TheContractsExampleLoads) {
  const LoadResult r = load_ok(R"(listeners:
  - address: "0.0.0.0:443"
    tls: {certificates: [{cert: /etc/ferry/site.pem, key: /etc/ferry/site.key}]}
  - address: "0.0.0.0:80"
pools:
  web:
    backends: ["10.20.10.31:8000", "10.20.20.32:8000"]
  web-canary:
    backends: ["10.20.30.33:8000"]
routes:
  - name: api
    match:
      host: ["api.example.com", "*.example.org"]
      path: "/api/*"
      method: [GET, POST]
      header: {X-Canary: "1"}
      query: {version: "2"}
      source: ["10.0.0.0/8"]
      listener: "0.0.0.0:80"
    forward: web
    strip_prefix: ""
  - match: {listener: "0.0.0.0:80"}
    redirect: {location: "https://#{host}:443/#{path}?#{query}", status: 301}
  - match: {path: "/maintenance"}
    respond: {status: 503, content_type: text/plain, body: "back soon\n"}
  - forward: {weights: {web: 90, web-canary: 10}}
)");
  EXPECT_TRUE(r.warnings.empty());
  const std::vector<RouteConfig>& routes = r.config.routes;
  ASSERT_EQ(routes.size(), 4u);
  const RouteConfig& api = routes[0];
  EXPECT_EQ(api.name, "api");
  EXPECT_EQ(api.match.host, (Strings{"api.example.com", "*.example.org"}));
  EXPECT_EQ(api.match.path, Strings{"/api/*"});
  EXPECT_EQ(api.match.method, (Strings{"GET", "POST"}));
  EXPECT_EQ(api.match.header, (Pairs{{"X-Canary", "1"}}));
  EXPECT_EQ(api.match.query, (Pairs{{"version", "2"}}));
  EXPECT_EQ(api.match.source, Strings{"10.0.0.0/8"});
  EXPECT_EQ(api.match.listener, Strings{"0.0.0.0:80"});
  EXPECT_EQ(api.action, RouteAction::Forward);
  EXPECT_EQ(api.forward, (std::vector<WeightedPool>{{"web", 1}}));
  EXPECT_EQ(api.strip_prefix, "");
  EXPECT_EQ(api.line, 11);
  EXPECT_EQ(api.column, 5);
  const RouteConfig& redirect = routes[1];
  EXPECT_EQ(redirect.name, "route-2");
  EXPECT_EQ(redirect.action, RouteAction::Redirect);
  EXPECT_EQ(redirect.location, "https://#{host}:443/#{path}?#{query}");
  EXPECT_EQ(redirect.status, 301u);
  const RouteConfig& respond = routes[2];
  EXPECT_EQ(respond.name, "route-3");
  EXPECT_EQ(respond.action, RouteAction::Respond);
  EXPECT_EQ(respond.status, 503u);
  EXPECT_EQ(respond.content_type, "text/plain");
  EXPECT_EQ(respond.body, "back soon\n");
  const RouteConfig& split = routes[3];
  EXPECT_EQ(split.name, "route-4");
  EXPECT_TRUE(split.match == RouteMatch{});
  EXPECT_EQ(split.forward, (std::vector<WeightedPool>{{"web", 90}, {"web-canary", 10}}));
}

TEST(Routes, ForwardNamesAPoolOrWeighsSeveral) {
  const std::vector<RouteConfig> routes = routes_of(R"(routes:
  - match: {path: "/a"}
    forward: web-canary
    strip_prefix: /a
  - match: {path: "/b"}
    forward: {weights: {web-canary: 0, web: 999}}
  - forward:
      weights: {web: 1}
)");
  ASSERT_EQ(routes.size(), 3u);
  EXPECT_EQ(routes[0].forward, (std::vector<WeightedPool>{{"web-canary", 1}}));
  EXPECT_EQ(routes[0].strip_prefix, "/a");
  EXPECT_EQ(routes[1].forward, (std::vector<WeightedPool>{{"web-canary", 0}, {"web", 999}}));
  EXPECT_EQ(routes[2].forward, (std::vector<WeightedPool>{{"web", 1}}));
}

TEST(Routes, TheTopLevelBackendsArePoolDefault) {
  const LoadResult r = load_ok(R"(backends: ["10.0.0.1:80"]
pools:
  api:
    backends: ["10.0.0.2:80"]
routes:
  - match: {host: api.example.com}
    forward: api
  - forward: default
)");
  EXPECT_EQ(r.config.routes[1].forward, (std::vector<WeightedPool>{{"default", 1}}));
}

TEST(Routes, RedirectAndRespondFillTheirDefaults) {
  const std::vector<RouteConfig> routes = routes_of(R"(routes:
  - match: {path: "/old"}
    redirect: {location: "/new"}
  - match: {path: "/keep"}
    redirect: {location: "#{protocol}://#{host}:#{port}/#{path}?#{query}", status: 308}
  - match: {path: "/ok"}
    respond: {status: 200}
  - forward: web
)");
  EXPECT_EQ(routes[0].status, 301u);
  EXPECT_EQ(routes[1].status, 308u);
  EXPECT_EQ(routes[2].status, 200u);
  EXPECT_EQ(routes[2].content_type, "text/plain");
  EXPECT_EQ(routes[2].body, "");
  for (const char* status : {"301", "302", "307", "308"})
    EXPECT_EQ(route_errors("routes:\n  - redirect: {location: /x, status: " + std::string(status) + "}\n"),
              Messages{})
        << status;
  for (const char* status : {"200", "204", "299", "400", "404", "451", "500", "503", "599"})
    EXPECT_EQ(route_errors("routes:\n  - respond: {status: " + std::string(status) + "}\n"), Messages{})
        << status;
  EXPECT_EQ(route_errors("routes:\n  - respond: {status: 200, body: \"" + std::string(4096, 'x') + "\"}\n"),
            Messages{});
}

TEST(Routes, MatchTakesAStringOrAListAndKeepsTheOrder) {
  const std::vector<RouteConfig> routes = routes_of(R"(routes:
  - match:
      host: "*.example.com"
      path: ["/a/*", "*.jpg", "/v?/x"]
      method: PURGE
      header: {User-Agent: "*Mozilla/5.0 (X11*", X-Canary: "1"}
      query: {version: "2", debug: "*"}
      source: ["192.0.2.7", "2001:db8::/32", "0.0.0.0/0"]
    forward: web
)");
  const RouteMatch& m = routes[0].match;
  EXPECT_EQ(m.host, Strings{"*.example.com"});
  EXPECT_EQ(m.path, (Strings{"/a/*", "*.jpg", "/v?/x"}));
  EXPECT_EQ(m.method, Strings{"PURGE"});  // a custom method, in any case, is a token like any other
  EXPECT_EQ(m.header, (Pairs{{"User-Agent", "*Mozilla/5.0 (X11*"}, {"X-Canary", "1"}}));
  EXPECT_EQ(m.query, (Pairs{{"version", "2"}, {"debug", "*"}}));
  EXPECT_EQ(m.source, (Strings{"192.0.2.7", "2001:db8::/32", "0.0.0.0/0"}));
}

TEST(Routes, AListenerIsNamedAsWrittenOrByTheSameAddressWrittenOtherwise) {
  const LoadResult r = load_ok(R"(listen: ["0.0.0.0:8080", "[::1]:8080"]
backends: ["10.0.0.1:80"]
routes:
  - match: {listener: ["0.0.0.0:8080", "[0:0::1]:8080"]}
    forward: default
)");
  // Stored as `listen` writes it, so the routing table compares plain strings.
  EXPECT_EQ(r.config.routes[0].match.listener, (Strings{"0.0.0.0:8080", "[::1]:8080"}));
  // Without listen or listeners, the default address.
  EXPECT_EQ(errors_of("backends: [\"10.0.0.1:80\"]\nroutes:\n  - match: {listener: \"0.0.0.0:8888\"}\n"
                      "    forward: default\n"),
            Messages{});
}

TEST(Routes, RoutesAfterACatchAllAreWarnedAboutNotRefused) {
  const LoadResult r = load_ok(std::string(kPools) + R"(routes:
  - match: {path: "/api/*"}
    forward: web
  - name: everything
    match: {}
    forward: web
  - match: {path: "/late"}
    forward: web-canary
  - respond: {status: 404}
)");
  const Messages expected = {
      "f.yaml:12:5: routes[2]: can never match: routes[1] (\"everything\", line 9) has no match conditions "
      "and takes every request first; move this route above it",
      "f.yaml:14:5: routes[3]: can never match: routes[1] (\"everything\", line 9) has no match conditions "
      "and takes every request first; move this route above it",
  };
  Messages warnings;
  for (const LoadError& w : r.warnings) warnings.push_back(w.to_string());
  EXPECT_EQ(warnings, expected);
  EXPECT_EQ(r.config.routes.size(), 4u);
}

TEST(Routes, ForwardToAnUnknownPoolSuggestsTheClosest) {
  EXPECT_EQ(route_errors("routes:\n  - forward: wbe\n"),
            Messages{"f.yaml:7:14: routes[0].forward: unknown pool \"wbe\"; did you mean \"web\"?"});
  EXPECT_EQ(route_errors("routes:\n  - forward: api\n"),
            Messages{"f.yaml:7:14: routes[0].forward: unknown pool \"api\"; the pools are \"web\", "
                     "\"web-canary\""});
  EXPECT_EQ(
      route_errors("routes:\n  - forward: {weights: {web: 90, web-canary: 5, web-canery: 5}}\n"),
      Messages{"f.yaml:7:49: routes[0].forward.weights.web-canery: unknown pool \"web-canery\"; did you "
               "mean \"web-canary\"?"});
  // "default" is a pool only when the file has top-level backends.
  EXPECT_EQ(route_errors("routes:\n  - forward: default\n"),
            Messages{"f.yaml:7:14: routes[0].forward: unknown pool \"default\"; the pools are \"web\", "
                     "\"web-canary\""});
}

TEST(Routes, ForwardWeightsAreZeroTo999AndNotAllZero) {
  EXPECT_EQ(
      route_errors("routes:\n  - forward: {weights: {web: 0, web-canary: 0}}\n"),
      Messages{"f.yaml:7:24: routes[0].forward.weights: the weights add up to 0, so no request could be "
               "forwarded; give at least one pool a weight above 0"});
  EXPECT_EQ(route_errors("routes:\n  - forward: {weights: {web: 1000}}\n"),
            Messages{"f.yaml:7:30: routes[0].forward.weights.web: expected an integer from 0 to 999, found "
                     "\"1000\""});
  EXPECT_EQ(
      route_errors("routes:\n  - forward: {weights: {}}\n"),
      Messages{"f.yaml:7:24: routes[0].forward.weights: expected a map of pool names to weights from 0 to "
               "999, e.g. {web: 90, web-canary: 10}, found an empty map"});
  EXPECT_EQ(
      route_errors("routes:\n  - forward: {weight: {web: 1}}\n"),
      (Messages{"f.yaml:7:14: routes[0].forward: missing key \"weights\" ({weights: {POOL: WEIGHT, ...}}), "
                "or give one pool name",
                "f.yaml:7:15: routes[0].forward.weight: unknown key; did you mean \"weights\"?"}));
  EXPECT_EQ(
      route_errors("routes:\n  - forward: [web]\n"),
      Messages{"f.yaml:7:14: routes[0].forward: expected a pool name, or {weights: {POOL: WEIGHT, ...}}, "
               "found a list"});
  EXPECT_EQ(route_errors("routes:\n  - forward: {weights: {web: 1, web: 2}}\n"),
            Messages{"f.yaml:7:33: routes[0].forward.weights.web: duplicate key, first given at line 7"});
}

TEST(Routes, EachRouteHasExactlyOneAction) {
  EXPECT_EQ(
      route_errors("routes:\n  - match: {path: /x}\n  - name: two\n    forward: web\n"
                   "    respond: {status: 200}\n"),
      (Messages{"f.yaml:7:5: routes[0]: missing an action: give forward (a pool), redirect or respond",
                "f.yaml:10:5: routes[1].respond: a route has exactly one action, and this one already has "
                "forward (line 9); keep one of them"}));
}

TEST(Routes, RedirectNeedsALocationWithKnownPlaceholdersAndARedirectStatus) {
  EXPECT_EQ(
      route_errors("routes:\n  - redirect: {status: 302}\n"),
      Messages{"f.yaml:7:15: routes[0].redirect: missing key \"location\" (where to send the client, e.g. "
               "\"https://#{host}/#{path}\")"});
  EXPECT_EQ(
      route_errors("routes:\n  - redirect: {location: \"https://#{hots}/#{path}\", status: 303}\n"),
      (Messages{"f.yaml:7:26: routes[0].redirect.location: unknown placeholder \"#{hots}\"; the "
                "placeholders are #{protocol}, #{host}, #{port}, #{path} and #{query}; did you mean "
                "\"#{host}\"?",
                "f.yaml:7:61: routes[0].redirect.status: expected 301, 302, 307 or 308, found \"303\""}));
  EXPECT_EQ(route_errors("routes:\n  - redirect: {location: \"https://example.com/a b\"}\n"),
            Messages{"f.yaml:7:26: routes[0].redirect.location: expected visible ASCII without spaces "
                     "(percent-encode anything else, a space as %20), found \"https://example.com/a b\""});
  EXPECT_EQ(route_errors("routes:\n  - redirect: https://example.com/\n"),
            Messages{"f.yaml:7:15: routes[0].redirect: expected a map {location: URL, status: 301}, found "
                     "\"https://example.com/\""});
}

TEST(Routes, RespondNeedsAFinalNonRedirectStatusAndASmallBody) {
  EXPECT_EQ(
      route_errors("routes:\n  - respond: {body: hi}\n"),
      Messages{"f.yaml:7:14: routes[0].respond: missing key \"status\" (the status code to answer with, "
               "e.g. 503)"});
  for (const char* status : {"100", "199", "302", "600", "20", "2000", "abc"})
    EXPECT_EQ(
        route_errors("routes:\n  - respond: {status: " + std::string(status) + "}\n"),
        Messages{"f.yaml:7:23: routes[0].respond.status: expected a status code from 200 to 299, 400 to 499 "
                 "or 500 to 599, found \"" +
                 std::string(status) + "\""})
        << status;
  EXPECT_EQ(route_errors("routes:\n  - respond: {status: 200, body: \"" + std::string(4097, 'x') + "\"}\n"),
            Messages{"f.yaml:7:34: routes[0].respond.body: a body of 4097 bytes; at most 4096 are allowed "
                     "(forward to a backend for larger pages)"});
  EXPECT_EQ(
      route_errors("routes:\n  - respond: {status: 204, body: gone}\n"),
      Messages{"f.yaml:7:34: routes[0].respond.body: a 204 response has no body; leave body out, or use "
               "status 200"});
  EXPECT_EQ(
      route_errors("routes:\n  - respond: {status: 200, content_type: \"text/html\\r\\nX: 1\"}\n"),
      Messages{"f.yaml:7:42: routes[0].respond.content_type: expected a media type such as text/plain or "
               "\"text/html; charset=utf-8\", found \"text/html\\r\\nX: 1\""});
}

TEST(Routes, MatchConditionsAreCheckedAsAnAlbChecksThem) {
  EXPECT_EQ(
      route_errors(R"(routes:
  - match:
      host: ["api.example.com:443", ""]
      path: api/*
      method: [get, "GET POST"]
      header: {"X-*": a, X-B: "", X-C: [1]}
      query: {"a=b": "1", c: "x&y"}
      hosts: a.example.com
    forward: web
)"),
      (Messages{
          "f.yaml:8:14: routes[0].match.host[0]: expected a host name pattern: up to 128 letters, digits, "
          "'-', '.' and the wildcards '*' and '?', without a port, found \"api.example.com:443\"",
          "f.yaml:8:37: routes[0].match.host[1]: expected a host name pattern: up to 128 letters, digits, "
          "'-', '.' and the wildcards '*' and '?', without a port, found \"\"",
          "f.yaml:9:13: routes[0].match.path: expected a path pattern: up to 128 visible ASCII characters "
          "starting with \"/\" or \"*\", found \"api/*\"",
          "f.yaml:10:16: routes[0].match.method[0]: methods are matched case-sensitively and clients send "
          "them in capitals; did you mean \"GET\"?",
          "f.yaml:10:21: routes[0].match.method[1]: expected an HTTP method (a token such as GET), found "
          "\"GET POST\"",
          "f.yaml:11:16: routes[0].match.header: expected a header name (an HTTP token; wildcards belong in "
          "the value), found \"X-*\"",
          "f.yaml:11:31: routes[0].match.header.X-B: expected a header value pattern: 1 to 128 printable "
          "ASCII characters, with the wildcards '*' and '?', found \"\"",
          "f.yaml:11:40: routes[0].match.header.X-C: expected a header value pattern: 1 to 128 printable "
          "ASCII characters, with the wildcards '*' and '?', found a list",
          "f.yaml:12:15: routes[0].match.query: expected a query parameter name: up to 128 visible ASCII "
          "characters without '&', '=', '#', '*' or '?', found \"a=b\"",
          "f.yaml:12:30: routes[0].match.query.c: expected a query value pattern: 1 to 128 visible ASCII "
          "characters without '&' or '#', with the wildcards '*' and '?', found \"x&y\"",
          "f.yaml:13:7: routes[0].match.hosts: unknown key; did you mean \"host\"?",
      }));
  const std::string long_host(129, 'a');
  EXPECT_EQ(
      route_errors("routes:\n  - match: {host: " + long_host + "}\n    forward: web\n"),
      Messages{"f.yaml:7:19: routes[0].match.host: expected a host name pattern: up to 128 letters, digits, "
               "'-', '.' and the wildcards '*' and '?', without a port, found \"" +
               long_host + "\""});
  EXPECT_EQ(
      route_errors("routes:\n  - match: {host: [], header: {}}\n    forward: web\n"),
      (Messages{"f.yaml:7:19: routes[0].match.host: expected a host name pattern: up to 128 letters, "
                "digits, '-', '.' and the wildcards '*' and '?', without a port, or a list of at least one, "
                "found an empty list",
                "f.yaml:7:31: routes[0].match.header: expected a map of header NAME: VALUE pattern, e.g. "
                "{X-Canary: \"1\"}, found an empty map"}));
}

TEST(Routes, SourceTakesAddressesAndRangesWithoutBitsPastThePrefix) {
  EXPECT_EQ(
      route_errors("routes:\n  - match: {source: [10.0.0.0/33, 10.0.0.1/8, \"::1/129\", nope]}\n"
                   "    forward: web\n"),
      (Messages{"f.yaml:7:22: routes[0].match.source[0]: expected a prefix length from 0 to 32 after the '/' "
                "of an IPv4 range, found \"10.0.0.0/33\"",
                "f.yaml:7:35: routes[0].match.source[1]: \"10.0.0.1/8\" has bits set past its /8 prefix: "
                "write the range as \"10.0.0.0/8\", or the one address as \"10.0.0.1\"",
                "f.yaml:7:47: routes[0].match.source[2]: expected a prefix length from 0 to 128 after the "
                "'/' of an IPv6 range, found \"::1/129\"",
                "f.yaml:7:58: routes[0].match.source[3]: expected an IPv4 or IPv6 address, or a range of "
                "them in CIDR notation (10.0.0.0/8, 2001:db8::/32), found \"nope\""}));
}

TEST(Routes, AListenerConditionNamesAListeningAddress) {
  EXPECT_EQ(errors_of(R"(listeners:
  - address: "0.0.0.0:443"
  - address: "0.0.0.0:80"
backends: ["10.0.0.1:80"]
routes:
  - match: {listener: ["0.0.0.0:8080", "0.0.0.0:00080"]}
    forward: default
)"),
            Messages{"f.yaml:6:24: routes[0].match.listener[0]: expected one of the listening addresses "
                     "(\"0.0.0.0:443\", \"0.0.0.0:80\"), found \"0.0.0.0:8080\""});
}

TEST(Routes, StripPrefixIsAPathPrefixAndOnlyForForward) {
  EXPECT_EQ(
      route_errors("routes:\n  - forward: web\n    strip_prefix: api\n  - forward: web\n"
                   "    strip_prefix: /api/\n  - respond: {status: 404}\n    strip_prefix: /x\n"),
      (Messages{"f.yaml:8:19: routes[0].strip_prefix: expected \"\" or a path prefix starting with \"/\", "
                "without '?' and not ending in \"/\" (\"/api\" turns \"/api/users\" into \"/users\"), found "
                "\"api\"",
                "f.yaml:10:19: routes[1].strip_prefix: expected \"\" or a path prefix starting with \"/\", "
                "without '?' and not ending in \"/\" (\"/api\" turns \"/api/users\" into \"/users\"), found "
                "\"/api/\"",
                "f.yaml:12:5: routes[2].strip_prefix: strip_prefix applies to forward only; remove it from "
                "this respond route"}));
}

TEST(Routes, NamesAreUniqueIncludingTheDefaultOnes) {
  EXPECT_EQ(
      route_errors("routes:\n  - name: api\n    forward: web\n  - name: api\n    forward: web\n"
                   "  - name: route-4\n    forward: web\n  - forward: web\n  - name: \"a b\"\n"
                   "    forward: web\n"),
      (Messages{"f.yaml:9:11: routes[1].name: \"api\" is already the name of routes[0] (line 7); route names "
                "must be unique",
                "f.yaml:13:5: routes[3]: its default name \"route-4\" is already the name of routes[2] (line "
                "11); give this route a name",
                "f.yaml:14:11: routes[4].name: expected a route name of 1 to 64 letters, digits, '-' or '_', "
                "found \"a b\""}));
}

TEST(Routes, RoutesIsAListOfMaps) {
  EXPECT_EQ(
      route_errors("routes: []\n"),
      Messages{"f.yaml:6:9: routes: expected a list of at least one route ({match, forward | redirect | "
               "respond}), found an empty list"});
  EXPECT_EQ(
      route_errors("routes: {forward: web}\n"),
      Messages{"f.yaml:6:9: routes: expected a list of at least one route ({match, forward | redirect | "
               "respond}), found a map"});
  EXPECT_EQ(
      route_errors("routes:\n  - web\n  - forward: web\n    matsh: {}\n"),
      (Messages{"f.yaml:7:5: routes[0]: expected a map with match and one of forward, redirect or respond, "
                "found \"web\"",
                "f.yaml:9:5: routes[1].matsh: unknown key; did you mean \"match\"?"}));
}

TEST(Routes, RoutesNeedAPool) {
  EXPECT_EQ(
      errors_of("routes:\n  - forward: web\n"),
      (Messages{"f.yaml:1:1: routes: no pool to forward to: give pools, or backends at the top level (the "
                "pool \"default\")",
                "f.yaml:2:14: routes[0].forward: unknown pool \"web\"; this file has no pools"}));
}

}  // namespace
}  // namespace ferry::config
