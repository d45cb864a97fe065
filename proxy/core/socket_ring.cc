#include "proxy/core/socket_ring.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace ferry::proxy {

namespace {

// user_data of a slot turned into a no-op: its completion, whenever it comes, is skipped.
constexpr uint64_t kSkipped = UINT64_MAX;

bool switched_off() {
  const char* v = std::getenv("FERRY_IO_URING");
  return v != nullptr && (std::strcmp(v, "off") == 0 || std::strcmp(v, "0") == 0);
}

void say(std::string* why_not, const std::string& what) {
  if (why_not != nullptr) *why_not = what;
}

}  // namespace

std::unique_ptr<SocketRing> SocketRing::open(std::string* why_not) {
  if (switched_off()) {
    say(why_not, "FERRY_IO_URING=off");
    return nullptr;
  }
  std::unique_ptr<SocketRing> r(new SocketRing(std::make_shared<Core>()));
  io_uring_params params{};
  // SUBMIT_ALL (Linux 5.18): an entry that fails at submission does not stop the ones after
  // it. (SINGLE_ISSUER and DEFER_TASKRUN changed nothing measurable here: every entry
  // completes inside its submit, so there is no deferred work for them to save.)
  params.flags = IORING_SETUP_SUBMIT_ALL;
  if (const int rc = io_uring_queue_init_params(kEntries, r->ring(), &params); rc < 0) {
    say(why_not, std::string("io_uring_setup: ") + std::strerror(-rc));
    return nullptr;
  }
  r->core_->open = true;
  if (!r->behaves(why_not)) return nullptr;
  return r;
}

std::unique_ptr<SocketRing> SocketRing::share(const SocketRing& ring) {
  return std::unique_ptr<SocketRing>(new SocketRing(ring.core_));
}

SocketRing::~SocketRing() {
  // Entries queued and never settled would go out with the other user's next submit, reading
  // or writing memory that may be gone by then, and complete as that user's slots: they
  // become no-ops whose completions every settle skips.
  for (unsigned i = 0; i < queued_; ++i) {
    io_uring_prep_nop(entries_[i].sqe);
    io_uring_sqe_set_data64(entries_[i].sqe, kSkipped);
  }
  if (core_->busy == this) core_->busy = nullptr;
}

SocketRing::Core::~Core() {
  if (open) io_uring_queue_exit(&ring);
}

// The contract settle() relies on, tried on a socket pair: a send completes inside the
// io_uring_enter that submits it, with the bytes, and with -EAGAIN (not a wait for room) when
// the socket is full. Kernels before MSG_DONTWAIT meant "no wait" to io_uring would park the
// second send until the peer reads.
bool SocketRing::behaves(std::string* why_not) {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) {
    say(why_not, std::string("socketpair: ") + std::strerror(errno));
    return false;
  }
  // Static: the kernel may still hold it if the second check fails (until the ring closes).
  static const char probe[] = "x";
  int got = 0;
  std::size_t asked = 0;
  auto remember = [](void* tag, int result, std::size_t n) {
    auto* out = static_cast<std::pair<int*, std::size_t*>*>(tag);
    *out->first = result;
    *out->second = n;
  };
  std::pair<int*, std::size_t*> tag{&got, &asked};
  uv_buf_t one = uv_buf_init(const_cast<char*>(probe), 1);

  bool ok = true;
  queue(nullptr, fds[0], &one, 1, MSG_DONTWAIT | MSG_NOSIGNAL, &tag);
  settle(remember);
  char back = 0;
  if (got != 1 || ::recv(fds[1], &back, 1, MSG_DONTWAIT) != 1 || back != 'x') {
    say(why_not, "a send through io_uring did not arrive (" + std::to_string(got) + ")");
    ok = false;
  }
  if (ok) ok = reads_behave(fds, why_not);
  if (ok) {
    static char filler[65536];
    while (::send(fds[0], filler, sizeof filler, MSG_DONTWAIT | MSG_NOSIGNAL) > 0) {
    }
    queue(nullptr, fds[0], &one, 1, MSG_DONTWAIT | MSG_NOSIGNAL, &tag);
    if (io_uring_submit(ring()) != 1) {
      say(why_not, "io_uring_enter refused a send");
      ok = false;
    } else {
      io_uring_cqe* cqe = nullptr;
      if (io_uring_peek_cqe(ring(), &cqe) != 0) {
        say(why_not, "a send to a full socket waited inside io_uring (kernel too old)");
        ok = false;
      } else {
        ok = cqe->res == -EAGAIN;
        if (!ok) say(why_not, "a send to a full socket gave " + std::to_string(cqe->res) + ", not -EAGAIN");
        io_uring_cqe_seen(ring(), cqe);
      }
    }
    queued_ = 0;
    iov_used_ = 0;
    core_->busy = nullptr;
  }
  ::close(fds[0]);
  ::close(fds[1]);
  return ok;
}

