#include "proxy/core/write_batch.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "proxy/core/buffer.h"

// Write queues joined to a WriteBatch, over a real SOCK_SEQPACKET pair: the peer receives one
// message per write the queue makes, so "one write" is something a test can see.
namespace ferry::proxy {
namespace {

// Does what ClientConn and UpstreamConn do when their queue's turn comes: flush again.
struct Owner {
  OutQueue* queue = nullptr;
  uv_stream_t* stream = nullptr;
  OutQueue* to_drop = nullptr;  // cleared from inside the callback, as a close would
  int calls = 0;

  static void on_written(void* self, int status) {
    auto* o = static_cast<Owner*>(self);
    ++o->calls;
    EXPECT_EQ(status, 0);
    if (o->to_drop != nullptr) o->to_drop->clear();
    EXPECT_EQ(o->queue->flush(o->stream), 0);
  }
};

class WriteBatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(uv_loop_init(&loop_), 0);
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds), 0);
    peer_ = fds[1];
    ASSERT_EQ(uv_pipe_init(&loop_, &pipe_, 0), 0);
    ASSERT_EQ(uv_pipe_open(&pipe_, fds[0]), 0);
    // Reading keeps the loop alive, as a worker's listeners do; the peer never writes.
    ASSERT_EQ(uv_read_start(stream(), &WriteBatchTest::on_alloc, &WriteBatchTest::on_read), 0);
    batch_.start(&loop_);
  }
  void TearDown() override {
    batch_.close();
    uv_close(reinterpret_cast<uv_handle_t*>(&pipe_), nullptr);
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_EQ(uv_loop_close(&loop_), 0);
    ::close(peer_);
  }
  static void on_alloc(uv_handle_t*, std::size_t, uv_buf_t* buf) { *buf = uv_buf_init(nullptr, 0); }
  static void on_read(uv_stream_t*, ssize_t, const uv_buf_t*) {}

  uv_stream_t* stream() { return reinterpret_cast<uv_stream_t*>(&pipe_); }
  // One turn of the loop, as a worker takes between polls.
  void one_turn() { uv_run(&loop_, UV_RUN_NOWAIT); }
  // The next message the peer has, or "" if none is waiting.
  std::string next_write() {
    char buf[4096];
    const ssize_t n = ::recv(peer_, buf, sizeof buf, MSG_DONTWAIT);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
  }

  uv_loop_t loop_{};
  uv_pipe_t pipe_{};
  int peer_ = -1;
  BlockPool pool_;
  WriteBatch batch_;
};

