// Bytes the program holds allocated, for the tests that weigh what ferry keeps: glibc's count
// (mallinfo2 sums every arena, the worker threads' too), or under ASan or TSan, whose allocator
// replaces glibc's, the sanitizer's own. Each counts in its own unit: glibc the chunks it gave
// (each with its 8-byte header, rounded up to 16), ASan the bytes asked for
// (kHeapCountsBytesAskedFor), TSan the blocks of its size classes (320 bytes for 296 asked).
// Freed bytes leave every count at the free, quarantine or not.
#pragma once

#include <malloc.h>

#include <cstddef>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define FERRY_SANITIZER_ALLOCATOR 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define FERRY_SANITIZER_ALLOCATOR 1
#endif
#endif
#ifdef FERRY_SANITIZER_ALLOCATOR
#include <sanitizer/allocator_interface.h>
#endif
#if defined(__SANITIZE_ADDRESS__)
#define FERRY_ASAN_ALLOCATOR 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FERRY_ASAN_ALLOCATOR 1
#endif
#endif

namespace ferry::testing {

#ifdef FERRY_ASAN_ALLOCATOR
inline constexpr bool kHeapCountsBytesAskedFor = true;
#else
inline constexpr bool kHeapCountsBytesAskedFor = false;
#endif

inline std::size_t heap_in_use() {
#ifdef FERRY_SANITIZER_ALLOCATOR
  return __sanitizer_get_current_allocated_bytes();
#else
  return mallinfo2().uordblks;
#endif
}

}  // namespace ferry::testing
