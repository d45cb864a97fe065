#include "health/health_state.h"

#include <algorithm>

namespace ferry::health {

HealthState::HealthState(uint32_t healthy_threshold, uint32_t unhealthy_threshold, bool healthy)
    : healthy_threshold_(std::max<uint32_t>(healthy_threshold, 1)),
      unhealthy_threshold_(std::max<uint32_t>(unhealthy_threshold, 1)),
      healthy_(healthy) {}

void HealthState::set_thresholds(uint32_t healthy_threshold, uint32_t unhealthy_threshold) {
  healthy_threshold_ = std::max<uint32_t>(healthy_threshold, 1);
  unhealthy_threshold_ = std::max<uint32_t>(unhealthy_threshold, 1);
}

Transition HealthState::observe(bool ok) {
  if (ok) {
    failures_ = 0;
    if (passes_ < UINT32_MAX) ++passes_;
    if (healthy_) return Transition::Unchanged;
    if (passes_ < healthy_threshold_) return Transition::Pending;
    healthy_ = true;
    return Transition::Changed;
  }
  passes_ = 0;
  if (failures_ < UINT32_MAX) ++failures_;
  if (!healthy_) return Transition::Unchanged;
  if (failures_ < unhealthy_threshold_) return Transition::Pending;
  healthy_ = false;
  return Transition::Changed;
}

bool HealthState::mark_unhealthy() {
  const bool was_healthy = healthy_;
  healthy_ = false;
  passes_ = 0;
  return was_healthy;
}

}  // namespace ferry::health
