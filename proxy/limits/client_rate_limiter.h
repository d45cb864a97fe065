// Every client's token buckets, in one table all workers share, so a client's limit holds
// across workers: with rate 10 and two workers a client gets 10 requests a second, not 20.
// The request path takes no lock and allocates nothing: the table is a fixed array of slots,
// each a key and a TAT (token_bucket.h) in two 64-bit words updated with compare-and-swap.
//
// A key hashes to a bucket of kSlotsPerBucket slots, probed in order. A client without a slot
// takes the one closest to full: an empty slot, or one whose TAT has passed (its bucket is full
// again, so nothing is lost by reusing it), else, when every slot is busy, the one that would
// be full soonest. Memory is fixed whatever the number of addresses; a hot client, whose TAT is
// far ahead, is the last its bucket would give up.
//
// Approximations, all in a client's favour or bounded by one burst, never a lock:
// - Keys are 64-bit hashes: two addresses (or routes) with the same hash share a bucket.
// - An evicted client starts over with a full bucket: under more busy clients than a bucket's
//   slots, the least-indebted of them get a fresh burst.
// - A key and its TAT are two words, not one: a thread that read a slot's key may charge the
//   TAT just after another thread took the slot for someone else, charging that client one
//   token (only when slots are being taken over, i.e. under eviction, and racing).
// - Two threads that both miss the same new key may take two slots for it; the scan finds the
//   first, so the client may get one burst more until the other slot's TAT passes.
// - If the table cannot be mapped at all, nothing is limited (ferry keeps serving).
#pragma once

#include <cstddef>
#include <cstdint>

#include "proxy/limits/token_bucket.h"

namespace ferry::proxy::limits {

class ClientRateLimiter {
 public:
  static constexpr std::size_t kDefaultSlots = std::size_t{1} << 16;  // 64Ki clients, 1MiB
  static constexpr std::size_t kSlotsPerBucket = 8;  // 128 bytes: two cache lines per request

  // `slots` is rounded up to a power of two of at least kSlotsPerBucket. The memory is mapped
  // here and touched only by clients that are limited, so a ferry without limits pays nothing
  // for it but address space.
  explicit ClientRateLimiter(std::size_t slots = kDefaultSlots);
  ~ClientRateLimiter();
  ClientRateLimiter(const ClientRateLimiter&) = delete;
  ClientRateLimiter& operator=(const ClientRateLimiter&) = delete;

  // Any thread, lock-free, never allocates: one request of `key` (client_key.h) under `rate` at
  // `now_ns` (a monotonic clock every caller shares, such as uv_hrtime()). Key 0 and a rate
  // that is off are always allowed.
  Decision admit(uint64_t key, const Rate& rate, uint64_t now_ns);

  std::size_t capacity() const { return slot_count_; }
  // Any thread: the slots whose bucket is not full at `now_ns` (a snapshot, for tests).
  std::size_t busy(uint64_t now_ns) const;

 private:
  struct Slot {
    uint64_t key;  // 0: never used. Read and written through std::atomic_ref by every worker
    uint64_t tat;  // the bucket's TAT; 0 or past: full. Likewise every worker's
  };

  Slot* slots_ = nullptr;
  std::size_t slot_count_ = 0;
  std::size_t bucket_mask_ = 0;  // bucket count - 1
};

}  // namespace ferry::proxy::limits
