#include "proxy/core/read_ring.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

// Reads through the ring on a real libuv loop over real socket pairs: what each read callback
// gets, in what order, that a turn's reads share one io_uring_enter, and that bytes never go
// to a stream that stopped reading or closed.
namespace ferry::proxy {
namespace {

struct Buffers {
  int out = 0;
  int back = 0;
  std::size_t size = 16 * 1024;
  bool none = false;  // the alloc callback gives an empty buffer
  char* get() {
    ++out;
    return new char[size];
  }
  void put(char* b) {
    if (b == nullptr) return;
    ++back;
    delete[] b;
  }
};

Buffers* g_buffers = nullptr;
std::string* g_calls = nullptr;  // when set: "a" for each alloc callback, "r" for each read callback
const ReadRing* g_ring = nullptr;

struct Reader {
  uv_pipe_t pipe{};
  int peer = -1;
  std::string got;
  int reads = 0;   // read callbacks with bytes
  int empties = 0; // with 0 (a buffer back)
  int eofs = 0;
  int errors = 0;
  int enobufs = 0;
  int named_first = 0;  // callbacks during which the ring's first_read() was this stream
  bool closed = false;
  std::function<void(Reader&)> after_bytes;  // runs in the read callback, after bytes
  uv_stream_t* stream() { return reinterpret_cast<uv_stream_t*>(&pipe); }
};

void on_alloc(uv_handle_t*, std::size_t, uv_buf_t* buf) {
  if (g_calls != nullptr) *g_calls += "a";
  if (g_buffers->none) {
    *buf = uv_buf_init(nullptr, 0);
    return;
  }
  *buf = uv_buf_init(g_buffers->get(), static_cast<unsigned>(g_buffers->size));
}

void on_read(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
  auto* r = static_cast<Reader*>(s->data);
  if (g_calls != nullptr) *g_calls += "r";
  EXPECT_FALSE(r->closed) << "a read callback after the close";
  if (g_ring != nullptr && g_ring->first_read() == s) ++r->named_first;
  if (nread > 0) {
    r->got.append(buf->base, static_cast<std::size_t>(nread));
    ++r->reads;
  } else if (nread == 0) {
    ++r->empties;
  } else if (nread == UV_EOF) {
    ++r->eofs;
  } else if (nread == UV_ENOBUFS) {
    ++r->enobufs;
    uv_read_stop(s);
  } else {
    ++r->errors;
  }
  g_buffers->put(buf->base);
  if (nread > 0 && r->after_bytes) r->after_bytes(*r);
}

class ReadRingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    g_buffers = &buffers_;
    uv_loop_init(&loop_);
    std::string why;
    ring_ = ReadRing::open(
        &loop_, [](void* b, char* block) { static_cast<Buffers*>(b)->put(block); }, &buffers_, &why);
    // ferry reads through libuv without a ring, but these hosts (and CI's) have io_uring: a
    // ring that does not open here means the fast path went untested.
    ASSERT_NE(ring_, nullptr) << why;
    g_ring = ring_.get();
  }
  void TearDown() override {
    for (Reader& r : readers_) close(r);
    ring_->close();
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_EQ(uv_loop_close(&loop_), 0);
    ring_.reset();
    EXPECT_EQ(buffers_.out, buffers_.back) << "a buffer was not given back";
    g_buffers = nullptr;
    g_ring = nullptr;
  }

