#include "balancer/round_robin.h"

namespace ferry::balancer {

std::optional<std::size_t> RoundRobin::pick(const PoolView& snap, std::string_view /*key*/,
                                            const TriedSet& tried) {
  const std::size_t n = snap.size();
  for (std::size_t step = 0; step < n; ++step) {
    const std::size_t i = cursor_++ % n;
    if (snap.eligible(i) && !tried.contains(i)) return i;
  }
  return std::nullopt;
}

}  // namespace ferry::balancer
