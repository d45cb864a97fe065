// The admin API's runtime controls: POST /pools/NAME/backends/ADDRESS/drain and .../ready, the
// admin token, and how a drained backend behaves across requests, checks and reloads.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "support/checked.h"
#include "support/client.h"
#include "support/fake_backend.h"
#include "support/proxy_fixture.h"
#include "support/scoped_thread.h"
#include "support/wait.h"

namespace ferry::testing {
namespace {

using namespace std::chrono_literals;

config::Config admin_config(const std::vector<std::string>& backends, const std::string& token = "") {
  auto cfg = test_config(backends);
  cfg.admin = "127.0.0.1:0";
  cfg.admin_token = token;
  return cfg;
}

std::optional<Response> post(uint16_t port, const std::string& path, const std::string& authorization = "") {
  Client c(port);
  std::string request = "POST " + path + " HTTP/1.1\r\nHost: admin\r\nContent-Length: 0\r\n";
  if (!authorization.empty()) request += "Authorization: " + authorization + "\r\n";
  if (!c.connected() || !c.send(request + "\r\n")) return std::nullopt;
  return c.read_response();
}

// Which backends answered `n` requests on one keep-alive connection, as "b1 b2 ...".
std::string who_answers(uint16_t port, int n) {
  Client c(port);
  std::string seen;
  for (int i = 0; i < n; ++i) {
    c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    auto r = c.read_response();
    seen += (seen.empty() ? "" : " ") + (r ? r->header("X-Backend") : std::string("none"));
  }
  return seen;
}

TEST(AdminControl, ADrainedBackendGetsNoNewRequestsUntilReady) {
  FakeBackend b1("b1"), b2("b2");
  RunningProxy proxy(admin_config({b1.address(), b2.address()}));
  ASSERT_TRUE(proxy.started()) << proxy.error();
  const uint16_t admin = proxy.server().admin_port();

  auto drained = post(admin, "/pools/default/backends/" + b1.address() + "/drain");
  ASSERT_TRUE(drained);
  EXPECT_EQ(drained->status, 200);
  EXPECT_EQ(drained->header("Content-Type"), "application/json");
  EXPECT_NE(drained->body.find("\"address\": \"" + b1.address() + "\""), std::string::npos) << drained->body;
  EXPECT_NE(drained->body.find("\"state\": \"drained\""), std::string::npos) << drained->body;
  EXPECT_EQ(who_answers(proxy.port(), 6), "b2 b2 b2 b2 b2 b2");

  // /backends and the metrics show it.
  const std::string backends = checked(get(admin, "/backends")).body;
  EXPECT_NE(backends.find("\"state\": \"drained\""), std::string::npos) << backends;
  const std::string metrics = checked(get(admin, "/metrics")).body;
  EXPECT_NE(metrics.find("ferry_backend_up{pool=\"default\",backend=\"" + b1.address() + "\"} 0"), std::string::npos)
      << metrics;

  auto ready = post(admin, "/pools/default/backends/" + b1.address() + "/ready");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200);
  EXPECT_NE(ready->body.find("\"state\": \"healthy\""), std::string::npos) << ready->body;
  const std::string after = who_answers(proxy.port(), 4);
  EXPECT_NE(after.find("b1"), std::string::npos) << after;
}

TEST(AdminControl, ARequestInFlightOnADrainedBackendFinishes) {
  FakeBackend slow("slow"), other("other");
  std::atomic<bool> started{false};
  slow.set_handler([&](BackendConn& c, const Request&) {
    started = true;
    std::this_thread::sleep_for(300ms);
    c.send("HTTP/1.1 200 OK\r\nContent-Length: 4\r\nX-Backend: slow\r\n\r\ndone");
  });
  auto cfg = admin_config({slow.address(), other.address()});
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started()) << proxy.error();
  std::optional<Response> in_flight;
  std::atomic<bool> stop{false};
  {
    ScopedThread request(stop, [&] { in_flight = get(proxy.port(), "/"); });
    ASSERT_TRUE(eventually([&] { return started.load(); }));
    EXPECT_EQ(checked(post(proxy.server().admin_port(), "/pools/default/backends/" + slow.address() + "/drain")).status,
              200);
  }
  ASSERT_TRUE(in_flight);
  EXPECT_EQ(in_flight->status, 200);
  EXPECT_EQ(in_flight->body, "done");
  EXPECT_EQ(who_answers(proxy.port(), 3), "other other other");
}

