// The shared table: per-key buckets, refill, eviction under more addresses than slots, and two
// threads on one key getting the key's rate between them, not each. The clock is passed in.
#include "proxy/limits/client_rate_limiter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

namespace ferry::proxy::limits {
namespace {

constexpr uint64_t kSecond = 1'000'000'000;
constexpr uint64_t kStart = 1000 * kSecond;

// Requests of `key` at `now` until the first refusal (at most `limit`): how many went through.
int admitted(ClientRateLimiter& table, uint64_t key, const Rate& rate, uint64_t now, int limit = 1000) {
  for (int i = 0; i < limit; ++i)
    if (!table.admit(key, rate, now).allowed) return i;
  return limit;
}

TEST(ClientRateLimiter, EachKeyGetsItsBurstThenIsRefused) {
  ClientRateLimiter table;
  const Rate rate = Rate::of(10, 5);
  EXPECT_EQ(admitted(table, 0x1111, rate, kStart), 5);
  EXPECT_EQ(admitted(table, 0x2222, rate, kStart), 5);  // another client is not charged for the first
  const Decision d = table.admit(0x1111, rate, kStart);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.wait_ns, kSecond / 10);
}

TEST(ClientRateLimiter, TokensComeBackOverTime) {
  ClientRateLimiter table;
  const Rate rate = Rate::of(4, 2);  // a token every 250ms
  ASSERT_EQ(admitted(table, 7, rate, kStart), 2);
  EXPECT_EQ(admitted(table, 7, rate, kStart + kSecond / 4), 1);
  EXPECT_EQ(admitted(table, 7, rate, kStart + kSecond / 4), 0);
  EXPECT_EQ(admitted(table, 7, rate, kStart + 10 * kSecond), 2);  // full again, not 40
}

TEST(ClientRateLimiter, OffRatesAndKeylessClientsAreNeverLimited) {
  ClientRateLimiter table;
  EXPECT_EQ(admitted(table, 9, Rate{}, kStart), 1000);
  EXPECT_EQ(admitted(table, 0, Rate::of(1, 1), kStart), 1000);
  EXPECT_EQ(table.busy(kStart), 0U);
}

TEST(ClientRateLimiter, ABucketOfSlotsFullOfClientsEvictsTheOneClosestToFull) {
  ClientRateLimiter table(ClientRateLimiter::kSlotsPerBucket);  // one bucket: every key meets there
  ASSERT_EQ(table.capacity(), ClientRateLimiter::kSlotsPerBucket);
  const Rate rate = Rate::of(1, 10);
  // Client k has used k + 1 of its 10 tokens; client 0 is the closest to full.
  for (uint64_t k = 0; k < ClientRateLimiter::kSlotsPerBucket; ++k)
    ASSERT_EQ(admitted(table, 100 + k, rate, kStart, static_cast<int>(k) + 1), static_cast<int>(k) + 1);
  EXPECT_EQ(table.busy(kStart), ClientRateLimiter::kSlotsPerBucket);
  // A newcomer takes client 0's slot; the most indebted client keeps its debt.
  EXPECT_EQ(admitted(table, 999, rate, kStart), 10);
  EXPECT_EQ(admitted(table, 100 + 7, rate, kStart), 2);
  // Client 0 lost its slot: it starts over full (the documented approximation).
  EXPECT_EQ(admitted(table, 100, rate, kStart, 10), 10);
}

TEST(ClientRateLimiter, ASlotWhoseBucketIsFullAgainIsReusedBeforeABusyOne) {
  ClientRateLimiter table(ClientRateLimiter::kSlotsPerBucket);
  const Rate rate = Rate::of(1, 3);
  ASSERT_EQ(admitted(table, 1, rate, kStart), 3);  // full again at kStart + 3s
  for (uint64_t k = 2; k <= ClientRateLimiter::kSlotsPerBucket; ++k) ASSERT_TRUE(table.admit(k, rate, kStart).allowed);
  // At kStart + 1s every client but 1 is full again: newcomers take their slots, then each
  // other's, never 1's.
  const uint64_t later = kStart + kSecond;
  for (uint64_t k = 50; k < 60; ++k) ASSERT_TRUE(table.admit(k, rate, later).allowed);
  // Client 1 kept its debt: one token back after a second, not a fresh burst of 3.
  EXPECT_EQ(admitted(table, 1, rate, later), 1);
}

TEST(ClientRateLimiter, ManyAddressesKeepMemoryFixedAndAHotClientLimited) {
  ClientRateLimiter table(1024);
  const Rate rate = Rate::of(1, 3);
  const uint64_t hot = 0xfeedfacecafebeefULL;
  ASSERT_EQ(admitted(table, hot, rate, kStart), 3);
  // 100000 other addresses, one request each, spread over the next half second.
  for (uint64_t i = 0; i < 100'000; ++i) {
    const uint64_t now = kStart + i * 5000;
    ASSERT_TRUE(table.admit(0x9e3779b97f4a7c15ULL * (i + 1), rate, now).allowed) << i;
    if (i % 10'000 == 0) {
      EXPECT_FALSE(table.admit(hot, rate, now).allowed) << i;
    }
  }
  EXPECT_EQ(table.capacity(), 1024U);
  EXPECT_LE(table.busy(kStart + kSecond / 2), 1024U);
  EXPECT_FALSE(table.admit(hot, rate, kStart + kSecond / 2).allowed);
}

TEST(ClientRateLimiter, TwoThreadsOnOneKeyShareItsRate) {
  ClientRateLimiter table;
  const Rate rate = Rate::of(1000, 1000);
  std::atomic<int> allowed{0};
  std::atomic<int> ready{0};
  auto flood = [&](uint64_t now) {
    ready.fetch_add(1);
    while (ready.load() < 2) {
    }
    int mine = 0;
    for (int i = 0; i < 5000; ++i) mine += table.admit(42, rate, now).allowed ? 1 : 0;
    allowed.fetch_add(mine);
  };
  for (const uint64_t now : {kStart, kStart + kSecond}) {
    allowed = 0;
    ready = 0;
    std::thread a(flood, now);
    std::thread b(flood, now);
    a.join();
    b.join();
    // The burst at first, then one second's worth of tokens: never each thread's own.
    EXPECT_EQ(allowed.load(), 1000) << "at +" << (now - kStart) / kSecond << "s";
  }
}

}  // namespace
}  // namespace ferry::proxy::limits
