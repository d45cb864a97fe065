#include "health/publisher.h"

#include <algorithm>
#include <chrono>
#include <memory>

namespace ferry::health {

namespace {

int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Slow start (balancer/slow_start.h), as an ALB's: a backend that turns healthy ramps up when
// its pool has slow_start and another backend already serves at full weight (a pool coming up
// as a whole would otherwise ramp from nothing); one that turns unhealthy leaves its ramp and
// starts a new one when it recovers.
void start_or_end_ramp(balancer::Snapshot& snap, std::size_t index, bool healthy, int64_t now) {
  const uint32_t pool = snap.backends[index].pool;
  if (pool >= snap.pools.size() || snap.pools[pool].slow_start_ms <= 0) return;
  const balancer::PoolSlice& slice = snap.pools[pool];
  snap.ramp_since_ms.resize(snap.size(), 0);
  if (!healthy) {
    snap.ramp_since_ms[index] = 0;
    return;
  }
  bool others_serve = false;
  for (uint32_t i = slice.first; i < slice.first + slice.count; ++i) {
    if (i == index || snap.healthy[i] == 0 || snap.is_draining(i)) continue;
    const int64_t since = snap.ramp_since_ms[i];
    others_serve = others_serve || since == 0 || now - since >= slice.slow_start_ms;
  }
  snap.ramp_since_ms[index] = others_serve ? now : 0;
}

}  // namespace

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
  start_or_end_ramp(next, index, healthy, steady_ms());
  next.generation = ++generation_;
  next.finish();
  current_ = std::make_shared<const balancer::Snapshot>(std::move(next));
  for (uv_async_t* nudge : subscribers_) uv_async_send(nudge);
  return true;
}

std::size_t Publisher::set_drained_by_hand(std::string_view pool, std::string_view name, bool drained) {
  std::lock_guard lock(mutex_);
  if (!current_) return 0;
  balancer::Snapshot next = *current_;
  std::size_t matched = 0;
  bool changed = false;
  for (std::size_t i = 0; i < next.size(); ++i) {
    const balancer::Backend& b = next.backends[i];
    if (b.name != name || b.pool >= next.pools.size() || next.pools[b.pool].name != pool) continue;
    if (next.is_draining(i) && !next.drained_by_hand(i)) continue;  // removed by a reload: leaving anyway
    ++matched;
    if (next.drained_by_hand(i) == drained) continue;
    next.draining.resize(next.size(), 0);
    next.drain_until_ms.resize(next.size(), 0);
    next.draining[i] = drained ? 1 : 0;
    next.drain_until_ms[i] = 0;
    changed = true;
  }
  if (!changed) return matched;
  next.generation = ++generation_;
  next.finish();
  current_ = std::make_shared<const balancer::Snapshot>(std::move(next));
  for (uv_async_t* nudge : subscribers_) uv_async_send(nudge);
  return matched;
}

uint64_t Publisher::new_backend_set() {
  std::lock_guard lock(mutex_);
  return ++backend_sets_;
}

bool Publisher::end_finished_drains(int64_t now_ms) {
  std::lock_guard lock(mutex_);
  if (!current_ || current_->draining.empty()) return false;
  const balancer::Snapshot& now = *current_;
  auto finished = [&](std::size_t i) {
    // drain_until 0 marks a backend drained by hand, which stays until it is made ready.
    if (now.draining[i] == 0 || now.drain_until_ms[i] == 0) return false;
    return now_ms >= now.drain_until_ms[i] ||
           now.backends[i].load->outstanding.load(std::memory_order_relaxed) == 0;
  };
  bool any = false;
  for (std::size_t i = 0; i < now.size() && !any; ++i) any = finished(i);
  if (!any) return false;

  balancer::Snapshot next;
  next.config_generation = now.config_generation;
  next.fail_open = now.fail_open;
  next.pools = now.pools;
  for (balancer::PoolSlice& pool : next.pools) {
    const uint32_t first = pool.first;
    const uint32_t count = pool.count;
    pool.first = static_cast<uint32_t>(next.backends.size());
    for (uint32_t i = first; i < first + count; ++i) {
      if (finished(i)) continue;
      next.backends.push_back(now.backends[i]);
      next.healthy.push_back(now.healthy[i]);
      next.draining.push_back(now.draining[i]);
      next.drain_until_ms.push_back(now.drain_until_ms[i]);
      next.ramp_since_ms.push_back(i < now.ramp_since_ms.size() ? now.ramp_since_ms[i] : 0);
    }
    pool.count = static_cast<uint32_t>(next.backends.size()) - pool.first;
  }
  next.backend_set = ++backend_sets_;
  next.generation = ++generation_;
  next.finish();
  current_ = std::make_shared<const balancer::Snapshot>(std::move(next));
  for (uv_async_t* nudge : subscribers_) uv_async_send(nudge);
  return true;
}

}  // namespace ferry::health