  Reader& add_reader(bool start_now = true) {
    Reader& r = readers_.emplace_back();
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
    uv_pipe_init(&loop_, &r.pipe, 0);
    EXPECT_EQ(uv_pipe_open(&r.pipe, fds[0]), 0);
    r.pipe.data = &r;
    r.peer = fds[1];
    ring_->watch(r.stream());
    if (start_now) start(r);
    return r;
  }
  void start(Reader& r) {
    ASSERT_EQ(uv_read_start(r.stream(), &on_alloc, &on_read), 0);
    ring_->resumed(r.stream());
  }
  void close(Reader& r) {
    if (r.closed) return;
    r.closed = true;
    ring_->forget(r.stream());
    uv_close(reinterpret_cast<uv_handle_t*>(&r.pipe), nullptr);
    if (r.peer >= 0) ::close(r.peer);
  }
  static void send(Reader& r, const std::string& bytes) {
    ASSERT_EQ(::send(r.peer, bytes.data(), bytes.size(), MSG_NOSIGNAL), static_cast<ssize_t>(bytes.size()));
  }
  // One turn of the loop, which would wait in epoll for an event; bounded by a timer so a
  // turn that has nothing to do fails the test instead of hanging it.
  void one_turn() {
    uv_timer_t bound;
    uv_timer_init(&loop_, &bound);
    uv_timer_start(&bound, [](uv_timer_t*) {}, 2000, 0);
    const uint64_t before = uv_now(&loop_);
    uv_run(&loop_, UV_RUN_ONCE);
    waited_ms_ = uv_now(&loop_) - before;
    uv_close(reinterpret_cast<uv_handle_t*>(&bound), nullptr);
    uv_run(&loop_, UV_RUN_NOWAIT);
  }
  void turns_until(const std::function<bool()>& done) {
    for (int i = 0; i < 200 && !done(); ++i) one_turn();
    ASSERT_TRUE(done());
  }

  // Two readers whose callbacks each stop the other's reading, both with bytes in one turn:
  // whichever runs first stops the other after its read was made, so that one's bytes are
  // held. Returns the stopped one.
  Reader& one_held(const std::string& for_a, const std::string& for_b) {
    Reader& a = add_reader();
    Reader& b = add_reader();
    a.after_bytes = [&b](Reader&) { uv_read_stop(b.stream()), b.after_bytes = nullptr; };
    b.after_bytes = [&a](Reader&) { uv_read_stop(a.stream()), a.after_bytes = nullptr; };
    send(a, for_a);
    send(b, for_b);
    one_turn();
    EXPECT_EQ(ring_->counts().held, 1u);
    return a.got.empty() ? a : b;
  }

  Buffers buffers_;
  uv_loop_t loop_{};
  std::unique_ptr<ReadRing> ring_;
  std::deque<Reader> readers_;
  uint64_t waited_ms_ = 0;
};

TEST_F(ReadRingTest, TheReadsOfOneTurnShareOneEnterAndEachGetsItsBytes) {
  for (int i = 0; i < 20; ++i) add_reader();
  for (int i = 0; i < 20; ++i) send(readers_[i], "request " + std::to_string(i));
  one_turn();
  for (int i = 0; i < 20; ++i) EXPECT_EQ(readers_[i].got, "request " + std::to_string(i));
  EXPECT_EQ(ring_->counts().reads, 20u);
  EXPECT_EQ(ring_->counts().settles, 1u);
}

TEST_F(ReadRingTest, BytesLargerThanTheBufferArriveWholeAndInOrder) {
  Reader& r = add_reader();
  std::string big;
  for (int i = 0; big.size() < 100 * 1024; ++i) big += std::to_string(i) + ",";
  send(r, big);
  turns_until([&] { return r.got.size() == big.size(); });
  EXPECT_EQ(r.got, big);
  EXPECT_GE(r.reads, 7);  // 16 KiB buffers
}

TEST_F(ReadRingTest, TheEndOfTheStreamIsUvEofOnceAndReadingStops) {
  Reader& r = add_reader();
  send(r, "last words");
  ASSERT_EQ(::shutdown(r.peer, SHUT_WR), 0);
  turns_until([&] { return r.eofs == 1; });
  EXPECT_EQ(r.got, "last words");
  EXPECT_FALSE(uv_is_active(reinterpret_cast<uv_handle_t*>(&r.pipe)));
  // A readable socket that is no longer watched must not come back.
  Reader& other = add_reader();
  send(other, "x");
  one_turn();
  EXPECT_EQ(r.eofs, 1);
}