TEST_F(WriteBatchTest, FlushesInOneTurnGoOutAsOneWriteWhenTheTurnEnds) {
  Owner o;
  OutQueue q(pool_, &o, &Owner::on_written, &batch_);
  o.queue = &q;
  o.stream = stream();
  q.append("HTTP/1.1 200 OK\r\n");
  ASSERT_EQ(q.flush(stream()), 0);
  q.append("Content-Length: 0\r\n\r\n");
  ASSERT_EQ(q.flush(stream()), 0);
  EXPECT_EQ(next_write(), "") << "held until the turn ends";
  EXPECT_EQ(q.pending(), 38u);

  one_turn();
  EXPECT_EQ(o.calls, 1);
  EXPECT_EQ(q.pending(), 0u);
  EXPECT_EQ(next_write(), "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(next_write(), "") << "one write, not two";

  one_turn();
  EXPECT_EQ(o.calls, 1) << "an empty queue is not called again";
}

TEST_F(WriteBatchTest, QueuesWriteInTheOrderTheyFlushed) {
  Owner a, b;
  OutQueue qa(pool_, &a, &Owner::on_written, &batch_);
  OutQueue qb(pool_, &b, &Owner::on_written, &batch_);
  a = {&qa, stream()};
  b = {&qb, stream()};
  qb.append("first");
  ASSERT_EQ(qb.flush(stream()), 0);
  qa.append("second");
  ASSERT_EQ(qa.flush(stream()), 0);
  qb.append(" and more");
  ASSERT_EQ(qb.flush(stream()), 0);  // already in the batch: keeps its place
  one_turn();
  EXPECT_EQ(next_write(), "first and more");
  EXPECT_EQ(next_write(), "second");
}

TEST_F(WriteBatchTest, AQueueDroppedOrDestroyedWhileHeldIsNeverTouched) {
  Owner a, b;
  OutQueue qa(pool_, &a, &Owner::on_written, &batch_);
  OutQueue qb(pool_, &b, &Owner::on_written, &batch_);
  a = {&qa, stream(), &qb};  // a's turn comes first and drops b's bytes
  b = {&qb, stream()};
  qa.append("kept");
  ASSERT_EQ(qa.flush(stream()), 0);
  qb.append("dropped");
  ASSERT_EQ(qb.flush(stream()), 0);
  {
    Owner c;
    OutQueue qc(pool_, &c, &Owner::on_written, &batch_);
    c = {&qc, stream()};
    qc.append("gone");
    ASSERT_EQ(qc.flush(stream()), 0);
  }  // destroyed while held (ASan would see a later touch)
  one_turn();
  EXPECT_EQ(a.calls, 1);
  EXPECT_EQ(b.calls, 0);
  EXPECT_EQ(next_write(), "kept");
  EXPECT_EQ(next_write(), "");
  EXPECT_EQ(pool_.in_use(), 0u);
}

TEST_F(WriteBatchTest, WriteHeldSendsAtOnceForAStreamAboutToClose) {
  Owner o;
  OutQueue q(pool_, &o, &Owner::on_written, &batch_);
  o = {&q, stream()};
  q.append("last good bytes");
  ASSERT_EQ(q.flush(stream()), 0);
  q.write_held(stream());
  EXPECT_EQ(next_write(), "last good bytes");
  EXPECT_EQ(q.pending(), 0u);
  one_turn();
  EXPECT_EQ(o.calls, 0) << "no longer in the batch";
}

TEST_F(WriteBatchTest, OnceClosedFlushesWriteAtOnce) {
  batch_.close();
  Owner o;
  OutQueue q(pool_, &o, &Owner::on_written, &batch_);
  o = {&q, stream()};
  q.append("straight out");
  ASSERT_EQ(q.flush(stream()), 0);
  EXPECT_EQ(next_write(), "straight out");
  EXPECT_EQ(q.pending(), 0u);
}

// The same batch with a SocketRing: a run's flushes queue their sends on the ring, which makes
// them all before the run returns; each owner then hears of its write as after a uv_write.
class WriteBatchRingTest : public WriteBatchTest {
 protected:
  void SetUp() override {
    std::string why;
    auto ring = SocketRing::open(&why);
    ASSERT_NE(ring, nullptr) << why;
    WriteBatchTest::SetUp();
    batch_.use_ring(std::move(ring));
  }
};

// An owner that can do more than flush when its turn comes.
struct RingOwner {
  OutQueue* queue = nullptr;
  uv_stream_t* stream = nullptr;
  std::function<void()> on_turn;  // before the flush
  int calls = 0;

  static void on_written(void* self, int status) {
    auto* o = static_cast<RingOwner*>(self);
    ++o->calls;
    EXPECT_EQ(status, 0);
    if (o->on_turn) o->on_turn();
    EXPECT_EQ(o->queue->flush(o->stream), 0);
  }
};

TEST_F(WriteBatchRingTest, ARunsSendsGoOutTogetherWhenItsQueuesHaveAllFlushed) {
  RingOwner a, b;
  OutQueue qa(pool_, &a, &RingOwner::on_written, &batch_);
  OutQueue qb(pool_, &b, &RingOwner::on_written, &batch_);
  a.queue = &qa;
  a.stream = stream();
  b.queue = &qb;
  b.stream = stream();
  std::string seen_by_b = "unset";
  b.on_turn = [&] {
    if (b.calls == 1) seen_by_b = next_write();
  };
  qa.append("first");
  ASSERT_EQ(qa.flush(stream()), 0);
  qb.append("second");
  ASSERT_EQ(qb.flush(stream()), 0);
  one_turn();
  EXPECT_EQ(seen_by_b, "") << "a's flush wrote at once instead of queueing on the ring";
  EXPECT_EQ(next_write(), "first");
  EXPECT_EQ(next_write(), "second");
  EXPECT_EQ(qa.pending(), 0u);
  EXPECT_EQ(qb.pending(), 0u);
  EXPECT_FALSE(qa.writing());
  EXPECT_EQ(a.calls, 2) << "once to flush, once told the send is done";
  EXPECT_EQ(b.calls, 2);
  EXPECT_EQ(pool_.in_use(), 0u);
}

TEST_F(WriteBatchRingTest, WhatTheSocketDidNotTakeGoesOnThroughUvWrite) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
  uv_pipe_t big_pipe;
  ASSERT_EQ(uv_pipe_init(&loop_, &big_pipe, 0), 0);
  ASSERT_EQ(uv_pipe_open(&big_pipe, fds[0]), 0);
  auto* big = reinterpret_cast<uv_stream_t*>(&big_pipe);
  RingOwner o;
  OutQueue q(pool_, &o, &RingOwner::on_written, &batch_);
  o.queue = &q;
  o.stream = big;
  std::string sent;
  for (int i = 0; sent.size() < (1u << 20); ++i) sent += "line " + std::to_string(i) + "\n";
  q.append(sent);
  ASSERT_EQ(q.flush(big), 0);
  std::string got;
  char buf[65536];
  for (int turns = 0; got.size() < sent.size() && turns < 10000; ++turns) {
    one_turn();
    ssize_t n;
    while ((n = ::recv(fds[1], buf, sizeof buf, MSG_DONTWAIT)) > 0) got.append(buf, static_cast<std::size_t>(n));
  }
  EXPECT_EQ(got.size(), sent.size());
  EXPECT_TRUE(got == sent) << "bytes lost, doubled or out of order";
  EXPECT_EQ(q.pending(), 0u);
  EXPECT_GE(o.calls, 3) << "flush, the ring's partial send, then the uv_write's completion";
  uv_close(reinterpret_cast<uv_handle_t*>(&big_pipe), nullptr);
  ::close(fds[1]);
}

