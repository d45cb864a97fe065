// One test per kind of mistake a file can hold: the exact message, line and column, since
// those are what a user reads (CONTRACT.md: `ferry --check` prints them as they are).
#include <gtest/gtest.h>

#include "config/load.h"
#include "config/print.h"

namespace ferry::config {
namespace {

using Messages = std::vector<std::string>;

Messages errors_of(std::string_view yaml) {
  Messages out;
  for (const LoadError& e : load_text(yaml, "ferry.yaml").errors) out.push_back(e.to_string());
  return out;
}

// A valid backends key, for files about something else.
constexpr std::string_view kBackends = "backends: [\"10.0.0.1:80\"]\n";

Messages errors_with_backends(std::string_view yaml) {
  return errors_of(std::string(yaml) + std::string(kBackends));
}

TEST(ConfigLoad, YamlSyntaxErrorIsReportedAloneAtItsPosition) {
  EXPECT_EQ(errors_of("workers: 5000\nbackends: [\"10.0.0.1:80\"\ntimeouts: {}\n"),
            Messages{"ferry.yaml:3:1: YAML syntax error: end of sequence flow not found"});
  EXPECT_EQ(errors_of("backends:\n  - \"10.0.0.1:80\"\n workers: 1\n"),
            Messages{"ferry.yaml:3:2: YAML syntax error: end of map not found"});
  EXPECT_EQ(errors_of("access_log: \"C:\\logs\\ferry.log\"\n"),
            Messages{"ferry.yaml:1:18: YAML syntax error: unknown escape character: l"});
}

TEST(ConfigLoad, TabIndentationIsASyntaxError) {
  EXPECT_EQ(errors_of("timeouts:\n\tconnect: 1s\n"),
            Messages{"ferry.yaml:2:9: YAML syntax error: illegal map value"});
}

TEST(ConfigLoad, SecondYamlDocumentIsAnErrorNotIgnored) {
  EXPECT_EQ(errors_of("backends: [\"10.0.0.1:80\"]\n---\nworkers: 2\n"),
            Messages{"ferry.yaml:3:1: expected a single YAML document, found another after \"---\""});
  EXPECT_EQ(errors_of("---\nbackends: [\"10.0.0.1:80\"]\n---\n"), Messages{});
}

TEST(ConfigLoad, WrongTypeNamesWhatWasExpectedAndWhatWasFound) {
  EXPECT_EQ(errors_with_backends("workers: [1]\n"),
            Messages{"ferry.yaml:1:10: workers: expected an integer from 0 to 1024, found a list"});
  EXPECT_EQ(errors_with_backends("timeouts: 5s\n"),
            Messages{"ferry.yaml:1:11: timeouts: expected a map of settings, found \"5s\""});
  EXPECT_EQ(
      errors_with_backends("listen: {a: b}\n"),
      Messages{
          "ferry.yaml:1:9: listen: expected an address (host:port) or a list of at least one, found a map"});
  EXPECT_EQ(errors_with_backends("listen: [[\"0.0.0.0:80\"]]\n"),
            Messages{"ferry.yaml:1:10: listen[0]: expected an address (host:port), found a list"});
  EXPECT_EQ(
      errors_of("backends: \"10.0.0.1:80\"\n"),
      Messages{"ferry.yaml:1:11: backends: expected a list of at least one backend, found \"10.0.0.1:80\""});
  EXPECT_EQ(
      errors_of("backends:\n  - [\"10.0.0.1:80\"]\n"),
      Messages{
          "ferry.yaml:2:5: backends[0]: expected \"host:port\" or a map {address, weight}, found a list"});
}

TEST(ConfigLoad, EmptyValueIsReportedAtItsKey) {
  EXPECT_EQ(errors_with_backends("workers:\nretries: 1\n"),
            Messages{"ferry.yaml:1:1: workers: expected an integer from 0 to 1024, found nothing"});
}

TEST(ConfigLoad, TopLevelMustBeAMap) {
  EXPECT_EQ(errors_of("- backends\n"),
            Messages{"ferry.yaml:1:1: expected a map of settings at the top level, found a list"});
  EXPECT_EQ(errors_of("backends\n"),
            Messages{"ferry.yaml:1:1: expected a map of settings at the top level, found \"backends\""});
}

TEST(ConfigLoad, OutOfRangeNumbersNameTheirBounds) {
  EXPECT_EQ(
      errors_of("backends:\n  - address: \"10.0.0.1:80\"\n    weight: 1001\n"),
      Messages{"ferry.yaml:3:13: backends[0].weight: expected an integer from 1 to 1000, found \"1001\""});
  EXPECT_EQ(errors_of("backends:\n  - address: \"10.0.0.1:80\"\n    weight: 0\n"),
            Messages{"ferry.yaml:3:13: backends[0].weight: expected an integer from 1 to 1000, found \"0\""});
  EXPECT_EQ(errors_with_backends("workers: 1025\n"),
            Messages{"ferry.yaml:1:10: workers: expected an integer from 0 to 1024, found \"1025\""});
  EXPECT_EQ(errors_with_backends("retries: 11\n"),
            Messages{"ferry.yaml:1:10: retries: expected an integer from 0 to 10, found \"11\""});
  EXPECT_EQ(errors_with_backends("retries: -1\n"),
            Messages{"ferry.yaml:1:10: retries: expected an integer from 0 to 10, found \"-1\""});
  EXPECT_EQ(
      errors_with_backends("limits:\n  max_connections: 0\n"),
      Messages{
          "ferry.yaml:2:20: limits.max_connections: expected an integer from 1 to 10000000, found \"0\""});
  EXPECT_EQ(
      errors_with_backends("limits:\n  max_header_bytes: 512\n"),
      Messages{"ferry.yaml:2:21: limits.max_header_bytes: expected a size from 1KiB to 1MiB, found \"512\""});
  EXPECT_EQ(errors_with_backends("buffers:\n  request: 100\n"),
            Messages{"ferry.yaml:2:12: buffers.request: expected a size from 512 to 1GiB, found \"100\""});
  EXPECT_EQ(errors_with_backends("timeouts:\n  connect: 0s\n"),
            Messages{"ferry.yaml:2:12: timeouts.connect: expected a duration from 1ms to 24h, found \"0s\""});
  EXPECT_EQ(errors_with_backends("resolve_interval: 25h\n"),
            Messages{"ferry.yaml:1:19: resolve_interval: expected a duration from 0 to 24h, found \"25h\""});
}

TEST(ConfigLoad, ThresholdOfZeroIsRejected) {
  EXPECT_EQ(
      errors_with_backends("health_check:\n  healthy_threshold: 0\n  unhealthy_threshold: 0\n"),
      (Messages{
          "ferry.yaml:2:22: health_check.healthy_threshold: expected an integer from 1 to 100, found \"0\"",
          "ferry.yaml:3:24: health_check.unhealthy_threshold: expected an integer from 1 to 100, found \"0\"",
      }));
}

TEST(ConfigLoad, UnknownKeySuggestsClosestName) {
  EXPECT_EQ(errors_with_backends("lisen: \"0.0.0.0:80\"\n"),
            Messages{"ferry.yaml:1:1: lisen: unknown key; did you mean \"listen\"?"});
}

TEST(ConfigLoad, UnknownKeyFarFromEveryNameListsTheValidOnes) {
  EXPECT_EQ(errors_with_backends("buffers:\n  banana: 1\n"),
            Messages{"ferry.yaml:2:3: buffers.banana: unknown key; expected one of request, response"});
}

TEST(ConfigLoad, UnknownKeysAreCaughtAtEveryLevel) {
  EXPECT_EQ(errors_of(R"(backends:
  - address: "10.0.0.1:80"
    wieght: 2
health_check:
  intervall: 5s
timeouts:
  conect: 1s
limits:
  max_conections: 5
buffers:
  reqest: 1KiB
timeout: {}
)"),
            (Messages{
                "ferry.yaml:3:5: backends[0].wieght: unknown key; did you mean \"weight\"?",
                "ferry.yaml:5:3: health_check.intervall: unknown key; did you mean \"interval\"?",
                "ferry.yaml:7:3: timeouts.conect: unknown key; did you mean \"connect\"?",
                "ferry.yaml:9:3: limits.max_conections: unknown key; did you mean \"max_connections\"?",
                "ferry.yaml:11:3: buffers.reqest: unknown key; did you mean \"request\"?",
                "ferry.yaml:12:1: timeout: unknown key; did you mean \"timeouts\"?",
            }));
}

TEST(ConfigLoad, RepeatedKeyIsAnErrorNotASilentOverride) {
  EXPECT_EQ(errors_with_backends("timeouts:\n  connect: 1s\n  connect: 2s\n"),
            Messages{"ferry.yaml:3:3: timeouts.connect: duplicate key, first given at line 2"});
}

TEST(ConfigLoad, DuplicateBackendAddressPointsAtTheFirst) {
  EXPECT_EQ(
      errors_of("backends:\n  - \"10.0.0.1:80\"\n  - address: \"10.0.0.1:80\"\n    weight: 2\n"),
      Messages{
          "ferry.yaml:3:14: backends[1].address: duplicate address \"10.0.0.1:80\", first listed at line 2"});
}

TEST(ConfigLoad, DuplicateBackendIsFoundWhateverTheSpelling) {
  EXPECT_EQ(errors_of("backends: [\"[::1]:80\", \"[0::1]:80\", \"Name:80\", \"name:80\"]\n"),
            (Messages{
                "ferry.yaml:1:24: backends[1]: duplicate address \"[0::1]:80\", first listed at line 1",
                "ferry.yaml:1:48: backends[3]: duplicate address \"name:80\", first listed at line 1",
            }));
}

TEST(ConfigLoad, DuplicateListenAddressIsRejected) {
  EXPECT_EQ(errors_with_backends("listen: [\"0.0.0.0:80\", \"0.0.0.0:80\"]\n"),
            Messages{"ferry.yaml:1:24: listen[1]: duplicate address \"0.0.0.0:80\", first listed at line 1"});
}

TEST(ConfigLoad, UnparsableAddressSaysWhatAnAddressLooksLike) {
  EXPECT_EQ(
      errors_of(R"(listen: "0.0.0.0"
admin: "localhost:99999"
backends:
  - "10.0.0.1:0"
  - "::1:80"
  - ":80"
  - "[::1]"
)"),
      (Messages{
          "ferry.yaml:1:9: listen: expected host:port with a port, found \"0.0.0.0\"",
          "ferry.yaml:2:8: admin: expected a port from 0 to 65535 after the colon, found \"localhost:99999\"",
          "ferry.yaml:4:5: backends[0]: expected a port from 1 to 65535 after the colon, found "
          "\"10.0.0.1:0\"",
          "ferry.yaml:5:5: backends[1]: expected an IPv6 address in brackets, as [::1]:80, found \"::1:80\"",
          "ferry.yaml:6:5: backends[2]: expected a host before the port, found \":80\"",
          "ferry.yaml:7:5: backends[3]: expected host:port with a port after the brackets, as [::1]:80, "
          "found \"[::1]\"",
      }));
}

TEST(ConfigLoad, UnparsableDurationAsksForAUnit) {
  EXPECT_EQ(
      errors_of(R"(# timeouts in a file
backends:
  - "10.0.0.1:80"

timeouts:
  client_idle: 60s
  connect:   5
  backend_idle: 1.5s
)"),
      (Messages{
          "ferry.yaml:7:14: timeouts.connect: expected a duration with a unit (250ms, 5s, 2m), found \"5\"",
          "ferry.yaml:8:17: timeouts.backend_idle: expected a duration with a unit (250ms, 5s, 2m), "
          "found \"1.5s\"",
      }));
}

TEST(ConfigLoad, UnparsableSizeNamesTheAcceptedSuffixes) {
  EXPECT_EQ(
      errors_with_backends("buffers:\n  request: 64KB\n"),
      Messages{"ferry.yaml:2:12: buffers.request: expected a size in bytes or with a KiB, MiB or GiB suffix "
               "(512, 64KiB, 1MiB), found \"64KB\""});
}

TEST(ConfigLoad, MissingBackendsIsAnErrorInAFile) {
  EXPECT_EQ(errors_of("# just a comment\nworkers: 2\n"),
            Messages{"ferry.yaml:2:1: backends: missing; a file must list at least one backend, or pools"});
}

TEST(ConfigLoad, EmptyFileIsMissingItsBackends) {
  EXPECT_EQ(
      errors_of(""),
      Messages{
          "ferry.yaml:1:1: backends: missing; a file must list at least one backend, or pools (the file is "
          "empty)"});
}

TEST(ConfigLoad, EmptyBackendsListIsRejected) {
  EXPECT_EQ(
      errors_of("backends: []\n"),
      Messages{"ferry.yaml:1:11: backends: expected a list of at least one backend, found an empty list"});
  EXPECT_EQ(errors_of("backends:\n"),
            Messages{"ferry.yaml:1:1: backends: expected a list of at least one backend, found nothing"});
}

TEST(ConfigLoad, BackendMapWithoutAddressIsRejected) {
  EXPECT_EQ(errors_of("backends:\n  - weight: 2\n"),
            Messages{"ferry.yaml:2:5: backends[0]: missing key \"address\" (the backend's host:port)"});
}

TEST(ConfigLoad, UnknownBalancerSuggestsClosestName) {
  EXPECT_EQ(errors_with_backends("balancer: least_outstandin\n"),
            Messages{"ferry.yaml:1:11: balancer: expected one of round_robin, weighted_round_robin, "
                     "least_outstanding, power_of_two, consistent_hash, found \"least_outstandin\"; "
                     "did you mean \"least_outstanding\"?"});
  EXPECT_EQ(errors_with_backends("balancer: random\n"),
            Messages{"ferry.yaml:1:11: balancer: expected one of round_robin, weighted_round_robin, "
                     "least_outstanding, power_of_two, consistent_hash, found \"random\""});
}

TEST(ConfigLoad, BadHashKeySaysWhichFormsExist) {
  EXPECT_EQ(
      errors_with_backends("hash_key: url\n"),
      Messages{"ferry.yaml:1:11: hash_key: expected client_ip, header:NAME or cookie:NAME, found \"url\""});
  EXPECT_EQ(errors_with_backends("hash_key: client-ip\n"),
            Messages{"ferry.yaml:1:11: hash_key: expected client_ip, header:NAME or cookie:NAME, "
                     "found \"client-ip\"; did you mean \"client_ip\"?"});
  EXPECT_EQ(errors_with_backends("hash_key: cookies:sid\n"),
            Messages{"ferry.yaml:1:11: hash_key: expected client_ip, header:NAME or cookie:NAME, "
                     "found \"cookies:sid\"; did you mean \"cookie:sid\"?"});
  EXPECT_EQ(
      errors_with_backends("hash_key: \"header:\"\n"),
      Messages{
          "ferry.yaml:1:11: hash_key: expected client_ip, header:NAME or cookie:NAME, found \"header:\""});
}

TEST(ConfigLoad, BadExpectedStatusIsRejected) {
  const std::string expected =
      "expected a status code, a range or a comma list of them within 100..599 (200, 200-399, 200,204)";
  EXPECT_EQ(errors_with_backends("health_check:\n  expected_status: 200-600\n"),
            Messages{"ferry.yaml:2:20: health_check.expected_status: " + expected + ", found \"200-600\""});
  EXPECT_EQ(errors_with_backends("health_check:\n  expected_status: 2xx\n"),
            Messages{"ferry.yaml:2:20: health_check.expected_status: " + expected + ", found \"2xx\""});
}

TEST(ConfigLoad, HealthPathMustStartWithASlash) {
  EXPECT_EQ(
      errors_with_backends("health_check:\n  path: health\n"),
      Messages{"ferry.yaml:2:9: health_check.path: expected a path starting with \"/\", without spaces, "
               "found \"health\""});
}

TEST(ConfigLoad, HealthHostCannotInjectHeaders) {
  EXPECT_EQ(errors_with_backends("health_check:\n  host: \"a\\r\\nX-Evil: 1\"\n"),
            Messages{"ferry.yaml:2:9: health_check.host: expected a Host header value without spaces "
                     "(empty = the backend address), found \"a\\r\\nX-Evil: 1\""});
}

TEST(ConfigLoad, HealthTimeoutMustBeShorterThanTheInterval) {
  EXPECT_EQ(errors_with_backends("health_check:\n  interval: 2s\n  timeout: 2s\n"),
            Messages{"ferry.yaml:3:12: health_check.timeout: expected a duration shorter than "
                     "health_check.interval (2s), found \"2s\""});
  // Only the interval was written: it is the one to point at.
  EXPECT_EQ(errors_with_backends("health_check:\n  interval: 1s\n"),
            Messages{"ferry.yaml:2:13: health_check.interval: expected a duration longer than "
                     "health_check.timeout (2s), found \"1s\""});
}

TEST(ConfigLoad, BoolMustBeTrueOrFalse) {
  EXPECT_EQ(errors_with_backends("health_check:\n  fail_open: yes\n"),
            Messages{"ferry.yaml:2:14: health_check.fail_open: expected true or false, found \"yes\""});
}

TEST(ConfigLoad, AccessLogMustBeOffStdoutOrAPath) {
  EXPECT_EQ(errors_with_backends("access_log: \"\"\n"),
            Messages{"ferry.yaml:1:13: access_log: expected \"off\", \"stdout\" or a file path, found \"\""});
  EXPECT_EQ(
      errors_with_backends("access_log: [stdout]\n"),
      Messages{"ferry.yaml:1:13: access_log: expected \"off\", \"stdout\" or a file path, found a list"});
}

TEST(ConfigLoad, ReportsEveryErrorAtOnceInFileOrder) {
  const LoadResult r = load_text(R"(listen: "0.0.0.0"
workers: many
balancer: round_robn
backends:
  - "10.0.0.1:80"
  - "10.0.0.1:80"
health_check:
  path: health
timeouts:
  connect: 5
  client_idel: 5s
buffers:
  response: 1MB
retries: 99
)",
                                 "ferry.yaml");
  EXPECT_FALSE(r.ok());
  Messages lines;
  for (const LoadError& e : r.errors)
    lines.push_back(std::to_string(e.line) + ":" + std::to_string(e.column));
  EXPECT_EQ(lines, (Messages{"1:9", "2:10", "3:11", "6:5", "8:9", "10:12", "11:3", "13:13", "14:10"}));
}

// admin_token, and the rule that an admin listener beyond loopback needs one.
constexpr std::string_view kToken = "0123456789abcdef0123456789abcdef";

TEST(AdminToken, IsReadAndRoundTrips) {
  const LoadResult r = load_text("admin: \"0.0.0.0:9901\"\nadmin_token: \"" + std::string(kToken) + "\"\n" +
                                     std::string(kBackends),
                                 "ferry.yaml");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.config.admin_token, kToken);
  const LoadResult again = load_text(print(r.config), "printed.yaml");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again.config.admin_token, kToken);
}