TEST_F(ReadRingTest, BytesOfAStreamStoppedInTheSameTurnAreHeldUntilItReadsAgain) {
  Reader& stopped = one_held("first for a", "first for b");
  Reader& ran = &stopped == &readers_[0] ? readers_[1] : readers_[0];
  const std::string held = std::string("first for ") + (&stopped == &readers_[0] ? "a" : "b");
  EXPECT_EQ(ran.got, std::string("first for ") + (&ran == &readers_[0] ? "a" : "b"));
  EXPECT_EQ(stopped.got, "");
  // Stopped, it gets nothing, whatever else comes in.
  send(ran, "more");
  one_turn();
  EXPECT_EQ(stopped.got, "");
  // Reading again, it gets the held bytes at once, with nothing new on its socket: the loop
  // must not wait in epoll for them.
  start(stopped);
  one_turn();
  EXPECT_LT(waited_ms_, 1000u);
  EXPECT_EQ(stopped.got, held);
  // And what comes next comes after them.
  send(stopped, " then more");
  turns_until([&] { return stopped.got.size() > held.size(); });
  EXPECT_EQ(stopped.got, held + " then more");
}

TEST_F(ReadRingTest, HeldBytesComeBeforeNewerOnesWhenBothAreReadyInOneTurn) {
  Reader& stopped = one_held("1", "1");
  // New bytes wait on the socket when the stream reads again: the held ones go first.
  send(stopped, "2");
  ASSERT_EQ(uv_read_start(stopped.stream(), &on_alloc, &on_read), 0);  // no resumed(): the event wakes it
  turns_until([&] { return stopped.got.size() == 2; });
  EXPECT_EQ(stopped.got, "12");
}

TEST_F(ReadRingTest, HeldBytesOfAStreamThatClosesGoBackWithoutACallback) {
  Reader& stopped = one_held("a", "b");
  close(stopped);  // on_read fails the test if it hears of the close's stream again
  one_turn();
  EXPECT_EQ(stopped.reads, 0);
  EXPECT_EQ(buffers_.out, buffers_.back);
}

TEST_F(ReadRingTest, AStreamClosedByAnEarlierCallbackOfTheTurnGetsNoCallback) {
  Reader& a = add_reader();
  Reader& b = add_reader();
  a.after_bytes = [&](Reader&) {
    if (!b.closed) close(b);
  };
  b.after_bytes = [&](Reader&) {
    if (!a.closed) close(a);
  };
  send(a, "a");
  send(b, "b");
  one_turn();
  EXPECT_EQ(a.reads + b.reads, 1);
  EXPECT_EQ(buffers_.out, buffers_.back);
}

TEST_F(ReadRingTest, MoreReadyStreamsThanTheRingHoldsAllGetTheirBytes) {
  constexpr int kStreams = 150;
  for (int i = 0; i < kStreams; ++i) add_reader();
  for (int i = 0; i < kStreams; ++i) send(readers_[i], std::to_string(i));
  turns_until([&] {
    for (Reader& r : readers_)
      if (r.got.empty()) return false;
    return true;
  });
  for (int i = 0; i < kStreams; ++i) EXPECT_EQ(readers_[i].got, std::to_string(i));
  EXPECT_GE(ring_->counts().settles, 3u);  // 64 reads each at most
}

TEST_F(ReadRingTest, AnAllocCallbackWithoutABufferGetsUvEnobufsAtOnce) {
  Reader& a = add_reader();
  Reader& b = add_reader();
  buffers_.none = true;
  std::string calls;
  g_calls = &calls;
  send(a, "x");
  send(b, "y");
  one_turn();
  g_calls = nullptr;
  EXPECT_EQ(a.enobufs, 1);
  EXPECT_EQ(b.enobufs, 1);
  // Each alloc callback is followed by its read callback before the next alloc, as in libuv:
  // ferry's backend side sets up a splice in one and makes it in the other.
  EXPECT_EQ(calls, "arar");
  EXPECT_EQ(a.got + b.got, "");
  EXPECT_EQ(ring_->counts().reads, 0u);
}

TEST_F(ReadRingTest, AStreamReportedReadableTwiceBeforeASettleIsReadOnce) {
  Reader& r = add_reader();
  // A poll phase that waits twice (more than 1,024 events) reports a stream twice: here the
  // event is played by hand before the poll, which reports it once more.
  uv_prepare_t twice;
  uv_prepare_init(&loop_, &twice);
  twice.data = &r;
  uv_prepare_start(&twice, [](uv_prepare_t* h) {
    uv_stream_t* s = static_cast<Reader*>(h->data)->stream();
    s->io_watcher.cb(h->loop, &s->io_watcher, POLLIN);
    s->io_watcher.cb(h->loop, &s->io_watcher, POLLIN);
    uv_prepare_stop(h);
  });
  send(r, "once");
  one_turn();
  uv_close(reinterpret_cast<uv_handle_t*>(&twice), nullptr);
  uv_run(&loop_, UV_RUN_NOWAIT);  // the handle is on this stack
  EXPECT_EQ(r.got, "once");
  EXPECT_EQ(ring_->counts().reads, 1u);
  EXPECT_EQ(buffers_.out, 1);  // one buffer asked for, not one per report
}

