// After a burst, ferry gives back the memory the burst's spares held: the read blocks and the
// exchanges it pooled for requests in flight at once, which a quieter load never takes again.
// Over real sockets, through a backend that holds every answer until the whole burst is in
// flight; the heap is read from the allocator (glibc's mallinfo2, or a sanitizer's own count).
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "proxy/core/exchange.h"
#include "support/client.h"
#include "support/fake_backend.h"
#include "support/heap_in_use.h"
#include "support/proxy_fixture.h"
#include "support/wait.h"

namespace ferry::testing {
namespace {

using namespace std::chrono_literals;

constexpr int kBurst = 200;

// Answers each request once all kBurst are in (so ferry holds kBurst exchanges at once), each
// `stagger` after the one before (so with a stagger, ferry reads the answers one at a time and
// needs few read blocks at once).
class HeldAnswers {
 public:
  HeldAnswers(FakeBackend& backend, std::string body, std::chrono::milliseconds stagger)
      : body_(std::move(body)), stagger_(stagger) {
    backend.set_handler([this](BackendConn& conn, const Request&) {
      std::chrono::milliseconds delay{0};
      {
        std::unique_lock<std::mutex> lock(mu_);
        const int order = arrived_++;
        cv_.notify_all();
        cv_.wait_for(lock, 10s, [this] { return arrived_ >= kBurst || released_; });
        if (!released_) delay = stagger_ * order;
      }
      std::this_thread::sleep_for(delay);
      conn.send("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body_.size()) + "\r\n\r\n" + body_);
    });
  }
  // Later requests are answered at once.
  void release() {
    std::lock_guard<std::mutex> lock(mu_);
    released_ = true;
    cv_.notify_all();
  }

 private:
  std::string body_;
  const std::chrono::milliseconds stagger_;
  std::mutex mu_;
  std::condition_variable cv_;
  int arrived_ = 0;
  bool released_ = false;
};

class SpareMemory : public ::testing::Test {
 protected:
  // kBurst clients, each one request, all in flight at once; each connection opened and each
  // request sent `gap` after the one before. Returns the heap in use once every answer is in.
  std::size_t burst(uint16_t port, std::size_t body_size, std::chrono::milliseconds gap) {
    for (int i = 0; i < kBurst; ++i) {
      clients_.push_back(std::make_unique<Client>(port));
      EXPECT_TRUE(clients_.back()->connected()) << i;
      if (gap > 0ms) std::this_thread::sleep_for(gap);  // each new connection's first read alone
    }
    for (auto& c : clients_) {
      EXPECT_TRUE(c->send("GET /burst HTTP/1.1\r\nHost: x\r\n\r\n"));
      if (gap > 0ms) std::this_thread::sleep_for(gap);
    }
    for (int i = 0; i < kBurst; ++i) {
      auto r = clients_[i]->read_response();
      EXPECT_TRUE(r) << i;
      if (!r) continue;
      EXPECT_EQ(r->status, 200) << i;
      EXPECT_EQ(r->body.size(), body_size) << i;
    }
    return heap_in_use();
  }

  // Waits up to 5 s for the heap in use to fall `expected` below `after_burst`.
  static ::testing::AssertionResult gives_back(std::size_t after_burst, std::size_t expected) {
    std::size_t now = after_burst;
    if (eventually([&] { return (now = heap_in_use()) + expected <= after_burst; }, 5s))
      return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "heap in use after the burst " << after_burst << " B, 5 s later " << now
                                         << " B: less than " << expected << " B went back";
  }

  // Every connection is still served, from spares made anew, on pooled backend connections.
  void still_served(FakeBackend& backend, std::size_t body_size) {
    for (int i = 0; i < kBurst; i += 50) {
      ASSERT_TRUE(clients_[i]->send("GET /again HTTP/1.1\r\nHost: x\r\n\r\n"));
      auto r = clients_[i]->read_response();
      ASSERT_TRUE(r) << i;
      EXPECT_EQ(r->status, 200) << i;
      EXPECT_EQ(r->body.size(), body_size) << i;
    }
    EXPECT_EQ(backend.connections(), kBurst) << "the pooled backend connections were reused";
  }

  static config::Config config_for(const FakeBackend& backend) {
    config::Config cfg = test_config({backend.address()});
    // Pooled backend connections and idle clients stay open throughout: what goes back is the
    // spares alone, not connections closing.
    cfg.timeouts.backend_idle = config::Duration{60'000};
    cfg.timeouts.client_idle = config::Duration{60'000};
    return cfg;
  }

  std::vector<std::unique_ptr<Client>> clients_;
};

// 200 answers of 16 KiB arriving together are read together: about 200 read blocks at once,
// 6 MiB of them, which go back (the exchanges alone are some 300 KB).
TEST_F(SpareMemory, TheReadBlocksOfABurstGoBackAndServingGoesOn) {
  FakeBackend backend("b1");
  const std::size_t body = 16 * 1024;
  HeldAnswers answers(backend, std::string(body, 'b'), 0ms);
  RunningProxy proxy(config_for(backend));
  ASSERT_TRUE(proxy.started()) << proxy.error();
  const std::size_t after = burst(proxy.port(), body, 0ms);
  EXPECT_TRUE(gives_back(after, 1024 * 1024));
  answers.release();
  still_served(backend, body);
}

// Connections opened, requests sent and answers sent 2 ms apart are read a few at a time, so
// few read blocks are ever in use at once; but all 200 exchanges are, and they go back.
TEST_F(SpareMemory, TheExchangesOfABurstGoBackAndServingGoesOn) {
  FakeBackend backend("b1");
  HeldAnswers answers(backend, "ok", 2ms);
  RunningProxy proxy(config_for(backend));
  ASSERT_TRUE(proxy.started()) << proxy.error();
  const std::size_t after = burst(proxy.port(), 2, 2ms);
  EXPECT_TRUE(gives_back(after, 150 * sizeof(proxy::Exchange)));
  answers.release();
  still_served(backend, 2);
}

}  // namespace
}  // namespace ferry::testing
