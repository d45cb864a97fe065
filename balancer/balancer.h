// The balancer interface. An algorithm is a plain object owned by one worker: it runs on that
// worker's loop only, so it keeps its cursor/state without locks.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include "balancer/snapshot.h"
#include "config/config.h"

namespace ferry::balancer {

// Backends already tried for the current request; a retry never goes to one of them twice.
class TriedSet {
 public:
  static constexpr std::size_t kCapacity = 16;
  bool contains(std::size_t index) const {
    for (std::size_t i = 0; i < count_; ++i)
      if (indices_[i] == index) return true;
    return false;
  }
  void add(std::size_t index) {
    if (count_ < kCapacity && !contains(index)) indices_[count_++] = static_cast<uint32_t>(index);
  }
  std::size_t size() const { return count_; }
  void clear() { count_ = 0; }

 private:
  std::array<uint32_t, kCapacity> indices_{};
  std::size_t count_ = 0;
};

enum class Outcome : uint8_t {
  Success,  // a response came back (whatever its status)
  Failure,  // reset, timeout or malformed response
  Refused,  // connect refused or failed: the backend is marked unhealthy at once
};

class Balancer {
 public:
  virtual ~Balancer() = default;

  // The worker adopted `snap`. Rebuild anything derived from the backend set (a ring, weights)
  // here, never per pick. Called before the first pick with a new snapshot.
  virtual void on_snapshot(const PoolView& snap) = 0;

  // Returns an index into snap.backends among the eligible ones not in `tried`, or nullopt when
  // there is none. `key` is the request's hash key (consistent_hash only; others ignore it).
  // Never blocks or allocates.
  virtual std::optional<std::size_t> pick(const PoolView& snap, std::string_view key,
                                          const TriedSet& tried) = 0;

  // Every pick is released exactly once, with how it went.
  virtual void release(std::size_t /*index*/, Outcome /*outcome*/) {}
};

// worker_index seeds per-worker state (round robin starts worker i at backend i); seed feeds RNGs.
std::unique_ptr<Balancer> make_balancer(config::BalancerKind kind, unsigned worker_index,
                                        uint64_t seed);

}  // namespace ferry::balancer
