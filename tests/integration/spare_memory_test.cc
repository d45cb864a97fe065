// After a burst, ferry gives back the memory the burst's spares held: the exchanges and read
// blocks it pooled for requests in flight at once, which a quieter load never takes again.
// Over real sockets, through a backend slow enough that the burst's requests are all in
// flight together; the heap is read with mallinfo2, so the test needs glibc's allocator.
#include <gtest/gtest.h>

#include <malloc.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "support/client.h"
#include "support/fake_backend.h"
#include "support/proxy_fixture.h"
#include "support/wait.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define FERRY_OWN_ALLOCATOR 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define FERRY_OWN_ALLOCATOR 1
#endif
#endif

namespace ferry::testing {
namespace {

std::size_t heap_in_use() { return mallinfo2().uordblks; }

TEST(SpareMemory, ABurstsSparesGoBackToTheAllocatorAndServingGoesOn) {
#ifdef FERRY_OWN_ALLOCATOR
  GTEST_SKIP() << "a sanitizer's allocator replaces glibc's: mallinfo2 does not see the heap";
#endif
  constexpr int kBurst = 200;
  const std::string body(16 * 1024, 'b');  // read into blocks and relayed from them
  FakeBackend backend("b1");
  backend.set_handler([&body](BackendConn& conn, const Request&) {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // every request in flight at once
    conn.send("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  });
  config::Config cfg = test_config({backend.address()});
  // Pooled backend connections and idle clients stay open throughout: what goes back is the
  // spares alone, not connections closing.
  cfg.timeouts.backend_idle = config::Duration{60'000};
  cfg.timeouts.client_idle = config::Duration{60'000};
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started()) << proxy.error();

  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < kBurst; ++i) {
    clients.push_back(std::make_unique<Client>(proxy.port()));
    ASSERT_TRUE(clients.back()->connected()) << i;
  }
  for (auto& c : clients) ASSERT_TRUE(c->send("GET /burst HTTP/1.1\r\nHost: x\r\n\r\n"));
  for (int i = 0; i < kBurst; ++i) {
    auto r = clients[i]->read_response();
    ASSERT_TRUE(r) << i;
    ASSERT_EQ(r->status, 200) << i;
    ASSERT_EQ(r->body.size(), body.size()) << i;
  }
  EXPECT_EQ(backend.requests(), kBurst);

  // 200 exchanges alone are some 280 KB; the read blocks the responses came through, more.
  const std::size_t after_burst = heap_in_use();
  constexpr std::size_t kExpectedBack = 256 * 1024;
  std::size_t now = after_burst;
  const bool gave_back = eventually(
      [&] {
        now = heap_in_use();
        return now + kExpectedBack <= after_burst;
      },
      std::chrono::seconds(5));
  EXPECT_TRUE(gave_back) << "heap in use after the burst " << after_burst << " B, 5 s later " << now
                         << " B: the burst's spares were kept";

  // Every connection is still served, on both sides, from spares made anew.
  for (int i = 0; i < kBurst; i += 50) {
    ASSERT_TRUE(clients[i]->send("GET /again HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto r = clients[i]->read_response();
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->status, 200) << i;
    EXPECT_EQ(r->body, body) << i;
  }
  EXPECT_EQ(backend.connections(), kBurst) << "the pooled backend connections were reused";
}

}  // namespace
}  // namespace ferry::testing
