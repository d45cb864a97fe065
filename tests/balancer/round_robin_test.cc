#include "balancer/round_robin.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace ferry::balancer {
namespace {

Snapshot snapshot_of(std::size_t n) {
  Snapshot snap;
  snap.backend_set = 1;
  for (std::size_t i = 0; i < n; ++i) {
    Backend b;
    b.name = std::string(1, static_cast<char>('a' + i));
    snap.backends.push_back(std::move(b));
  }
  snap.healthy.assign(n, 1);
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

TEST(RoundRobin, RotatesThroughEveryBackendInOrder) {
  const Snapshot snap = snapshot_of(3);
  RoundRobin rr(0);
  rr.on_snapshot(snap);
  EXPECT_EQ(pick_sequence(rr, snap, 7), "abcabca");
}

TEST(RoundRobin, StartsWorkerIAtBackendI) {
  const Snapshot snap = snapshot_of(3);
  RoundRobin second(1), third(2);
  EXPECT_EQ(pick_sequence(second, snap, 3), "bca");
  EXPECT_EQ(pick_sequence(third, snap, 3), "cab");
}

TEST(RoundRobin, SpreadsPicksExactlyEvenly) {
  const Snapshot snap = snapshot_of(4);
  RoundRobin rr(0);
  std::vector<int> counts(4);
  for (int i = 0; i < 4000; ++i) ++counts[*rr.pick(snap, {}, {})];
  EXPECT_EQ(counts, (std::vector<int>{1000, 1000, 1000, 1000}));
}

TEST(RoundRobin, SkipsUnhealthyBackends) {
  Snapshot snap = snapshot_of(3);
  snap.healthy[1] = 0;
  snap.finish();
  RoundRobin rr(0);
  EXPECT_EQ(pick_sequence(rr, snap, 4), "acac");
}

TEST(RoundRobin, SkipsBackendsAlreadyTried) {
  const Snapshot snap = snapshot_of(3);
  TriedSet tried;
  tried.add(0);
  RoundRobin rr(0);
  EXPECT_EQ(pick_sequence(rr, snap, 4, tried), "bcbc");
}

TEST(RoundRobin, ReturnsNothingWhenEveryBackendWasTried) {
  const Snapshot snap = snapshot_of(2);
  TriedSet tried;
  tried.add(0);
  tried.add(1);
  RoundRobin rr(0);
  EXPECT_EQ(rr.pick(snap, {}, tried), std::nullopt);
}

TEST(RoundRobin, ReturnsNothingForAnEmptySet) {
  const Snapshot snap = snapshot_of(0);
  RoundRobin rr(0);
  EXPECT_EQ(rr.pick(snap, {}, {}), std::nullopt);
}

}  // namespace
}  // namespace ferry::balancer
