#include "balancer/power_of_two.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace ferry::balancer {
namespace {

Snapshot snapshot_with_outstanding(std::vector<uint32_t> outstanding) {
  Snapshot snap;
  snap.backend_set = 1;
  for (std::size_t i = 0; i < outstanding.size(); ++i) {
    Backend b;
    // Not "b" + std::to_string(i): GCC 12 reports a false -Wrestrict on that at -O2.
    b.name = std::string("b").append(std::to_string(i));
    b.load->outstanding.store(outstanding[i]);
    snap.backends.push_back(std::move(b));
  }
  snap.healthy.assign(snap.size(), 1);
  snap.finish();
  return snap;
}

std::vector<int> pick_counts(PowerOfTwo& p2c, const Snapshot& snap, int picks,
                             const TriedSet& tried = {}) {
  std::vector<int> counts(snap.size());
  for (int i = 0; i < picks; ++i) ++counts[*p2c.pick(snap, {}, tried)];
  return counts;
}

TEST(PowerOfTwo, SpreadsEvenlyWhenLoadIsEqual) {
  const Snapshot snap = snapshot_with_outstanding({0, 0, 0, 0, 0});
  PowerOfTwo p2c(12345);
  constexpr int kPicks = 100000;
  const std::vector<int> counts = pick_counts(p2c, snap, kPicks);
  for (int c : counts) EXPECT_NEAR(c, kPicks / 5, kPicks / 5 * 0.03);
}

TEST(PowerOfTwo, AlwaysPicksTheLessLoadedOfTwoBackends) {
  // With two backends both are always the candidates, so the less loaded always wins.
  const Snapshot snap = snapshot_with_outstanding({7, 3});
  PowerOfTwo p2c(1);
  EXPECT_EQ(pick_counts(p2c, snap, 1000), (std::vector<int>{0, 1000}));
}

TEST(PowerOfTwo, NeverPicksTheMostLoadedBackend) {
  // Candidates are distinct, so the single most loaded backend always loses its comparison.
  const Snapshot snap = snapshot_with_outstanding({40, 0, 0, 0});
  PowerOfTwo p2c(99);
  const std::vector<int> counts = pick_counts(p2c, snap, 10000);
  EXPECT_EQ(counts[0], 0);
}

TEST(PowerOfTwo, FavoursTheLessLoadedWhenCountsAreSkewed) {
  // Ranked by load, the k-th least loaded of n wins when it is drawn with a busier one:
  // P = 2(n-k)/(n(n-1)), i.e. 3/6, 2/6, 1/6 and 0 for n = 4.
  const Snapshot snap = snapshot_with_outstanding({1, 10, 5, 30});
  PowerOfTwo p2c(2024);
  constexpr int kPicks = 60000;
  const std::vector<int> counts = pick_counts(p2c, snap, kPicks);
  EXPECT_NEAR(counts[0], kPicks * 3 / 6, kPicks * 0.02);
  EXPECT_NEAR(counts[2], kPicks * 2 / 6, kPicks * 0.02);
  EXPECT_NEAR(counts[1], kPicks * 1 / 6, kPicks * 0.02);
  EXPECT_EQ(counts[3], 0);
}

TEST(PowerOfTwo, IsReproducibleFromItsSeed) {
  const Snapshot snap = snapshot_with_outstanding({0, 0, 0, 0, 0, 0, 0, 0});
  PowerOfTwo first(77), second(77), other(78);
  std::string a, b, c;
  for (int i = 0; i < 64; ++i) {
    a += std::to_string(*first.pick(snap, {}, {}));
    b += std::to_string(*second.pick(snap, {}, {}));
    c += std::to_string(*other.pick(snap, {}, {}));
  }
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
}

TEST(PowerOfTwo, PicksTheOnlyUsableBackendWhenOneRemains) {
  Snapshot snap = snapshot_with_outstanding({0, 50, 0, 0});
  snap.healthy[0] = 0;
  snap.healthy[3] = 0;
  snap.finish();
  TriedSet tried;
  tried.add(2);
  PowerOfTwo p2c(5);
  EXPECT_EQ(pick_counts(p2c, snap, 100, tried), (std::vector<int>{0, 100, 0, 0}));
}

TEST(PowerOfTwo, FindsTheFewUsableBackendsAmongManyUnusable) {
  Snapshot snap = snapshot_with_outstanding(std::vector<uint32_t>(1000, 0));
  snap.healthy.assign(1000, 0);
  snap.healthy[17] = 1;
  snap.healthy[901] = 1;
  snap.finish();
  PowerOfTwo p2c(8);
  const std::vector<int> counts = pick_counts(p2c, snap, 2000);
  EXPECT_EQ(counts[17] + counts[901], 2000);
  EXPECT_GT(counts[17], 0);
  EXPECT_GT(counts[901], 0);
}

}  // namespace
}  // namespace ferry::balancer
