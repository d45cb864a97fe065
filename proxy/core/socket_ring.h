// An io_uring through which a worker makes many socket sends or reads in one system call:
// the write batch's sends (write_batch.h) and the reads of a loop turn (read_ring.h) each go
// to the kernel in one io_uring_enter(2) instead of one send(2) or read(2) each.
//
// Why: on these hosts entering the kernel costs about 1 us of a keep-alive request's 15, and
// a relayed request makes four such entries (a read and a send on each side). Through the
// ring, a run's sends share one entry, and so do a turn's reads
// (bench/reports/2026-12-07-io-uring-sends, bench/reports/2026-12-07-io-uring-reads).
//
// Every send and read is MSG_DONTWAIT, so the kernel completes each inside the
// io_uring_enter that submits it: with the bytes moved (maybe fewer than asked), -EAGAIN, or
// an error, just as send(2) or recv(2) would have returned. settle() submits and reaps in one
// go, so nothing is ever left in flight between two calls: nobody has to watch the ring's
// descriptor, and a buffer is only borrowed until settle() returns. open() checks that the
// kernel behaves so before the ring is used, and gives none where io_uring is missing,
// disabled (kernel.io_uring_disabled, a seccomp filter such as systemd's SystemCallFilter) or
// too old, or where FERRY_IO_URING=off: sockets are then read and written with plain system
// calls, as before.
//
// One io_uring can serve two users (the write batch's sends and the read ring's reads): see
// share(). The kernel keeps a per-thread note of the ring last entered, and a thread that
// alternates between two rings pays a lookup on every io_uring_enter (about 1% of a
// keep-alive request's CPU in bench/reports/2026-12-07-shared-ring).
//
// Loop thread only.
#pragma once

#include <liburing.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <uv.h>

#include <cstddef>
#include <memory>
#include <string>

namespace ferry::proxy {

class SocketRing {
 public:
  static constexpr unsigned kEntries = 64;  // sends or reads per io_uring_enter at most
  // Buffers of one send at most, and of all the sends of one settle (most sends have one to
  // three: a head, a body block or two).
  static constexpr std::size_t kMaxBufs = 64;
  static constexpr std::size_t kIovecs = 256;
  // Told of each send or read as settle() reaps it: its tag, what send(2) or recv(2) would
  // have returned (bytes moved, or -errno; 0 for a read at the end of the stream), and the
  // bytes asked.
  using Done = void (*)(void* tag, int result, std::size_t asked);

  // A ring that passed the checks, or null (`why_not` says why).
  static std::unique_ptr<SocketRing> open(std::string* why_not = nullptr);
  // A second user of `ring`'s io_uring, with its own entries: the checks open() made hold
  // for it too. The two take turns: while one has entries queued (from its first queue to
  // its settle), the other has no room (has_room() is false, and its caller goes the
  // ordinary way). Either may outlive the other.
  static std::unique_ptr<SocketRing> share(const SocketRing& ring);
  ~SocketRing();
  SocketRing(const SocketRing&) = delete;
  SocketRing& operator=(const SocketRing&) = delete;

  bool empty() const { return queued_ == 0; }
  // Whether a send of `n` buffers (at most kMaxBufs) may be queued before the next settle().
  // None once the ring has failed (see settle()): the batch then sends with send(2). None
  // while a user it shares the io_uring with has entries queued.
  bool has_room(std::size_t n) {
    return !core_->broken && (core_->busy == nullptr || core_->busy == this) && queued_ < kEntries &&
           io_uring_sq_space_left(&core_->ring) > 0 && (n == 1 || iov_used_ + n <= kIovecs);
  }
  // Queues one send of `bufs` to `stream`'s socket `fd`. The bytes must stay put until
  // settle(); the iovecs are copied. Only when has_room(n).
  void queue(uv_stream_t* stream, int fd, const uv_buf_t* bufs, std::size_t n, int flags, void* tag);
  // Queues one read of up to `len` bytes from `stream`'s socket `fd` into `into`, which must
  // stay put until settle(). Only when has_room(1).
  void queue_read(uv_stream_t* stream, int fd, char* into, std::size_t len, void* tag);
  // Submits what is queued and calls `done` for each entry, in the order queued. An entry
  // whose stream started closing since it was queued is not made (its descriptor is closed,
  // and its number may already be another socket's): it reports -EBADF. Entries the kernel
  // did not take (io_uring_enter failed) report -EAGAIN, so their bytes go the ordinary way.
  // If the ring cannot tell what became of an entry it took, the ring stops for good, and
  // that entry's socket is shut so that its connection ends rather than lose or repeat bytes.
  void settle(Done done);

 private:
  struct Entry {
    uv_stream_t* stream;
    io_uring_sqe* sqe;
    int fd;
    void* tag;
    std::size_t asked;
    msghdr msg;  // sendmsg's, pointing into iov_
  };

  // The io_uring and what its users share.
  struct Core {
    io_uring ring{};
    bool open = false;
    bool broken = false;                // see settle(): every user stops
    const SocketRing* busy = nullptr;  // the user with entries queued, if any
    Core() = default;
    Core(const Core&) = delete;
    Core& operator=(const Core&) = delete;
    ~Core();
  };

  explicit SocketRing(std::shared_ptr<Core> core) : core_(std::move(core)) {}
  bool behaves(std::string* why_not);
  bool reads_behave(const int fds[2], std::string* why_not);
  io_uring* ring() { return &core_->ring; }
  io_uring_sqe* take_sqe() {
    core_->busy = this;
    return io_uring_get_sqe(ring());  // has_room() checked that the queue has space
  }

  std::shared_ptr<Core> core_;
  unsigned queued_ = 0;
  std::size_t iov_used_ = 0;
  // Small, and touched only as far as used: at 10,000 idle connections every kilobyte a
  // worker keeps is 0.1 byte a connection in the idle bench.
  Entry entries_[kEntries];
  iovec iov_[kIovecs];
};

}  // namespace ferry::proxy
