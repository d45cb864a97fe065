#include "balancer/weighted_round_robin.h"

namespace ferry::balancer {

namespace {

// One smooth-WRR step over the backends `usable` admits. Returns snap.size() when none is.
template <class Usable>
std::size_t step(const Snapshot& snap, std::vector<int64_t>& current, Usable usable) {
  const std::size_t n = snap.size();
  int64_t total = 0;
  std::size_t best = n;
  for (std::size_t i = 0; i < n; ++i) {
    if (!usable(i)) continue;
    const auto weight = static_cast<int64_t>(snap.backends[i].weight);
    current[i] += weight;
    total += weight;
    if (best == n || current[i] > current[best]) best = i;
  }
  if (best != n) current[best] -= total;
  return best;
}

}  // namespace

void WeightedRoundRobin::on_snapshot(const Snapshot& snap) {
  if (!built_ || snap.backend_set != backend_set_ || current_.size() != snap.size()) rebuild(snap);
}

void WeightedRoundRobin::rebuild(const Snapshot& snap) {
  built_ = true;
  backend_set_ = snap.backend_set;
  current_.assign(snap.size(), 0);
  for (unsigned i = 0; i < worker_index_ && !current_.empty(); ++i)
    step(snap, current_, [](std::size_t) { return true; });
}

std::optional<std::size_t> WeightedRoundRobin::pick(const Snapshot& snap, std::string_view /*key*/,
                                                    const TriedSet& tried) {
  // Only a caller that skipped on_snapshot gets here with a new set; resync rather than index
  // out of range. That allocates, but only on a backend-set change.
  if (!built_ || snap.backend_set != backend_set_ || current_.size() != snap.size()) rebuild(snap);
  const std::size_t best =
      step(snap, current_, [&](std::size_t i) { return snap.eligible(i) && !tried.contains(i); });
  if (best == snap.size()) return std::nullopt;
  return best;
}

}  // namespace ferry::balancer
