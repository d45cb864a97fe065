#include "balancer/least_outstanding.h"

#include <atomic>
#include <limits>

namespace ferry::balancer {

std::optional<std::size_t> LeastOutstanding::pick(const PoolView& snap, std::string_view /*key*/,
                                                  const TriedSet& tried) {
  const std::size_t n = snap.size();
  if (n == 0) return std::nullopt;
  const std::size_t start = cursor_ % n;
  std::size_t best = n;
  uint32_t best_outstanding = std::numeric_limits<uint32_t>::max();
  for (std::size_t step = 0; step < n; ++step) {
    std::size_t i = start + step;
    if (i >= n) i -= n;
    if (!snap.eligible(i) || tried.contains(i)) continue;
    const uint32_t outstanding = snap.backends[i].load->outstanding.load(std::memory_order_relaxed);
    // Strictly fewer: among equals the first after the cursor wins, which rotates the ties.
    if (best == n || outstanding < best_outstanding) {
      best = i;
      best_outstanding = outstanding;
      if (outstanding == 0) break;  // nothing beats an idle backend
    }
  }
  if (best == n) return std::nullopt;
  cursor_ = best + 1;
  return best;
}

}  // namespace ferry::balancer
