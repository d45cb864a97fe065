// Round robin: the ALB's default. Each worker has its own cursor, started at its index so the
// workers don't march in step.
#pragma once

#include "balancer/balancer.h"

namespace ferry::balancer {

class RoundRobin final : public Balancer {
 public:
  explicit RoundRobin(unsigned start) : cursor_(start) {}
  void on_snapshot(const PoolView& /*snap*/) override {}
  std::optional<std::size_t> pick(const PoolView& snap, std::string_view key,
                                  const TriedSet& tried) override;

 private:
  std::size_t cursor_;
};

}  // namespace ferry::balancer
