#include "config/print.h"

#include <gtest/gtest.h>

#include "config/load.h"

namespace ferry::config {
namespace {

// print() then load_text() must give back the very same config.
void expect_round_trip(const Config& config) {
  const std::string text = print(config);
  const LoadResult r = load_text(text, config.source);
  for (const LoadError& e : r.errors) ADD_FAILURE() << e.to_string() << "\n" << text;
  EXPECT_EQ(r.config, config) << text;
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
  c.limits = {1, 1024, 1ULL << 40};
  c.buffers = {512, 1536};
  c.retries = 10;
  c.access_log = "/var/log/ferry access #1.log";
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
buffers:
  request: 64KiB
  response: 256KiB
retries: 1
access_log: "off"
)");
}

}  // namespace
}  // namespace ferry::config
