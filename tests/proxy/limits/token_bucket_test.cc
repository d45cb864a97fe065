// The GCRA arithmetic alone, with the clock passed in: exact counts, no sleeping.
#include "proxy/limits/token_bucket.h"

#include <gtest/gtest.h>

namespace ferry::proxy::limits {
namespace {

constexpr uint64_t kSecond = 1'000'000'000;
constexpr uint64_t kStart = 1000 * kSecond;  // any monotonic time well past 0

// Requests at `now` against one bucket until the first refusal; returns how many went through.
int take_all(uint64_t& tat, uint64_t now, const Rate& rate) {
  int allowed = 0;
  for (int i = 0; i < 1000; ++i) {
    const Decision d = take_token(tat, now, rate);
    if (!d.allowed) return allowed;
    tat = d.tat;
    ++allowed;
  }
  return allowed;
}

TEST(TokenBucket, RateZeroIsOffAndBurstZeroIsTheRate) {
  EXPECT_FALSE(Rate::of(0, 0).on());
  EXPECT_FALSE(Rate::of(0, 5).on());
  EXPECT_EQ(Rate::of(10, 0), Rate::of(10, 10));
  EXPECT_EQ(Rate::of(10, 0).interval_ns, kSecond / 10);
  EXPECT_EQ(Rate::of(4, 3).tolerance_ns, 2 * kSecond / 4);
}

TEST(TokenBucket, AFullBucketGivesItsBurstThenRefuses) {
  uint64_t tat = 0;
  EXPECT_EQ(take_all(tat, kStart, Rate::of(10, 5)), 5);
  tat = 0;
  EXPECT_EQ(take_all(tat, kStart, Rate::of(10, 0)), 10);
  tat = 0;
  EXPECT_EQ(take_all(tat, kStart, Rate::of(1, 1)), 1);
}

TEST(TokenBucket, TokensComeBackAtTheRateUpToTheBurst) {
  const Rate rate = Rate::of(10, 5);  // a token every 100ms
  uint64_t tat = 0;
  ASSERT_EQ(take_all(tat, kStart, rate), 5);
  EXPECT_EQ(take_all(tat, kStart + kSecond / 10 - 1, rate), 0);  // 1ns short of a token
  EXPECT_EQ(take_all(tat, kStart + kSecond / 10, rate), 1);
  EXPECT_EQ(take_all(tat, kStart + 3 * kSecond / 10, rate), 2);
  // A long pause refills to the burst, never past it.
  EXPECT_EQ(take_all(tat, kStart + 60 * kSecond, rate), 5);
}

TEST(TokenBucket, ARefusalSaysHowLongUntilTheNextToken) {
  const Rate rate = Rate::of(2, 2);  // a token every 500ms
  uint64_t tat = 0;
  ASSERT_EQ(take_all(tat, kStart, rate), 2);
  Decision d = take_token(tat, kStart, rate);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.wait_ns, kSecond / 2);
  EXPECT_EQ(d.tat, tat);  // a refusal books nothing
  d = take_token(tat, kStart + kSecond / 5, rate);
  EXPECT_EQ(d.wait_ns, 3 * kSecond / 10);
}

TEST(TokenBucket, RetryAfterIsWholeSecondsRoundedUpAndAtLeastOne) {
  EXPECT_EQ(retry_after_seconds(0), 1U);
  EXPECT_EQ(retry_after_seconds(1), 1U);
  EXPECT_EQ(retry_after_seconds(kSecond / 10), 1U);
  EXPECT_EQ(retry_after_seconds(kSecond), 1U);
  EXPECT_EQ(retry_after_seconds(kSecond + 1), 2U);
  EXPECT_EQ(retry_after_seconds(59 * kSecond + kSecond / 2), 60U);
}

TEST(TokenBucket, RetryAfterOfARefusalIsWhenATokenIsThere) {
  const Rate rate = Rate::of(1, 3);  // a token a second
  uint64_t tat = 0;
  ASSERT_EQ(take_all(tat, kStart, rate), 3);
  const Decision d = take_token(tat, kStart + kSecond / 4, rate);
  ASSERT_FALSE(d.allowed);
  EXPECT_EQ(retry_after_seconds(d.wait_ns), 1U);  // 750ms, rounded up
  const uint64_t then = kStart + kSecond / 4 + uint64_t{retry_after_seconds(d.wait_ns)} * kSecond;
  EXPECT_TRUE(take_token(tat, then, rate).allowed);
}

}  // namespace
}  // namespace ferry::proxy::limits
