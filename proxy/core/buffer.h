// Per-worker byte blocks and the write queue built from them. Reads and writes borrow fixed-size
// blocks from the worker's BlockPool, so steady-state traffic allocates nothing, and an idle
// connection holds no block at all.
#pragma once

#include <uv.h>

#include <string_view>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "proxy/core/write_batch.h"

namespace ferry::proxy {

// Blocks are reference counted so a block read from one socket can be written to another
// without copying: the reader and each write queue holding part of it count as one reference.
class BlockPool {
 public:
  static constexpr std::size_t kBlockSize = 32 * 1024;
  // Read blocks for backend responses. A 64 KiB response with its head then arrives in one
  // read(2) instead of three (32 KiB, 32 KiB, the rest): libuv reads again only after a read
  // that filled its buffer. Only reads take them, and a read gives its block back unless it
  // is relayed from it, so few are ever in use; an idle connection holds none.
  static constexpr std::size_t kLargeBlockSize = 96 * 1024;

  // `keep_unused`: spares of each size free_unused() leaves even when a period took none, so a
  // load whose concurrency wavers by a few does not free and allocate blocks every period.
  explicit BlockPool(std::size_t max_free = 512, std::size_t max_free_large = 64, std::size_t keep_unused = 8)
      : small_{{}, max_free, keep_unused, 0}, large_{{}, max_free_large, keep_unused, 0} {}
  ~BlockPool();
  BlockPool(const BlockPool&) = delete;
  BlockPool& operator=(const BlockPool&) = delete;

  // A block of kBlockSize bytes with one reference.
  char* get() { return take(small_, kBlockSize); }
  // A block of kLargeBlockSize bytes with one reference; put() takes either kind.
  char* get_large() { return take(large_, kLargeBlockSize); }
  // kBlockSize or kLargeBlockSize: the bytes of a block from get() or get_large().
  static std::size_t size_of(char* block) { return header(block)->size; }
  // One more reference to a block from get().
  void retain(char* block) { ++header(block)->refs; }
  // Drops a reference; the last one returns the block to the pool.
  void put(char* block);
  // Frees the spare blocks that no get() needed since the last call (beyond `keep_unused` of
  // each size), and returns how many.
  // A burst (thousands of connections opening at once, a spell of large responses) leaves
  // spares behind that a steady load never takes again: called once a second (Worker), this gives
  // their memory back to the allocator, where new connections reuse it, while a steady load,
  // which takes its spares again within every period, keeps them and allocates nothing.
  std::size_t free_unused();
  std::size_t spare() const { return small_.free.size() + large_.free.size(); }
  std::size_t in_use() const { return in_use_; }

 private:
  struct alignas(16) Header {
    uint32_t refs;
    uint32_t size;
  };
  static Header* header(char* block) { return reinterpret_cast<Header*>(block - sizeof(Header)); }
  struct Spares {
    std::vector<char*> free;
    std::size_t max;    // spares kept; a block put back beyond this is freed at once
    std::size_t keep;   // unused spares free_unused leaves
    std::size_t least;  // the fewest spares there were since the last free_unused
  };
  char* take(Spares& spares, std::size_t size);
  static std::size_t free_unused(Spares& spares);

  Spares small_;
  Spares large_;
  std::size_t in_use_ = 0;
};

// Bytes queued for one stream, written with at most one uv_write in flight. Bytes handed to
// uv_write stay untouched until its callback (libuv requires it). Loop thread only.
class OutQueue {
 public:
  using DrainedFn = void (*)(void* owner, int status);

  // With a `batch`, flush() only joins it: the bytes go out when the batch runs, at the end of
  // a burst of reads or of the loop's turn (see write_batch.h). Without one, flush() writes
  // at once.
  OutQueue(BlockPool& pool, void* owner, DrainedFn on_written, WriteBatch* batch = nullptr)
      : pool_(pool), owner_(owner), on_written_(on_written), batch_(batch) {
    req_.data = this;
  }
  ~OutQueue() {
    if (on_ring_) batch_->settle();  // the ring borrows the bytes in flight
    release_in_flight();
    clear();
  }
  OutQueue(const OutQueue&) = delete;
  OutQueue& operator=(const OutQueue&) = delete;

  void set_owner(void* owner) { owner_ = owner; }
  void append(const char* data, std::size_t len);
  void append(std::string_view s) { append(s.data(), s.size()); }
  // Queues `len` bytes at `data` without copying; the caller keeps them alive and unchanged
  // until the queue reports them written (or is cleared).
  void append_borrowed(const char* data, std::size_t len);
  // Queues `len` bytes at `data`, inside pool block `block`, without copying: the queue holds
  // a reference to the block until they are written. The block must not change meanwhile
  // (a read block, once read into, only ever is).
  void append_shared(char* block, const char* data, std::size_t len);