TEST(AdminToken, AnAdminBeyondLoopbackNeedsOne) {
  EXPECT_EQ(errors_of("admin: \"0.0.0.0:9901\"\n" + std::string(kBackends)),
            Messages{"ferry.yaml:1:8: admin: admin listens on 0.0.0.0:9901, beyond loopback, so its POST controls "
                     "(drain, ready) need a token: set admin_token (for example to the output of: openssl rand "
                     "-hex 32), or listen on 127.0.0.1"});
  EXPECT_EQ(errors_of("admin: \"10.0.0.5:9901\"\n" + std::string(kBackends)).size(), 1u);
  // Loopback needs none.
  for (const char* admin : {"127.0.0.1:9901", "127.1.2.3:9901", "[::1]:9901", "localhost:9901", "off"})
    EXPECT_EQ(errors_of("admin: \"" + std::string(admin) + "\"\n" + std::string(kBackends)), Messages{}) << admin;
}

TEST(AdminToken, MustBeLongAndPlain) {
  EXPECT_EQ(errors_of("admin_token: \"short\"\n" + std::string(kBackends)),
            Messages{"ferry.yaml:1:14: admin_token: expected a token of 16 to 256 visible ASCII characters, "
                     "without spaces (for example the output of: openssl rand -hex 32), or \"\" for none, found "
                     "\"short\""});
  EXPECT_EQ(errors_of("admin_token: \"0123456789 abcdef0123\"\n" + std::string(kBackends)).size(), 1u);
  EXPECT_EQ(errors_of("admin_token: \"\"\n" + std::string(kBackends)), Messages{});
}

}  // namespace
}  // namespace ferry::config
