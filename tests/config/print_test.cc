#include "config/print.h"

#include <gtest/gtest.h>

#include "config/load.h"

namespace ferry::config {
namespace {

// `config` without where things were in a file (pools, routes and certificates keep their line
// and column for messages), which a printed file places elsewhere.
Config without_positions(Config config) {
  for (PoolConfig& p : config.pools) p.line = p.column = 0;
  for (RouteConfig& r : config.routes) r.line = r.column = 0;
  for (ListenerConfig& l : config.listeners)
    if (l.tls)
      for (TlsCertificateFiles& f : l.tls->certificates) f.line = f.column = 0;
  return config;
}

// print() then load_text() must give back the very same config.
void expect_round_trip(const Config& config) {
  const std::string text = print(config);
  const LoadResult r = load_text(text, config.source);
  for (const LoadError& e : r.errors) ADD_FAILURE() << e.to_string() << "\n" << text;
  EXPECT_EQ(without_positions(r.config), without_positions(config)) << text;
}

// A pool with every key away from its default.
PoolConfig full_pool(std::string name) {
  PoolConfig p;
  p.name = std::move(name);
  p.backends = {{"10.0.0.5:8080", 7}, {"app.internal:9000", 1}};
  p.balancer = BalancerKind::ConsistentHash;
  p.hash_key = "header:X-User";
  p.health_check.enabled = true;
  p.health_check.path = "/ready";
  p.health_check.interval = std::chrono::seconds(3);
  p.health_check.timeout = std::chrono::milliseconds(500);
  p.health_check.fail_open = true;
  p.retries = 0;
  p.slow_start = std::chrono::minutes(15);
  p.drain = Duration{0};
  p.stickiness = Stickiness{"srv_id", std::chrono::hours(168)};
  p.tls = PoolTls{false, "/etc/ferry/backend ca.pem", "app.internal"};
  return p;
}

TEST(PrintConfig, SeedDefaultRoundTrips) { expect_round_trip(seed_default()); }

TEST(PrintConfig, FullConfigRoundTrips) {
  Config c;
  c.source = "full.yaml";
  c.listen = {"127.0.0.1:8080", "[::1]:8080"};
  c.workers = 3;
  c.admin = "";  // printed as "off"
  c.balancer = BalancerKind::ConsistentHash;
  c.hash_key = "cookie:session";
  c.resolve_interval = Duration{0};
  c.backends = {{"10.20.10.31:8000", 5}, {"backend.internal:9000", 1000}, {"[2001:db8::1]:80", 1}};
  c.health_check.enabled = true;
  c.health_check.path = "/ready?q=\"x\"";
  c.health_check.interval = std::chrono::milliseconds(1500);
  c.health_check.timeout = std::chrono::milliseconds(250);
  c.health_check.healthy_threshold = 5;
  c.health_check.unhealthy_threshold = 7;
  c.health_check.expected_status = "200,204,300-399";
  c.health_check.host = "app.internal:8443";
  c.health_check.fail_open = true;
  c.timeouts = {std::chrono::milliseconds(1),    std::chrono::seconds(90),
                std::chrono::minutes(2),         std::chrono::hours(1),
                std::chrono::milliseconds(4500), std::chrono::seconds(0) + std::chrono::hours(24)};
  c.limits = {1, 1024, 1ULL << 40, {1'000'000, 1}};
  c.buffers = {512, 1536};
  c.retries = 10;
  c.access_log = "/var/log/ferry access #1.log";
  expect_round_trip(c);
}

TEST(PrintConfig, PoolsAndRoutesRoundTrip) {
  Config c = seed_default();
  c.source = "routes.yaml";
  c.listen = {"127.0.0.1:8080", "[::1]:8080"};
  PoolConfig plain;
  plain.name = "null";  // a name YAML would read as null unquoted
  plain.backends = {{"10.0.0.9:80", 1}};
  c.pools = {full_pool("web-canary"), plain};
  RouteConfig api;
  api.name = "api";
  api.match.host = {"api.example.com", "*.example.org"};
  api.match.path = {"/api/*", "*.json"};
  api.match.method = {"GET", "PURGE"};
  api.match.header = {{"X-Canary", "1"}, {"User-Agent", "*Mozilla/5.0 (X11*"}};
  api.match.query = {{"version", "2"}, {"debug", "*"}};
  api.match.source = {"10.0.0.0/8", "2001:db8::/32", "192.0.2.7"};
  api.match.listener = {"[::1]:8080"};
  api.forward = {{"web-canary", 90}, {"default", 10}, {"null", 0}};
  api.strip_prefix = "/api";
  RouteConfig heavy;  // one pool at a weight other than 1 keeps its weights map
  heavy.name = "heavy";
  heavy.match.path = {"/heavy"};
  heavy.forward = {{"null", 5}};
  RouteConfig moved;
  moved.name = "route-3";
  moved.match.listener = {"127.0.0.1:8080"};
  moved.action = RouteAction::Redirect;
  moved.location = "https://#{host}:443/#{path}?#{query}";
  moved.status = 307;
  RouteConfig down;
  down.name = "down";
  down.match.path = {"/maintenance"};
  down.action = RouteAction::Respond;
  down.status = 503;
  down.content_type = "text/html; charset=utf-8";
  down.body = "<p>back \"soon\"</p>\n\tcaf\xc3\xa9\n";
  down.rate_limit = {5, 0};  // burst 0 (= the rate) stays 0
  RouteConfig rest;
  rest.name = "rest";
  rest.forward = {{"default", 1}};
  rest.rate_limit = {1, 1'000'000};
  c.routes = {api, heavy, moved, down, rest};
  expect_round_trip(c);
}

TEST(PrintConfig, APoolsOnlyFileLeavesTheTopLevelPoolKeysOut) {
  Config c;
  c.source = "pools.yaml";
  c.pools = {full_pool("default")};
  const std::string text = print(c);
  for (const char* key :
       {"\nbalancer:", "\nhash_key:", "\nbackends:", "\nhealth_check:", "\nretries:", "\nroutes:"})
    EXPECT_EQ(text.find(key), std::string::npos) << key << " in\n" << text;
  expect_round_trip(c);
}

TEST(PrintConfig, WritesPoolsAndRoutesInTheContractsOrderAndForms) {
  Config c;
  c.source = "f.yaml";
  PoolConfig web;
  web.name = "web";
  web.backends = {{"10.0.0.1:80", 1}};
  c.pools = {web};
  RouteConfig route;
  route.name = "route-1";
  route.match.path = {"/a"};
  route.forward = {{"web", 1}};
  RouteConfig fixed;
  fixed.name = "route-2";
  fixed.action = RouteAction::Respond;
  fixed.status = 404;
  fixed.rate_limit = {10, 20};
  c.routes = {route, fixed};
  const std::string text = print(c);
  const std::string tail = text.substr(text.find("access_log:"));
  EXPECT_EQ(tail, R"(access_log: "off"
pools:
  "web":
    backends:
      - address: "10.0.0.1:80"
        weight: 1
    balancer: round_robin
    hash_key: "client_ip"
    retries: 1
    slow_start: 0s
    drain: 30s
    stickiness: "off"
    tls: "off"
    protocol: "http/1.1"
routes:
  - name: "route-1"
    match:
      path: ["/a"]
    forward: "web"
    strip_prefix: ""
  - name: "route-2"
    respond:
      status: 404
      content_type: "text/plain"
      body: ""
    rate_limit:
      rate: 10
      burst: 20
)");
  expect_round_trip(c);
}

TEST(PrintConfig, PathsThatLookLikeKeywordsStayStrings) {
  Config c = seed_default();
  c.access_log = "yes";
  c.health_check.host = "null";
  expect_round_trip(c);
}

TEST(PrintConfig, DisabledHealthCheckIsLeftOut) {
  Config c = seed_default();
  c.health_check.enabled = false;
  EXPECT_EQ(print(c).find("health_check"), std::string::npos);
  expect_round_trip(c);
}

TEST(PrintConfig, WritesTheSeedInTheContractsOrderAndForms) {
  EXPECT_EQ(print(seed_default()), R"(# ferry effective configuration, from "<built-in>"
listen: "0.0.0.0:8888"
workers: 0
admin: "127.0.0.1:9901"
balancer: round_robin
hash_key: "client_ip"
resolve_interval: 30s
backends:
  - address: "10.20.10.31:8000"
    weight: 1
  - address: "10.20.20.32:8000"
    weight: 1
health_check:
  path: "/health"
  interval: 5s
  timeout: 2s
  healthy_threshold: 2
  unhealthy_threshold: 2
  expected_status: "200-399"
  host: ""
  fail_open: false
timeouts:
  connect: 3s
  client_header: 10s
  client_idle: 1m
  backend_response: 1m
  backend_idle: 4s
  shutdown_grace: 10s
limits:
  max_connections: 10000
  max_header_bytes: 32768
  max_body_bytes: 0
  per_client:
    rate: 0
    burst: 0
  http2_max_concurrent_streams: 128
buffers:
  request: 64KiB
  response: 256KiB
retries: 1
access_log: "off"
)");
}

}  // namespace
}  // namespace ferry::config
