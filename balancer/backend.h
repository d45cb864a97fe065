// One backend as every worker sees it. Immutable once published, except `load`.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace ferry::balancer {

// In-flight requests to one backend, summed over all workers. The one value shared by every
// worker on the request path: relaxed, read as a hint by the load-aware balancers. Padded to
// its own cache line so two backends' counters never share one.
struct alignas(64) Load {
  std::atomic<uint32_t> outstanding{0};
};

struct Backend {
  std::string name;  // "host:port" as written in the configuration: metric label and log name
  sockaddr_storage address{};
  uint32_t weight = 1;
  uint32_t pool = 0;          // index into Snapshot::pools (0 when the snapshot has none)
  uint32_t metrics_slot = 0;
  std::string sticky_id;  // its pool's stickiness cookie value; empty without stickiness  // index of this backend's counters in every worker's metrics
  // Shared by every snapshot that keeps this backend, so reloads and health changes keep its
  // in-flight count. Written by any worker thread (relaxed atomics only).
  std::shared_ptr<Load> load = std::make_shared<Load>();

  // The host part of `name`: "10.0.0.1", "::1" (without brackets), "api.internal".
  std::string_view host() const {
    const std::string_view n = name;
    if (!n.empty() && n.front() == '[') return n.substr(1, n.find(']') - 1);
    return n.substr(0, n.rfind(':'));
  }
};

}  // namespace ferry::balancer
