#include "proxy/core/socket_ring.h"

#include <gtest/gtest.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include <cstddef>

#include <cerrno>
#include <cstdlib>
#include <string>
#include <vector>

// The ring over real socket pairs: what each send returns, that none waits, and that a send
// to a stream that started closing is never made.
namespace ferry::proxy {
namespace {

struct Sent {
  int result = 0;
  std::size_t asked = 0;
  int calls = 0;
};

void record(void* tag, int result, std::size_t asked) {
  auto* s = static_cast<Sent*>(tag);
  s->result = result;
  s->asked = asked;
  ++s->calls;
}

struct Pair {
  int fds[2] = {-1, -1};
  Pair() { EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0); }
  ~Pair() {
    for (int fd : fds)
      if (fd >= 0) ::close(fd);
  }
  std::string received() {
    std::string all;
    char buf[65536];
    ssize_t n;
    while ((n = ::recv(fds[1], buf, sizeof buf, MSG_DONTWAIT)) > 0) all.append(buf, static_cast<std::size_t>(n));
    return all;
  }
  // Sends until the socket takes no more.
  void fill() {
    static char filler[65536];
    while (::send(fds[0], filler, sizeof filler, MSG_DONTWAIT | MSG_NOSIGNAL) > 0) {
    }
  }
};

class SocketRingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    ring_ = SocketRing::open(&why);
    // ferry falls back to send(2) without a ring, but these hosts (and CI's) have io_uring: a
    // ring that does not open here means the fast path went untested.
    ASSERT_NE(ring_, nullptr) << why;
  }
  std::unique_ptr<SocketRing> ring_;
};

