// A thread that a test stops and joins whatever way the test ends. A joinable std::thread
// destroyed by a failed ASSERT's early return calls std::terminate, which aborts the whole test
// binary (and leaves any child process it started behind).
#pragma once

#include <atomic>
#include <thread>
#include <utility>

namespace ferry::testing {

class ScopedThread {
 public:
  // `body` runs on the new thread and should return soon after `stop` turns true.
  template <typename Body>
  ScopedThread(std::atomic<bool>& stop, Body body) : stop_(stop), thread_(std::move(body)) {}
  ~ScopedThread() { join(); }
  ScopedThread(const ScopedThread&) = delete;
  ScopedThread& operator=(const ScopedThread&) = delete;

  void join() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::atomic<bool>& stop_;
  std::thread thread_;
};

}  // namespace ferry::testing
