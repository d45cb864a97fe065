#include "health/publisher.h"

#include <algorithm>
#include <memory>

namespace ferry::health {

void Publisher::subscribe(uv_async_t* nudge) {
  std::lock_guard lock(mutex_);
  subscribers_.push_back(nudge);
}

void Publisher::unsubscribe(uv_async_t* nudge) {
  std::lock_guard lock(mutex_);
  subscribers_.erase(std::remove(subscribers_.begin(), subscribers_.end(), nudge),
                     subscribers_.end());
}

void Publisher::publish(balancer::Snapshot next) {
  std::lock_guard lock(mutex_);
  next.generation = ++generation_;
  next.finish();
  current_ = std::make_shared<const balancer::Snapshot>(std::move(next));
  for (uv_async_t* nudge : subscribers_) uv_async_send(nudge);
}

balancer::SnapshotPtr Publisher::latest() const {
  std::lock_guard lock(mutex_);
  return current_;
}

bool Publisher::set_healthy(uint64_t backend_set, std::size_t index, bool healthy) {
  std::lock_guard lock(mutex_);
  if (!current_ || current_->backend_set != backend_set || index >= current_->size()) return false;
  if ((current_->healthy[index] != 0) == healthy) return false;
  balancer::Snapshot next = *current_;
  next.healthy[index] = healthy ? 1 : 0;
  next.generation = ++generation_;
  next.finish();
  current_ = std::make_shared<const balancer::Snapshot>(std::move(next));
  for (uv_async_t* nudge : subscribers_) uv_async_send(nudge);
  return true;
}

}  // namespace ferry::health
