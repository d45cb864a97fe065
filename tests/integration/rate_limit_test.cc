// Per-client rate limits through the whole proxy, over real sockets, with two workers: a
// client's bucket holds across workers, a flood gets 429 with Retry-After and never reaches a
// backend, another client address (127.0.0.2) is served meanwhile, a route's own limit covers
// that route only, and the counts show in /metrics and the access log. The bucket arithmetic
// and the table are tested without sockets in tests/proxy/limits/.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "support/checked.h"
#include "support/child_process.h"
#include "support/client.h"
#include "support/fake_backend.h"
#include "support/metrics_text.h"
#include "support/proxy_fixture.h"
#include "support/temp_dir.h"
#include "support/wait.h"

namespace ferry::testing {
namespace {

using namespace std::chrono_literals;

constexpr const char* kFlooder = "127.0.0.1";
constexpr const char* kOther = "127.0.0.2";  // all of 127.0.0.0/8 is loopback
constexpr const char* kListener = "127.0.0.1:0";  // test_config's listen, the metric's label

// Two workers, so a bucket kept per worker would let a client through twice as often.
config::Config two_workers(const FakeBackend& backend) {
  config::Config cfg = test_config({backend.address()});
  cfg.workers = 2;
  cfg.admin = "127.0.0.1:0";
  return cfg;
}

// One request from `source` on a connection of its own: connections land on either worker.
Response fresh(uint16_t port, const char* source, const std::string& path = "/") {
  Client c(port, source);
  EXPECT_TRUE(c.connected()) << "cannot connect from " << source;
  EXPECT_TRUE(c.send("GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n"));
  return checked(c.read_response());
}

struct Tally {
  int ok = 0;
  int limited = 0;
  int other = 0;
};

// `n` requests from `source`, each on a fresh connection, counted by answer.
Tally flood(uint16_t port, const char* source, int n, const std::string& path = "/") {
  Tally t;
  for (int i = 0; i < n; ++i) {
    const Response r = fresh(port, source, path);
    (r.status == 200 ? t.ok : r.status == 429 ? t.limited : t.other)++;
  }
  return t;
}

double rate_limited(RunningProxy& proxy) {
  return metric_value(scrape_metrics(proxy.server().admin_port()),
                      "ferry_rate_limited_total{listener=\"" + std::string(kListener) + "\"}")
      .value_or(-1);
}

TEST(RateLimit, AFloodFromOneAddressGets429AcrossWorkersWhileAnotherAddressIsServed) {
  FakeBackend backend("b1");
  config::Config cfg = two_workers(backend);
  cfg.limits.per_client = {1, 5};  // 5 at once, then one a second
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started()) << proxy.error();
  ASSERT_EQ(proxy.server().worker_count(), 2U);

  const auto start = std::chrono::steady_clock::now();
  // 40 connections spread over both workers' SO_REUSEPORT sockets (each gets some, as
  // Forwarding.EveryWorkerServes shows): one shared bucket lets 5 through, one per worker ~10.
  const Tally flooder = flood(proxy.port(), kFlooder, 40);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  const int refilled = static_cast<int>(std::chrono::duration_cast<std::chrono::seconds>(elapsed).count()) + 1;
  EXPECT_GE(flooder.ok, 5);
  EXPECT_LE(flooder.ok, 5 + refilled) << "took " << std::chrono::duration<double>(elapsed).count() << "s";
  EXPECT_EQ(flooder.ok + flooder.limited, 40) << flooder.other << " other answers";

  // Meanwhile another address has a bucket of its own.
  const Tally other = flood(proxy.port(), kOther, 5);
  EXPECT_EQ(other.ok, 5);
  // ...and the flooder is still out of tokens.
  const Response refused = fresh(proxy.port(), kFlooder);
  EXPECT_EQ(refused.status, 429);
  EXPECT_EQ(refused.body, "too many requests\n");
  EXPECT_EQ(refused.header("Retry-After"), "1");  // under a second to the next token, rounded up
  EXPECT_FALSE(refused.header("X-Request-Id").empty());
  EXPECT_TRUE(refused.header("X-Backend").empty());

