// Writes held to the end of a burst of reads. A connection that queues bytes while it handles
// input does not write them at once: its queue joins the worker's batch, and the batch lets
// every queue write when the socket being read has nothing more for now (the read callbacks
// run it after a read that did not fill its block: libuv reads again in the same event only
// after a full one). Bytes queued elsewhere (a connect, a write completion, a timer, a close
// callback) wait at most to the end of the loop's turn: a uv_prepare runs the batch before
// every poll, so nothing held ever waits on the loop blocking.
//
// Why: libuv reads a busy socket up to 32 times for one event, and a relayed response used to
// cost one write(2) per block read. On this path a write(2) is mostly fixed kernel cost (entry,
// TCP push, a wakeup of the peer), so one writev per burst is cheaper: a 64 KiB response went
// from 8 system calls to 6. Why not hold everything to the end of the turn: a small response
// would then keep its block and its exchange until every other event of the turn is handled,
// and a burst of new connections piles those up (idle connections measured 15% more RSS).
//
// With a SocketRing (socket_ring.h), the sends a run makes share one entry into the kernel, so
// a run should have many: reads then end a burst without running the batch until it holds
// kRingRun queues, and the rest wait to the end of the turn. The cap bounds what the held
// responses pin (their blocks and exchanges) in a burst of new connections.
//
// Loop thread only.
#pragma once

#include <uv.h>

#include <cstddef>
#include <memory>

#include "proxy/core/socket_ring.h"

namespace ferry::proxy {

class OutQueue;

class WriteBatch {
 public:
  WriteBatch(const WriteBatch&) = delete;
  WriteBatch& operator=(const WriteBatch&) = delete;

  // Queues held before a read burst's end runs the batch, when sends go through a ring.
  static constexpr std::size_t kRingRun = 32;

  WriteBatch();
  ~WriteBatch();

  // Starts the loop handle. It is unreferenced: it never keeps a loop alive.
  void start(uv_loop_t* loop);
  // From now on, the sends of each run go through `ring` (null: send(2)). Not while it runs.
  void use_ring(std::unique_ptr<SocketRing> ring) { ring_ = std::move(ring); }
  // Closes the handle; from then on queues write at once. Idempotent. Held queues stay held
  // (the owners are closing) until they are cleared or destroyed.
  void close();

  // Whether a flush now should wait for the batch (false while the batch itself runs, before
  // start and after close).
  bool holding() const { return started_ && !running_; }
  // Whether a queue added now is seen to (by the run under way, or the next one).
  bool open() const { return started_; }
  // `q` has bytes to write at the end of this turn. Idempotent.
  void add(OutQueue* q);
  // `q` is going away or dropped its bytes. Fine for a queue not in the batch.
  void remove(OutQueue* q);

  // Lets every queue in the batch write, oldest first. Readers call it at the end of a burst
  // (see ends_read_burst); it also runs by itself at the end of each turn. With a ring, the
  // queues' sends are made before it returns.
  void run();
  // A reader's burst ended: runs the batch, or with a ring lets it gather up to kRingRun.
  void burst_ended() {
    if (ring_ == nullptr || held_ >= kRingRun) run();
  }

  // Whether a flush now should queue its send on the ring (only while the batch runs).
  bool sends_on_ring() const { return running_ && ring_ != nullptr; }
  // Queues a send for `q` (from OutQueue::flush, while sends_on_ring()); false if the ring
  // cannot take it (it failed), and the queue sends the ordinary way.
  bool send_on_ring(OutQueue* q, uv_stream_t* stream, int fd, const uv_buf_t* bufs, std::size_t n, int flags);
  // Makes every send queued on the ring now and tells their queues. For a queue about to
  // lose its socket or its bytes; run() does it before it returns.
  void settle();

  // Whether a read callback's result ends the socket's burst: anything but a read that
  // filled the whole buffer (`buffer_len`), after which libuv reads again at once.
  static bool ends_read_burst(ssize_t nread, std::size_t buffer_len) {
    return nread < 0 || static_cast<std::size_t>(nread) != buffer_len;
  }

 private:
  static void on_prepare(uv_prepare_t* handle);

  static void on_sent(void* queue, int result, std::size_t asked);

  OutQueue* head_ = nullptr;
  OutQueue* tail_ = nullptr;
  std::size_t held_ = 0;  // queues in the list
  std::unique_ptr<SocketRing> ring_;
  uv_prepare_t before_poll_{};
  bool started_ = false;
  bool running_ = false;
};

}  // namespace ferry::proxy
