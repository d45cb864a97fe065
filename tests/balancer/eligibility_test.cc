// TriedSet and Snapshot::eligible (fail_open), which every balancer relies on.
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "balancer/balancer.h"
#include "config/config.h"

namespace ferry::balancer {
namespace {

using config::BalancerKind;

constexpr BalancerKind kAllKinds[] = {BalancerKind::RoundRobin, BalancerKind::WeightedRoundRobin,
                                      BalancerKind::LeastOutstanding, BalancerKind::PowerOfTwo,
                                      BalancerKind::ConsistentHash};

const char* name(BalancerKind kind) {
  switch (kind) {
    case BalancerKind::RoundRobin: return "round_robin";
    case BalancerKind::WeightedRoundRobin: return "weighted_round_robin";
    case BalancerKind::LeastOutstanding: return "least_outstanding";
    case BalancerKind::PowerOfTwo: return "power_of_two";
    case BalancerKind::ConsistentHash: return "consistent_hash";
  }
  return "?";
}

Snapshot snapshot_of(std::vector<uint8_t> healthy, bool fail_open) {
  Snapshot snap;
  snap.backend_set = 1;
  for (std::size_t i = 0; i < healthy.size(); ++i) {
    Backend b;
    b.name = "10.0.0." + std::to_string(i + 1) + ":80";
    snap.backends.push_back(std::move(b));
  }
  snap.healthy = std::move(healthy);
  snap.fail_open = fail_open;
  snap.finish();
  return snap;
}

TEST(TriedSet, StartsEmpty) {
  TriedSet tried;
  EXPECT_EQ(tried.size(), 0u);
  EXPECT_FALSE(tried.contains(0));
}

TEST(TriedSet, ContainsWhatWasAddedOnce) {
  TriedSet tried;
  tried.add(3);
  tried.add(3);
  tried.add(7);
  EXPECT_EQ(tried.size(), 2u);
  EXPECT_TRUE(tried.contains(3));
  EXPECT_TRUE(tried.contains(7));
  EXPECT_FALSE(tried.contains(4));
}

TEST(TriedSet, IsEmptyAfterClear) {
  TriedSet tried;
  tried.add(1);
  tried.clear();
  EXPECT_EQ(tried.size(), 0u);
  EXPECT_FALSE(tried.contains(1));
}

TEST(TriedSet, IgnoresAdditionsPastItsCapacity) {
  TriedSet tried;
  for (std::size_t i = 0; i < TriedSet::kCapacity + 4; ++i) tried.add(i);
  EXPECT_EQ(tried.size(), TriedSet::kCapacity);
  EXPECT_FALSE(tried.contains(TriedSet::kCapacity));
}

TEST(Snapshot, OnlyHealthyBackendsAreEligible) {
  const Snapshot snap = snapshot_of({1, 0, 1}, false);
  EXPECT_TRUE(snap.eligible(0));
  EXPECT_FALSE(snap.eligible(1));
  EXPECT_TRUE(snap.eligible(2));
}

TEST(Snapshot, FailOpenMakesEveryBackendEligibleWhenNoneIsHealthy) {
  const Snapshot snap = snapshot_of({0, 0, 0}, true);
  for (std::size_t i = 0; i < 3; ++i) EXPECT_TRUE(snap.eligible(i));
}

TEST(Snapshot, FailOpenKeepsUnhealthyBackendsOutWhileOneIsHealthy) {
  const Snapshot snap = snapshot_of({0, 1, 0}, true);
  EXPECT_FALSE(snap.eligible(0));
  EXPECT_TRUE(snap.eligible(1));
  EXPECT_FALSE(snap.eligible(2));
}

TEST(EveryBalancer, ReturnsNothingWhenNoBackendIsHealthy) {
  const Snapshot snap = snapshot_of({0, 0, 0}, false);
  for (BalancerKind kind : kAllKinds) {
    auto balancer = make_balancer(kind, 0, 42);
    balancer->on_snapshot(snap);
    for (int i = 0; i < 20; ++i)
      EXPECT_EQ(balancer->pick(snap, "key", {}), std::nullopt) << name(kind);
  }
}

TEST(EveryBalancer, UsesEveryBackendWhenFailingOpen) {
  const Snapshot snap = snapshot_of({0, 0, 0}, true);
  for (BalancerKind kind : kAllKinds) {
    auto balancer = make_balancer(kind, 0, 42);
    balancer->on_snapshot(snap);
    std::vector<int> counts(3);
    for (int i = 0; i < 300; ++i) {
      auto index = balancer->pick(snap, "key-" + std::to_string(i), {});
      ASSERT_TRUE(index.has_value()) << name(kind);
      ++counts[*index];
    }
    for (int c : counts) EXPECT_GT(c, 0) << name(kind);
  }
}

TEST(EveryBalancer, FailingOpenStillSkipsUnhealthyBackendsWhileOneIsHealthy) {
  // fail_open only matters when nothing is healthy; with one healthy backend it changes nothing.
  const Snapshot snap = snapshot_of({0, 1, 0, 0}, true);
  for (BalancerKind kind : kAllKinds) {
    auto balancer = make_balancer(kind, 0, 42);
    balancer->on_snapshot(snap);
    for (int i = 0; i < 200; ++i) {
      auto index = balancer->pick(snap, "key-" + std::to_string(i), {});
      ASSERT_TRUE(index.has_value()) << name(kind);
      EXPECT_EQ(*index, 1u) << name(kind) << " picked an unhealthy backend while failing open";
      balancer->release(*index, Outcome::Success);
    }
  }
}

TEST(EveryBalancer, NeverPicksAnUnhealthyOrTriedBackend) {
  const Snapshot snap = snapshot_of({1, 0, 1, 1, 0, 1}, false);
  TriedSet tried;
  tried.add(2);
  for (BalancerKind kind : kAllKinds) {
    auto balancer = make_balancer(kind, 1, 7);
    balancer->on_snapshot(snap);
    for (int i = 0; i < 500; ++i) {
      auto index = balancer->pick(snap, "key-" + std::to_string(i), tried);
      ASSERT_TRUE(index.has_value()) << name(kind);
      EXPECT_TRUE(*index == 0 || *index == 3 || *index == 5)
          << name(kind) << " picked " << *index;
      balancer->release(*index, Outcome::Success);
    }
  }
}

TEST(EveryBalancer, ReturnsNothingWhenEveryEligibleBackendWasTried) {
  const Snapshot snap = snapshot_of({1, 0, 1}, false);
  TriedSet tried;
  tried.add(0);
  tried.add(2);
  for (BalancerKind kind : kAllKinds) {
    auto balancer = make_balancer(kind, 0, 3);
    balancer->on_snapshot(snap);
    EXPECT_EQ(balancer->pick(snap, "key", tried), std::nullopt) << name(kind);
  }
}

}  // namespace
}  // namespace ferry::balancer
