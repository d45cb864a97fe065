// config::BalancerKind -> a fresh per-worker Balancer.
#include "balancer/consistent_hash.h"
#include "balancer/least_outstanding.h"
#include "balancer/power_of_two.h"
#include "balancer/round_robin.h"
#include "balancer/weighted_round_robin.h"

namespace ferry::balancer {

std::unique_ptr<Balancer> make_balancer(config::BalancerKind kind, unsigned worker_index,
                                        uint64_t seed) {
  switch (kind) {
    case config::BalancerKind::RoundRobin:
      return std::make_unique<RoundRobin>(worker_index);
    case config::BalancerKind::WeightedRoundRobin:
      return std::make_unique<WeightedRoundRobin>(worker_index);
    case config::BalancerKind::LeastOutstanding:
      return std::make_unique<LeastOutstanding>(worker_index);
    case config::BalancerKind::PowerOfTwo:
      // Each worker draws its own sequence: equal seeds would pick in lockstep.
      return std::make_unique<PowerOfTwo>(seed ^ (0x9E3779B97F4A7C15ULL * (worker_index + 1ULL)));
    case config::BalancerKind::ConsistentHash:
      return std::make_unique<ConsistentHash>();
  }
  return std::make_unique<RoundRobin>(worker_index);
}

}  // namespace ferry::balancer
