#include <gtest/gtest.h>

#include <cstdint>

#include "proxy/core/client_conn.h"
#include "proxy/core/worker.h"

// Idle deadlines are kept in 32 bits of the loop's millisecond clock (ClientConn stays in a
// smaller malloc size class): they must still compare right where that clock wraps.
namespace ferry::proxy {
namespace {

constexpr uint64_t kDay = 24ull * 3600 * 1000;

TEST(IdleDeadline, MillisecondsUntilADeadlineAcrossTheWrapOfItsThirtyTwoBits) {
  for (uint64_t now : {uint64_t{5}, (uint64_t{1} << 32) - 10, (uint64_t{7} << 32) + 123, uint64_t{1} << 40}) {
    for (uint64_t ms : {uint64_t{0}, uint64_t{1}, uint64_t{60'000}, kDay}) {
      const auto deadline = static_cast<uint32_t>(now + ms);
      EXPECT_EQ(Worker::ms_until(deadline, now), static_cast<int64_t>(ms)) << now << " + " << ms;
      EXPECT_EQ(Worker::ms_until(deadline, now + ms + 250), -250) << now << " + " << ms;
    }
  }
}

TEST(IdleDeadline, AConnectionFitsTheSmallerMallocChunk) {
  // glibc serves 296 bytes from a 304-byte chunk and 297 from a 320-byte one: at 10,000 idle
  // connections that is 160 kB.
  EXPECT_LE(sizeof(ClientConn), 296u);
}

}  // namespace
}  // namespace ferry::proxy
