// Active health checks and the balancers, end to end through the proxy.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <thread>

#include "support/checked.h"
#include "support/client.h"
#include "support/fake_backend.h"
#include "support/proxy_fixture.h"
#include "support/wait.h"

namespace ferry::testing {
namespace {

using namespace std::chrono_literals;

// A backend whose /health answers `health_status`.
void with_health(FakeBackend& b, std::shared_ptr<std::atomic<int>> health_status) {
  b.set_handler([&b, health_status](BackendConn& c, const Request& req) {
    if (req.target == "/health") {
      const int s = health_status->load();
      c.send("HTTP/1.1 " + std::to_string(s) + " X\r\nContent-Length: 0\r\n\r\n");
      return;
    }
    c.send(FakeBackend::default_response(b.name(), req));
  });
}

config::Config checked_config(const std::vector<std::string>& backends) {
  return with_health_checks(test_config(backends), 50ms, 40ms, 2);
}

bool healthy(RunningProxy& p, std::size_t i) {
  auto snap = p.server().publisher().latest();
  return snap->healthy.at(i) != 0;
}

TEST(Health, FailingBackendLeavesAndReturnsToTheRotation) {
  FakeBackend b1("b1"), b2("b2");
  auto status1 = std::make_shared<std::atomic<int>>(200);
  auto status2 = std::make_shared<std::atomic<int>>(200);
  with_health(b1, status1);
  with_health(b2, status2);
  RunningProxy proxy(checked_config({b1.address(), b2.address()}));
  ASSERT_TRUE(proxy.started()) << proxy.error();
  status1->store(500);
  ASSERT_TRUE(eventually([&] { return !healthy(proxy, 0); }));
  for (int i = 0; i < 10; ++i) {
    auto r = get(proxy.port(), "/");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->header("X-Backend"), "b2");
  }
  status1->store(200);
  ASSERT_TRUE(eventually([&] { return healthy(proxy, 0); }));
  std::set<std::string> seen;
  for (int i = 0; i < 4; ++i) seen.insert(checked(get(proxy.port(), "/")).header("X-Backend"));
  EXPECT_EQ(seen, (std::set<std::string>{"b1", "b2"}));
}

TEST(Health, SilentHealthEndpointMarksTheBackendDown) {
  FakeBackend b1("b1"), b2("b2");
  b1.set_silent(true);
  RunningProxy proxy(checked_config({b1.address(), b2.address()}));
  ASSERT_TRUE(proxy.started());
  ASSERT_TRUE(eventually([&] { return !healthy(proxy, 0); }));
  EXPECT_TRUE(healthy(proxy, 1));
}

TEST(Health, AllUnhealthyGives503) {
  FakeBackend b1("b1");
  auto status = std::make_shared<std::atomic<int>>(500);
  with_health(b1, status);
  RunningProxy proxy(checked_config({b1.address()}));
  ASSERT_TRUE(proxy.started());
  ASSERT_TRUE(eventually([&] { return !healthy(proxy, 0); }));
  Client c(proxy.port());
  ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->body, "no healthy backend\n");
  // The connection survives a 503 for a request that was read whole.
  ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
}

TEST(Health, FailOpenUsesEveryBackendWhenAllAreUnhealthy) {
  FakeBackend b1("b1");
  auto status = std::make_shared<std::atomic<int>>(500);
  with_health(b1, status);
  auto cfg = checked_config({b1.address()});
  cfg.health_check.fail_open = true;
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started());
  ASSERT_TRUE(eventually([&] { return !healthy(proxy, 0); }));
  auto r = get(proxy.port(), "/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("X-Backend"), "b1");
}

TEST(Health, RefusedConnectMarksTheBackendDownAtOnce) {
  FakeBackend b2("b2");
  std::string dead;
  {
    FakeBackend gone("gone");
    dead = gone.address();
  }
  auto cfg = checked_config({dead, b2.address()});
  cfg.health_check.interval = std::chrono::milliseconds(60000);  // only the passive signal can act
  cfg.health_check.timeout = std::chrono::milliseconds(1000);
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started());
  auto r = get(proxy.port(), "/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(eventually([&] { return !healthy(proxy, 0); }, 1s));
}

TEST(Balancing, ConsistentHashKeepsAHeaderKeyOnOneBackend) {
  FakeBackend b1("b1"), b2("b2"), b3("b3");
  auto cfg = test_config({b1.address(), b2.address(), b3.address()});
  cfg.balancer = config::BalancerKind::ConsistentHash;
  cfg.hash_key = "header:X-User";
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started());
  std::map<std::string, std::set<std::string>> backends_by_user;
  for (int round = 0; round < 3; ++round) {
    for (int u = 0; u < 30; ++u) {
      Client c(proxy.port());
      c.send("GET / HTTP/1.1\r\nHost: x\r\nX-User: user" + std::to_string(u) + "\r\n\r\n");
      auto r = c.read_response();
      ASSERT_TRUE(r);
      backends_by_user["user" + std::to_string(u)].insert(r->header("X-Backend"));
    }
  }
  std::set<std::string> used;
  for (const auto& [user, set] : backends_by_user) {
    EXPECT_EQ(set.size(), 1u) << user;
    used.insert(*set.begin());
  }
  EXPECT_EQ(used.size(), 3u);  // 30 keys spread over all three
}

TEST(Balancing, WeightedRoundRobinFollowsTheWeights) {
  FakeBackend b1("b1"), b2("b2");
  auto cfg = test_config({b1.address(), b2.address()});
  cfg.backends[0].weight = 3;
  cfg.balancer = config::BalancerKind::WeightedRoundRobin;
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started());
  Client c(proxy.port());
  std::map<std::string, int> counts;
  for (int i = 0; i < 40; ++i) {
    ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto r = c.read_response();
    ASSERT_TRUE(r) << i;
    counts[r->header("X-Backend")]++;
  }
  EXPECT_EQ(counts["b1"], 30);
  EXPECT_EQ(counts["b2"], 10);
}

TEST(Balancing, LeastOutstandingAvoidsTheSlowBackend) {
  FakeBackend slow("slow"), fast("fast");
  slow.set_handler([](BackendConn& c, const Request&) {
    std::this_thread::sleep_for(300ms);
    c.send("HTTP/1.1 200 OK\r\nX-Backend: slow\r\nContent-Length: 0\r\n\r\n");
  });
  auto cfg = test_config({slow.address(), fast.address()});
  cfg.balancer = config::BalancerKind::LeastOutstanding;
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started());
  // One request parks on the slow backend; while it is in flight, the others go to the fast one.
  // (A tie goes either way, so park requests until one is in flight on the slow backend.)
  std::vector<std::unique_ptr<Client>> parked;
  while (slow.requests() == 0) {
    parked.push_back(std::make_unique<Client>(proxy.port()));
    parked.back()->send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    eventually([&] { return slow.requests() + fast.requests() >= static_cast<int>(parked.size()); });
  }
  int to_fast = 0;
  for (int i = 0; i < 10; ++i) {
    auto r = get(proxy.port(), "/");
    ASSERT_TRUE(r);
    if (r->header("X-Backend") == "fast") ++to_fast;
  }
  EXPECT_GE(to_fast, 9);
}

}  // namespace
}  // namespace ferry::testing
