// Least outstanding requests: the backend with the fewest requests in flight across all workers
// (Backend::load, relaxed reads, so a hint). Ties go round robin from a per-worker cursor so an
// idle pool doesn't send everything to backend 0.
#pragma once

#include "balancer/balancer.h"

namespace ferry::balancer {

class LeastOutstanding final : public Balancer {
 public:
  // Worker i's tie-breaking cursor starts at i, as round robin's does.
  explicit LeastOutstanding(unsigned worker_index) : cursor_(worker_index) {}
  void on_snapshot(const PoolView& /*snap*/) override {}
  // O(backends) per pick: one relaxed load per eligible backend.
  std::optional<std::size_t> pick(const PoolView& snap, std::string_view key,
                                  const TriedSet& tried) override;

 private:
  std::size_t cursor_;
};

}  // namespace ferry::balancer
