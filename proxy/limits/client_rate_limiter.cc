#include "proxy/limits/client_rate_limiter.h"

#include <sys/mman.h>

#include <atomic>
#include <bit>
#include <limits>

namespace ferry::proxy::limits {

namespace {

// How often a request looks again after another thread took the slot it wanted. Past that
// (several clients landing on one bucket at the same instant), it goes through unlimited
// rather than spin on the request path.
constexpr int kClaimAttempts = 4;

// Each word stands alone: nothing else is published through it, so relaxed order suffices.
uint64_t load(uint64_t& word) { return std::atomic_ref<uint64_t>(word).load(std::memory_order_relaxed); }

bool swap_if(uint64_t& word, uint64_t expected, uint64_t desired) {
  return std::atomic_ref<uint64_t>(word).compare_exchange_strong(expected, desired, std::memory_order_relaxed);
}

// Takes a token from the bucket whose TAT is `tat`, retrying while other threads move it.
Decision charge(uint64_t& tat, const Rate& rate, uint64_t now_ns) {
  std::atomic_ref<uint64_t> word(tat);
  uint64_t seen = word.load(std::memory_order_relaxed);
  while (true) {
    const Decision d = take_token(seen, now_ns, rate);
    if (!d.allowed) return d;
    if (word.compare_exchange_weak(seen, d.tat, std::memory_order_relaxed)) return d;
  }
}

}  // namespace

ClientRateLimiter::ClientRateLimiter(std::size_t slots) {
  const std::size_t count = std::bit_ceil(slots < kSlotsPerBucket ? kSlotsPerBucket : slots);
  // An anonymous mapping is zeroed by the kernel page by page on first touch, unlike an array
  // of std::atomic, whose constructors would write (and so commit) every page up front.
  void* memory = ::mmap(nullptr, count * sizeof(Slot), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) return;
  slots_ = static_cast<Slot*>(memory);
  slot_count_ = count;
  bucket_mask_ = count / kSlotsPerBucket - 1;
}

ClientRateLimiter::~ClientRateLimiter() {
  if (slots_ != nullptr) ::munmap(slots_, slot_count_ * sizeof(Slot));
}

Decision ClientRateLimiter::admit(uint64_t key, const Rate& rate, uint64_t now_ns) {
  if (key == 0 || !rate.on() || slots_ == nullptr) return Decision{};
  Slot* const bucket = slots_ + (key & bucket_mask_) * kSlotsPerBucket;
  for (int attempt = 0; attempt < kClaimAttempts; ++attempt) {
    Slot* victim = nullptr;
    uint64_t victim_key = 0;
    uint64_t victim_tat = std::numeric_limits<uint64_t>::max();
    for (std::size_t i = 0; i < kSlotsPerBucket; ++i) {
      Slot& slot = bucket[i];
      const uint64_t slot_key = load(slot.key);
      if (slot_key == key) return charge(slot.tat, rate, now_ns);
      const uint64_t tat = load(slot.tat);
      if (victim == nullptr || tat < victim_tat) {
        victim = &slot;
        victim_key = slot_key;
        victim_tat = tat;
      }
    }
    // The key CAS decides between threads taking the same slot; the loser looks again (the
    // winner may have taken it for this very key).
    if (!swap_if(victim->key, victim_key, key)) continue;
    // An evicted client's debt is not the newcomer's. If the TAT moved since it was read,
    // someone charged it under the new key already: leave it.
    if (victim_tat > now_ns) swap_if(victim->tat, victim_tat, 0);
    return charge(victim->tat, rate, now_ns);
  }
  return Decision{};
}

std::size_t ClientRateLimiter::busy(uint64_t now_ns) const {
  std::size_t n = 0;
  for (std::size_t i = 0; i < slot_count_; ++i) n += load(slots_[i].tat) > now_ns ? 1 : 0;
  return n;
}

}  // namespace ferry::proxy::limits
