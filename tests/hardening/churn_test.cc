// Backends that come and go while traffic flows: restarts on the same port, pooled connections
// that outlive their backend, health that flaps, reloads on top. Several workers, so the
// snapshot publication and the shared counters are exercised too (run these under TSan).
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"
#include "support/client.h"
#include "support/fake_backend.h"
#include "support/proxy_fixture.h"

namespace ferry::testing {
namespace {

// What clients saw, by kind. A "hang" is a request that got neither an answer nor a close
// within the client's timeout; "wrong" is an answer whose body is not what its X-Backend says.
struct Tally {
  std::atomic<int> ok{0}, errors{0}, closed{0}, hangs{0}, wrong{0}, unavailable{0};
  std::string summary() const {
    return std::to_string(ok) + " ok, " + std::to_string(errors) + " 502/504, " + std::to_string(unavailable) +
           " 503, " + std::to_string(closed) + " closed, " + std::to_string(hangs) + " hangs, " +
           std::to_string(wrong) + " wrong";
  }
};

// One request on `c`; false if the connection cannot be used again.
bool request_once(Client& c, Tally& t, std::chrono::milliseconds hang_after) {
  const auto start = std::chrono::steady_clock::now();
  if (!c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")) {
    ++t.closed;
    return false;
  }
  auto r = c.read_response();
  if (!r) {
    if (std::chrono::steady_clock::now() - start >= hang_after) {
      ++t.hangs;
    } else {
      ++t.closed;
    }
    return false;
  }
  if (r->status == 200) {
    const std::string backend = r->header("X-Backend");
    if (backend.empty() || r->body != "hello from " + backend) {
      ++t.wrong;
    } else {
      ++t.ok;
    }
  } else if (r->status == 502 || r->status == 504) {
    ++t.errors;
  } else if (r->status == 503) {
    ++t.unavailable;
  } else {
    ++t.wrong;
  }
  return r->header("Connection") != "close";
}

// Clients on `threads` threads until `stop`: half on fresh connections, half keep-alive.
std::vector<std::thread> run_clients(uint16_t port, int threads, Tally& t, std::atomic<bool>& stop) {
  std::vector<std::thread> out;
  for (int i = 0; i < threads; ++i) {
    out.emplace_back([port, i, &t, &stop] {
      while (!stop) {
        Client c(port, 4s);
        if (!c.connected()) {
          ++t.closed;
          continue;
        }
        const int per_connection = i % 2 == 0 ? 1 : 20;
        for (int n = 0; n < per_connection && !stop; ++n) {
          if (!request_once(c, t, 3500ms)) break;
        }
      }
    });
  }
  return out;
}


// Two workers and health checks every 20 ms that flip a backend on a single result, so a
// test sees many state changes in a second or two.
config::Config flapping_config(const std::vector<std::string>& backends) {
  auto cfg = with_health_checks(test_config(backends), 20ms, 200ms, 1);
  cfg.workers = 2;
  return cfg;
}

TEST(BackendChurn, RestartingBackendNeverHangsOrMixesResponses) {
  RestartableBackend flappy("flappy");
  FakeBackend stable("stable");
  ASSERT_TRUE(flappy.start());
  auto cfg = test_config({flappy.address(), stable.address()});
  cfg.workers = 2;
  cfg.timeouts.connect = 500ms;
  cfg.timeouts.backend_response = 2s;
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started());
  Tally t;
  std::atomic<bool> stop{false};
  auto clients = run_clients(proxy.port(), 4, t, stop);
  // Up for 120ms, down for 60ms, twenty times over.
  for (int i = 0; i < 20; ++i) {
    std::this_thread::sleep_for(120ms);
    flappy.stop();
    std::this_thread::sleep_for(60ms);
    ASSERT_TRUE(flappy.start());
  }
  stop = true;
  for (auto& c : clients) c.join();
  EXPECT_EQ(t.hangs, 0) << t.summary();
  EXPECT_EQ(t.wrong, 0) << t.summary();
  EXPECT_EQ(t.unavailable, 0) << t.summary();
  // GETs that meet a dead backend go again to the other one: nearly all succeed.
  const int total = t.ok + t.errors + t.closed;
  EXPECT_GT(t.ok, 100) << t.summary();
  EXPECT_GE(t.ok * 100, total * 95) << t.summary();
  // Once it stays up, the restarted backend is back in the rotation.
  ASSERT_TRUE(eventually([&] {
    auto r = get(proxy.port(), "/");
    return r && r->header("X-Backend") == "flappy";
  }));
}

TEST(BackendChurn, PooledConnectionToARestartedBackendIsReplacedTransparently) {
  RestartableBackend only("only");
  ASSERT_TRUE(only.start());
  auto cfg = test_config({only.address()});
  cfg.retries = 0;  // only the free retry after a stale pooled connection may save a request
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started());
  Client c(proxy.port(), 5s);
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto r = c.read_response();
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->status, 200) << i;
    only.stop();  // the pooled connection dies with it
    ASSERT_TRUE(only.start());
  }
  EXPECT_EQ(only.starts.load(), 21);
}

