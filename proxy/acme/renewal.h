// When to renew and when to try again: pure arithmetic on unix seconds, with the random draw
// passed in ([0, 1)) so tests can pin it. Any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace ferry::proxy::acme {

// Two thirds into the certificate's lifetime, moved by up to ±2% of the lifetime (as
// nginx-acme), so many certificates issued together do not renew together. `unit` in [0, 1).
int64_t renewal_time(int64_t not_before, int64_t not_after, double unit);

// RFC 9773 4.2: a uniformly random time in the CA's suggested window [start, end].
int64_t window_time(int64_t start, int64_t end, double unit);

// How long to wait after the `failures`-th failure in a row (1, 2, ...): 60 s, 10 min,
// 100 min, then 6 h, each ±20%; never more than a tenth of the certificate's lifetime
// (`lifetime` seconds; 0 when there is no certificate yet), nor under 1 s, so even a
// short-lived certificate gets several tries before it expires.
int64_t retry_delay(unsigned failures, int64_t lifetime, double unit);

// A Retry-After value (RFC 9110 10.2.3): delta seconds or an HTTP date, as unix seconds from
// `now`; nullopt when it says neither. Capped at a day: a hostile value can't park renewals.
std::optional<int64_t> retry_after_time(std::string_view value, int64_t now);

// An RFC 3339 time ("2026-01-02T03:04:05Z", fractions and offsets allowed) as unix seconds.
std::optional<int64_t> parse_rfc3339(std::string_view text);

}  // namespace ferry::proxy::acme
