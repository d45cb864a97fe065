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
// Loop thread only.
#pragma once

#include <uv.h>

#include <cstddef>

namespace ferry::proxy {

class OutQueue;

class WriteBatch {
 public:
  WriteBatch() = default;
  WriteBatch(const WriteBatch&) = delete;
  WriteBatch& operator=(const WriteBatch&) = delete;

  // Starts the loop handle. It is unreferenced: it never keeps a loop alive.
  void start(uv_loop_t* loop);
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
  // (see ends_read_burst); it also runs by itself at the end of each turn.
  void run();

  // Whether a read callback's result ends the socket's burst: anything but a read that
  // filled the whole buffer (`buffer_len`), after which libuv reads again at once.
  static bool ends_read_burst(ssize_t nread, std::size_t buffer_len) {
    return nread < 0 || static_cast<std::size_t>(nread) != buffer_len;
  }

 private:
  static void on_prepare(uv_prepare_t* handle);

  OutQueue* head_ = nullptr;
  OutQueue* tail_ = nullptr;
  uv_prepare_t before_poll_{};
  bool started_ = false;
  bool running_ = false;
};

}  // namespace ferry::proxy
