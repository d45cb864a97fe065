// A worker's socket reads, gathered over one loop turn and made in one io_uring_enter(2).
//
// libuv reads a stream when epoll says it is readable: one read(2) per socket per event, so a
// relayed keep-alive request costs two entries into the kernel just to read (the client's
// request, the backend's response). A watched stream's readable event does not read: it
// queues the stream, and after the poll (a uv_check) the ring allocates each stream's buffer
// with its own alloc callback, reads every queued socket through one SocketRing settle, and
// calls each read callback with what libuv would have given it (bytes, 0 for nothing now,
// UV_EOF, an error, UV_ENOBUFS for an empty buffer). bench/reports/2026-12-07-io-uring-reads.
//
// What libuv does not see stays libuv's: an event with an error or a hang-up, a stream still
// connecting, a stream with a write to finish (POLLOUT): those go to libuv's own handler, as
// do all events once the ring is closed or has failed.
//
// Held bytes: the reads of a turn are made before any of their callbacks runs, so one
// callback can stop another stream's reading (backpressure) after that stream's bytes came
// in. libuv never hands bytes to a stream that does not read, and neither does the ring: the
// bytes are held until the owner reads again (resumed()) or closes (forget()). A stream
// with held bytes gets them before any newer ones.
//
// Owners: watch() a stream once, call resumed() after each uv_read_start and forget() before
// uv_close. Loop thread only; one ring per loop thread.
#pragma once

#include <uv.h>

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "proxy/core/socket_ring.h"

namespace ferry::proxy {

class ReadRing {
 public:
  // Takes back a buffer from an alloc callback that no read callback will see (its stream
  // closed before the bytes could be handed over).
  using Release = void (*)(void* context, char* buffer);

  // A ring for `loop`, which runs on this thread, or null (`why_not` says why): see
  // SocketRing::open. With `share_with` (the write batch's ring), the reads go through that
  // ring's io_uring (SocketRing::share), and no second one is opened and checked.
  static std::unique_ptr<ReadRing> open(uv_loop_t* loop, Release release, void* release_context,
                                        std::string* why_not = nullptr, const SocketRing* share_with = nullptr);
  ~ReadRing();
  ReadRing(const ReadRing&) = delete;
  ReadRing& operator=(const ReadRing&) = delete;

  // Reads `stream` (a TCP or pipe stream of this loop) through the ring from now on.
  void watch(uv_stream_t* stream);
  // Reads `stream` with this turn's reads (after the poll), as if epoll had reported it
  // readable: for a socket just accepted, whose first bytes are usually in by then. The owner
  // has started reading it. Call it from the poll phase (an io callback, as an accept is):
  // libuv puts a stream it reads into epoll only at the start of its next poll, so when this
  // read's callback runs, the stream has not been in epoll, and first_read() names it (a
  // request that needs no more reads can then stop reading before it ever is). False: the
  // ring cannot take it, and epoll tells when the stream is readable.
  bool read_soon(uv_stream_t* stream) { return queue(stream, /*soon=*/true); }
  // While the read callback of a read_soon() read runs with bytes, the end of the stream or
  // an error: its stream. Else null.
  const uv_stream_t* first_read() const { return first_read_; }
  // `stream` reads again: bytes held for it are delivered (before the loop next waits).
  void resumed(uv_stream_t* stream) {
    if (!held_.empty()) schedule_held(stream);
  }
  // `stream` is about to close: bytes held for it are let go (their buffer goes back to its
  // Release).
  void forget(uv_stream_t* stream) {
    if (!held_.empty()) drop_held(stream);
  }
  // Closes the loop handles; from then on every event goes to libuv. Idempotent.
  void close();

  struct Counts {
    std::size_t reads = 0;    // reads made through the ring
    std::size_t settles = 0;  // io_uring_enter calls that made them
    std::size_t held = 0;     // reads whose bytes had to be held
  };
  const Counts& counts() const { return counts_; }

 private:
  enum class Kind : unsigned char {
    Skip,  // no read made: the stream stopped, its alloc callback gave no buffer, or no room
    Read,  // read through the ring: `result` is recv(2)'s
  };
  struct Pending {
    uv_stream_t* stream;
    uv_buf_t buf;
    int result;
    Kind kind;
    bool soon;  // queued by read_soon(), not by an event of epoll
  };

  ReadRing(std::unique_ptr<SocketRing> ring, Release release, void* release_context)
      : ring_(std::move(ring)), release_(release), release_context_(release_context) {}
  static void on_io(uv_loop_t* loop, uv__io_t* watcher, unsigned int events);
  static void on_check(uv_check_t* handle);
  static void on_idle(uv_idle_t* handle);
  static void on_read(void* tag, int result, std::size_t asked);

  // False: the ring cannot take it, and libuv reads it.
  bool queue(uv_stream_t* stream, bool soon = false);
  void settle();
  void dispatch(Pending& p);
  void give_back(const Pending& p);
  void deliver(Pending& p);
  // Hands held bytes to the streams that read again (only `only`'s, if given), oldest first.
  void deliver_held(uv_stream_t* only = nullptr);
  void schedule_held(uv_stream_t* stream);
  void drop_held(uv_stream_t* stream);

  std::unique_ptr<SocketRing> ring_;
  Release release_;
  void* release_context_;
  uv_check_t after_poll_{};
  uv_idle_t held_wake_{};
  bool open_ = false;
  bool settling_ = false;
  unsigned queued_ = 0;
  Pending pending_[SocketRing::kEntries];
  static constexpr unsigned kSeenBits = 7;
  static constexpr std::size_t kSeenSlots = std::size_t{1} << kSeenBits;  // twice the entries
  uv_stream_t* seen_[kSeenSlots] = {};  // the streams in pending_, by hash
  std::vector<Pending> held_;
  const uv_stream_t* first_read_ = nullptr;
  Counts counts_;
};

}  // namespace ferry::proxy
