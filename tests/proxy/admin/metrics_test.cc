// A worker's own counters (proxy/admin/metrics.h): what one response or one backend error bumps.
#include "proxy/admin/metrics.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace ferry::proxy {
namespace {

uint64_t value(const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); }

// The index of the one bucket that counted, or -1 unless exactly one bucket holds 1.
int counted_bucket(const BackendCounters& c) {
  int found = -1;
  for (std::size_t b = 0; b < c.buckets.size(); ++b) {
    const uint64_t n = value(c.buckets[b]);
    if (n == 0) continue;
    if (n != 1 || found != -1) return -1;
    found = static_cast<int>(b);
  }
  return found;
}

constexpr uint64_t kMs = 1'000'000;  // nanoseconds

TEST(BackendCounters, ALatencyOnABucketBoundCountsInThatBucket) {
  // Prometheus buckets are "le": 1ms exactly is <= 0.001, 2.5s exactly is <= 2.5.
  const std::vector<std::pair<uint64_t, int>> cases = {
      {1 * kMs, 0},     {1 * kMs + 1, 1}, {2'500'000, 1},  {10 * kMs, 3},
      {2'500 * kMs, 10}, {10'000 * kMs, 12}, {10'000 * kMs + 1, 13}, {0, 0},
  };
  ASSERT_EQ(kLatencyBuckets.size(), 13u);
  for (const auto& [ns, bucket] : cases) {
    BackendCounters c;
    c.record_response(200, ns);
    EXPECT_EQ(counted_bucket(c), bucket) << ns << "ns";
    EXPECT_EQ(value(c.duration_count), 1u);
    EXPECT_EQ(value(c.duration_sum_ns), ns);
  }
}

TEST(BackendCounters, CountsEachStatusCodeInItsOwnSlot) {
  BackendCounters c;
  c.record_response(200, kMs);
  c.record_response(200, kMs);
  c.record_response(502, kMs);
  uint64_t ok = 0, bad = 0, others = 0;
  for (const auto& cc : c.codes) {
    const uint32_t code = cc.code.load();
    if (code == 200) ok += value(cc.count);
    else if (code == 502) bad += value(cc.count);
    else others += value(cc.count);
  }
  EXPECT_EQ(ok, 2u);
  EXPECT_EQ(bad, 1u);
  EXPECT_EQ(others, 0u);
  EXPECT_EQ(value(c.other_codes), 0u);
  EXPECT_EQ(value(c.duration_count), 3u);
}

TEST(BackendCounters, CodesPastItsSlotsCountAsOther) {
  BackendCounters c;
  for (uint32_t i = 0; i < BackendCounters::kCodes + 3; ++i) c.record_response(static_cast<int>(200 + i), kMs);
  EXPECT_EQ(value(c.other_codes), 3u);
  EXPECT_EQ(value(c.duration_count), BackendCounters::kCodes + 3);
}

TEST(BackendCounters, RecordErrorBumpsOnlyItsKindOnce) {
  BackendCounters c;
  c.record_error(BackendErrorKind::Reset);
  EXPECT_EQ(value(c.errors[static_cast<std::size_t>(BackendErrorKind::Reset)]), 1u);
  EXPECT_EQ(value(c.errors[static_cast<std::size_t>(BackendErrorKind::Connect)]), 0u);
  EXPECT_EQ(value(c.errors[static_cast<std::size_t>(BackendErrorKind::Timeout)]), 0u);
  EXPECT_EQ(value(c.errors[static_cast<std::size_t>(BackendErrorKind::Malformed)]), 0u);
}

TEST(WorkerMetrics, HandsOutOneCounterSetPerSlotAndPeeksAtIt) {
  WorkerMetrics m;
  EXPECT_EQ(m.peek(5), nullptr);  // never touched
  BackendCounters* five = m.backend(5);
  ASSERT_NE(five, nullptr);
  EXPECT_EQ(m.backend(5), five);
  EXPECT_EQ(m.peek(5), five);
  EXPECT_NE(m.backend(64 + 5), five);  // the next chunk
}

TEST(MetricSlots, KeepsABackendsSlotAndReservesSlotZeroForNoBackend) {
  MetricSlots slots;
  const uint32_t a = slots.slot_for("default", "10.0.0.1:80");
  const uint32_t b = slots.slot_for("default", "10.0.0.2:80");
  EXPECT_NE(a, kNoBackendSlot);
  EXPECT_NE(a, b);
  EXPECT_EQ(slots.slot_for("default", "10.0.0.1:80"), a);
  const auto all = slots.all();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].backend, "none");
  EXPECT_EQ(all[0].pool, "");
  EXPECT_EQ(all[0].slot, kNoBackendSlot);
}

TEST(MetricSlots, OneAddressInTwoPoolsIsTwoBackends) {
  MetricSlots slots;
  const uint32_t web = slots.slot_for("web", "127.0.0.1:8000");
  const uint32_t api = slots.slot_for("api", "127.0.0.1:8000");
  EXPECT_NE(web, api);
  const auto all = slots.all();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[1].pool, "web");
  EXPECT_EQ(all[2].pool, "api");
  EXPECT_EQ(all[2].backend, "127.0.0.1:8000");
}

TEST(RouteSlots, KeepsARoutesSlotAcrossCalls) {
  RouteSlots slots;
  const uint32_t api = slots.slot_for("api");
  EXPECT_NE(api, 0u);
  EXPECT_EQ(slots.slot_for("api"), api);
  EXPECT_NE(slots.slot_for("static"), api);
  ASSERT_EQ(slots.all().size(), 2u);
  EXPECT_EQ(slots.all()[0].first, "api");
}

}  // namespace
}  // namespace ferry::proxy