TEST(HealthFlapping, FlappingBackendNeverCosts503sOrHangsWhileAnotherIsHealthy) {
  FakeBackend flappy("flappy"), stable("stable");
  auto health = std::make_shared<std::atomic<int>>(200);
  flappy.set_handler([&flappy, health](BackendConn& c, const Request& req) {
    if (req.target == "/health") {
      c.send("HTTP/1.1 " + std::to_string(health->load()) + " X\r\nContent-Length: 0\r\n\r\n");
      return;
    }
    c.send(FakeBackend::default_response(flappy.name(), req));
  });
  auto cfg = flapping_config({flappy.address(), stable.address()});
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started());
  Tally t;
  std::atomic<bool> stop{false};
  auto clients = run_clients(proxy.port(), 4, t, stop);
  int transitions = 0;
  bool last_up = true;
  const auto until = std::chrono::steady_clock::now() + 2500ms;
  int flips = 0;
  while (std::chrono::steady_clock::now() < until) {
    health->store(flips % 2 == 0 ? 500 : 200);
    ++flips;
    // Reloads (a changed timeout) publish new settings while health snapshots change too.
    auto next = cfg;
    next.timeouts.client_idle = std::chrono::milliseconds(60000 + flips);
    std::string error;
    EXPECT_TRUE(proxy.server().reload(next, &error)) << error;
    const auto flip_until = std::chrono::steady_clock::now() + 100ms;
    while (std::chrono::steady_clock::now() < flip_until) {
      const bool up = proxy.server().publisher().latest()->healthy.at(0) != 0;
      if (up != last_up) ++transitions;
      last_up = up;
      std::this_thread::sleep_for(2ms);
    }
  }
  stop = true;
  for (auto& c : clients) c.join();
  EXPECT_EQ(t.hangs, 0) << t.summary();
  EXPECT_EQ(t.wrong, 0) << t.summary();
  EXPECT_EQ(t.unavailable, 0) << t.summary();
  EXPECT_EQ(t.errors, 0) << t.summary();
  EXPECT_GT(t.ok, 100) << t.summary();
  EXPECT_GE(transitions, 6) << "the checker did not follow the flapping";
}

TEST(HealthFlapping, EveryBackendFlappingGivesOnly200Or503) {
  FakeBackend b1("b1"), b2("b2");
  auto health = std::make_shared<std::atomic<int>>(200);
  for (FakeBackend* b : {&b1, &b2}) {
    b->set_handler([b, health](BackendConn& c, const Request& req) {
      if (req.target == "/health") {
        c.send("HTTP/1.1 " + std::to_string(health->load()) + " X\r\nContent-Length: 0\r\n\r\n");
        return;
      }
      c.send(FakeBackend::default_response(b->name(), req));
    });
  }
  auto cfg = flapping_config({b1.address(), b2.address()});
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started());
  Tally t;
  std::atomic<bool> stop{false};
  auto clients = run_clients(proxy.port(), 3, t, stop);
  for (int i = 0; i < 12; ++i) {
    health->store(i % 2 == 0 ? 500 : 200);
    std::this_thread::sleep_for(150ms);
  }
  stop = true;
  for (auto& c : clients) c.join();
  EXPECT_EQ(t.hangs, 0) << t.summary();
  EXPECT_EQ(t.wrong, 0) << t.summary();
  EXPECT_EQ(t.errors, 0) << t.summary();
  EXPECT_GT(t.ok, 0) << t.summary();
  EXPECT_GT(t.unavailable, 0) << t.summary();
}

}  // namespace
}  // namespace ferry::testing
