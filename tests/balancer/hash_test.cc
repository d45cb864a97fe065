#include "balancer/hash.h"

#include <gtest/gtest.h>

#include <string>

namespace ferry::balancer {
namespace {

// Reference values computed with libxxhash 0.8.1's XXH3_64bits in a separate C program (seed 0
// unless noted); "" is xxHash's own published XXH3 value for empty input.
TEST(HashBytes, MatchesXxh3ReferenceValues) {
  EXPECT_EQ(hash_bytes(""), 0x2D06800538D394C2ULL);
  EXPECT_EQ(hash_bytes("a"), 0xE6C632B61E964E1FULL);
  EXPECT_EQ(hash_bytes("abc"), 0x78AF5F94892F3950ULL);
  EXPECT_EQ(hash_bytes("xxhash", 20141025), 0x8E5DC07F2B839BB0ULL);
  EXPECT_EQ(hash_bytes("10.20.10.31"), 0xD1D6B48553B4DD9DULL);  // 9-16 byte path
  EXPECT_EQ(hash_bytes("The quick brown fox jumps over the lazy dog, twice over."),
            0xCEF8294972E65BA8ULL);  // 17-128 byte path
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
