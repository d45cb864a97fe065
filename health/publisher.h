// Hands snapshots from the thread that makes them (main thread on load/reload, health thread on
// a transition) to every worker. Workers are nudged with uv_async_send and read the latest
// pointer once; a nudge means "read the latest", never a delta.
#pragma once

#include <uv.h>

#include <cstddef>
#include <mutex>
#include <string_view>
#include <vector>

#include "balancer/snapshot.h"

namespace ferry::health {

class Publisher {
 public:
  // Before any thread starts, or from the thread that owns `nudge`'s loop while it is running.
  // The handle must stay alive until unsubscribe().
  void subscribe(uv_async_t* nudge);
  void unsubscribe(uv_async_t* nudge);

  // Any thread. Stores `next` (its generation is set here) and nudges every subscriber.
  void publish(balancer::Snapshot next);

  // Any thread. The current snapshot; never null after the first publish.
  balancer::SnapshotPtr latest() const;

  // Any thread. Flips one backend's health in a new snapshot if it is still part of the
  // backend set `backend_set` and its state differs. Returns true when something was published.
  bool set_healthy(uint64_t backend_set, std::size_t index, bool healthy);

  // Any thread. Drains by hand (no new requests, in-flight ones finish, checks go on) or makes
  // ready again every backend of pool `pool` written as `name` (all its addresses), in a new
  // snapshot of the same backend set. A backend a reload removed stays as it is. Returns how
  // many backends matched (0: none by that pool and name).
  std::size_t set_drained_by_hand(std::string_view pool, std::string_view name, bool drained);

  // Any thread. A fresh backend-set number, for a snapshot whose backend list changed.
  uint64_t new_backend_set();

  // Any thread (the health thread, periodically). Takes out of the set every draining backend
  // whose last request finished or whose drain time is up (`now_ms`, steady clock), in one new
  // snapshot. Returns true when something was published.
  bool end_finished_drains(int64_t now_ms);

 private:
  // Guards every field below. Taken on publish and on a worker's nudge, never per request.
  mutable std::mutex mutex_;
  balancer::SnapshotPtr current_;
  uint64_t generation_ = 0;
  uint64_t backend_sets_ = 0;
  std::vector<uv_async_t*> subscribers_;
};

}  // namespace ferry::health
