// Fast, well-mixed 64-bit hashing for balancer keys and backend identities. Header-only so the
// consistent-hash pick inlines it. XXH64's algorithm (Yann Collet, BSD-2): the 32-byte stripe
// loop for long input, then 8/4/1-byte tails and the final avalanche, so every input bit
// affects every output bit; keys are client addresses, header values and cookies, usually short.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

namespace ferry::balancer {

namespace hash_detail {

constexpr uint64_t kPrime1 = 0x9E3779B185EBCA87ULL;
constexpr uint64_t kPrime2 = 0xC2B2AE3D27D4EB4FULL;
constexpr uint64_t kPrime3 = 0x165667B19E3779F9ULL;
constexpr uint64_t kPrime4 = 0x85EBCA77C2B2AE63ULL;
constexpr uint64_t kPrime5 = 0x27D4EB2F165667C5ULL;

constexpr uint64_t rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

inline uint64_t read64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);  // x86 and arm64 are little-endian; memcpy keeps it aligned-safe
  return v;
}
inline uint32_t read32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

constexpr uint64_t round(uint64_t acc, uint64_t input) {
  acc += input * kPrime2;
  acc = rotl(acc, 31);
  return acc * kPrime1;
}
constexpr uint64_t merge_round(uint64_t acc, uint64_t val) {
  acc ^= round(0, val);
  return acc * kPrime1 + kPrime4;
}

}  // namespace hash_detail

// Same bytes and seed give the same value on every run and every thread.
inline uint64_t hash_bytes(std::string_view bytes, uint64_t seed = 0) {
  using namespace hash_detail;
  // An empty view may hold a null pointer; arithmetic on it would be undefined.
  const char* p = bytes.empty() ? "" : bytes.data();
  const char* const end = p + bytes.size();
  uint64_t h;
  if (bytes.size() >= 32) {
    uint64_t v1 = seed + kPrime1 + kPrime2, v2 = seed + kPrime2, v3 = seed, v4 = seed - kPrime1;
    const char* const limit = end - 32;
    do {
      v1 = round(v1, read64(p));
      v2 = round(v2, read64(p + 8));
      v3 = round(v3, read64(p + 16));
      v4 = round(v4, read64(p + 24));
      p += 32;
    } while (p <= limit);
    h = rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18);
    h = merge_round(h, v1);
    h = merge_round(h, v2);
    h = merge_round(h, v3);
    h = merge_round(h, v4);
  } else {
    h = seed + kPrime5;
  }
  h += static_cast<uint64_t>(bytes.size());
  for (; end - p >= 8; p += 8) h = rotl(h ^ round(0, read64(p)), 27) * kPrime1 + kPrime4;
  if (end - p >= 4) {
    h = rotl(h ^ (static_cast<uint64_t>(read32(p)) * kPrime1), 23) * kPrime2 + kPrime3;
    p += 4;
  }
  for (; p < end; ++p)
    h = rotl(h ^ (static_cast<uint64_t>(static_cast<unsigned char>(*p)) * kPrime5), 11) * kPrime1;
  h ^= h >> 33;
  h *= kPrime2;
  h ^= h >> 29;
  h *= kPrime3;
  h ^= h >> 32;
  return h;
}

}  // namespace ferry::balancer
