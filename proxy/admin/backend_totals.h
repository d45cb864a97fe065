// One backend's counters added up over every worker, for whoever reads them on the admin
// thread: the Prometheus scrape and the status page.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <vector>

#include "proxy/admin/metrics.h"

namespace ferry::proxy {

struct BackendTotals {
  std::map<uint32_t, uint64_t> codes;  // status code -> count (0 = other)
  std::array<uint64_t, kLatencyBuckets.size() + 1> buckets{};
  uint64_t count = 0;
  uint64_t sum_ns = 0;
  std::array<uint64_t, kBackendErrorKinds.size()> errors{};
  bool seen = false;  // some worker has counters for the slot

  // Responses of every status code.
  uint64_t responses() const;
  // Responses with a 5xx status (ferry's own 502 and 504 for a failed backend included).
  uint64_t server_errors() const;
};

// Any thread (relaxed reads of single-writer counters). The totals of metric slot `slot`.
BackendTotals backend_totals(const std::vector<const WorkerMetrics*>& workers, uint32_t slot);

}  // namespace ferry::proxy
