// Smooth weighted round robin, as nginx does it: every pick adds each candidate's weight to its
// running score, takes the highest, and subtracts the total from the winner. Weights 5:1:1 come
// out as a a b a c a a, never five a's in a row, so a heavy backend's load stays smooth.
#pragma once

#include <cstdint>
#include <vector>

#include "balancer/balancer.h"

namespace ferry::balancer {

class WeightedRoundRobin final : public Balancer {
 public:
  // Worker `worker_index` starts that many steps into the sequence, so workers don't all open
  // with the heaviest backend.
  explicit WeightedRoundRobin(unsigned worker_index) : worker_index_(worker_index) {}

  // Resets the scores when the backend set changes; a health change keeps them.
  void on_snapshot(const PoolView& snap) override;
  // Only eligible backends not in `tried` take part in a round, so the others' scores stand
  // still rather than piling up while they are down.
  std::optional<std::size_t> pick(const PoolView& snap, std::string_view key,
                                  const TriedSet& tried) override;

 private:
  void rebuild(const PoolView& snap);

  unsigned worker_index_;
  uint64_t backend_set_ = 0;
  bool built_ = false;
  std::vector<int64_t> weights_;  // Backend::weight, copied per backend set
  std::vector<int64_t> current_;  // nginx's current_weight, per backend
};

}  // namespace ferry::balancer
