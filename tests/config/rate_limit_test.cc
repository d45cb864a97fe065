// `limits.per_client` and `routes[].rate_limit`: what each form decodes to, and every mistake
// with its exact position and message.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/load.h"

namespace ferry::config {
namespace {

using Messages = std::vector<std::string>;

constexpr std::string_view kBackends = "backends: [\"10.0.0.1:80\"]\n";

// `yaml` starts at line 1; the backends follow it.
LoadResult load(std::string_view yaml) { return load_text(std::string(yaml) + std::string(kBackends), "f.yaml"); }

Messages errors_of(std::string_view yaml) {
  Messages out;
  for (const LoadError& e : load(yaml).errors) out.push_back(e.to_string());
  return out;
}

Config load_ok(std::string_view yaml) {
  const LoadResult r = load(yaml);
  for (const LoadError& e : r.errors) ADD_FAILURE() << e.to_string();
  return r.config;
}

TEST(ConfigRateLimit, PerClientIsOffUnlessGiven) {
  EXPECT_EQ(load_ok("").limits.per_client, RateLimit{});
  EXPECT_EQ(load_ok("limits: {per_client: {}}\n").limits.per_client, RateLimit{});
  EXPECT_EQ(load_ok("limits:\n  per_client:\n").limits.per_client, RateLimit{});
  EXPECT_EQ(load_ok("limits: {per_client: {rate: 0, burst: 0}}\n").limits.per_client, RateLimit{});
}

TEST(ConfigRateLimit, PerClientTakesARateAndABurst) {
  EXPECT_EQ(load_ok("limits: {per_client: {rate: 10, burst: 25}}\n").limits.per_client, (RateLimit{10, 25}));
  // burst left out is 0, which means the rate; the file's 0 is kept for --print-config.
  EXPECT_EQ(load_ok("limits:\n  per_client:\n    rate: 100\n").limits.per_client, (RateLimit{100, 0}));
  EXPECT_EQ(load_ok("limits: {per_client: {rate: 1000000, burst: 1000000}}\n").limits.per_client,
            (RateLimit{1'000'000, 1'000'000}));
}

TEST(ConfigRateLimit, ARouteTakesItsOwnRateLimit) {
  const Config c = load_ok(
      "routes:\n"
      "  - match: {path: \"/login\"}\n"
      "    forward: default\n"
      "    rate_limit: {rate: 1, burst: 5}\n"
      "  - forward: default\n");
  ASSERT_EQ(c.routes.size(), 2U);
  EXPECT_EQ(c.routes[0].rate_limit, (RateLimit{1, 5}));
  EXPECT_EQ(c.routes[1].rate_limit, RateLimit{});
  EXPECT_EQ(c.limits.per_client, RateLimit{});
}

TEST(ConfigRateLimit, RateAndBurstAreIntegersWithinBounds) {
  EXPECT_EQ(errors_of("limits: {per_client: {rate: -1}}\n"),
            Messages{"f.yaml:1:29: limits.per_client.rate: expected an integer from 0 to 1000000, found \"-1\""});
  EXPECT_EQ(errors_of("limits: {per_client: {rate: 10/s}}\n"),
            Messages{"f.yaml:1:29: limits.per_client.rate: expected an integer from 0 to 1000000, found \"10/s\""});
  EXPECT_EQ(errors_of("limits:\n  per_client:\n    rate: 10\n    burst: 1000001\n"),
            Messages{"f.yaml:4:12: limits.per_client.burst: expected an integer from 0 to 1000000, found \"1000001\""});
  EXPECT_EQ(errors_of("limits: {per_client: {rate: 2.5}}\n"),
            Messages{"f.yaml:1:29: limits.per_client.rate: expected an integer from 0 to 1000000, found \"2.5\""});
}

TEST(ConfigRateLimit, ABurstWithoutARateSaysSo) {
  EXPECT_EQ(errors_of("limits:\n  per_client:\n    burst: 20\n"),
            Messages{"f.yaml:3:5: limits.per_client.burst: a burst needs a rate: give rate (requests per "
                     "second), or leave burst out (rate 0 is no limit)"});
  EXPECT_EQ(errors_of("limits: {per_client: {rate: 0, burst: 20}}\n"),
            Messages{"f.yaml:1:32: limits.per_client.burst: a burst needs a rate: give rate (requests per "
                     "second), or leave burst out (rate 0 is no limit)"});
  // A bad rate is the one error, not also the burst's.
  EXPECT_EQ(errors_of("limits: {per_client: {rate: x, burst: 20}}\n"),
            Messages{"f.yaml:1:29: limits.per_client.rate: expected an integer from 0 to 1000000, found \"x\""});
  EXPECT_EQ(errors_of("routes:\n  - forward: default\n    rate_limit: {burst: 3}\n"),
            Messages{"f.yaml:3:18: routes[0].rate_limit.burst: a burst needs a rate: give rate (requests per "
                     "second), or leave burst out (rate 0 is no limit)"});
}

TEST(ConfigRateLimit, ARateLimitIsAMapOfRateAndBurst) {
  EXPECT_EQ(errors_of("limits: {per_client: 10}\n"),
            Messages{"f.yaml:1:22: limits.per_client: expected a map {rate: REQUESTS_PER_SECOND, burst: "
                     "REQUESTS}, found \"10\""});
  EXPECT_EQ(errors_of("limits: {per_client: {rate: 10, brust: 20}}\n"),
            Messages{"f.yaml:1:33: limits.per_client.brust: unknown key; did you mean \"burst\"?"});
  EXPECT_EQ(errors_of("routes:\n  - forward: default\n    rate_limit: [10]\n"),
            Messages{"f.yaml:3:17: routes[0].rate_limit: expected a map {rate: REQUESTS_PER_SECOND, burst: "
                     "REQUESTS}, found a list"});
  EXPECT_EQ(errors_of("routes:\n  - forward: default\n    rate_limt: {rate: 1}\n"),
            Messages{"f.yaml:3:5: routes[0].rate_limt: unknown key; did you mean \"rate_limit\"?"});
}

}  // namespace
}  // namespace ferry::config
