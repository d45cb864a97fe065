#include "proxy/core/request_id.h"

#include <sys/random.h>

#include <chrono>
#include <cstring>

namespace ferry::proxy {

namespace {

constexpr std::size_t kMaxClientIdBytes = 200;

// splitmix64's finalizer: a bijection on 64-bit values, so distinct counters stay distinct.
uint64_t mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

// Two hex digits per byte from a table: an id costs 16 lookups, not 32 shifts and masks (it is
// made on the hot path, once per request).
struct HexPairs {
  char pairs[256][2];
  constexpr HexPairs() : pairs() {
    constexpr char kDigits[] = "0123456789abcdef";
    for (int i = 0; i < 256; ++i) {
      pairs[i][0] = kDigits[i >> 4];
      pairs[i][1] = kDigits[i & 0xf];
    }
  }
};
constexpr HexPairs kHexPairs;

void format_hex(uint64_t v, char (&buf)[16]) {
  for (int i = 7; i >= 0; --i) {
    buf[2 * i] = kHexPairs.pairs[v & 0xff][0];
    buf[2 * i + 1] = kHexPairs.pairs[v & 0xff][1];
    v >>= 8;
  }
}

uint64_t random_prefix() {
  uint64_t value = 0;
  if (getrandom(&value, sizeof value, 0) == static_cast<ssize_t>(sizeof value)) return value;
  // No randomness (a very early boot): the clock still tells restarts apart.
  return mix(static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) ^
             reinterpret_cast<uintptr_t>(&value));
}

}  // namespace

RequestIdSource::RequestIdSource() { format_hex(random_prefix(), prefix_hex_); }

void RequestIdSource::next(std::string& out) {
  char id[32];
  std::memcpy(id, prefix_hex_, sizeof prefix_hex_);
  char counter_hex[16];
  format_hex(mix(++counter_), counter_hex);
  std::memcpy(id + 16, counter_hex, sizeof counter_hex);
  out.assign(id, sizeof id);
}

bool acceptable_request_id(std::string_view id) {
  if (id.empty() || id.size() > kMaxClientIdBytes) return false;
  for (const char c : id) {
    if (c <= ' ' || c >= 0x7f || c == '"' || c == '\\') return false;
  }
  return true;
}

}  // namespace ferry::proxy
