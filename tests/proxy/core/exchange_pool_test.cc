// The worker's pool of exchanges: what an exchange carries depends on who took it.
#include "proxy/core/exchange.h"

#include <gtest/gtest.h>
#include <uv.h>

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
  ExchangePool pool_{&loop_, blocks_, nullptr, &on_written, &on_expired};
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

}  // namespace
}  // namespace ferry::proxy
