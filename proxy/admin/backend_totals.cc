#include "proxy/admin/backend_totals.h"

#include <atomic>

namespace ferry::proxy {

namespace {

uint64_t load(const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); }

}  // namespace

uint64_t BackendTotals::responses() const {
  uint64_t n = 0;
  for (const auto& [code, responses_of_code] : codes) n += responses_of_code;
  return n;
}

uint64_t BackendTotals::server_errors() const {
  uint64_t n = 0;
  for (const auto& [code, responses_of_code] : codes) n += code >= 500 && code <= 599 ? responses_of_code : 0;
  return n;
}

BackendTotals backend_totals(const std::vector<const WorkerMetrics*>& workers, uint32_t slot) {
  BackendTotals t;
  for (const WorkerMetrics* w : workers) {
    const BackendCounters* c = w->peek(slot);
    if (c == nullptr) continue;
    t.seen = true;
    for (const auto& cc : c->codes) {
      const uint32_t code = cc.code.load(std::memory_order_acquire);
      if (code != 0) t.codes[code] += load(cc.count);
    }
    if (const uint64_t other = load(c->other_codes); other != 0) t.codes[0] += other;
    for (std::size_t i = 0; i < t.buckets.size(); ++i) t.buckets[i] += load(c->buckets[i]);
    t.count += load(c->duration_count);
    t.sum_ns += load(c->duration_sum_ns);
    for (std::size_t i = 0; i < kBackendErrorKinds.size(); ++i) t.errors[i] += load(c->errors[i]);
  }
  return t;
}

}  // namespace ferry::proxy
