#include "proxy/core/buffer.h"

#include <gtest/gtest.h>

#include <cstring>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <string>
#include <vector>

// OutQueue over a real socket pair: what a peer reads is exactly what was queued, in order,
// whether the socket takes it at once (uv_try_write) or only part of it (the rest by uv_write),
// and every pool block is given back once written, shared ones included.
namespace ferry::proxy {
namespace {

struct Written {
  int calls = 0;
  int last_status = 1;
};

void on_written(void* owner, int status) {
  auto* w = static_cast<Written*>(owner);
  ++w->calls;
  w->last_status = status;
}

class OutQueueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(uv_loop_init(&loop_), 0);
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    peer_ = fds[1];
    // A small send buffer, so large writes are taken only in part.
    const int small = 4096;
    ASSERT_EQ(::setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
    ASSERT_EQ(uv_pipe_init(&loop_, &pipe_, 0), 0);
    ASSERT_EQ(uv_pipe_open(&pipe_, fds[0]), 0);
  }
  void TearDown() override {
    uv_close(reinterpret_cast<uv_handle_t*>(&pipe_), nullptr);
    uv_run(&loop_, UV_RUN_DEFAULT);
    uv_loop_close(&loop_);
    ::close(peer_);
  }
  uv_stream_t* stream() { return reinterpret_cast<uv_stream_t*>(&pipe_); }

  // Runs the loop and reads from the peer until `want` bytes arrived and `q` is empty,
  // flushing again whenever a write completes (as ClientConn and UpstreamConn do).
  std::string drain(OutQueue& q, std::size_t want) {
    std::string got;
    char buf[65536];
    for (int spins = 0; (got.size() < want || q.pending() > 0) && spins < 100000; ++spins) {
      uv_run(&loop_, UV_RUN_NOWAIT);
      if (q.flush(stream()) != 0) break;
      const ssize_t n = ::recv(peer_, buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) got.append(buf, static_cast<std::size_t>(n));
    }
    return got;
  }

  uv_loop_t loop_{};
  uv_pipe_t pipe_{};
  int peer_ = -1;
  BlockPool pool_;
  Written written_;
};

std::string pattern(std::size_t n, char seed) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>(seed + i % 23);
  return s;
}

TEST_F(OutQueueTest, ASmallWriteGoesOutAtOnceWithNoCallback) {
  OutQueue q(pool_, &written_, &on_written);
  q.append("HTTP/1.1 200 OK\r\n\r\n");
  ASSERT_EQ(q.flush(stream()), 0);
  EXPECT_EQ(q.pending(), 0u);
  EXPECT_FALSE(q.writing());
  EXPECT_EQ(pool_.in_use(), 0u);
  EXPECT_EQ(drain(q, 19), "HTTP/1.1 200 OK\r\n\r\n");
  EXPECT_EQ(written_.calls, 0);
}

TEST_F(OutQueueTest, WhatTheSocketDoesNotTakeFollowsInOrderAndEveryBlockReturns) {
  const std::string head = pattern(300, 'a');
  const std::string body = pattern(BlockPool::kBlockSize - 100, 'A');
  const std::string tail = pattern(70000, '0');
  {
    OutQueue q(pool_, &written_, &on_written);
    char* block = pool_.get();  // as if read from a backend
    body.copy(block, body.size());
    q.append(head);
    q.append_shared(block, block, body.size());
    pool_.put(block);  // the reader is done with it; the queue still holds it
    q.append(tail);
    ASSERT_EQ(q.flush(stream()), 0);
    EXPECT_TRUE(q.writing()) << "a 4 KiB send buffer cannot take 100 KiB at once";
    const std::string got = drain(q, head.size() + body.size() + tail.size());
    EXPECT_EQ(got, head + body + tail);
    EXPECT_EQ(q.pending(), 0u);
    EXPECT_GE(written_.calls, 1);
    EXPECT_EQ(written_.last_status, 0);
  }
  EXPECT_EQ(pool_.in_use(), 0u);
}

TEST_F(OutQueueTest, AppendsAfterAPartialWriteKeepTheirPlace) {
  OutQueue q(pool_, &written_, &on_written);
  const std::string first = pattern(50000, 'k');
  q.append(first);
  ASSERT_EQ(q.flush(stream()), 0);
  const std::string second = pattern(1000, 'q');
  q.append(second);   // queued behind the write in flight
  ASSERT_EQ(q.flush(stream()), 0);  // a no-op while writing
  EXPECT_EQ(drain(q, first.size() + second.size()), first + second);
  q.clear();
  EXPECT_EQ(pool_.in_use(), 0u);
}