  // Refused requests never reached the backend.
  EXPECT_EQ(backend.requests(), flooder.ok + other.ok);
  const double limited = flooder.limited + 1;
  EXPECT_TRUE(eventually([&] { return rate_limited(proxy) == limited; }, 5s))
      << metric_lines(scrape_metrics(proxy.server().admin_port()), "ferry_rate_limited_total");
  const std::string m = scrape_metrics(proxy.server().admin_port());
  EXPECT_EQ(metric_value(m, requests_series("none", 429, "")).value_or(0), limited)
      << metric_lines(m, "ferry_requests_total");
}

TEST(RateLimit, A429KeepsTheConnectionAliveAndSaysWhenToComeBack) {
  FakeBackend backend("b1");
  config::Config cfg = two_workers(backend);
  cfg.limits.per_client = {1, 2};
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started()) << proxy.error();
  Client c(proxy.port(), kFlooder);
  ASSERT_TRUE(c.connected());
  for (const int expected : {200, 200, 429, 429}) {
    ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    const Response r = checked(c.read_response());
    EXPECT_EQ(r.status, expected);
    EXPECT_TRUE(r.header("Connection").empty()) << r.head;
    if (expected == 429) {
      const std::string retry = r.header("Retry-After");
      ASSERT_FALSE(retry.empty()) << r.head;
      EXPECT_GE(std::stoi(retry), 1);
      EXPECT_LE(std::stoi(retry), 1);
    }
  }
  // HEAD: the same answer without its body; the connection still carries the next request.
  ASSERT_TRUE(c.send("HEAD / HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_EQ(checked(c.read_response(true)).status, 429);
  // A client that asks to close gets its 429 and the close.
  ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  const Response last = checked(c.read_response());
  EXPECT_EQ(last.status, 429);
  EXPECT_EQ(last.header("Connection"), "close");
  EXPECT_TRUE(c.closed_by_peer());
  EXPECT_EQ(backend.requests(), 2);
}

config::RouteConfig forward_route(const std::string& name, const std::string& path) {
  config::RouteConfig r;
  r.name = name;
  if (!path.empty()) r.match.path = {path};
  r.forward = {{"default", 1}};
  return r;
}

TEST(RateLimit, ARoutesOwnLimitCoversThatRouteOnly) {
  FakeBackend backend("b1");
  config::Config cfg = two_workers(backend);
  config::RouteConfig login = forward_route("login", "/login");
  login.rate_limit = {1, 2};
  cfg.routes = {login, forward_route("rest", "")};
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started()) << proxy.error();

  const Tally on_login = flood(proxy.port(), kFlooder, 6, "/login");
  EXPECT_GE(on_login.ok, 2);
  EXPECT_LE(on_login.ok, 3);
  EXPECT_EQ(on_login.ok + on_login.limited, 6);
  // The same client elsewhere is not limited at all (no per_client limit), nor is another
  // client on the login route.
  EXPECT_EQ(flood(proxy.port(), kFlooder, 20, "/home").ok, 20);
  EXPECT_EQ(flood(proxy.port(), kOther, 2, "/login").ok, 2);

  EXPECT_TRUE(eventually([&] { return rate_limited(proxy) == on_login.limited; }, 5s));
  const std::string m = scrape_metrics(proxy.server().admin_port());
  EXPECT_EQ(metric_value(m, "ferry_route_requests_total{route=\"login\",code=\"429\"}").value_or(0),
            on_login.limited)
      << metric_lines(m, "ferry_route_requests_total");
  EXPECT_FALSE(metric_value(m, "ferry_route_requests_total{route=\"rest\",code=\"429\"}").has_value());
}

TEST(RateLimit, TheGlobalLimitComesFirstAndCoversEveryRoute) {
  FakeBackend backend("b1");
  config::Config cfg = two_workers(backend);
  cfg.limits.per_client = {1, 3};
  config::RouteConfig login = forward_route("login", "/login");
  login.rate_limit = {1, 10};  // looser than the global one: never the one that refuses here
  cfg.routes = {login, forward_route("rest", "")};
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started()) << proxy.error();
  const Tally first = flood(proxy.port(), kFlooder, 2, "/home");
  const Tally second = flood(proxy.port(), kFlooder, 4, "/login");
  EXPECT_EQ(first.ok, 2);
  EXPECT_GE(second.ok, 1);
  EXPECT_LE(second.ok, 2);
  // A refusal by the global limit happens before routing: no route counts it.
  const std::string m = scrape_metrics(proxy.server().admin_port());
  EXPECT_FALSE(metric_value(m, "ferry_route_requests_total{route=\"login\",code=\"429\"}").has_value())
      << metric_lines(m, "ferry_route_requests_total");
}

TEST(RateLimit, AReloadTurnsALimitOnForTheNextRequest) {
  FakeBackend backend("b1");
  config::Config cfg = two_workers(backend);
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started()) << proxy.error();
  EXPECT_EQ(flood(proxy.port(), kFlooder, 20).ok, 20);  // off by default
  cfg.limits.per_client = {1, 3};
  std::string error;
  ASSERT_TRUE(proxy.server().reload(cfg, &error)) << error;
  // Workers adopt the new settings at their next turn; each new connection is a new chance.
  ASSERT_TRUE(eventually([&] { return fresh(proxy.port(), kFlooder).status == 429; }, 5s));
  EXPECT_EQ(fresh(proxy.port(), kOther).status, 200);
}

TEST(RateLimit, ARefusedRequestIsInTheAccessLog) {
  FakeBackend backend("b1");
  const TempDir dir("ferry-rate-limit");
  ASSERT_FALSE(dir.path().empty());
  config::Config cfg = two_workers(backend);
  cfg.limits.per_client = {1, 1};
  cfg.access_log = dir.path() + "/access.log";
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started()) << proxy.error();
  EXPECT_EQ(fresh(proxy.port(), kOther, "/a").status, 200);
  const Response refused = fresh(proxy.port(), kOther, "/b");
  ASSERT_EQ(refused.status, 429);
  const std::string id = refused.header("X-Request-Id");
  ASSERT_TRUE(eventually([&] { return file_contents(cfg.access_log).find(id) != std::string::npos; }));
  const std::string log = file_contents(cfg.access_log);
  const std::string line = log.substr(log.rfind('\n', log.find(id)) + 1);
  // Client, request, status, then no backend: ferry answered, with the request's id.
  EXPECT_NE(line.find(std::string(" ") + kOther + " \"GET /b\" 429 "), std::string::npos) << line;
  EXPECT_NE(line.find(" - "), std::string::npos) << line;
}

}  // namespace
}  // namespace ferry::testing
