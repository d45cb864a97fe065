#include "proxy/admin/rate_meter.h"

namespace ferry::proxy {

RateMeter::Result RateMeter::sample(const std::map<uint32_t, Counts>& counts, Clock::time_point now) {
  const auto window = std::chrono::duration_cast<std::chrono::milliseconds>(now - earlier_time_);
  if (have_earlier_ && window < kMinWindow) return last_;
  Result result;
  if (have_earlier_) {
    result.window = window;
    const double seconds = std::chrono::duration<double>(window).count();
    for (const auto& [key, current] : counts) {
      const auto it = earlier_.find(key);
      if (it == earlier_.end()) continue;
      const Counts& before = it->second;
      // Counters never go back; if one did, a rate from it would be nonsense, so show none.
      if (current.requests < before.requests || current.errors < before.errors) continue;
      result.rates[key] = StatusRates{static_cast<double>(current.requests - before.requests) / seconds,
                                      static_cast<double>(current.errors - before.errors) / seconds};
    }
  }
  earlier_ = counts;
  earlier_time_ = now;
  have_earlier_ = true;
  last_ = result;
  return result;
}

}  // namespace ferry::proxy
