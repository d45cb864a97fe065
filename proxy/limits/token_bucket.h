// The token bucket of one client, as GCRA (the generic cell rate algorithm): instead of a
// token count and a refill timestamp, one number, the "theoretical arrival time" (TAT), the
// time at which the bucket will be full again. A request takes a token by pushing the TAT one
// interval further; it is refused when that would book the bucket more than `burst` tokens
// ahead of now. One 64-bit word is the whole state, so a compare-and-swap updates it
// (client_rate_limiter.h), and a TAT at or before now means "full": the slot holds nothing a
// new client could inherit.
#pragma once

#include <cstdint>

namespace ferry::proxy::limits {

// A limit in the units the arithmetic uses.
struct Rate {
  uint64_t interval_ns = 0;   // how long one token takes to come back; 0 = no limit
  uint64_t tolerance_ns = 0;  // (burst - 1) intervals: how far ahead of now the TAT may be booked

  // `per_second` tokens a second, `burst` at most (0 = per_second); per_second 0 is no limit.
  static Rate of(uint32_t per_second, uint32_t burst);
  bool on() const { return interval_ns != 0; }
  bool operator==(const Rate&) const = default;
};

struct Decision {
  bool allowed = true;
  uint64_t tat = 0;      // allowed: the TAT to store
  uint64_t wait_ns = 0;  // refused: how long until a token is there
};

// One request at `now_ns` against a bucket whose TAT is `tat` (0, or any time before now: full).
// Pure: the caller stores Decision::tat when allowed.
Decision take_token(uint64_t tat, uint64_t now_ns, const Rate& rate);

// `wait_ns` as Retry-After's whole seconds: rounded up (a client that waits what it was told
// finds a token), and at least 1 (0 would invite an immediate retry).
uint32_t retry_after_seconds(uint64_t wait_ns);

}  // namespace ferry::proxy::limits
