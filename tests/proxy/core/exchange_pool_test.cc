// The worker's pool of exchanges: what an exchange carries depends on who took it.
#include "proxy/core/exchange.h"

#include <gtest/gtest.h>
#include <uv.h>

#include <vector>

namespace ferry::proxy {
namespace {

void on_written(void*, int) {}
void on_expired(void*) {}

class ExchangePoolTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(uv_loop_init(&loop_), 0); }
  void TearDown() override {
    pool_.close();  // the spare exchanges' timers close, then they are freed
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_EQ(uv_loop_close(&loop_), 0);
  }

  uv_loop_t loop_{};
  BlockPool blocks_;
  ExchangePool pool_{&loop_, blocks_, nullptr, &on_written, &on_expired, /*keep_unused=*/0};
};

// A TLS connection's ciphertext queue is 296 bytes, and a worker keeps as many exchanges as it
// ever had requests in flight: plain HTTP's exchanges do without one.
TEST_F(ExchangePoolTest, OnlyATlsConnectionsExchangeCarriesACiphertextQueue) {
  Exchange* plain = pool_.acquire(nullptr, 8192, false);
  ASSERT_NE(plain, nullptr);
  EXPECT_EQ(plain->tls_out, nullptr);
  pool_.release(plain);

  Exchange* tls = pool_.acquire(nullptr, 8192, true);
  EXPECT_EQ(tls, plain);  // the spare one, recycled
  ASSERT_NE(tls->tls_out, nullptr);
  EXPECT_EQ(tls->tls_out->pending(), 0U);
  pool_.release(tls);

  // Once made, the queue stays with the pooled exchange, empty, for the next TLS connection.
  Exchange* again = pool_.acquire(nullptr, 8192, false);
  ASSERT_NE(again->tls_out, nullptr);
  EXPECT_EQ(again->tls_out->pending(), 0U);
  Exchange* second = pool_.acquire(nullptr, 8192, false);  // none spare: a new one
  EXPECT_NE(second, again);
  EXPECT_EQ(second->tls_out, nullptr);
  pool_.release(again);
  pool_.release(second);
}

// A burst of requests in flight leaves as many spare exchanges (each with a timer handle and
// about 1.4 KB): the ones a whole period did not take are closed and freed, the rest stay.
TEST_F(ExchangePoolTest, SpareExchangesAPeriodLeftUntakenAreFreed) {
  std::vector<Exchange*> burst;
  for (int i = 0; i < 8; ++i) burst.push_back(pool_.acquire(nullptr, 8192, false));
  for (Exchange* ex : burst) pool_.release(ex);
  ASSERT_EQ(pool_.spare(), 8u);
  EXPECT_EQ(pool_.free_unused(), 0u) << "the burst's period took every spare there was";

  // A steady load of two requests at a time.
  Exchange* a = pool_.acquire(nullptr, 8192, false);
  Exchange* b = pool_.acquire(nullptr, 8192, false);
  pool_.release(a);
  pool_.release(b);
  EXPECT_EQ(pool_.free_unused(), 6u);
  EXPECT_EQ(pool_.spare(), 2u);
  uv_run(&loop_, UV_RUN_NOWAIT);  // the freed ones' timers close, then they are deleted

  Exchange* a2 = pool_.acquire(nullptr, 8192, false);
  Exchange* b2 = pool_.acquire(nullptr, 8192, false);
  EXPECT_TRUE((a2 == a && b2 == b) || (a2 == b && b2 == a)) << "the load's own exchanges are kept";
  a2->request_head = "GET / HTTP/1.1\r\n";  // whole and usable
  pool_.release(a2);
  pool_.release(b2);
  EXPECT_EQ(pool_.free_unused(), 0u);
  EXPECT_EQ(pool_.spare(), 2u);
  EXPECT_EQ(pool_.free_unused(), 2u) << "a period with no request frees the rest";
  EXPECT_EQ(pool_.spare(), 0u);
}

TEST_F(ExchangePoolTest, AFewUnusedSpareExchangesStay) {
  ExchangePool pool(&loop_, blocks_, nullptr, &on_written, &on_expired, /*keep_unused=*/3);
  std::vector<Exchange*> burst;
  for (int i = 0; i < 5; ++i) burst.push_back(pool.acquire(nullptr, 8192, false));
  for (Exchange* ex : burst) pool.release(ex);
  EXPECT_EQ(pool.free_unused(), 0u);
  EXPECT_EQ(pool.free_unused(), 2u);
  EXPECT_EQ(pool.spare(), 3u);
  EXPECT_EQ(pool.free_unused(), 0u);
  pool.close();
}

}  // namespace
}  // namespace ferry::proxy
