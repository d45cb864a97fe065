#include "balancer/weighted_round_robin.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

namespace ferry::balancer {
namespace {

Snapshot snapshot_of(std::vector<std::pair<std::string, uint32_t>> backends,
                     uint64_t backend_set = 1) {
  Snapshot snap;
  snap.backend_set = backend_set;
  for (auto& [name, weight] : backends) {
    Backend b;
    b.name = name;
    b.weight = weight;
    snap.backends.push_back(std::move(b));
  }
  snap.healthy.assign(snap.size(), 1);
  snap.finish();
  return snap;
}

std::string pick_sequence(Balancer& balancer, const Snapshot& snap, int picks,
                          const TriedSet& tried = {}) {
  std::string out;
  for (int i = 0; i < picks; ++i) {
    auto index = balancer.pick(snap, {}, tried);
    out += index ? snap.backends[*index].name : "-";
  }
  return out;
}

TEST(SmoothWeightedRoundRobin, InterleavesByWeight) {
  const Snapshot snap = snapshot_of({{"a", 5}, {"b", 1}, {"c", 1}});
  WeightedRoundRobin wrr(0);
  wrr.on_snapshot(snap);
  EXPECT_EQ(pick_sequence(wrr, snap, 7), "aabacaa");
  EXPECT_EQ(pick_sequence(wrr, snap, 7), "aabacaa");
}

TEST(SmoothWeightedRoundRobin, WithEqualWeightsIsPlainRoundRobin) {
  const Snapshot snap = snapshot_of({{"a", 1}, {"b", 1}, {"c", 1}});
  WeightedRoundRobin wrr(0);
  wrr.on_snapshot(snap);
  EXPECT_EQ(pick_sequence(wrr, snap, 6), "abcabc");
}

TEST(SmoothWeightedRoundRobin, SharesPicksInProportionToWeight) {
  const Snapshot snap = snapshot_of({{"a", 7}, {"b", 2}, {"c", 1}, {"d", 990}});
  WeightedRoundRobin wrr(0);
  wrr.on_snapshot(snap);
  constexpr int kPicks = 100000;
  std::vector<int> counts(4);
  for (int i = 0; i < kPicks; ++i) ++counts[*wrr.pick(snap, {}, {})];
  const double total_weight = 1000;
  for (std::size_t i = 0; i < 4; ++i) {
    const double expected = kPicks * snap.backends[i].weight / total_weight;
    EXPECT_NEAR(counts[i], expected, expected * 0.01 + 1) << snap.backends[i].name;
  }
}

TEST(SmoothWeightedRoundRobin, SkipsUnhealthyBackendsAndKeepsTheOthersRatio) {
  Snapshot snap = snapshot_of({{"a", 5}, {"b", 1}, {"c", 1}});
  snap.healthy[1] = 0;
  snap.finish();
  WeightedRoundRobin wrr(0);
  wrr.on_snapshot(snap);
  const std::string seq = pick_sequence(wrr, snap, 600);
  EXPECT_EQ(seq.find('b'), std::string::npos);
  EXPECT_EQ(std::count(seq.begin(), seq.end(), 'a'), 500);
  EXPECT_EQ(std::count(seq.begin(), seq.end(), 'c'), 100);
}

TEST(SmoothWeightedRoundRobin, SkipsBackendsAlreadyTried) {
  const Snapshot snap = snapshot_of({{"a", 5}, {"b", 1}, {"c", 1}});
  TriedSet tried;
  tried.add(0);
  WeightedRoundRobin wrr(0);
  wrr.on_snapshot(snap);
  EXPECT_EQ(pick_sequence(wrr, snap, 4, tried), "bcbc");
}

TEST(SmoothWeightedRoundRobin, ReturnsNothingWhenEveryBackendWasTried) {
  const Snapshot snap = snapshot_of({{"a", 5}, {"b", 1}});
  TriedSet tried;
  tried.add(0);
  tried.add(1);
  WeightedRoundRobin wrr(0);
  wrr.on_snapshot(snap);
  EXPECT_EQ(wrr.pick(snap, {}, tried), std::nullopt);
}

TEST(SmoothWeightedRoundRobin, StartsWorkerIStepsIntoTheSequence) {
  const Snapshot snap = snapshot_of({{"a", 5}, {"b", 1}, {"c", 1}});
  WeightedRoundRobin worker2(2);
  worker2.on_snapshot(snap);
  EXPECT_EQ(pick_sequence(worker2, snap, 7), "bacaaaa");
}

TEST(SmoothWeightedRoundRobin, RestartsTheSequenceWhenTheBackendSetChanges) {
  const Snapshot first = snapshot_of({{"a", 5}, {"b", 1}, {"c", 1}}, 1);
  WeightedRoundRobin wrr(0);
  wrr.on_snapshot(first);
  EXPECT_EQ(pick_sequence(wrr, first, 3), "aab");
  const Snapshot second = snapshot_of({{"x", 1}, {"y", 3}}, 2);
  wrr.on_snapshot(second);
  EXPECT_EQ(pick_sequence(wrr, second, 4), "yxyy");
}

TEST(SmoothWeightedRoundRobin, KeepsItsPlaceWhenOnlyHealthChanges) {
  Snapshot snap = snapshot_of({{"a", 5}, {"b", 1}, {"c", 1}});
  WeightedRoundRobin wrr(0);
  wrr.on_snapshot(snap);
  EXPECT_EQ(pick_sequence(wrr, snap, 3), "aab");
  Snapshot same_set = snap;
  same_set.generation = snap.generation + 1;
  wrr.on_snapshot(same_set);
  EXPECT_EQ(pick_sequence(wrr, same_set, 4), "acaa");
}

}  // namespace
}  // namespace ferry::balancer
