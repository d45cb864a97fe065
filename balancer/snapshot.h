// The backend set and its health, published together as one immutable value so a worker never
// sees a new backend list with old health. Backends are grouped by pool: each pool is a run of
// the list (PoolSlice), and a balancer sees one pool at a time through a PoolView.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "balancer/backend.h"
#include "config/config.h"

namespace ferry::balancer {

// One pool's run of the backend list and what applies to all of it.
struct PoolSlice {
  std::string name;
  config::BalancerKind balancer = config::BalancerKind::RoundRobin;  // for /backends
  uint32_t first = 0;  // index of its first backend in Snapshot::backends
  uint32_t count = 0;
  bool fail_open = false;  // with none healthy, every backend not draining is eligible
  bool any_up = false;     // derived by finish(): some backend is healthy and not draining
  int64_t slow_start_ms = 0;  // a backend turning healthy ramps up over this; 0 = off
  int64_t drain_ms = 0;       // a backend removed from the pool drains this long at most
  // The pool's health checks; shared, so a health flip copies a pointer, not the settings.
  std::shared_ptr<const config::HealthCheck> health = std::make_shared<config::HealthCheck>();
  // HTTPS to the backends, for the checker (the workers' contexts travel in their Routing);
  // none: plain HTTP.
  std::optional<config::PoolTls> tls;
};

struct Snapshot;

// What a balancer sees: one pool's backends, indexed from 0, and which of them are eligible.
class PoolView {
 public:
  PoolView(const Snapshot& snap, const PoolSlice& pool);
  // The whole snapshot as one pool (single-pool tools and tests).
  PoolView(const Snapshot& snap);  // NOLINT(google-explicit-constructor): a snapshot is a pool

  std::size_t size() const { return backends.size(); }
  // Healthy (or the pool fails open with none healthy) and not draining.
  bool eligible(std::size_t i) const {
    return (draining == nullptr || draining[i] == 0) && (healthy[i] != 0 || all_open);
  }

  uint64_t backend_set = 0;  // changes whenever any pool's backend list does
  std::span<const Backend> backends;
  const uint8_t* healthy = nullptr;
  const uint8_t* draining = nullptr;  // null: none is
  bool all_open = false;              // fail_open and no backend up: health is ignored
};

struct Snapshot {
  uint64_t generation = 0;     // bumped on every publish
  uint64_t backend_set = 0;    // bumped only when the list of backends changes (reload, DNS)
  uint64_t config_generation = 0;  // the configuration (load or reload) that made the list
  std::vector<Backend> backends;
  std::vector<uint8_t> healthy;   // parallel to backends; 1 = passing health checks
  // Parallel to backends (or empty: none). 1 = gets no new requests: removed from its pool by a
  // reload and finishing what it has, until `drain_until_ms` (steady clock) or its last request;
  // or drained by hand from the admin API (drain_until_ms 0), until it is made ready again.
  std::vector<uint8_t> draining;
  std::vector<int64_t> drain_until_ms;  // parallel to draining
  // Parallel to backends (or empty: none ramping). Steady-clock ms when the backend turned
  // healthy or joined its pool, for slow start; 0 = at full weight.
  std::vector<int64_t> ramp_since_ms;
  std::vector<PoolSlice> pools;   // empty: every backend is one pool (tests, tools)
  bool fail_open = false;         // single-pool snapshots: with none healthy, every backend is eligible
  bool any_healthy = false;       // derived: computed by finish()

  // Call after filling `healthy`, `draining` and `pools`; fills the derived fields.
  void finish() {
    any_healthy = false;
    for (std::size_t i = 0; i < healthy.size(); ++i)
      any_healthy = any_healthy || (healthy[i] != 0 && !is_draining(i));
    for (PoolSlice& p : pools) {
      p.any_up = false;
      for (uint32_t i = p.first; i < p.first + p.count && i < healthy.size(); ++i)
        p.any_up = p.any_up || (healthy[i] != 0 && !is_draining(i));
    }
  }

  bool is_draining(std::size_t i) const { return i < draining.size() && draining[i] != 0; }
  // Drained from the admin API (it stays in its pool and keeps its checks); else removed by a reload.
  bool drained_by_hand(std::size_t i) const {
    return is_draining(i) && i < drain_until_ms.size() && drain_until_ms[i] == 0;
  }
  // What /backends and the status page call the backend's state.
  const char* state_name(std::size_t i) const {
    if (drained_by_hand(i)) return "drained";
    if (is_draining(i)) return "draining";
    return healthy[i] != 0 ? "healthy" : "unhealthy";
  }
  bool eligible(std::size_t i) const {
    return !is_draining(i) && (healthy[i] != 0 || (fail_open && !any_healthy));
  }
  std::size_t size() const { return backends.size(); }
  PoolView pool(std::size_t p) const { return PoolView(*this, pools[p]); }
};

inline PoolView::PoolView(const Snapshot& snap, const PoolSlice& pool)
    : backend_set(snap.backend_set),
      backends(snap.backends.data() + pool.first, pool.count),
      healthy(snap.healthy.data() + pool.first),
      draining(snap.draining.empty() ? nullptr : snap.draining.data() + pool.first),
      all_open(pool.fail_open && !pool.any_up) {}

inline PoolView::PoolView(const Snapshot& snap)
    : backend_set(snap.backend_set),
      backends(snap.backends),
      healthy(snap.healthy.data()),
      draining(snap.draining.empty() ? nullptr : snap.draining.data()),
      all_open(snap.fail_open && !snap.any_healthy) {}

using SnapshotPtr = std::shared_ptr<const Snapshot>;

}  // namespace ferry::balancer
