#include "config/load.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

namespace ferry::config {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

// Loads `yaml` and fails the test with every error if it doesn't load.
Config load_ok(std::string_view yaml) {
  LoadResult r = load_text(yaml, "ferry.yaml");
  for (const LoadError& e : r.errors) ADD_FAILURE() << e.to_string();
  return r.config;
}

TEST(ConfigLoad, OnlyBackendsIsRequiredAndTheRestTakesDefaults) {
  const Config c = load_ok("backends: [\"10.0.0.1:80\"]\n");
  Config expected;  // the struct defaults are the contract's defaults
  expected.source = "ferry.yaml";
  expected.backends = {{"10.0.0.1:80", 1}};
  EXPECT_EQ(c, expected);
  EXPECT_FALSE(c.health_check.enabled);
}

TEST(ConfigLoad, ReadsEveryKeyOfAFullFile) {
  const Config c = load_ok(R"(# every key, none at its default
listen:
  - "127.0.0.1:8080"
  - "[::1]:8080"
workers: 4
admin: "127.0.0.1:9000"
balancer: consistent_hash
hash_key: header:X-User
resolve_interval: 0
backends:
  - address: "10.20.10.31:8000"
    weight: 5
  - "10.20.20.32:8000"
  - {address: "backend.internal:9000", weight: 1000}
health_check:
  path: /ready?deep=1
  interval: 10s
  timeout: 500ms
  healthy_threshold: 3
  unhealthy_threshold: 4
  expected_status: 200,204,300-399
  host: app.internal
  fail_open: true
timeouts:
  connect: 1s
  client_header: 5s
  client_idle: 2m
  backend_response: 30s
  backend_idle: 2s
  shutdown_grace: 1h
limits:
  max_connections: 50000
  max_header_bytes: 16KiB
  max_body_bytes: 10MiB
buffers:
  request: 512
  response: 1MiB
retries: 0
access_log: stdout
)");
  EXPECT_EQ(c.listen, (std::vector<std::string>{"127.0.0.1:8080", "[::1]:8080"}));
  EXPECT_EQ(c.workers, 4u);
  EXPECT_EQ(c.admin, "127.0.0.1:9000");
  EXPECT_EQ(c.balancer, BalancerKind::ConsistentHash);
  EXPECT_EQ(c.hash_key, "header:X-User");
  EXPECT_EQ(c.resolve_interval, Duration{0});
  EXPECT_EQ(c.backends,
            (std::vector<BackendConfig>{
                {"10.20.10.31:8000", 5}, {"10.20.20.32:8000", 1}, {"backend.internal:9000", 1000}}));
  const HealthCheck& h = c.health_check;
  EXPECT_TRUE(h.enabled);
  EXPECT_EQ(h.path, "/ready?deep=1");
  EXPECT_EQ(h.interval, seconds(10));
  EXPECT_EQ(h.timeout, milliseconds(500));
  EXPECT_EQ(h.healthy_threshold, 3u);
  EXPECT_EQ(h.unhealthy_threshold, 4u);
  EXPECT_EQ(h.expected_status, "200,204,300-399");
  EXPECT_EQ(h.host, "app.internal");
  EXPECT_TRUE(h.fail_open);
  EXPECT_EQ(c.timeouts.connect, seconds(1));
  EXPECT_EQ(c.timeouts.client_header, seconds(5));
  EXPECT_EQ(c.timeouts.client_idle, minutes(2));
  EXPECT_EQ(c.timeouts.backend_response, seconds(30));
  EXPECT_EQ(c.timeouts.backend_idle, seconds(2));
  EXPECT_EQ(c.timeouts.shutdown_grace, minutes(60));
  EXPECT_EQ(c.limits.max_connections, 50000u);
  EXPECT_EQ(c.limits.max_header_bytes, 16u * 1024);
  EXPECT_EQ(c.limits.max_body_bytes, 10u << 20);
  EXPECT_EQ(c.buffers.request, 512u);
  EXPECT_EQ(c.buffers.response, 1u << 20);
  EXPECT_EQ(c.retries, 0u);
  EXPECT_EQ(c.access_log, "stdout");
}

TEST(ConfigLoad, ListenTakesOneAddressAsAPlainString) {
  EXPECT_EQ(load_ok("listen: \"0.0.0.0:80\"\nbackends: [\"10.0.0.1:80\"]\n").listen,
            std::vector<std::string>{"0.0.0.0:80"});
}

TEST(ConfigLoad, ListenAndAdminMayUsePortZeroForAnyFreePort) {
  const Config c = load_ok("listen: 127.0.0.1:0\nadmin: 127.0.0.1:0\nbackends: [\"10.0.0.1:80\"]\n");
  EXPECT_EQ(c.listen, std::vector<std::string>{"127.0.0.1:0"});
  EXPECT_EQ(c.admin, "127.0.0.1:0");
}

TEST(ConfigLoad, AdminOffOrEmptyTurnsTheAdminListenerOff) {
  EXPECT_EQ(load_ok("admin: off\nbackends: [\"10.0.0.1:80\"]\n").admin, "");
  EXPECT_EQ(load_ok("admin: \"\"\nbackends: [\"10.0.0.1:80\"]\n").admin, "");
}

TEST(ConfigLoad, BackendAddressIsKeptExactlyAsWritten) {
  // The address is the metric label and the log name, so it is never rewritten.
  const Config c = load_ok("backends: [\"[0:0::1]:80\", \"Backend.Internal:80\"]\n");
  EXPECT_EQ(c.backends[0].address, "[0:0::1]:80");
  EXPECT_EQ(c.backends[1].address, "Backend.Internal:80");
}

TEST(ConfigLoad, HealthCheckSectionPresentTurnsChecksOnWithDefaults) {
  const Config c = load_ok("backends: [\"10.0.0.1:80\"]\nhealth_check:\n  path: /ping\n");
  HealthCheck expected;
  expected.enabled = true;
  expected.path = "/ping";
  EXPECT_EQ(c.health_check, expected);
}

TEST(ConfigLoad, EmptyHealthCheckSectionStillTurnsChecksOn) {
  HealthCheck expected;
  expected.enabled = true;
  EXPECT_EQ(load_ok("backends: [\"10.0.0.1:80\"]\nhealth_check:\n").health_check, expected);
  EXPECT_EQ(load_ok("backends: [\"10.0.0.1:80\"]\nhealth_check: {}\n").health_check, expected);
}

TEST(ConfigLoad, EmptySectionsKeepTheirDefaults) {
  const Config c = load_ok("backends: [\"10.0.0.1:80\"]\ntimeouts:\nlimits: {}\nbuffers:\n");
  EXPECT_EQ(c.timeouts, Timeouts{});
  EXPECT_EQ(c.limits, Limits{});
  EXPECT_EQ(c.buffers, Buffers{});
}

TEST(ConfigLoad, AcceptsBareZeroWhereZeroMeansSomething) {
  const Config c = load_ok(
      "resolve_interval: 0\nlimits: {max_body_bytes: 0}\nworkers: 0\nretries: 0\n"
      "backends: [\"10.0.0.1:80\"]\n");
  EXPECT_EQ(c.resolve_interval, Duration{0});
  EXPECT_EQ(c.limits.max_body_bytes, 0u);
}

TEST(ConfigLoad, AccessLogOffIsTheStringOffNotABoolean) {
  // YAML 1.1 reads a bare `off` as false; ferry reads it as the word the contract uses.
  EXPECT_EQ(load_ok("access_log: off\nbackends: [\"10.0.0.1:80\"]\n").access_log, "off");
  EXPECT_EQ(load_ok("access_log: /tmp/ferry.log\nbackends: [\"10.0.0.1:80\"]\n").access_log,
            "/tmp/ferry.log");
}

TEST(ConfigLoad, EachBalancerNameSelectsItsKind) {
  const std::pair<std::string_view, BalancerKind> cases[] = {
      {"round_robin", BalancerKind::RoundRobin},
      {"weighted_round_robin", BalancerKind::WeightedRoundRobin},
      {"least_outstanding", BalancerKind::LeastOutstanding},
      {"power_of_two", BalancerKind::PowerOfTwo},
      {"consistent_hash", BalancerKind::ConsistentHash},
  };
  for (const auto& [name, kind] : cases)
    EXPECT_EQ(load_ok("balancer: " + std::string(name) + "\nbackends: [\"10.0.0.1:80\"]\n").balancer, kind);
}

class ConfigFile : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = ::testing::TempDir() + "ferry_config_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".yaml";
  }
  void TearDown() override { std::remove(path_.c_str()); }
  void write(std::string_view text) { std::ofstream(path_) << text; }
  std::string path_;
};