TEST_F(ReadRingTest, HeldBytesGoFirstWhenLibuvReadsAHangUp) {
  Reader& stopped = one_held("1", "1");
  // The peer sends more and hangs up: epoll reports POLLIN with POLLHUP, which libuv reads
  // itself. The stream reads again without resumed(), so nothing else hands the held byte
  // over first.
  send(stopped, "2");
  ::close(stopped.peer);
  stopped.peer = -1;
  ASSERT_EQ(uv_read_start(stopped.stream(), &on_alloc, &on_read), 0);
  turns_until([&] { return stopped.eofs == 1; });
  EXPECT_EQ(stopped.got, "12");
}

TEST_F(ReadRingTest, AReadThatFindsNothingGivesItsBufferBackAsAnEmptyRead) {
  Reader& r = add_reader();
  // A check handle started after the ring's runs before it (libuv runs the newest first): it
  // takes the bytes behind the ring's back, after the event queued the read.
  uv_check_t thief;
  uv_check_init(&loop_, &thief);
  thief.data = &r;
  uv_check_start(&thief, [](uv_check_t* h) {
    char sink[64];
    while (::recv(static_cast<Reader*>(h->data)->pipe.io_watcher.fd, sink, sizeof sink, MSG_DONTWAIT) > 0) {
    }
  });
  send(r, "x");
  one_turn();
  uv_close(reinterpret_cast<uv_handle_t*>(&thief), nullptr);
  uv_run(&loop_, UV_RUN_NOWAIT);  // the handle is on this stack
  EXPECT_EQ(r.got, "");
  EXPECT_EQ(r.empties, 1);
  EXPECT_EQ(ring_->counts().reads, 1u);
  EXPECT_EQ(buffers_.out, buffers_.back);
}

TEST_F(ReadRingTest, AResetConnectionEndsWithAnErrorAndNoMoreCallbacks) {
  // Over TCP: a reset arrives as an error, through libuv's own reading.
  uv_tcp_t server;
  uv_tcp_init(&loop_, &server);
  sockaddr_in addr{};
  uv_ip4_addr("127.0.0.1", 0, &addr);
  ASSERT_EQ(uv_tcp_bind(&server, reinterpret_cast<const sockaddr*>(&addr), 0), 0);
  ASSERT_EQ(uv_listen(reinterpret_cast<uv_stream_t*>(&server), 8, [](uv_stream_t*, int) {}), 0);
  int len = sizeof addr;
  uv_tcp_getsockname(&server, reinterpret_cast<sockaddr*>(&addr), &len);
  const int client = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_EQ(::connect(client, reinterpret_cast<const sockaddr*>(&addr), sizeof addr), 0);
  one_turn();
  uv_tcp_t conn;
  uv_tcp_init(&loop_, &conn);
  ASSERT_EQ(uv_accept(reinterpret_cast<uv_stream_t*>(&server), reinterpret_cast<uv_stream_t*>(&conn)), 0);
  Reader r;  // only its counters
  conn.data = &r;
  auto* s = reinterpret_cast<uv_stream_t*>(&conn);
  ring_->watch(s);
  ASSERT_EQ(uv_read_start(s, &on_alloc, &on_read), 0);
  ASSERT_EQ(::send(client, "hello", 5, 0), 5);
  turns_until([&] { return r.got == "hello"; });
  linger hard{1, 0};
  ASSERT_EQ(::setsockopt(client, SOL_SOCKET, SO_LINGER, &hard, sizeof hard), 0);
  ::close(client);
  turns_until([&] { return r.errors + r.eofs > 0; });
  EXPECT_EQ(r.errors + r.eofs, 1);
  ring_->forget(s);
  uv_close(reinterpret_cast<uv_handle_t*>(&conn), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&server), nullptr);
  one_turn();
  EXPECT_EQ(r.errors + r.eofs, 1);
}

