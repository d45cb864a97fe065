// Slow start: a backend that turns healthy (or joins a pool that already serves) gets a share of
// its full weight that rises linearly over the pool's `slow_start`, as an ALB target group's.
//
// It works with every algorithm the same way, after the algorithm's own pick: a pick of a
// ramping backend stands with probability `share`, else the algorithm picks again without it.
// So with round robin a backend 30% into its ramp gets about 30% of its usual turns, with the
// load-aware ones about 30% of the picks it would win. For consistent_hash the draw is the
// request key's own hash, not a random number: the keys whose hash falls below `share` move to
// the new backend, the others stay where they were until the ramp reaches them, so each key
// moves once, at a time that depends on the key, and never flaps back and forth.
#pragma once

#include <cstdint>

namespace ferry::balancer {

// The share (0..1) of its full weight a backend gets `now_ms - since_ms` into a ramp of
// `ramp_ms`; 1 when not ramping (`since_ms` 0, `ramp_ms` 0 or the ramp is over).
inline double ramp_share(int64_t since_ms, int64_t now_ms, int64_t ramp_ms) {
  if (since_ms == 0 || ramp_ms <= 0) return 1.0;
  const int64_t elapsed = now_ms - since_ms;
  if (elapsed >= ramp_ms) return 1.0;
  return elapsed <= 0 ? 0.0 : static_cast<double>(elapsed) / static_cast<double>(ramp_ms);
}

// Whether a pick at `share` stands, for a uniform `draw` in [0, 2^64).
inline bool pick_stands(double share, uint64_t draw) {
  if (share >= 1.0) return true;
  // 2^64 * share without overflow: compare the top 53 bits, a double's precision.
  return static_cast<double>(draw >> 11) < share * 9007199254740992.0;
}

}  // namespace ferry::balancer
