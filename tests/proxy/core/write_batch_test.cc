#include "proxy/core/write_batch.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <string>

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

TEST(ReadBurst, OnlyAReadThatFilledItsBufferIsFollowedByAnother) {
  EXPECT_FALSE(WriteBatch::ends_read_burst(32768, 32768));
  EXPECT_TRUE(WriteBatch::ends_read_burst(27, 32768));
  EXPECT_TRUE(WriteBatch::ends_read_burst(0, 32768)) << "EAGAIN after a full read";
  EXPECT_TRUE(WriteBatch::ends_read_burst(UV_EOF, 32768));
}

}  // namespace
}  // namespace ferry::proxy
