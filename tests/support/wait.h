// Waiting for something that happens on another thread or process, for integration tests.
#pragma once

#include <chrono>
#include <thread>

namespace ferry::testing {

// Polls `pred` every 10ms until it holds or `limit` passes, so tests wait on outcomes, not sleeps.
// Returns whether it held (checked once more at the deadline).
template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pred();
}

}  // namespace ferry::testing
