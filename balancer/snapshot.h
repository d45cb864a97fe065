// The backend set and its health, published together as one immutable value so a worker never
// sees a new backend list with old health.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "balancer/backend.h"

namespace ferry::balancer {

struct Snapshot {
  uint64_t generation = 0;     // bumped on every publish
  uint64_t backend_set = 0;    // bumped only when the list of backends changes (reload, DNS)
  std::vector<Backend> backends;
  std::vector<uint8_t> healthy;  // parallel to backends; 1 = passing health checks
  bool fail_open = false;        // with none healthy, every backend is eligible
  bool any_healthy = false;      // derived: computed by finish()

  // Call after filling `healthy`; fills the derived fields.
  void finish() {
    any_healthy = false;
    for (uint8_t h : healthy) any_healthy = any_healthy || h != 0;
  }

  bool eligible(std::size_t i) const { return healthy[i] != 0 || (fail_open && !any_healthy); }
  std::size_t size() const { return backends.size(); }
};

using SnapshotPtr = std::shared_ptr<const Snapshot>;

}  // namespace ferry::balancer
