// `pools`: every accepted form, the defaults, how they meet the top-level keys (the pool
// "default"), and every mistake with its exact position and message.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/load.h"

namespace ferry::config {
namespace {

using Messages = std::vector<std::string>;

Messages errors_of(std::string_view yaml) {
  Messages out;
  for (const LoadError& e : load_text(yaml, "f.yaml").errors) out.push_back(e.to_string());
  return out;
}

Config load_ok(std::string_view yaml) {
  const LoadResult r = load_text(yaml, "f.yaml");
  for (const LoadError& e : r.errors) ADD_FAILURE() << e.to_string();
  return r.config;
}

// One pool, so no routes are needed; `keys` are the pool's lines after its backends.
std::string one_pool(std::string_view keys) {
  return "pools:\n  web:\n    backends: [\"10.0.0.1:80\"]\n" + std::string(keys);
}

TEST(Pools, APoolTakesEveryKey) {
  const Config c = load_ok(R"(pools:
  web:
    backends:
      - address: "10.0.0.1:80"
        weight: 3
      - "10.0.0.2:80"
    balancer: consistent_hash
    hash_key: "header:X-User"
    health_check:
      path: /ready
      interval: 3s
      timeout: 1s
    retries: 2
    slow_start: 30s
    drain: 0
    stickiness: {cookie: srv, duration: 168h}
    tls: {verify: false, ca: /etc/ferry/ca.pem, server_name: app.internal}
    protocol: http/1.1
)");
  ASSERT_EQ(c.pools.size(), 1u);
  const PoolConfig& p = c.pools[0];
  EXPECT_EQ(p.name, "web");
  EXPECT_EQ(p.backends, (std::vector<BackendConfig>{{"10.0.0.1:80", 3}, {"10.0.0.2:80", 1}}));
  EXPECT_EQ(p.balancer, BalancerKind::ConsistentHash);
  EXPECT_EQ(p.hash_key, "header:X-User");
  EXPECT_TRUE(p.health_check.enabled);
  EXPECT_EQ(p.health_check.path, "/ready");
  EXPECT_EQ(p.health_check.interval, std::chrono::seconds(3));
  EXPECT_EQ(p.health_check.timeout, std::chrono::seconds(1));
  EXPECT_EQ(p.retries, 2u);
  EXPECT_EQ(p.slow_start, std::chrono::seconds(30));
  EXPECT_EQ(p.drain, Duration{0});
  ASSERT_TRUE(p.stickiness);
  EXPECT_EQ(p.stickiness->cookie, "srv");
  EXPECT_EQ(p.stickiness->duration, std::chrono::hours(168));
  ASSERT_TRUE(p.tls);
  EXPECT_EQ(*p.tls, (PoolTls{false, "/etc/ferry/ca.pem", "app.internal"}));
  EXPECT_EQ(p.protocol, PoolProtocol::Http1);
  EXPECT_EQ(p.line, 2);  // the pool's name
  EXPECT_EQ(p.column, 3);
  // No top-level backends: there is no pool "default", and the top level keeps its defaults.
  EXPECT_TRUE(c.backends.empty());
  EXPECT_EQ(pools_of(c).size(), 1u);
}

TEST(Pools, KeysLeftOutTakeTheContractsDefaults) {
  const Config c = load_ok(one_pool(""));
  ASSERT_EQ(c.pools.size(), 1u);
  PoolConfig expected;
  expected.name = "web";
  expected.backends = {{"10.0.0.1:80", 1}};
  expected.line = 2;
  expected.column = 3;
  EXPECT_EQ(c.pools[0], expected);
  EXPECT_EQ(expected.drain, std::chrono::seconds(30));
  EXPECT_EQ(expected.slow_start, Duration{0});
  EXPECT_FALSE(expected.stickiness);
  EXPECT_FALSE(expected.tls);
  EXPECT_FALSE(expected.health_check.enabled);
}

TEST(Pools, TheTopLevelBackendsAreThePoolDefaultAndComeFirst) {
  const Config c = load_ok(R"(balancer: least_outstanding
backends: ["10.0.0.1:80"]
retries: 3
pools:
  api:
    backends: ["10.0.0.1:80"]   # the same address in another pool: a backend of its own
routes:
  - match: {host: api.example.com}
    forward: api
  - forward: default
)");
  const std::vector<PoolConfig> pools = pools_of(c);
  ASSERT_EQ(pools.size(), 2u);
  EXPECT_EQ(pools[0].name, "default");
  EXPECT_EQ(pools[0].balancer, BalancerKind::LeastOutstanding);
  EXPECT_EQ(pools[0].retries, 3u);
  EXPECT_EQ(pools[1].name, "api");
  EXPECT_EQ(pools[1].balancer, BalancerKind::RoundRobin);  // the top level is no default for pools
  EXPECT_EQ(pools[1].retries, 1u);
}

TEST(Pools, APoolNamedDefaultReplacesTheTopLevelKeys) {
  const Config c = load_ok(R"(pools:
  default:
    backends: ["10.0.0.1:80"]
    slow_start: 1m
)");
  ASSERT_EQ(pools_of(c).size(), 1u);
  EXPECT_EQ(pools_of(c)[0].name, "default");
  EXPECT_EQ(pools_of(c)[0].slow_start, std::chrono::minutes(1));
}

TEST(Pools, SlowStartIsOffOrOneSecondToAnHour) {
  for (const char* ok : {"0", "0s", "1s", "30s", "15m", "1h"})
    EXPECT_EQ(errors_of(one_pool("    slow_start: " + std::string(ok) + "\n")), Messages{}) << ok;
  EXPECT_EQ(errors_of(one_pool("    slow_start: 500ms\n")),
            Messages{"f.yaml:4:17: pools.web.slow_start: expected 0 (off) or a duration from 1s to 1h, found "
                     "\"500ms\""});
  EXPECT_EQ(errors_of(one_pool("    slow_start: 61m\n")),
            Messages{"f.yaml:4:17: pools.web.slow_start: expected 0 (off) or a duration from 1s to 1h, found "
                     "\"61m\""});
  EXPECT_EQ(
      errors_of(one_pool("    slow_start: 30\n")),
      Messages{"f.yaml:4:17: pools.web.slow_start: expected a duration with a unit (250ms, 5s, 2m), found "
               "\"30\""});
}

TEST(Pools, DrainIsZeroToAnHour) {
  for (const char* ok : {"0", "30s", "1h"})
    EXPECT_EQ(errors_of(one_pool("    drain: " + std::string(ok) + "\n")), Messages{}) << ok;
  EXPECT_EQ(errors_of(one_pool("    drain: 2h\n")),
            Messages{"f.yaml:4:12: pools.web.drain: expected a duration from 0 to 1h, found \"2h\""});
}

TEST(Pools, StickinessIsOffOrACookieWithADuration) {
  EXPECT_FALSE(load_ok(one_pool("    stickiness: off\n")).pools[0].stickiness);
  const Config c = load_ok(one_pool("    stickiness: {cookie: srv}\n"));
  ASSERT_TRUE(c.pools[0].stickiness);
  EXPECT_EQ(*c.pools[0].stickiness, (Stickiness{"srv", std::chrono::hours(1)}));
  EXPECT_EQ(
      errors_of(one_pool("    stickiness: on\n")),
      Messages{"f.yaml:4:17: pools.web.stickiness: expected \"off\" or a map {cookie: NAME, duration: 1h}, "
               "found \"on\""});
  EXPECT_EQ(
      errors_of(one_pool("    stickiness: {duration: 2h}\n")),
      Messages{"f.yaml:4:17: pools.web.stickiness: missing key \"cookie\" (the name of the cookie ferry "
               "sets, e.g. cookie: srv)"});
  EXPECT_EQ(
      errors_of(one_pool("    stickiness: {cookie: \"my cookie\", duration: 0s}\n")),
      (Messages{"f.yaml:4:26: pools.web.stickiness.cookie: expected a cookie name (an HTTP token: letters, "
                "digits and !#$%&'*+-.^_`|~), found \"my cookie\"",
                "f.yaml:4:49: pools.web.stickiness.duration: expected a duration from 1s to 168h, found "
                "\"0s\""}));
  EXPECT_EQ(errors_of(one_pool("    stickiness: {cookie: srv, durtion: 2h}\n")),
            Messages{"f.yaml:4:31: pools.web.stickiness.durtion: unknown key; did you mean \"duration\"?"});
}

TEST(Pools, TlsIsOffOrAMapWhoseKeysAllHaveDefaults) {
  EXPECT_FALSE(load_ok(one_pool("    tls: off\n")).pools[0].tls);
  const Config c = load_ok(one_pool("    tls: {}\n"));
  ASSERT_TRUE(c.pools[0].tls);
  EXPECT_EQ(*c.pools[0].tls, PoolTls{});
  EXPECT_TRUE(c.pools[0].tls->verify);
  EXPECT_EQ(
      errors_of(one_pool("    tls:\n")),
      Messages{"f.yaml:4:5: pools.web.tls: expected \"off\" or a map {verify, ca, server_name} ({} for HTTPS "
               "with every default), found nothing"});
  EXPECT_EQ(
      errors_of(one_pool("    tls: {verify: yes, server_name: \"app.internal:443\", sni: x}\n")),
      (Messages{
          "f.yaml:4:19: pools.web.tls.verify: expected true or false, found \"yes\"",
          "f.yaml:4:37: pools.web.tls.server_name: expected a host name (letters, digits, '-', '_' and '.'; "
          "no port), or \"\" for each backend's own host, found \"app.internal:443\"",
          "f.yaml:4:57: pools.web.tls.sni: unknown key; expected one of verify, ca, server_name"}));
}

TEST(Pools, H2cIsAcceptedWithoutTlsOrHealthChecks) {
  EXPECT_EQ(load_ok(one_pool("    protocol: http/1.1\n")).pools[0].protocol, PoolProtocol::Http1);
  EXPECT_EQ(load_ok(one_pool("    protocol: h2c\n")).pools[0].protocol, PoolProtocol::H2c);
  EXPECT_EQ(errors_of(one_pool("    protocol: h2c\n    tls: {verify: false}\n")),
            Messages{"f.yaml:5:5: pools.web.tls: h2c is HTTP/2 without TLS; leave tls out of an h2c pool"});
  EXPECT_EQ(errors_of(one_pool("    protocol: h2c\n    health_check: {path: /health}\n")),
            Messages{"f.yaml:5:5: pools.web.health_check: health checks speak HTTP/1.1, which an h2c (gRPC) "
                     "backend does not; leave health_check out (without checks every backend stays eligible, "
                     "and a failed connect is retried per retries)"});
  EXPECT_EQ(
      errors_of(one_pool("    protocol: http/1\n")),
      Messages{"f.yaml:4:15: pools.web.protocol: expected http/1.1 or h2c, found \"http/1\"; did you mean "
               "\"http/1.1\"?"});
}

TEST(Pools, SharedKeysAreCheckedAsAtTheTopLevelWithTheirPoolsPath) {
  EXPECT_EQ(
      errors_of(R"(pools:
  web:
    backends: ["10.0.0.1:80", "10.0.0.1:80"]
    balancer: round_robn
    hash_key: headr:X-User
    health_check: {interval: 1s, timeout: 2s}
    retries: 11
    slowstart: 1s
)"),
      (Messages{
          "f.yaml:3:31: pools.web.backends[1]: duplicate address \"10.0.0.1:80\", first listed at line 3",
          "f.yaml:4:15: pools.web.balancer: expected one of round_robin, weighted_round_robin, "
          "least_outstanding, "
          "power_of_two, consistent_hash, found \"round_robn\"; did you mean \"round_robin\"?",
          "f.yaml:5:15: pools.web.hash_key: expected client_ip, header:NAME or cookie:NAME, found "
          "\"headr:X-User\"; did you mean \"header:X-User\"?",
          "f.yaml:6:43: pools.web.health_check.timeout: expected a duration shorter than "
          "pools.web.health_check.interval (1s), found \"2s\"",
          "f.yaml:7:14: pools.web.retries: expected an integer from 0 to 10, found \"11\"",
          "f.yaml:8:5: pools.web.slowstart: unknown key; did you mean \"slow_start\"?",
      }));
}

TEST(Pools, EveryPoolNeedsANameAMapAndBackends) {
  EXPECT_EQ(
      errors_of(R"(pools:
  "web app":
    backends: ["10.0.0.1:80"]
  api:
    balancer: round_robin
  x: "10.0.0.1:80"
  y:
  web:
    backends: []
routes:
  - forward: api
)"),
      (Messages{
          "f.yaml:2:3: pools: expected a pool name of 1 to 64 letters, digits, '-' or '_', found \"web app\"",
          "f.yaml:4:3: pools.api: missing key \"backends\" (a pool needs at least one backend)",
          "f.yaml:6:6: pools.x: expected a map with backends (and balancer, hash_key, health_check, "
          "retries, slow_start, drain, stickiness, tls, protocol), found \"10.0.0.1:80\"",
          "f.yaml:7:3: pools.y: expected a map with backends (and balancer, hash_key, health_check, "
          "retries, slow_start, drain, stickiness, tls, protocol), found nothing",
          "f.yaml:9:15: pools.web.backends: expected a list of at least one backend, found an empty list",
      }));
  EXPECT_EQ(
      errors_of("pools: {}\n"),
      Messages{"f.yaml:1:8: pools: expected a map of pools, each NAME: {backends: [...], ...}, found an "
               "empty map"});
  EXPECT_EQ(errors_of("pools:\n  - web\n"),
            Messages{"f.yaml:2:3: pools: expected a map of pools, each NAME: {backends: [...], ...}, found a "
                     "list"});
  EXPECT_EQ(
      errors_of("pools:\n  web:\n    backends: [\"10.0.0.1:80\"]\n  web:\n    backends: [\"10.0.0.2:80\"]\n"),
      Messages{"f.yaml:4:3: pools.web: duplicate key, first given at line 2"});
}

TEST(Pools, APoolDefaultAndTheTopLevelKeysAreOneTooMany) {
  EXPECT_EQ(errors_of(R"(balancer: least_outstanding
backends: ["10.0.0.1:80"]
pools:
  default:
    backends: ["10.0.0.2:80"]
)"),
            (Messages{
                "f.yaml:1:1: balancer: the pool \"default\" is also defined under pools (line 4), and the "
                "top-level backends, balancer, hash_key, health_check and retries are that pool too; move "
                "balancer into pools.default, or rename that pool",
                "f.yaml:2:1: backends: the pool \"default\" is also defined under pools (line 4), and the "
                "top-level backends, balancer, hash_key, health_check and retries are that pool too; move "
                "backends into pools.default, or rename that pool",
            }));
}

TEST(Pools, TopLevelPoolKeysNeedTopLevelBackends) {
  EXPECT_EQ(
      errors_of(R"(hash_key: "cookie:sid"
health_check: {}
retries: 2
pools:
  web:
    backends: ["10.0.0.1:80"]
)"),
      (Messages{
          "f.yaml:1:1: hash_key: sets the pool \"default\" (the top-level backends), which this file does "
          "not have; move hash_key into each pool under pools that should use it",
          "f.yaml:2:1: health_check: sets the pool \"default\" (the top-level backends), which this file "
          "does not have; move health_check into each pool under pools that should use it",
          "f.yaml:3:1: retries: sets the pool \"default\" (the top-level backends), which this file does "
          "not have; move retries into each pool under pools that should use it",
      }));
}

TEST(Pools, MoreThanOnePoolNeedsRoutes) {
  EXPECT_EQ(
      errors_of("backends: [\"10.0.0.1:80\"]\npools:\n  web:\n    backends: [\"10.0.0.2:80\"]\n"),
      Messages{"f.yaml:2:1: pools: 2 pools (the top-level backends are the pool \"default\") and no routes: "
               "add routes that forward to them (without routes every request goes to the only pool)"});
  EXPECT_EQ(
      errors_of("pools:\n  a:\n    backends: [\"10.0.0.1:80\"]\n  b:\n    backends: [\"10.0.0.2:80\"]\n"),
      Messages{"f.yaml:1:1: pools: 2 pools and no routes: add routes that forward to them (without routes "
               "every request goes to the only pool)"});
  // One pool, under either name, needs none.
  EXPECT_EQ(errors_of(one_pool("")), Messages{});
  EXPECT_EQ(errors_of("backends: [\"10.0.0.1:80\"]\n"), Messages{});
}

TEST(Pools, AFileNeedsBackendsOrPools) {
  EXPECT_EQ(errors_of("workers: 2\n"),
            Messages{"f.yaml:1:1: backends: missing; a file must list at least one backend, or pools"});
  EXPECT_EQ(
      errors_of("workers: 2\nroutes:\n  - respond: {status: 200}\n"),
      Messages{"f.yaml:2:1: routes: no pool to forward to: give pools, or backends at the top level (the "
               "pool \"default\")"});
}

}  // namespace
}  // namespace ferry::config