TEST(AdminControl, TheDrainSurvivesReloadsWhileTheBackendStaysInTheFile) {
  FakeBackend b1("b1"), b2("b2");
  auto cfg = admin_config({b1.address(), b2.address()});
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started()) << proxy.error();
  const uint16_t admin = proxy.server().admin_port();
  ASSERT_EQ(checked(post(admin, "/pools/default/backends/" + b1.address() + "/drain")).status, 200);

  auto next = cfg;
  next.timeouts.backend_response = config::Duration(9000);  // some other change
  std::string error;
  ASSERT_TRUE(proxy.server().reload(next, &error)) << error;
  EXPECT_EQ(who_answers(proxy.port(), 4), "b2 b2 b2 b2");

  // Taken out of the file and put back, it comes back ready: the drain belonged to the old entry.
  auto without = test_config({b2.address()});
  without.admin = cfg.admin;
  ASSERT_TRUE(proxy.server().reload(without, &error)) << error;
  ASSERT_TRUE(proxy.server().reload(next, &error)) << error;
  const std::string after = who_answers(proxy.port(), 4);
  EXPECT_NE(after.find("b1"), std::string::npos) << after;
}

TEST(AdminControl, UnknownPoolsBackendsAndMethodsAreRefused) {
  FakeBackend b1("b1");
  RunningProxy proxy(admin_config({b1.address()}));
  ASSERT_TRUE(proxy.started()) << proxy.error();
  const uint16_t admin = proxy.server().admin_port();
  EXPECT_EQ(checked(post(admin, "/pools/nope/backends/" + b1.address() + "/drain")).status, 404);
  EXPECT_EQ(checked(post(admin, "/pools/default/backends/127.0.0.1:1/drain")).status, 404);
  EXPECT_EQ(checked(post(admin, "/pools/default/backends/" + b1.address() + "/explode")).status, 404);
  EXPECT_EQ(checked(get(admin, "/pools/default/backends/" + b1.address() + "/drain")).status, 405);
  // A POST to a page is 405, the status page "/" as much as the others.
  for (const char* page : {"/", "/metrics", "/healthz", "/backends"})
    EXPECT_EQ(checked(post(admin, page)).status, 405) << page;
  // The address may come URL-encoded, as the contract says: ":" is %3A.
  std::string encoded = b1.address();
  encoded.replace(encoded.find(':'), 1, "%3A");
  EXPECT_EQ(checked(post(admin, "/pools/default/backends/" + encoded + "/drain")).status, 200);
  EXPECT_EQ(checked(post(admin, "/pools/default/backends/" + encoded + "/ready")).status, 200);
}

TEST(AdminControl, WithATokenPostsNeedIt) {
  FakeBackend b1("b1"), b2("b2");
  const std::string token = "0123456789abcdef0123456789abcdef";
  RunningProxy proxy(admin_config({b1.address(), b2.address()}, token));
  ASSERT_TRUE(proxy.started()) << proxy.error();
  const uint16_t admin = proxy.server().admin_port();
  const std::string path = "/pools/default/backends/" + b1.address() + "/drain";
  EXPECT_EQ(checked(post(admin, path)).status, 401);
  EXPECT_EQ(checked(post(admin, path, "Bearer " + token + "x")).status, 401);
  EXPECT_EQ(checked(post(admin, path, "Basic " + token)).status, 401);
  EXPECT_EQ(who_answers(proxy.port(), 4).find("b1") != std::string::npos, true);  // nothing was drained
  EXPECT_EQ(checked(post(admin, path, "Bearer " + token)).status, 200);
  EXPECT_EQ(who_answers(proxy.port(), 4), "b2 b2 b2 b2");
  // Reading needs no token: Prometheus scrapes without one.
  EXPECT_EQ(checked(get(admin, "/metrics")).status, 200);
}

}  // namespace
}  // namespace ferry::testing
