// Bytes the program holds allocated, for the tests that weigh what ferry keeps: glibc's count
// (mallinfo2 sums every arena, the worker threads' too), or under ASan or TSan, whose allocator
// replaces glibc's, the sanitizer's own. Each counts in its own unit: glibc the chunks it gave
// (each with its 8-byte header, rounded up to 16), ASan the bytes asked for
// (kHeapCountsBytesAskedFor), TSan the blocks of its size classes (320 bytes for 296 asked).
// Freed bytes leave every count at the free, quarantine or not.
#pragma once

#include <malloc.h>

#include <cstddef>
#include <vector>

#include "support/sanitizers.h"

#if defined(FERRY_ASAN) || defined(FERRY_TSAN)
#include <sanitizer/allocator_interface.h>
#endif

namespace ferry::testing {

#ifdef FERRY_ASAN
inline constexpr bool kHeapCountsBytesAskedFor = true;
#else
inline constexpr bool kHeapCountsBytesAskedFor = false;
#endif

inline std::size_t heap_in_use() {
#if defined(FERRY_ASAN) || defined(FERRY_TSAN)
  return __sanitizer_get_current_allocated_bytes();
#else
  return mallinfo2().uordblks;
#endif
}

// Whether heap_in_use() sees an allocation at all: a test that weighs memory with a count
// that never moves could not fail.
inline bool heap_in_use_sees_allocations() {
  const std::size_t before = heap_in_use();
  std::vector<char> probe(100000, 1);
  return heap_in_use() >= before + probe.size();
}

}  // namespace ferry::testing
