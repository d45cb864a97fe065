// Hysteresis for one backend's health: it turns unhealthy after `unhealthy_threshold`
// consecutive failed checks and healthy again after `healthy_threshold` consecutive passes.
// A pure step: no timers, no sockets, so a table of observations tests it completely.
#pragma once

#include <cstdint>

namespace ferry::health {

enum class Transition : uint8_t {
  Unchanged,  // the observation agrees with the current state
  Pending,    // it disagrees, but not yet threshold times in a row
  Changed,    // threshold reached: healthy() just flipped
};

class HealthState {
 public:
  // Thresholds below 1 count as 1. A backend starts healthy unless told otherwise.
  HealthState(uint32_t healthy_threshold, uint32_t unhealthy_threshold, bool healthy = true);

  // One check's result. A pass clears the failure run and vice versa.
  Transition observe(bool ok);

  // A worker saw a refused connect: unhealthy at once, and it takes healthy_threshold passes to
  // come back. Returns true when it was healthy.
  bool mark_unhealthy();

  // Keeps the state and the current runs; the next observation is judged by the new values.
  void set_thresholds(uint32_t healthy_threshold, uint32_t unhealthy_threshold);

  bool healthy() const { return healthy_; }
  uint32_t consecutive_passes() const { return passes_; }
  uint32_t consecutive_failures() const { return failures_; }
  uint32_t healthy_threshold() const { return healthy_threshold_; }
  uint32_t unhealthy_threshold() const { return unhealthy_threshold_; }

 private:
  uint32_t healthy_threshold_;
  uint32_t unhealthy_threshold_;
  bool healthy_;
  uint32_t passes_ = 0;
  uint32_t failures_ = 0;
};

}  // namespace ferry::health
