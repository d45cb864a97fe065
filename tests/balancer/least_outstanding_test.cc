#include "balancer/least_outstanding.h"

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
    b.name = std::string(1, static_cast<char>('a' + i));
    b.load->outstanding.store(outstanding[i]);
    snap.backends.push_back(std::move(b));
  }
  snap.healthy.assign(snap.size(), 1);
  snap.finish();
  return snap;
}

TEST(LeastOutstanding, PicksTheBackendWithFewestRequestsInFlight) {
  const Snapshot snap = snapshot_with_outstanding({5, 2, 9, 3});
  LeastOutstanding lo(0);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(lo.pick(snap, {}, {}), 1u);
}

TEST(LeastOutstanding, RotatesAmongEquallyLoadedBackends) {
  const Snapshot snap = snapshot_with_outstanding({0, 0, 0});
  LeastOutstanding lo(0);
  std::string seq;
  for (int i = 0; i < 6; ++i) seq += snap.backends[*lo.pick(snap, {}, {})].name;
  EXPECT_EQ(seq, "abcabc");
}

TEST(LeastOutstanding, StartsWorkerIAtBackendIOnTies) {
  const Snapshot snap = snapshot_with_outstanding({4, 4, 4});
  LeastOutstanding lo(2);
  EXPECT_EQ(lo.pick(snap, {}, {}), 2u);
}

TEST(LeastOutstanding, FollowsLoadAsWorkersTakeAndReleaseRequests) {
  // Requests taken and never released: picks fill the least loaded until the counts even out.
  const Snapshot snap = snapshot_with_outstanding({6, 0, 3});
  LeastOutstanding lo(0);
  std::vector<int> counts(3);
  for (int i = 0; i < 12; ++i) {
    const std::size_t index = *lo.pick(snap, {}, {});
    ++counts[index];
    snap.backends[index].load->outstanding.fetch_add(1);
  }
  EXPECT_EQ(counts, (std::vector<int>{1, 7, 4}));
  for (const Backend& b : snap.backends) EXPECT_EQ(b.load->outstanding.load(), 7u);
}

TEST(LeastOutstanding, FavoursTheLessLoadedWhenCountsAreSkewed) {
  // Outstanding counts held skewed; every pick goes to the least loaded eligible backend.
  const Snapshot snap = snapshot_with_outstanding({50, 1, 20, 1});
  LeastOutstanding lo(0);
  std::vector<int> counts(4);
  for (int i = 0; i < 1000; ++i) ++counts[*lo.pick(snap, {}, {})];
  EXPECT_EQ(counts, (std::vector<int>{0, 500, 0, 500}));
}

TEST(LeastOutstanding, SkipsUnhealthyAndTriedBackendsEvenWhenIdle) {
  Snapshot snap = snapshot_with_outstanding({0, 0, 8, 9});
  snap.healthy[0] = 0;
  snap.finish();
  TriedSet tried;
  tried.add(1);
  LeastOutstanding lo(0);
  EXPECT_EQ(lo.pick(snap, {}, tried), 2u);
}

}  // namespace
}  // namespace ferry::balancer
