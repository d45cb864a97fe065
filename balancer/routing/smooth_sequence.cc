#include "balancer/routing/smooth_sequence.h"

#include <algorithm>
#include <numeric>

namespace ferry::balancer::routing {

namespace {

uint64_t sum_of(const std::vector<uint64_t>& weights) {
  return std::accumulate(weights.begin(), weights.end(), uint64_t{0});
}

// Divides every weight by their greatest common divisor (zeros do not change it).
void reduce(std::vector<uint64_t>& weights) {
  uint64_t divisor = 0;
  for (uint64_t w : weights) divisor = std::gcd(divisor, w);
  if (divisor > 1)
    for (uint64_t& w : weights) w /= divisor;
}

}  // namespace

std::vector<uint32_t> smooth_sequence(const std::vector<uint32_t>& weights) {
  std::vector<uint64_t> reduced(weights.begin(), weights.end());
  reduce(reduced);
  uint64_t total = sum_of(reduced);
  if (total > kMaxSequenceLength) {
    for (uint64_t& w : reduced)
      if (w > 0) w = std::max<uint64_t>(1, w * kMaxSequenceLength / total);
    reduce(reduced);
    total = sum_of(reduced);
  }

  std::vector<uint32_t> sequence;
  sequence.reserve(total);
  std::vector<int64_t> current(reduced.size(), 0);
  for (uint64_t step = 0; step < total; ++step) {
    std::size_t best = 0;
    for (std::size_t i = 0; i < reduced.size(); ++i) {
      current[i] += static_cast<int64_t>(reduced[i]);
      if (current[i] > current[best]) best = i;  // ties go to the earlier pool, as in nginx
    }
    current[best] -= static_cast<int64_t>(total);
    sequence.push_back(static_cast<uint32_t>(best));
  }
  return sequence;
}

}  // namespace ferry::balancer::routing