TEST_F(SocketRingTest, SendsOfOneSettleArriveWithWhatEachTook) {
  Pair a, b;
  char one[] = "GET / HTTP/1.1\r\n";
  char two[] = "Host: x\r\n\r\n";
  uv_buf_t head[] = {uv_buf_init(one, sizeof one - 1), uv_buf_init(two, sizeof two - 1)};
  char other[] = "HTTP/1.1 204 No Content\r\n\r\n";
  uv_buf_t single = uv_buf_init(other, sizeof other - 1);
  Sent sa, sb;
  ring_->queue(nullptr, a.fds[0], head, 2, MSG_NOSIGNAL, &sa);
  ring_->queue(nullptr, b.fds[0], &single, 1, MSG_NOSIGNAL, &sb);
  EXPECT_EQ(a.received(), "") << "nothing is sent before settle";
  EXPECT_FALSE(ring_->empty());
  ring_->settle(&record);
  EXPECT_TRUE(ring_->empty());
  EXPECT_EQ(sa.calls, 1);
  EXPECT_EQ(sa.result, 27);
  EXPECT_EQ(sa.asked, 27u);
  EXPECT_EQ(sb.result, 27);
  EXPECT_EQ(a.received(), "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(b.received(), "HTTP/1.1 204 No Content\r\n\r\n");
}

TEST_F(SocketRingTest, AFullSocketGivesEagainAtOnceAndAFullerOneWhatItTook) {
  Pair full, partial;
  full.fill();
  static char big[1 << 20];
  uv_buf_t one = uv_buf_init(big, 1);
  uv_buf_t lots = uv_buf_init(big, sizeof big);
  Sent sf, sp;
  ring_->queue(nullptr, full.fds[0], &one, 1, MSG_NOSIGNAL, &sf);
  ring_->queue(nullptr, partial.fds[0], &lots, 1, MSG_NOSIGNAL, &sp);
  ring_->settle(&record);  // a send that waited for room would hang here: nobody reads
  EXPECT_EQ(sf.result, -EAGAIN);
  EXPECT_GT(sp.result, 0);
  EXPECT_LT(static_cast<std::size_t>(sp.result), sizeof big) << "a socket pair holds far less than 1 MiB";
  EXPECT_EQ(sp.asked, sizeof big);
}

// The read ring shares the write batch's io_uring (one ring entered per thread, not two in
// turn): each user's entries complete with its own results, the two never mix entries in one
// submission, and the second user outlives the first.
TEST_F(SocketRingTest, ASharedRingTakesTurnsAndOutlivesItsFirstUser) {
  std::unique_ptr<SocketRing> reads = SocketRing::share(*ring_);
  ASSERT_NE(reads, nullptr);
  Pair p;
  char bytes[] = "ping";
  uv_buf_t buf = uv_buf_init(bytes, 4);
  Sent sent;
  ASSERT_TRUE(ring_->has_room(1));
  ring_->queue(nullptr, p.fds[0], &buf, 1, MSG_NOSIGNAL, &sent);
  EXPECT_FALSE(reads->has_room(1)) << "the other user's entries are queued: no room until they settle";
  EXPECT_TRUE(ring_->has_room(1)) << "the user with entries queued may queue more";
  reads->settle(&record);  // nothing of its own: must not submit the other's send
  EXPECT_EQ(sent.calls, 0);
  ring_->settle(&record);
  EXPECT_EQ(sent.calls, 1);
  EXPECT_EQ(sent.result, 4);

  ASSERT_TRUE(reads->has_room(1));
  char into[16] = {};
  Sent got;
  reads->queue_read(nullptr, p.fds[1], into, sizeof into, &got);
  EXPECT_FALSE(ring_->has_room(1));
  reads->settle(&record);
  EXPECT_EQ(got.result, 4);
  EXPECT_EQ(std::string(into, 4), "ping");
  EXPECT_TRUE(ring_->has_room(1));

  ring_.reset();  // the first user goes; the io_uring stays for the second
  ASSERT_EQ(::send(p.fds[0], "pong", 4, MSG_NOSIGNAL), 4);
  Sent again;
  ASSERT_TRUE(reads->has_room(1));
  reads->queue_read(nullptr, p.fds[1], into, sizeof into, &again);
  reads->settle(&record);
  EXPECT_EQ(again.result, 4);
  EXPECT_EQ(std::string(into, 4), "pong");
}

// A user that goes with entries queued (a teardown in the middle of a run) must not leave
// them for the other user's next submit: its buffers may be gone, and the completions would
// come back under the other user's slot numbers.
TEST_F(SocketRingTest, AUserGoneWithEntriesQueuedLeavesNothingBehind) {
  std::unique_ptr<SocketRing> reads = SocketRing::share(*ring_);
  Pair p;
  char lost[] = "lost";
  uv_buf_t gone = uv_buf_init(lost, 4);
  Sent never;
  ASSERT_TRUE(reads->has_room(1));
  reads->queue(nullptr, p.fds[0], &gone, 1, MSG_NOSIGNAL, &never);
  reads.reset();
  ASSERT_TRUE(ring_->has_room(1)) << "the ring is handed back when its user goes";
  char kept[] = "kept";
  uv_buf_t buf = uv_buf_init(kept, 4);
  Sent sent;
  ring_->queue(nullptr, p.fds[0], &buf, 1, MSG_NOSIGNAL, &sent);
  ring_->settle(&record);
  EXPECT_EQ(sent.calls, 1);
  EXPECT_EQ(sent.result, 4);
  EXPECT_EQ(never.calls, 0);
  EXPECT_EQ(p.received(), "kept");
}

TEST_F(SocketRingTest, APeerThatLeftGivesEpipeNotASignal) {
  Pair p;
  ::close(p.fds[1]);
  p.fds[1] = -1;
  char bytes[] = "late";
  uv_buf_t buf = uv_buf_init(bytes, 4);
  Sent s;
  ring_->queue(nullptr, p.fds[0], &buf, 1, MSG_NOSIGNAL, &s);
  ring_->settle(&record);
  EXPECT_EQ(s.result, -EPIPE);
}

TEST_F(SocketRingTest, ASendToAStreamThatStartedClosingIsNotMadeEvenIfItsNumberIsReused) {
  uv_loop_t loop;
  ASSERT_EQ(uv_loop_init(&loop), 0);
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
  uv_pipe_t pipe;
  ASSERT_EQ(uv_pipe_init(&loop, &pipe, 0), 0);
  ASSERT_EQ(uv_pipe_open(&pipe, fds[0]), 0);
  char bytes[] = "for the old socket";
  uv_buf_t buf = uv_buf_init(bytes, sizeof bytes - 1);
  Sent s;
  ring_->queue(reinterpret_cast<uv_stream_t*>(&pipe), fds[0], &buf, 1, MSG_NOSIGNAL, &s);
  uv_close(reinterpret_cast<uv_handle_t*>(&pipe), nullptr);  // closes fds[0]
  // The lowest free number is the one just closed: a new socket takes it, as a connection
  // to another backend could between a send's queueing and its settle.
  Pair reused;
  ASSERT_EQ(reused.fds[0], fds[0]);
  ring_->settle(&record);
  EXPECT_EQ(s.calls, 1);
  EXPECT_EQ(s.result, -EBADF);
  EXPECT_EQ(reused.received(), "") << "the bytes went to the socket that took the number";
  char got;
  EXPECT_EQ(::recv(fds[1], &got, 1, MSG_DONTWAIT), 0) << "the old peer sees the close and nothing else";
  ::close(fds[1]);
  uv_run(&loop, UV_RUN_DEFAULT);
  EXPECT_EQ(uv_loop_close(&loop), 0);
}

TEST_F(SocketRingTest, MoreSendsThanItsEntriesGoOutOverSeveralSettles) {
  std::vector<Pair> pairs(SocketRing::kEntries);
  std::vector<Sent> sent(SocketRing::kEntries);
  char bytes[] = "x";
  uv_buf_t buf = uv_buf_init(bytes, 1);
  for (int round = 0; round < 3; ++round) {
    for (unsigned i = 0; i < SocketRing::kEntries; ++i) {
      ASSERT_TRUE(ring_->has_room(1));
      ring_->queue(nullptr, pairs[i].fds[0], &buf, 1, MSG_NOSIGNAL, &sent[i]);
    }
    EXPECT_FALSE(ring_->has_room(1));
    ring_->settle(&record);
  }
  for (unsigned i = 0; i < SocketRing::kEntries; ++i) {
    EXPECT_EQ(sent[i].calls, 3);
    EXPECT_EQ(pairs[i].received(), "xxx");
  }
}

// What systemd's SystemCallFilter does to a service without @aio: io_uring_setup fails with
// EPERM. In a child process, which the filter cannot be taken off again.
TEST_F(SocketRingTest, SendsOfManyBuffersShareTheIovecsUntilTheyRunOut) {
  constexpr std::size_t kBufs = SocketRing::kMaxBufs;
  std::vector<Pair> pairs(SocketRing::kIovecs / kBufs);
  std::vector<Sent> sent(pairs.size());
  char bytes[kBufs];
  std::vector<uv_buf_t> bufs;
  for (std::size_t i = 0; i < kBufs; ++i) {
    bytes[i] = static_cast<char>('a' + i % 26);
    bufs.push_back(uv_buf_init(&bytes[i], 1));
  }
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    ASSERT_TRUE(ring_->has_room(kBufs));
    ring_->queue(nullptr, pairs[i].fds[0], bufs.data(), kBufs, MSG_NOSIGNAL, &sent[i]);
  }
  EXPECT_FALSE(ring_->has_room(2)) << "every iovec is taken";
  EXPECT_TRUE(ring_->has_room(1)) << "a send of one buffer needs none";
  ring_->settle(&record);
  EXPECT_TRUE(ring_->has_room(kBufs));
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    EXPECT_EQ(sent[i].result, static_cast<int>(kBufs));
    EXPECT_EQ(pairs[i].received(), std::string(bytes, kBufs)) << "send " << i << " got another's iovecs";
  }
}

