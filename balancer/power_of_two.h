// Power of two choices: draw two distinct eligible backends at random and take the one with
// fewer requests in flight. Nearly as good as least-outstanding at O(1) per pick, and it doesn't
// herd every worker onto the one backend that momentarily looks idle.
#pragma once

#include <cstdint>

#include "balancer/balancer.h"
#include "balancer/random.h"

namespace ferry::balancer {

class PowerOfTwo final : public Balancer {
 public:
  // `seed` fixes the random draws, so a test's picks are exact.
  explicit PowerOfTwo(uint64_t seed) : rng_(seed) {}
  void on_snapshot(const PoolView& /*snap*/) override {}
  std::optional<std::size_t> pick(const PoolView& snap, std::string_view key,
                                  const TriedSet& tried) override;

 private:
  // A uniformly drawn usable backend other than `other` (pass snap.size() for none), or
  // snap.size() when there is none.
  std::size_t draw(const PoolView& snap, const TriedSet& tried, std::size_t other);

  SplitMix64 rng_;
};

}  // namespace ferry::balancer
