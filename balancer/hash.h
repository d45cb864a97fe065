// Fast, well-mixed 64-bit hashing for balancer keys and backend identities: XXH3 from Debian's
// libxxhash-dev, inlined (XXH_INLINE_ALL) so the consistent-hash pick pays no call and the
// binary needs no shared library. XXH3 beats XXH64 on the short keys hashed here (client
// addresses, header values, cookies) and mixes every input bit into every output bit.
#pragma once

#include <cstdint>
#include <string_view>

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace ferry::balancer {

// Same bytes and seed give the same value on every run, thread and machine (XXH3's output is
// specified, so a ring built by one process maps keys as any other does).
inline uint64_t hash_bytes(std::string_view bytes, uint64_t seed = 0) {
  // An empty view may hold a null pointer; XXH3 reads nothing for length 0, but keep it valid.
  const char* p = bytes.empty() ? "" : bytes.data();
  return XXH3_64bits_withSeed(p, bytes.size(), seed);
}

}  // namespace ferry::balancer
