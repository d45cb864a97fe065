// A worker's hold on a published snapshot. Requests in flight keep the snapshot they picked
// from alive with a plain (non-atomic) count, so adopting a new snapshot never touches a
// reference count shared with other cores on the request path.
#pragma once

#include <cstdint>
#include <memory>

#include "balancer/snapshot.h"
#include "proxy/core/settings.h"

namespace ferry::proxy {

struct LocalSnapshot {
  balancer::SnapshotPtr snapshot;
  std::shared_ptr<const Routing> routing;  // of the same config generation as `snapshot`
  uint32_t users = 0;      // requests that picked from it; loop thread only
  bool retired = false;    // a newer snapshot was adopted; freed when users reaches 0

  const balancer::Snapshot& get() const { return *snapshot; }
  const Routing& routes() const { return *routing; }
};

}  // namespace ferry::proxy
