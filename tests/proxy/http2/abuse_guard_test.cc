// Where each abuse limit of an HTTP/2 connection trips, and what stays under it.
#include "proxy/http2/abuse_guard.h"

#include <gtest/gtest.h>

namespace ferry::proxy::http2 {
namespace {

TEST(AbuseGuard, EarlyResetsTripPastAHundredAndHalfTheStreams) {
  AbuseGuard g(128);
  for (int i = 0; i < 200; ++i) g.stream_opened();
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(g.stream_reset_early()) << i;  // 100: not past the floor
  EXPECT_FALSE(g.stream_reset_early());                                     // 101 > 100, and > half of 200
  EXPECT_NE(g.reason(), nullptr);
}

TEST(AbuseGuard, ResetsAmongManyGoodStreamsAreFine) {
  AbuseGuard g(128);
  for (int i = 0; i < 1000; ++i) g.stream_opened();
  for (int i = 0; i < 499; ++i) ASSERT_TRUE(g.stream_reset_early()) << i;  // a browser cancelling: under half
}

TEST(AbuseGuard, RefusedStreamsTripPastTheStreamLimit) {
  AbuseGuard g(128);
  for (int i = 0; i < 128; ++i) ASSERT_TRUE(g.stream_refused());
  EXPECT_FALSE(g.stream_refused());
  AbuseGuard small(10);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(small.stream_refused());  // at least 100 either way
  EXPECT_FALSE(small.stream_refused());
}

TEST(AbuseGuard, EmptyDataFramesInARowTrip) {
  AbuseGuard g(128);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(g.data_frame(true, false));
  EXPECT_TRUE(g.data_frame(false, false));  // a real frame resets the run
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(g.data_frame(true, false));
  EXPECT_TRUE(g.data_frame(true, true));  // an empty END_STREAM is how a body ends
  EXPECT_TRUE(g.data_frame(true, false));
  for (int i = 0; i < 9; ++i) ASSERT_TRUE(g.data_frame(true, false));
  EXPECT_FALSE(g.data_frame(true, false));
}

TEST(AbuseGuard, ControlFramesAreAllowedInProportionToWork) {
  AbuseGuard g(128);
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(g.control_frame());
  EXPECT_FALSE(g.control_frame());
  AbuseGuard busy(128);
  for (int i = 0; i < 10; ++i) busy.stream_opened();
  for (int i = 0; i < 100; ++i) busy.data_frame_sent();
  for (int i = 0; i < 1000 + 10 * 110; ++i) ASSERT_TRUE(busy.control_frame()) << i;
  EXPECT_FALSE(busy.control_frame());
}

}  // namespace
}  // namespace ferry::proxy::http2
