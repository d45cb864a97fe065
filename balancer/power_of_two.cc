#include "balancer/power_of_two.h"

#include <atomic>

namespace ferry::balancer {

namespace {

// Random draws before falling back to a scan; with most backends usable, the first one hits.
constexpr int kDrawAttempts = 8;

}  // namespace

std::size_t PowerOfTwo::draw(const PoolView& snap, const TriedSet& tried, std::size_t other) {
  const std::size_t n = snap.size();
  const bool exclude = other < n;
  const auto pool = static_cast<uint32_t>(exclude ? n - 1 : n);
  if (pool == 0) return n;
  auto usable = [&](std::size_t i) { return snap.eligible(i) && !tried.contains(i); };
  for (int attempt = 0; attempt < kDrawAttempts; ++attempt) {
    std::size_t i = rng_.below(pool);
    if (exclude && i >= other) ++i;  // uniform over everything but `other`
    if (usable(i)) return i;
  }
  // Mostly unusable: scan from a random start. Slightly favours a backend right after a run of
  // unusable ones, which is fine for a hint and keeps the pick allocation-free.
  const std::size_t start = rng_.below(static_cast<uint32_t>(n));
  for (std::size_t step = 0; step < n; ++step) {
    std::size_t i = start + step;
    if (i >= n) i -= n;
    if (i != other && usable(i)) return i;
  }
  return n;
}

std::optional<std::size_t> PowerOfTwo::pick(const PoolView& snap, std::string_view /*key*/,
                                            const TriedSet& tried) {
  const std::size_t n = snap.size();
  const std::size_t first = draw(snap, tried, n);
  if (first == n) return std::nullopt;
  const std::size_t second = draw(snap, tried, first);
  if (second == n) return first;
  const uint32_t a = snap.backends[first].load->outstanding.load(std::memory_order_relaxed);
  const uint32_t b = snap.backends[second].load->outstanding.load(std::memory_order_relaxed);
  return b < a ? second : first;
}

}  // namespace ferry::balancer
