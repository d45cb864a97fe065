#include "proxy/limits/token_bucket.h"

namespace ferry::proxy::limits {

namespace {
constexpr uint64_t kNsPerSecond = 1'000'000'000;
}  // namespace

Rate Rate::of(uint32_t per_second, uint32_t burst) {
  if (per_second == 0) return Rate{};
  // Whole nanoseconds: the interval is rounded down, so the rate is at most a few parts per
  // billion fast (config/decode_rate_limit.cc caps rates at a million, an interval of 1000ns).
  const uint64_t interval = kNsPerSecond / per_second;
  const uint64_t tokens = burst == 0 ? per_second : burst;
  return Rate{interval, (tokens - 1) * interval};
}

Decision take_token(uint64_t tat, uint64_t now_ns, const Rate& rate) {
  const uint64_t start = tat > now_ns ? tat : now_ns;  // a TAT in the past: the bucket is full
  const uint64_t booked = start - now_ns;
  if (booked > rate.tolerance_ns) return Decision{false, tat, booked - rate.tolerance_ns};
  return Decision{true, start + rate.interval_ns, 0};
}

uint32_t retry_after_seconds(uint64_t wait_ns) {
  const uint64_t seconds = (wait_ns + kNsPerSecond - 1) / kNsPerSecond;
  if (seconds < 1) return 1;
  return seconds > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(seconds);
}

}  // namespace ferry::proxy::limits