TEST_F(ConfigFile, LoadsAFileAndNamesItAsTheSource) {
  write("backends:\n  - \"10.0.0.1:80\"\n");
  const LoadResult r = load_file(path_);
  ASSERT_TRUE(r.ok()) << r.errors.front().to_string();
  EXPECT_EQ(r.config.source, path_);
  EXPECT_EQ(r.config.backends, (std::vector<BackendConfig>{{"10.0.0.1:80", 1}}));
}

TEST_F(ConfigFile, ErrorsInAFileNameThatFile) {
  write("backends:\n  - \"10.0.0.1\"\n");
  const LoadResult r = load_file(path_);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].to_string(),
            path_ + ":2:5: backends[0]: expected host:port with a port, found \"10.0.0.1\"");
}

TEST_F(ConfigFile, MissingFileIsOneErrorWithoutAPosition) {
  const LoadResult r = load_file(path_);  // never written
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].line, 0);
  EXPECT_EQ(r.errors[0].to_string(), path_ + ": cannot read the file: No such file or directory");
}

TEST(ConfigLoadFile, DirectoryIsOneErrorWithoutAPosition) {
  const LoadResult r = load_file("/");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].to_string(), "/: cannot read the file: Is a directory");
}

TEST(LoadError, FormatsAsFileLineColumnMessage) {
  EXPECT_EQ((LoadError{"ferry.yaml", 7, 14, "boom"}).to_string(), "ferry.yaml:7:14: boom");
  EXPECT_EQ((LoadError{"ferry.yaml", 0, 0, "boom"}).to_string(), "ferry.yaml: boom");
}

}  // namespace
}  // namespace ferry::config
