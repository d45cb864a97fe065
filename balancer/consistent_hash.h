// Consistent hashing with a Maglev lookup table (Eisenbud et al., NSDI 2016): the same key goes
// to the same backend, and when one of N backends leaves the set only about 1/N of the keys move.
// The table has M = 65537 slots (a prime, so every skip visits every slot), is filled from each
// backend's own permutation, weighted by Backend::weight, and rebuilt only when the backend set
// changes. A pick is one hash and one table read.
#pragma once

#include <cstdint>
#include <vector>

#include "balancer/balancer.h"

namespace ferry::balancer {

class ConsistentHash final : public Balancer {
 public:
  static constexpr uint32_t kTableSize = 65537;

  // Rebuilds the table when the backend set changes (about a millisecond per 100 backends);
  // a health change keeps it, since an ineligible backend is walked past at pick time.
  void on_snapshot(const PoolView& snap) override;
  // hash(key) selects a slot. If that backend is ineligible or tried, the following slots are
  // walked, so an unhealthy backend's keys spread over the others and come back when it does.
  std::optional<std::size_t> pick(const PoolView& snap, std::string_view key,
                                  const TriedSet& tried) override;

  // The slot-to-backend table, for tests.
  const std::vector<uint32_t>& table() const { return table_; }

 private:
  void rebuild(const PoolView& snap);

  uint64_t backend_set_ = 0;
  bool built_ = false;
  std::size_t backends_ = 0;      // size of the set the table was built for
  std::vector<uint32_t> table_;   // kTableSize slots, each a backend index
};

// A backend's identity for hashing: its configured name and its resolved address, so a DNS name
// with several addresses yields several distinct backends. Stable across processes and reloads.
uint64_t backend_identity_hash(const Backend& backend, uint64_t seed);

}  // namespace ferry::balancer