TEST(BlockPool, ASharedBlockReturnsOnlyAfterItsLastReference) {
  BlockPool pool;
  char* b = pool.get();
  pool.retain(b);
  pool.put(b);
  EXPECT_EQ(pool.in_use(), 1u);
  pool.put(b);
  EXPECT_EQ(pool.in_use(), 0u);
  EXPECT_EQ(pool.get(), b) << "recycled, not freed";
  pool.put(b);
}

TEST(BlockPool, LargeBlocksKeepTheirSizeAndComeBackOnlyAsLargeBlocks) {
  BlockPool pool;
  char* large = pool.get_large();
  ASSERT_NE(large, nullptr);
  EXPECT_EQ(BlockPool::size_of(large), BlockPool::kLargeBlockSize);
  std::memset(large, 'x', BlockPool::kLargeBlockSize);  // all of it is the caller's
  pool.put(large);
  EXPECT_EQ(pool.in_use(), 0u);
  char* small = pool.get();
  EXPECT_NE(small, large) << "a large block came back from get()";
  EXPECT_EQ(BlockPool::size_of(small), BlockPool::kBlockSize);
  EXPECT_EQ(pool.get_large(), large) << "recycled as a large block, not freed";
  EXPECT_EQ(BlockPool::size_of(large), BlockPool::kLargeBlockSize);
  pool.put(small);
  pool.put(large);
  EXPECT_EQ(pool.in_use(), 0u);
}

// A burst: `small` and `large` blocks in use at once, then all given back as spares.
void burst(BlockPool& pool, int small, int large) {
  std::vector<char*> blocks;
  for (int i = 0; i < small; ++i) blocks.push_back(pool.get());
  for (int i = 0; i < large; ++i) blocks.push_back(pool.get_large());
  for (char* b : blocks) pool.put(b);
}

// What a burst leaves behind goes back to the allocator; what a steady load takes again stays.
TEST(BlockPool, SparesAPeriodLeftUntakenAreFreedAndTheOnesInUseStay) {
  BlockPool pool(512, 64, /*keep_unused=*/0);
  burst(pool, 10, 2);
  ASSERT_EQ(pool.spare(), 12u);
  // The burst's period: it took every spare there was (none), so none went unused.
  EXPECT_EQ(pool.free_unused(), 0u);
  EXPECT_EQ(pool.spare(), 12u);

  // A steady load takes three small blocks (and a large one) at a time and gives them back.
  auto steady_period = [&pool] {
    char* a = pool.get();
    char* b = pool.get();
    char* c = pool.get();
    char* l = pool.get_large();
    std::memset(a, 'a', BlockPool::kBlockSize);  // a kept spare is whole and usable
    std::memset(l, 'l', BlockPool::kLargeBlockSize);
    for (char* x : {a, b, c, l}) pool.put(x);
  };
  steady_period();
  EXPECT_EQ(pool.free_unused(), 8u) << "7 small and 1 large spares went unused";
  EXPECT_EQ(pool.spare(), 4u);
  for (int i = 0; i < 3; ++i) {
    steady_period();
    EXPECT_EQ(pool.free_unused(), 0u) << "the steady load's own spares were freed";
    EXPECT_EQ(pool.spare(), 4u);
  }
  // The load stops: a whole period later its spares go too.
  EXPECT_EQ(pool.free_unused(), 4u);
  EXPECT_EQ(pool.spare(), 0u);
  EXPECT_EQ(pool.in_use(), 0u);
  // And the pool still works from nothing.
  char* again = pool.get();
  ASSERT_NE(again, nullptr);
  std::memset(again, 'x', BlockPool::kBlockSize);
  pool.put(again);
  EXPECT_EQ(pool.spare(), 1u);
}

// A few unused spares of each size stay, so a load whose concurrency wavers by a few does not
// free and allocate blocks every period.
TEST(BlockPool, AFewUnusedSparesOfEachSizeStay) {
  BlockPool pool(512, 64, /*keep_unused=*/2);
  burst(pool, 6, 3);
  EXPECT_EQ(pool.free_unused(), 0u);
  EXPECT_EQ(pool.free_unused(), 5u) << "4 small and 1 large beyond the 2 of each kept";
  EXPECT_EQ(pool.spare(), 4u);
  EXPECT_EQ(pool.free_unused(), 0u);
  EXPECT_EQ(pool.spare(), 4u);
}

TEST(BlockPool, ALargeReadBlockHoldsA64KiBResponseWithItsHead) {
  // Why backend reads take large blocks: a 64 KiB body and a head of up to 8 KiB in one read.
  EXPECT_GE(BlockPool::kLargeBlockSize, 64u * 1024 + 8 * 1024);
  // A 64 KiB body relayed from one is shared, not copied (queue_relayed shares half a block).
  EXPECT_LE(BlockPool::kLargeBlockSize / 2, 64u * 1024);
}

}  // namespace
}  // namespace ferry::proxy