// The same for a read: from an empty socket it must come back -EAGAIN at once, not wait
// inside io_uring for the bytes; from a socket with bytes, it must bring them.
bool SocketRing::reads_behave(const int fds[2], std::string* why_not) {
  static char into[8];
  queue_read(nullptr, fds[1], into, sizeof into, nullptr);
  if (io_uring_submit(ring()) != 1) {
    say(why_not, "io_uring_enter refused a read");
    return false;
  }
  io_uring_cqe* cqe = nullptr;
  queued_ = 0;
  core_->busy = nullptr;
  if (io_uring_peek_cqe(ring(), &cqe) != 0) {
    say(why_not, "a read from an empty socket waited inside io_uring (kernel too old)");
    return false;
  }
  const int empty = cqe->res;
  io_uring_cqe_seen(ring(), cqe);
  if (empty != -EAGAIN) {
    say(why_not, "a read from an empty socket gave " + std::to_string(empty) + ", not -EAGAIN");
    return false;
  }
  int got = 0;
  auto remember = [](void* tag, int result, std::size_t) { *static_cast<int*>(tag) = result; };
  if (::send(fds[0], "y", 1, MSG_DONTWAIT | MSG_NOSIGNAL) != 1) {
    say(why_not, std::string("send: ") + std::strerror(errno));
    return false;
  }
  queue_read(nullptr, fds[1], into, sizeof into, &got);
  settle(remember);
  if (got != 1 || into[0] != 'y') {
    say(why_not, "a read through io_uring did not bring the byte (" + std::to_string(got) + ")");
    return false;
  }
  return true;
}

void SocketRing::queue_read(uv_stream_t* stream, int fd, char* into, std::size_t len, void* tag) {
  Entry& e = entries_[queued_];
  e.stream = stream;
  e.fd = fd;
  e.tag = tag;
  e.asked = len;
  e.sqe = take_sqe();
  io_uring_prep_recv(e.sqe, fd, into, len, MSG_DONTWAIT);  // see the header: nothing may wait
  io_uring_sqe_set_data64(e.sqe, queued_);
  ++queued_;
}

void SocketRing::queue(uv_stream_t* stream, int fd, const uv_buf_t* bufs, std::size_t n, int flags, void* tag) {
  Entry& e = entries_[queued_];
  e.stream = stream;
  e.fd = fd;
  e.tag = tag;
  e.asked = 0;
  for (std::size_t i = 0; i < n; ++i) e.asked += bufs[i].len;
  e.sqe = take_sqe();
  flags |= MSG_DONTWAIT;  // see the header: nothing may stay in flight
  if (n == 1) {
    io_uring_prep_send(e.sqe, fd, bufs[0].base, bufs[0].len, flags);
  } else {
    iovec* iov = iov_ + iov_used_;
    iov_used_ += n;
    for (std::size_t i = 0; i < n; ++i) iov[i] = iovec{bufs[i].base, bufs[i].len};
    e.msg = msghdr{};
    e.msg.msg_iov = iov;
    e.msg.msg_iovlen = n;
    io_uring_prep_sendmsg(e.sqe, fd, &e.msg, static_cast<unsigned>(flags));
  }
  io_uring_sqe_set_data64(e.sqe, queued_);
  ++queued_;
}

