// `{rate: N, burst: M}`: a token bucket per client address, as `limits.per_client` and as a
// route's `rate_limit`. One decoder for both, so the two read and fail alike.
#include <array>
#include <string>

#include "config/decode.h"
#include "config/fields.h"

namespace ferry::config {

namespace {

// A million requests a second from one address is past any limit worth setting, and keeps a
// token's interval at 1000ns or more, so the limiter's arithmetic stays exact enough. The burst
// bound only catches typos (an extra zero or three).
constexpr uint64_t kMaxRate = 1'000'000;
constexpr uint64_t kMaxBurst = 1'000'000;

constexpr std::array<Rule<RateLimit>, 2> kRateLimitRules{{
    {"rate", integer_rule<&RateLimit::rate, 0, kMaxRate>},
    {"burst", integer_rule<&RateLimit::burst, 0, kMaxBurst>},
}};

}  // namespace

void decode_rate_limit(const Field& f, RateLimit& out, Diagnostics& d) {
  if (!f.value.IsMap() && !f.value.IsNull()) {
    d.expected(f, "a map {rate: REQUESTS_PER_SECOND, burst: REQUESTS}");
    return;
  }
  const std::size_t errors_before = d.count();
  decode_map(f, kRateLimitRules, out, d);
  // Only when both were read cleanly: a bad rate would otherwise also blame the burst.
  if (d.count() != errors_before || out.rate != 0 || out.burst == 0) return;
  const Field burst = *find_child(f, "burst");
  d.error(burst.key_mark, burst.path,
          "a burst needs a rate: give rate (requests per second), or leave burst out (rate 0 is no limit)");
}

}  // namespace ferry::config
