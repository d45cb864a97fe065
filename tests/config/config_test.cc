#include "config/config.h"

#include <gtest/gtest.h>

namespace ferry::config {
namespace {

using std::chrono::seconds;

TEST(SeedDefault, IsTheSeedLayout) {
  const Config c = seed_default();
  EXPECT_EQ(c.source, "<built-in>");
  EXPECT_EQ(c.listen, std::vector<std::string>{"0.0.0.0:8888"});
  EXPECT_EQ(c.admin, "127.0.0.1:9901");
  EXPECT_EQ(c.balancer, BalancerKind::RoundRobin);
  ASSERT_EQ(c.backends.size(), 2u);
  EXPECT_EQ(c.backends[0], (BackendConfig{"10.20.10.31:8000", 1}));
  EXPECT_EQ(c.backends[1], (BackendConfig{"10.20.20.32:8000", 1}));
}

TEST(SeedDefault, ChecksGetHealthWithTheContractDefaults) {
  const HealthCheck& h = seed_default().health_check;
  EXPECT_TRUE(h.enabled);
  EXPECT_EQ(h.path, "/health");
  EXPECT_EQ(h.interval, seconds(5));
  EXPECT_EQ(h.timeout, seconds(2));
  EXPECT_EQ(h.healthy_threshold, 2u);
  EXPECT_EQ(h.unhealthy_threshold, 2u);
  EXPECT_EQ(h.expected_status, "200-399");
  EXPECT_EQ(h.host, "");
  EXPECT_FALSE(h.fail_open);
}

TEST(SeedDefault, UsesTheContractDefaultsEverywhereElse) {
  const Config c = seed_default();
  EXPECT_EQ(c.workers, 0u);
  EXPECT_EQ(c.hash_key, "client_ip");
  EXPECT_EQ(c.resolve_interval, seconds(30));
  EXPECT_EQ(c.timeouts.connect, seconds(3));
  EXPECT_EQ(c.timeouts.client_header, seconds(10));
  EXPECT_EQ(c.timeouts.client_idle, seconds(60));
  EXPECT_EQ(c.timeouts.backend_response, seconds(60));
  EXPECT_EQ(c.timeouts.backend_idle, seconds(4));
  EXPECT_EQ(c.timeouts.shutdown_grace, seconds(10));
  EXPECT_EQ(c.limits.max_connections, 10000u);
  EXPECT_EQ(c.limits.max_header_bytes, 32768u);
  EXPECT_EQ(c.limits.max_body_bytes, 0u);
  EXPECT_EQ(c.buffers.request, 64u * 1024);
  EXPECT_EQ(c.buffers.response, 256u * 1024);
  EXPECT_EQ(c.retries, 1u);
  EXPECT_EQ(c.access_log, "off");
}

TEST(BalancerName, RoundTripsEveryKind) {
  for (BalancerKind kind :
       {BalancerKind::RoundRobin, BalancerKind::WeightedRoundRobin, BalancerKind::LeastOutstanding,
        BalancerKind::PowerOfTwo, BalancerKind::ConsistentHash})
    EXPECT_EQ(balancer_from_name(balancer_name(kind)), kind) << balancer_name(kind);
  EXPECT_EQ(balancer_name(BalancerKind::WeightedRoundRobin), "weighted_round_robin");
  EXPECT_EQ(balancer_from_name("Round_Robin"), std::nullopt);
}

}  // namespace
}  // namespace ferry::config
