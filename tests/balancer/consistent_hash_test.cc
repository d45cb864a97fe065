#include "balancer/consistent_hash.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <cstring>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace ferry::balancer {
namespace {

Backend backend(int n, uint32_t weight = 1) {
  Backend b;
  b.name = "10.1.0." + std::to_string(n) + ":8000";
  sockaddr_in v4{};
  v4.sin_family = AF_INET;
  v4.sin_port = htons(8000);
  v4.sin_addr.s_addr = htonl((10u << 24) | (1u << 16) | static_cast<uint32_t>(n));
  std::memcpy(&b.address, &v4, sizeof v4);
  b.weight = weight;
  return b;
}

// Backends numbered `ids`, all healthy.
Snapshot snapshot_of(const std::vector<int>& ids, uint64_t backend_set) {
  Snapshot snap;
  snap.backend_set = backend_set;
  for (int id : ids) snap.backends.push_back(backend(id));
  snap.healthy.assign(snap.size(), 1);
  snap.finish();
  return snap;
}

std::vector<int> range(int n) {
  std::vector<int> ids;
  for (int i = 1; i <= n; ++i) ids.push_back(i);
  return ids;
}

std::string key(int i) { return "session-" + std::to_string(i); }

// Key -> backend name, for `keys` keys.
std::vector<std::string> assignment(ConsistentHash& ch, const Snapshot& snap, int keys,
                                    const TriedSet& tried = {}) {
  std::vector<std::string> out;
  for (int i = 0; i < keys; ++i) out.push_back(snap.backends[*ch.pick(snap, key(i), tried)].name);
  return out;
}

TEST(ConsistentHash, SendsTheSameKeyToTheSameBackend) {
  const Snapshot snap = snapshot_of(range(7), 1);
  ConsistentHash ch;
  ch.on_snapshot(snap);
  const auto first = assignment(ch, snap, 1000);
  EXPECT_EQ(assignment(ch, snap, 1000), first);
  ConsistentHash other_worker;  // another worker's own table agrees
  other_worker.on_snapshot(snap);
  EXPECT_EQ(assignment(other_worker, snap, 1000), first);
}

TEST(ConsistentHash, SpreadsKeysEvenlyOverBackends) {
  const Snapshot snap = snapshot_of(range(10), 1);
  ConsistentHash ch;
  ch.on_snapshot(snap);
  std::map<std::string, int> counts;
  constexpr int kKeys = 50000;
  for (const std::string& name : assignment(ch, snap, kKeys)) ++counts[name];
  ASSERT_EQ(counts.size(), 10u);
  for (auto& [name, count] : counts) EXPECT_NEAR(count, kKeys / 10, kKeys / 10 * 0.1) << name;
}

TEST(ConsistentHash, FillsTheTableInProportionToWeight) {
  Snapshot snap;
  snap.backend_set = 1;
  snap.backends = {backend(1, 3), backend(2, 1), backend(3, 4)};
  snap.healthy.assign(3, 1);
  snap.finish();
  ConsistentHash ch;
  ch.on_snapshot(snap);
  std::vector<int> slots(3);
  for (uint32_t index : ch.table()) ++slots[index];
  const double m = ConsistentHash::kTableSize;
  EXPECT_NEAR(slots[0], m * 3 / 8, m * 0.01);
  EXPECT_NEAR(slots[1], m * 1 / 8, m * 0.01);
  EXPECT_NEAR(slots[2], m * 4 / 8, m * 0.01);
}

TEST(ConsistentHash, RemovingOneOfNBackendsMovesAboutOneNthOfTheKeys) {
  constexpr int kBackends = 10;
  constexpr int kKeys = 50000;
  const Snapshot before = snapshot_of(range(kBackends), 1);
  std::vector<int> fewer = range(kBackends);
  fewer.erase(fewer.begin() + 3);
  const Snapshot after = snapshot_of(fewer, 2);
  const std::string removed = backend(4).name;

  ConsistentHash ch;
  ch.on_snapshot(before);
  const auto old_owner = assignment(ch, before, kKeys);
  ch.on_snapshot(after);
  const auto new_owner = assignment(ch, after, kKeys);

  int moved = 0, moved_between_survivors = 0;
  for (int i = 0; i < kKeys; ++i) {
    if (old_owner[i] == new_owner[i]) continue;
    ++moved;
    if (old_owner[i] != removed) ++moved_between_survivors;
  }
  // The removed backend's tenth must move; Maglev moves a little more than that (about 0.5%
  // of keys change hands between survivors at N = 10), not much.
  EXPECT_NEAR(static_cast<double>(moved) / kKeys, 1.0 / kBackends, 0.015);
  EXPECT_LT(static_cast<double>(moved_between_survivors) / kKeys, 0.01);
}

TEST(ConsistentHash, AddingABackendTakesAboutItsShareFromTheOthers) {
  const Snapshot before = snapshot_of(range(9), 1);
  const Snapshot after = snapshot_of(range(10), 2);
  ConsistentHash ch;
  ch.on_snapshot(before);
  const auto old_owner = assignment(ch, before, 50000);
  ch.on_snapshot(after);
  const auto new_owner = assignment(ch, after, 50000);
  int moved = 0;
  for (std::size_t i = 0; i < old_owner.size(); ++i) moved += old_owner[i] != new_owner[i];
  EXPECT_NEAR(moved / 50000.0, 0.1, 0.015);
}

TEST(ConsistentHash, MovesOnlyTheUnhealthyBackendsKeys) {
  Snapshot snap = snapshot_of(range(8), 1);
  ConsistentHash ch;
  ch.on_snapshot(snap);
  const auto healthy_owner = assignment(ch, snap, 5000);
  snap.healthy[2] = 0;
  snap.finish();
  ch.on_snapshot(snap);
  const auto owner = assignment(ch, snap, 5000);
  std::map<std::string, int> spread;
  for (std::size_t i = 0; i < owner.size(); ++i) {
    EXPECT_NE(owner[i], snap.backends[2].name);
    if (healthy_owner[i] == snap.backends[2].name)
      ++spread[owner[i]];
    else
      EXPECT_EQ(owner[i], healthy_owner[i]);
  }
  // The unhealthy backend's keys spread over the others instead of piling onto one neighbour.
  EXPECT_GE(spread.size(), 6u);
}

TEST(ConsistentHash, GivesKeysBackWhenTheBackendRecovers) {
  Snapshot snap = snapshot_of(range(5), 1);
  ConsistentHash ch;
  ch.on_snapshot(snap);
  const auto owner = assignment(ch, snap, 2000);
  Snapshot down = snap;
  down.healthy[4] = 0;
  down.finish();
  ch.on_snapshot(down);
  assignment(ch, down, 2000);
  ch.on_snapshot(snap);
  EXPECT_EQ(assignment(ch, snap, 2000), owner);
}

TEST(ConsistentHash, SendsARetryToAnotherBackendDeterministically) {
  const Snapshot snap = snapshot_of(range(6), 1);
  ConsistentHash ch;
  ch.on_snapshot(snap);
  for (int i = 0; i < 200; ++i) {
    const std::size_t first = *ch.pick(snap, key(i), {});
    TriedSet tried;
    tried.add(first);
    const auto retry = ch.pick(snap, key(i), tried);
    ASSERT_TRUE(retry.has_value());
    EXPECT_NE(*retry, first);
    EXPECT_EQ(ch.pick(snap, key(i), tried), retry);
  }
}

TEST(ConsistentHash, FindsTheLastUsableBackendAmongManyUnusable) {
  Snapshot snap = snapshot_of(range(1000), 1);
  snap.healthy.assign(1000, 0);
  snap.healthy[321] = 1;
  snap.finish();
  ConsistentHash ch;
  ch.on_snapshot(snap);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(ch.pick(snap, key(i), {}), 321u);
}

TEST(ConsistentHash, IdentifiesBackendsByNameAndAddress) {
  Backend a = backend(1);
  Backend same = backend(1);
  Backend other_address = backend(2);
  other_address.name = a.name;  // one DNS name, two addresses
  EXPECT_EQ(backend_identity_hash(a, 0), backend_identity_hash(same, 0));
  EXPECT_NE(backend_identity_hash(a, 0), backend_identity_hash(other_address, 0));
}

}  // namespace
}  // namespace ferry::balancer
