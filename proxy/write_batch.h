// Writes held to the end of the event loop's turn. A connection that queues bytes while it
// handles an event does not write them at once: its queue joins the worker's batch, and the
// batch lets every queue write once the turn's events are handled (a uv_check right after the
// poll; a uv_prepare before the next poll catches bytes queued by timers and close callbacks).
//
// Why: libuv reads a busy socket up to 32 times for one event, and a relayed response used to
// cost one write(2) per block read. On this path a write(2) is mostly fixed kernel cost (entry,
// TCP push, a wakeup of the peer), so one writev per connection per turn is cheaper: a 64 KiB
// response went from 8 system calls to 6. Latency does not grow: the batch runs before the
// loop can block again.
//
// Loop thread only.
#pragma once

#include <uv.h>

namespace ferry::proxy {

class OutQueue;

class WriteBatch {
 public:
  WriteBatch() = default;
  WriteBatch(const WriteBatch&) = delete;
  WriteBatch& operator=(const WriteBatch&) = delete;

  // Starts the two loop handles. They are unreferenced: they never keep a loop alive.
  void start(uv_loop_t* loop);
  // Closes the handles; from then on queues write at once. Idempotent.
  void close();

  // Whether a flush now should wait for the batch (false while the batch itself runs, before
  // start and after close).
  bool holding() const { return started_ && !running_; }
  // `q` has bytes to write at the end of this turn. Idempotent.
  void add(OutQueue* q);
  // `q` is going away or dropped its bytes. Fine for a queue not in the batch.
  void remove(OutQueue* q);

  // Lets every queue in the batch write, oldest first. Runs by itself at the end of each turn;
  // public for tests.
  void run();

 private:
  static void on_check(uv_check_t* handle);
  static void on_prepare(uv_prepare_t* handle);

  OutQueue* head_ = nullptr;
  OutQueue* tail_ = nullptr;
  uv_check_t after_poll_{};
  uv_prepare_t before_poll_{};
  bool started_ = false;
  bool running_ = false;
};

}  // namespace ferry::proxy