  // Writes what is queued: first straight to the socket (send_now), then, for whatever
  // the socket did not take, one uv_write whose completion calls on_written. If the socket
  // takes everything no callback follows: callers look at pending() after flushing. (A
  // uv_write that completes at once still costs libuv a redundant epoll_ctl per write.)
  // While the batch holds writes, this only joins it; when the batch runs it calls
  // on_written(owner, 0), and the owner flushes again as after any completed write.
  // While the batch runs with a SocketRing, the send goes on the ring instead and the bytes
  // stay in flight until the run makes its sends, after which on_written follows as for a
  // uv_write (see socket_ring.h).
  // Does nothing while a write is in flight. Returns a libuv error or 0.
  // `fin_follows`: the caller shuts the socket as soon as these bytes are out, so the kernel
  // may hold them (MSG_MORE) and send them with the FIN in one segment: close() and
  // shutdown() put the FIN on a last segment not yet sent. A response and its connection's
  // end then cost one segment and one ACK where they cost two of each.
  int flush(uv_stream_t* stream, bool fin_follows = false);
  // The stream is about to close: bytes the batch holds get the one try at the socket they
  // would have had without it (no uv_write; closing would cancel it).
  void write_held(uv_stream_t* stream);

  // Hands every queued byte to `sink(data, length)`, in order, and drops it as if written: for
  // bytes that go through TLS on their way to the socket. Nothing may be in flight.
  template <typename Sink>
  void drain_to(Sink&& sink) {
    for (std::size_t i = in_flight_; i < segments_.size(); ++i) sink(segments_[i].data, segments_[i].len);
    clear();
  }
  // The stream is about to close: what is queued and not in flight gets one try at the socket.
  void write_now(uv_stream_t* stream) {
    if (on_ring_) batch_->settle();  // the send on the ring goes before the socket closes
    if (batch_ != nullptr) batch_->remove(this);
    if (!writing_ && !segments_.empty()) try_write(stream);
  }

  // Bytes queued or in flight.
  std::size_t pending() const { return pending_; }
  bool writing() const { return writing_; }
  // A uv_write is in flight: libuv put the socket in epoll to wait for room.
  bool waiting_in_libuv() const { return writing_ && !on_ring_; }
  // Drops every segment not in flight. Only safe when no write is in flight or the stream is
  // closing (libuv then completes the write with UV_ECANCELED before freeing anything).
  void clear();

 private:
  struct Segment {
    char* block;  // the pool block to return once written; null for borrowed bytes
    char* data;   // the bytes still to write (a partial write moves this on)
    uint32_t len;
    bool owned;   // the block is this queue's alone, so appends may fill the rest of it
  };
  static constexpr std::size_t kMaxBufs = 64;  // per write; the rest goes in the next one

  static void on_write(uv_write_t* req, int status);
  // Points `bufs` (kMaxBufs) at the front segments; returns how many.
  std::size_t fill(uv_buf_t* bufs) const;
  // As much as the socket takes now, without waiting (errors are left to the next uv_write).
  void try_write(uv_stream_t* stream, bool fin_follows = false);
  // One send of `bufs` to the stream's socket if nothing is queued in libuv ahead of it:
  // bytes taken, or -1 (errno says why; nothing at all was tried if libuv holds a write).
  static ssize_t send_now(uv_stream_t* stream, const uv_buf_t* bufs, std::size_t n, int flags);
  // Whether bytes may go straight to the socket: libuv holds no write of its own ahead of them.
  static bool may_send_now(uv_stream_t* stream);
  // send(2) flags for a write of the front `n` segments.
  int send_flags(std::size_t n, bool fin_follows) const;
  // Queues the front segments' send on the batch's ring; false if it may not send now.
  bool send_ring(uv_stream_t* stream, bool fin_follows);
  void release_in_flight();
  // The batch made this queue's send on the ring: `result` is what send(2) would have
  // returned for the `asked` bytes in flight.
  void ring_sent(int result, std::size_t asked);
  // Drops `n` bytes written from the front of the queue (nothing in flight).
  void consume(std::size_t n);

  friend class WriteBatch;

  BlockPool& pool_;
  void* owner_;
  DrainedFn on_written_;
  WriteBatch* batch_;
  OutQueue* batch_prev_ = nullptr;  // the batch's list, while in_batch_
  OutQueue* batch_next_ = nullptr;
  bool in_batch_ = false;
  std::vector<Segment> segments_;
  std::size_t in_flight_ = 0;  // segments_[0 .. in_flight_) belong to the pending uv_write
  std::size_t pending_ = 0;
  bool writing_ = false;
  bool on_ring_ = false;      // the write in flight is a send on the batch's ring
  bool socket_full_ = false;  // the last send on the ring left bytes: the next write waits for room
  uv_write_t req_{};
};

}  // namespace ferry::proxy
