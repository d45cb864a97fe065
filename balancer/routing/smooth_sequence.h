// The order a weighted forward action walks its pools in, built once at load so a request
// costs one modulo: nginx's smooth weighted round robin run for one whole cycle, so 90/10
// becomes nine of one and one of the other in every ten, interleaved rather than in a block.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ferry::balancer::routing {

// Longer than five pools at the highest weight need (5 x 1000), short enough to stay in cache.
inline constexpr std::size_t kMaxSequenceLength = 10000;

// Positions into `weights`, each appearing weight/g times, g the weights' greatest common
// divisor, so one pass of the result splits exactly by weight. Weights of 0 never appear.
// When the reduced weights add up to more than kMaxSequenceLength they are scaled down to fit
// (each kept at 1 or more), which makes the split approximate. Empty when no weight is above 0.
std::vector<uint32_t> smooth_sequence(const std::vector<uint32_t>& weights);

}  // namespace ferry::balancer::routing
