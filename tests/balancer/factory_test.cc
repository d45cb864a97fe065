#include <gtest/gtest.h>

#include "balancer/balancer.h"
#include "balancer/consistent_hash.h"
#include "balancer/least_outstanding.h"
#include "balancer/power_of_two.h"
#include "balancer/round_robin.h"
#include "balancer/weighted_round_robin.h"

namespace ferry::balancer {
namespace {

using config::BalancerKind;

TEST(MakeBalancer, BuildsTheAlgorithmEachKindNames) {
  EXPECT_NE(dynamic_cast<RoundRobin*>(make_balancer(BalancerKind::RoundRobin, 0, 1).get()),
            nullptr);
  EXPECT_NE(dynamic_cast<WeightedRoundRobin*>(
                make_balancer(BalancerKind::WeightedRoundRobin, 0, 1).get()),
            nullptr);
  EXPECT_NE(dynamic_cast<LeastOutstanding*>(
                make_balancer(BalancerKind::LeastOutstanding, 0, 1).get()),
            nullptr);
  EXPECT_NE(dynamic_cast<PowerOfTwo*>(make_balancer(BalancerKind::PowerOfTwo, 0, 1).get()),
            nullptr);
  EXPECT_NE(dynamic_cast<ConsistentHash*>(
                make_balancer(BalancerKind::ConsistentHash, 0, 1).get()),
            nullptr);
}

TEST(MakeBalancer, GivesEachWorkerItsOwnRandomSequence) {
  Snapshot snap;
  snap.backend_set = 1;
  snap.backends.resize(16);
  snap.healthy.assign(16, 1);
  snap.finish();
  auto worker0 = make_balancer(BalancerKind::PowerOfTwo, 0, 42);
  auto worker1 = make_balancer(BalancerKind::PowerOfTwo, 1, 42);
  std::string a, b;
  for (int i = 0; i < 32; ++i) {
    a += std::to_string(*worker0->pick(snap, {}, {})) + ",";
    b += std::to_string(*worker1->pick(snap, {}, {})) + ",";
  }
  EXPECT_NE(a, b);
}

}  // namespace
}  // namespace ferry::balancer
