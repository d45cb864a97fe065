#include "balancer/hash.h"

#include <gtest/gtest.h>

#include <string>

namespace ferry::balancer {
namespace {

// Reference values computed with the xxHash library's XXH64 (libxxhash 0.8.1; seed 0 unless
// noted).
TEST(HashBytes, MatchesXxh64ReferenceValues) {
  EXPECT_EQ(hash_bytes(""), 0xEF46DB3751D8E999ULL);
  EXPECT_EQ(hash_bytes("a"), 0xD24EC4F1A98C6E5BULL);
  EXPECT_EQ(hash_bytes("abc"), 0x44BC2CF5AD770999ULL);
  EXPECT_EQ(hash_bytes("xxhash", 20141025), 0xB559B98D844E0635ULL);
  EXPECT_EQ(hash_bytes("10.20.10.31"), 0x1236C336226A495CULL);  // 8-byte, 1-byte tails
  // 56 bytes: the 32-byte stripe loop, then an 8-byte tail.
  EXPECT_EQ(hash_bytes("The quick brown fox jumps over the lazy dog, twice over."),
            0xFB9F56CED8AD4FC4ULL);
}

TEST(HashBytes, ChangesWithEveryByteAndTheSeed) {
  const std::string base(100, 'k');
  const uint64_t h = hash_bytes(base);
  for (std::size_t i = 0; i < base.size(); ++i) {
    std::string changed = base;
    changed[i] = 'j';
    EXPECT_NE(hash_bytes(changed), h) << i;
  }
  EXPECT_NE(hash_bytes(base, 1), h);
}

}  // namespace
}  // namespace ferry::balancer