TEST_F(WriteBatchRingTest, AQueueDestroyedWhileItsSendIsOnTheRingStillSendsAndIsNeverTouchedAgain) {
  RingOwner a, c;
  auto qc = std::make_unique<OutQueue>(pool_, &c, &RingOwner::on_written, &batch_);
  OutQueue qa(pool_, &a, &RingOwner::on_written, &batch_);
  c.queue = qc.get();
  c.stream = stream();
  a.queue = &qa;
  a.stream = stream();
  a.on_turn = [&] {
    if (a.calls == 1) qc.reset();  // c's turn came first: its send is on the ring
  };
  qc->append("from c");
  ASSERT_EQ(qc->flush(stream()), 0);
  qa.append("from a");
  ASSERT_EQ(qa.flush(stream()), 0);
  one_turn();
  EXPECT_EQ(next_write(), "from c");
  EXPECT_EQ(next_write(), "from a");
  EXPECT_EQ(c.calls, 1);
  EXPECT_EQ(pool_.in_use(), 0u);
}

TEST_F(WriteBatchRingTest, WriteHeldMakesTheSendOnTheRingBeforeTheStreamCloses) {
  RingOwner o;
  OutQueue q(pool_, &o, &RingOwner::on_written, &batch_);
  o.queue = &q;
  o.stream = stream();
  std::string seen = "unset";
  bool once = false;
  o.on_turn = [&] {
    if (once) return;
    once = true;
    q.append("last good bytes");
    ASSERT_EQ(q.flush(stream()), 0);
    ASSERT_TRUE(q.writing()) << "on the ring";
    q.write_held(stream());  // what a close does first
    seen = next_write();
  };
  q.append("");
  batch_.add(&q);
  one_turn();
  EXPECT_EQ(seen, "last good bytes");
}

TEST_F(WriteBatchRingTest, ReadBurstsLetTheBatchGatherUpToItsRun) {
  std::vector<std::unique_ptr<Owner>> owners;
  std::vector<std::unique_ptr<OutQueue>> queues;
  for (std::size_t i = 0; i < WriteBatch::kRingRun; ++i) {
    owners.push_back(std::make_unique<Owner>());
    queues.push_back(std::make_unique<OutQueue>(pool_, owners.back().get(), &Owner::on_written, &batch_));
    owners.back()->queue = queues.back().get();
    owners.back()->stream = stream();
    queues.back()->append("r" + std::to_string(i));
    ASSERT_EQ(queues.back()->flush(stream()), 0);
    batch_.burst_ended();
    if (i + 1 < WriteBatch::kRingRun) {
      ASSERT_EQ(next_write(), "") << "a burst's end ran the batch with " << i + 1 << " queues held";
    }
  }
  for (std::size_t i = 0; i < WriteBatch::kRingRun; ++i) EXPECT_EQ(next_write(), "r" + std::to_string(i));
  for (auto& q : queues) EXPECT_EQ(q->pending(), 0u);
}

TEST(ReadBurst, OnlyAReadThatFilledItsBufferIsFollowedByAnother) {
  EXPECT_FALSE(WriteBatch::ends_read_burst(32768, 32768));
  EXPECT_TRUE(WriteBatch::ends_read_burst(27, 32768));
  EXPECT_TRUE(WriteBatch::ends_read_burst(0, 32768)) << "EAGAIN after a full read";
  EXPECT_TRUE(WriteBatch::ends_read_burst(UV_EOF, 32768));
}

}  // namespace
}  // namespace ferry::proxy