TEST(ReadRingSwitch, FerryIoUringOffGivesNoRing) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  ::setenv("FERRY_IO_URING", "off", 1);
  std::string why;
  auto ring = ReadRing::open(&loop, [](void*, char*) {}, nullptr, &why);
  ::unsetenv("FERRY_IO_URING");
  EXPECT_EQ(ring, nullptr);
  EXPECT_NE(why.find("FERRY_IO_URING"), std::string::npos) << why;
  EXPECT_EQ(uv_loop_close(&loop), 0);
}

// A socket just accepted reads with the turn's reads, without waiting for an event of its own
// (ClientConn::read_first). read_soon() is called from an io callback, as an accept is: the
// streams start reading there, and are read after the poll, before any poll watched them. While
// a callback with bytes, the end or an error runs, first_read() names its stream.
TEST_F(ReadRingTest, AReadSoonFromThePollPhaseComesThisTurnNamedAsAFirstRead) {
  Reader& r = add_reader(/*start_now=*/false);
  Reader& ended = add_reader(false);
  Reader& early = add_reader(false);
  send(r, "GET / HTTP/1.1\r\n\r\n");
  ASSERT_EQ(::shutdown(ended.peer, SHUT_WR), 0);

  using Self = std::remove_pointer_t<decltype(this)>;
  struct Accepting {
    Self* test;
    std::vector<Reader*> readers;
    bool all_taken = true;
  } accepting{this, {&r, &ended, &early}};
  int trigger[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, trigger), 0);
  uv_poll_t poll;
  ASSERT_EQ(uv_poll_init(&loop_, &poll, trigger[0]), 0);
  poll.data = &accepting;
  uv_poll_start(&poll, UV_READABLE, [](uv_poll_t* p, int, int) {
    auto* a = static_cast<Accepting*>(p->data);
    for (Reader* x : a->readers) {
      a->test->start(*x);
      a->all_taken = a->test->ring_->read_soon(x->stream()) && a->all_taken;
    }
    uv_poll_stop(p);
  });
  ASSERT_EQ(::send(trigger[1], "x", 1, MSG_NOSIGNAL), 1);
  one_turn();  // the poll phase runs the callback; the reads come after it

  EXPECT_TRUE(accepting.all_taken);
  EXPECT_EQ(r.got, "GET / HTTP/1.1\r\n\r\n");
  EXPECT_EQ(r.reads, 1);
  EXPECT_EQ(r.named_first, 1);
  EXPECT_EQ(ended.eofs, 1);
  EXPECT_EQ(ended.named_first, 1);
  // Nothing in yet: an empty read, not named (the stream reads on, so epoll will watch it).
  EXPECT_EQ(early.empties, 1);
  EXPECT_EQ(early.named_first, 0);
  EXPECT_EQ(ring_->first_read(), nullptr) << "named only while the callback runs";

  // Later reads, which epoll asks for, are not first reads.
  send(r, "next");
  send(early, "late");
  turns_until([&] { return r.got.size() > 20 && early.got == "late"; });
  EXPECT_EQ(r.named_first, 1);
  EXPECT_EQ(early.named_first, 0);

  uv_close(reinterpret_cast<uv_handle_t*>(&poll), nullptr);
  uv_run(&loop_, UV_RUN_NOWAIT);
  ::close(trigger[0]);
  ::close(trigger[1]);
}

// read_soon() of a stream a poll already watched (outside the poll phase: not how ferry calls
// it) still reads it, but does not name it a first read: its owner would take it for a socket
// never in epoll.
TEST_F(ReadRingTest, AReadSoonOfAStreamEpollWatchesIsNotNamedAFirstRead) {
  Reader& r = add_reader();
  uv_run(&loop_, UV_RUN_NOWAIT);  // a poll: the stream goes into epoll
  send(r, "bytes");
  ASSERT_TRUE(ring_->read_soon(r.stream()));
  one_turn();
  EXPECT_EQ(r.got, "bytes");
  EXPECT_EQ(r.reads, 1);
  EXPECT_EQ(r.named_first, 0);
}

}  // namespace
}  // namespace ferry::proxy