TEST(SocketRingSwitch, ASeccompFilterThatRefusesIoUringGivesNoRingAndSaysWhy) {
  int report[2];
  ASSERT_EQ(::pipe(report), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(report[0]);
    sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    sock_fprog program{static_cast<unsigned short>(sizeof code / sizeof code[0]), code};
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) != 0)
      ::_exit(2);
    std::string why;
    const bool none = SocketRing::open(&why) == nullptr;
    const std::string line = (none ? "none: " : "ring: ") + why;
    (void)!::write(report[1], line.data(), line.size());
    ::_exit(0);
  }
  ::close(report[1]);
  std::string said;
  char buf[256];
  ssize_t n;
  while ((n = ::read(report[0], buf, sizeof buf)) > 0) said.append(buf, static_cast<std::size_t>(n));
  ::close(report[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the filter could not be installed";
  EXPECT_EQ(said, "none: io_uring_setup: Operation not permitted");
}

TEST(SocketRingSwitch, FerryIoUringOffGivesNoRing) {
  ::setenv("FERRY_IO_URING", "off", 1);
  std::string why;
  const bool none = SocketRing::open(&why) == nullptr;
  ::unsetenv("FERRY_IO_URING");
  EXPECT_TRUE(none);
  EXPECT_EQ(why, "FERRY_IO_URING=off");
}

}  // namespace
}  // namespace ferry::proxy
