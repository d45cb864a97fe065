#include "balancer/weighted_round_robin.h"

namespace ferry::balancer {

namespace {

// One smooth-WRR step over the backends `usable` admits. Returns weights.size() when none is.
// Weights come from a compact copy: reading them out of the Backend structs strides over a
// cache line or more per backend, which is most of the cost at a thousand backends.
template <class Usable>
std::size_t step(const std::vector<int64_t>& weights, std::vector<int64_t>& current,
                 Usable usable) {
  const std::size_t n = weights.size();
  int64_t total = 0;
  std::size_t best = n;
  int64_t best_current = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (!usable(i)) continue;
    const int64_t now = current[i] + weights[i];
    current[i] = now;
    total += weights[i];
    if (best == n || now > best_current) {
      best = i;
      best_current = now;
    }
  }
  if (best != n) current[best] -= total;
  return best;
}

}  // namespace

void WeightedRoundRobin::on_snapshot(const PoolView& snap) {
  if (!built_ || snap.backend_set != backend_set_ || current_.size() != snap.size()) rebuild(snap);
}

void WeightedRoundRobin::rebuild(const PoolView& snap) {
  built_ = true;
  backend_set_ = snap.backend_set;
  current_.assign(snap.size(), 0);
  weights_.clear();
  for (const Backend& b : snap.backends) weights_.push_back(b.weight);
  for (unsigned i = 0; i < worker_index_ && !current_.empty(); ++i)
    step(weights_, current_, [](std::size_t) { return true; });
}

std::optional<std::size_t> WeightedRoundRobin::pick(const PoolView& snap, std::string_view /*key*/,
                                                    const TriedSet& tried) {
  // Only a caller that skipped on_snapshot gets here with a new set; resync rather than index
  // out of range. That allocates, but only on a backend-set change.
  if (!built_ || snap.backend_set != backend_set_ || current_.size() != snap.size()) rebuild(snap);
  // Snapshot::eligible spelled out with its fields hoisted: the loop runs once per backend.
  const std::size_t best =
      tried.size() == 0 && snap.draining == nullptr
          ? step(weights_, current_, [&](std::size_t i) { return snap.all_open || snap.healthy[i]; })
          : step(weights_, current_, [&](std::size_t i) {
              return snap.eligible(i) && !tried.contains(i);
            });
  if (best == snap.size()) return std::nullopt;
  return best;
}

}  // namespace ferry::balancer
