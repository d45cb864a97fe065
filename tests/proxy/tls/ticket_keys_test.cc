#include "proxy/tls/ticket_keys.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

// The ring on its own: rotation driven by the caller's clock, export and import, and
// readers on other threads that never see a ring half rotated.
namespace ferry::proxy::tls {
namespace {

constexpr int64_t kStart = 1'800'000'000;
constexpr int64_t kPeriod = 3600;

std::vector<uint64_t> generations(const TicketKeys::Ring& ring) {
  return {ring.previous.generation, ring.current.generation, ring.next.generation};
}

TEST(TicketKeys, StartsWithThreeDistinctKeys) {
  const auto keys = TicketKeys::create(kStart, kPeriod);
  ASSERT_TRUE(keys);
  const TicketKeys::Ring ring = keys->snapshot();
  EXPECT_EQ(generations(ring), (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_NE(ring.previous.name, ring.current.name);
  EXPECT_NE(ring.current.name, ring.next.name);
  EXPECT_NE(ring.current.aes, ring.next.aes);
  EXPECT_NE(ring.current.hmac, ring.next.hmac);
  EXPECT_EQ(keys->next_rotation(), kStart + kPeriod);
  EXPECT_EQ(keys->period(), kPeriod);
  EXPECT_FALSE(TicketKeys::create(kStart, 0));
}

TEST(TicketKeys, RotatesOnlyWhenAPeriodHasPassed) {
  const auto keys = TicketKeys::create(kStart, kPeriod);
  EXPECT_EQ(keys->rotate(kStart + kPeriod - 1), 0);
  EXPECT_EQ(generations(keys->snapshot()), (std::vector<uint64_t>{1, 2, 3}));
}

TEST(TicketKeys, ARotationShiftsTheRingByOneKey) {
  const auto keys = TicketKeys::create(kStart, kPeriod);
  const TicketKeys::Ring before = keys->snapshot();
  EXPECT_EQ(keys->rotate(kStart + kPeriod + 5), 1);
  const TicketKeys::Ring after = keys->snapshot();
  EXPECT_EQ(after.previous.name, before.current.name);
  EXPECT_EQ(after.current.name, before.next.name);
  EXPECT_EQ(after.current.aes, before.next.aes);
  EXPECT_EQ(after.next.generation, 4u);
  EXPECT_EQ(keys->next_rotation(), kStart + 2 * kPeriod);  // the schedule does not drift
}

TEST(TicketKeys, FarBehindEveryKeyIsNewAndTheScheduleRestarts) {
  const auto keys = TicketKeys::create(kStart, kPeriod);
  const int64_t now = kStart + 10 * kPeriod + 7;
  EXPECT_EQ(keys->rotate(now), 3);
  EXPECT_EQ(generations(keys->snapshot()), (std::vector<uint64_t>{4, 5, 6}));
  EXPECT_EQ(keys->next_rotation(), now + kPeriod);
}

TEST(TicketKeys, ExportAndImportCarryTheRingAndItsSchedule) {
  const auto keys = TicketKeys::create(kStart, kPeriod);
  keys->rotate(kStart + kPeriod);
  const std::vector<uint8_t> bytes = keys->export_ring();
  const auto successor = TicketKeys::create(kStart + 99, 60);
  EXPECT_EQ(successor->import_ring(bytes), "");
  const TicketKeys::Ring a = keys->snapshot();
  const TicketKeys::Ring b = successor->snapshot();
  EXPECT_EQ(a.current.name, b.current.name);
  EXPECT_EQ(a.previous.hmac, b.previous.hmac);
  EXPECT_EQ(a.next.aes, b.next.aes);
  EXPECT_EQ(generations(a), generations(b));
  EXPECT_EQ(successor->period(), kPeriod);
  EXPECT_EQ(successor->next_rotation(), keys->next_rotation());
}

TEST(TicketKeys, ImportRefusesBytesThatAreNotARing) {
  const auto keys = TicketKeys::create(kStart, kPeriod);
  const TicketKeys::Ring before = keys->snapshot();
  std::vector<uint8_t> bytes = keys->export_ring();
  EXPECT_EQ(keys->import_ring(std::span<const uint8_t>(bytes.data(), bytes.size() - 1)),
            "ticket key ring: expected 288 bytes, got 287");
  bytes[0] = 'X';
  EXPECT_EQ(keys->import_ring(bytes), "ticket key ring: not an exported ring (bad magic)");
  bytes = keys->export_ring();
  std::fill(bytes.begin() + 8, bytes.begin() + 16, 0);  // period 0
  EXPECT_EQ(keys->import_ring(bytes), "ticket key ring: bad rotation period");
  EXPECT_EQ(keys->snapshot().current.name, before.current.name);
}

TEST(TicketKeys, ReadersNeverSeeAHalfRotatedRing) {
  const auto keys = TicketKeys::create(kStart, 1);
  std::atomic<bool> done{false};
  std::atomic<long> torn{0};
  std::atomic<long> reads{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; ++t) {
    readers.emplace_back([&] {
      while (!done.load(std::memory_order_relaxed)) {
        const TicketKeys::Ring ring = keys->snapshot();
        if (ring.current.generation != ring.previous.generation + 1 ||
            ring.next.generation != ring.current.generation + 1 ||
            ring.rotated_at != kStart + static_cast<int64_t>(ring.previous.generation) - 1) {
          torn.fetch_add(1);
        }
        reads.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  for (int64_t i = 1; i <= 20000; ++i) ASSERT_EQ(keys->rotate(kStart + i), 1);
  done = true;
  for (std::thread& t : readers) t.join();
  EXPECT_EQ(torn.load(), 0);
  EXPECT_GT(reads.load(), 0);
  EXPECT_EQ(keys->snapshot().current.generation, 20002u);
}

}  // namespace
}  // namespace ferry::proxy::tls