void SocketRing::settle(Done done) {
  if (queued_ == 0) {
    // No-ops left by a failed submit still hold their slots: let the kernel have them (not
    // while another user's entries wait with them: its own settle carries them).
    if (core_->busy == nullptr && io_uring_sq_ready(ring()) > 0) io_uring_submit(ring());
    return;
  }
  int result[kEntries];
  bool expected[kEntries];
  unsigned waiting = 0;
  for (unsigned i = 0; i < queued_; ++i) {
    Entry& e = entries_[i];
    expected[i] = e.stream == nullptr || !uv_is_closing(reinterpret_cast<uv_handle_t*>(e.stream));
    result[i] = -EBADF;
    if (expected[i]) {
      ++waiting;
    } else {
      io_uring_prep_nop(e.sqe);
      io_uring_sqe_set_data64(e.sqe, kSkipped);
    }
  }
  int rc;
  do {
    rc = io_uring_submit(ring());
  } while (rc == -EINTR);
  // What the kernel did not take stays in the submission queue (an error for the whole
  // enter, which has not happened here): those slots become no-ops that later submissions
  // carry, and their sends report -EAGAIN, which sends the bytes the ordinary way. The
  // kernel takes slots in order, so the ones left are the last: this settle's, after any
  // no-ops an earlier failure left.
  if (unsigned left = io_uring_sq_ready(ring()); left > 0) {
    for (unsigned i = queued_ - std::min(left, queued_); i < queued_; ++i) {
      if (expected[i]) --waiting;
      expected[i] = false;
      result[i] = -EAGAIN;
      io_uring_prep_nop(entries_[i].sqe);
      io_uring_sqe_set_data64(entries_[i].sqe, kSkipped);
    }
  }
  auto take = [&](const io_uring_cqe* cqe) {
    const uint64_t slot = io_uring_cqe_get_data64(cqe);
    if (slot < queued_ && expected[slot]) {
      result[slot] = cqe->res;
      expected[slot] = false;
      --waiting;
    }
  };
  // Every completion is in by now (open() checked): one pass takes them all, and one store
  // gives their slots back.
  unsigned head;
  unsigned seen = 0;
  io_uring_cqe* ready;
  io_uring_for_each_cqe(ring(), head, ready) {
    take(ready);
    ++seen;
  }
  io_uring_cq_advance(ring(), seen);
  while (waiting > 0) {
    io_uring_cqe* cqe = nullptr;
    int w = io_uring_peek_cqe(ring(), &cqe);
    // Not expected: open() saw sends complete inside the submitting call.
    if (w == -EAGAIN) w = io_uring_wait_cqe(ring(), &cqe);
    if (w == -EINTR) continue;
    if (w < 0) {
      // The kernel took these sends and will not say what became of them. Sending their
      // bytes again could repeat them, taking them as sent could lose them: their
      // connections end instead (the shut socket fails the uv_write that follows).
      core_->broken = true;
      for (unsigned i = 0; i < queued_; ++i) {
        if (!expected[i]) continue;
        ::shutdown(entries_[i].fd, SHUT_RDWR);
        result[i] = -EPIPE;
      }
      break;
    }
    take(cqe);
    io_uring_cqe_seen(ring(), cqe);
  }
  // The callbacks may queue again, into these slots: they get copies.
  const unsigned n = queued_;
  void* tags[kEntries];
  std::size_t asked[kEntries];
  for (unsigned i = 0; i < n; ++i) {
    tags[i] = entries_[i].tag;
    asked[i] = entries_[i].asked;
  }
  queued_ = 0;
  iov_used_ = 0;
  core_->busy = nullptr;
  for (unsigned i = 0; i < n; ++i) done(tags[i], result[i], asked[i]);
}

}  // namespace ferry::proxy
