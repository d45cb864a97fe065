// A tiny, fast, seedable PRNG for per-worker balancer decisions. SplitMix64 (Steele, Lea and
// Flood): one add and a mix per draw, full 2^64 period, good enough to spread picks and fully
// reproducible from its seed, which is what tests need. Not for anything secret.
#pragma once

#include <cstdint>

namespace ferry::balancer {

class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}

  uint64_t next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }

  // Uniform in [0, bound) for bound < 2^32 (Lemire's multiply-shift; the bias is below 2^-32).
  uint32_t below(uint32_t bound) {
    return static_cast<uint32_t>(((next() >> 32) * static_cast<uint64_t>(bound)) >> 32);
  }

 private:
  uint64_t state_;
};

}  // namespace ferry::balancer
