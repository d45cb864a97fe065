#include "balancer/consistent_hash.h"

#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <string_view>

#include "balancer/hash.h"

namespace ferry::balancer {

namespace {

constexpr uint64_t kOffsetSeed = 0x6d61676c65766f66ULL;  // "maglevof"
constexpr uint64_t kSkipSeed = 0x6d61676c65767370ULL;    // "maglevsp"
constexpr uint64_t kKeySeed = 0x6665727279686b79ULL;     // "ferryhky"
// Table slots tried past an unusable one before falling back to a scan of the backends.
constexpr int kMaxWalk = 64;

std::string_view address_bytes(const sockaddr_storage& addr, char (&scratch)[18]) {
  if (addr.ss_family == AF_INET) {
    sockaddr_in v4;
    std::memcpy(&v4, &addr, sizeof v4);
    std::memcpy(scratch, &v4.sin_port, 2);
    std::memcpy(scratch + 2, &v4.sin_addr, 4);
    return {scratch, 6};
  }
  if (addr.ss_family == AF_INET6) {
    sockaddr_in6 v6;
    std::memcpy(&v6, &addr, sizeof v6);
    std::memcpy(scratch, &v6.sin6_port, 2);
    std::memcpy(scratch + 2, &v6.sin6_addr, 16);
    return {scratch, 18};
  }
  return {};
}

}  // namespace

uint64_t backend_identity_hash(const Backend& backend, uint64_t seed) {
  char scratch[18];
  return hash_bytes(address_bytes(backend.address, scratch), hash_bytes(backend.name, seed));
}

void ConsistentHash::on_snapshot(const PoolView& snap) {
  if (!built_ || snap.backend_set != backend_set_ || backends_ != snap.size()) rebuild(snap);
}

void ConsistentHash::rebuild(const PoolView& snap) {
  built_ = true;
  backend_set_ = snap.backend_set;
  backends_ = snap.size();
  table_.clear();
  if (backends_ == 0) return;

  struct Entry {
    uint32_t offset;
    uint32_t skip;
    uint32_t next = 0;     // position in this backend's permutation
    uint64_t weight;
    uint64_t target = 0;   // Envoy's weighted Maglev: claim a slot every max/weight rounds
  };
  const std::size_t n = backends_;
  std::vector<Entry> entries;
  entries.reserve(n);
  uint64_t max_weight = 1;
  for (const Backend& b : snap.backends) max_weight = std::max<uint64_t>(max_weight, b.weight);
  for (const Backend& b : snap.backends) {
    Entry e;
    e.offset = static_cast<uint32_t>(backend_identity_hash(b, kOffsetSeed) % kTableSize);
    e.skip = static_cast<uint32_t>(backend_identity_hash(b, kSkipSeed) % (kTableSize - 1)) + 1;
    e.weight = std::max<uint64_t>(b.weight, 1);
    entries.push_back(e);
  }

  constexpr uint32_t kEmpty = UINT32_MAX;
  table_.assign(kTableSize, kEmpty);
  uint32_t filled = 0;
  for (uint64_t round = 1; filled < kTableSize; ++round) {
    for (std::size_t i = 0; i < n && filled < kTableSize; ++i) {
      Entry& e = entries[i];
      if (round * e.weight < e.target) continue;
      e.target += max_weight;
      uint32_t slot;
      do {
        slot = static_cast<uint32_t>(
            (e.offset + static_cast<uint64_t>(e.skip) * e.next) % kTableSize);
        ++e.next;
      } while (table_[slot] != kEmpty);
      table_[slot] = static_cast<uint32_t>(i);
      ++filled;
    }
  }
}

std::optional<std::size_t> ConsistentHash::pick(const PoolView& snap, std::string_view key,
                                                const TriedSet& tried) {
  if (!built_ || snap.backend_set != backend_set_ || backends_ != snap.size()) rebuild(snap);
  const std::size_t n = snap.size();
  if (n == 0) return std::nullopt;
  auto usable = [&](std::size_t i) { return snap.eligible(i) && !tried.contains(i); };

  const uint64_t h = hash_bytes(key, kKeySeed);
  uint32_t slot = static_cast<uint32_t>(h % kTableSize);
  for (int step = 0; step < kMaxWalk; ++step) {
    const uint32_t i = table_[slot];
    if (usable(i)) return i;
    if (++slot == kTableSize) slot = 0;
  }
  // Most of the set is unusable: still deterministic per key, just coarser.
  const std::size_t start = h % n;
  for (std::size_t step = 0; step < n; ++step) {
    std::size_t i = start + step;
    if (i >= n) i -= n;
    if (usable(i)) return i;
  }
  return std::nullopt;
}

}  // namespace ferry::balancer
