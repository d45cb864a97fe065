// When ferry renews and retries: exact, with the random draw pinned.
#include <gtest/gtest.h>

#include "proxy/acme/renewal.h"

namespace ferry::proxy::acme {
namespace {

constexpr int64_t kDay = 86400;

TEST(AcmeRenewal, TwoThirdsIntoTheLifetimeWithTwoPercentJitter) {
  // 90 days from day 0: 60 days, moved by at most 1.8 days either way.
  EXPECT_EQ(renewal_time(0, 90 * kDay, 0.5), 60 * kDay);
  EXPECT_EQ(renewal_time(0, 90 * kDay, 0.0), 60 * kDay - 155'520);
  EXPECT_EQ(renewal_time(0, 90 * kDay, 1.0), 60 * kDay + 155'520);
  EXPECT_EQ(renewal_time(1'000'000, 1'000'000 + 45 * kDay, 0.5), 1'000'000 + 30 * kDay);
  // 6-day certificates: on day 4.
  EXPECT_EQ(renewal_time(0, 6 * kDay, 0.5), 4 * kDay);
  for (double u = 0; u < 1; u += 0.01) {
    const int64_t t = renewal_time(0, 90 * kDay, u);
    EXPECT_GE(t, 60 * kDay - 155'520);
    EXPECT_LE(t, 60 * kDay + 155'520);
  }
}

TEST(AcmeRenewal, TheAriWindowIsDrawnUniformly) {
  EXPECT_EQ(window_time(100, 200, 0.0), 100);
  EXPECT_EQ(window_time(100, 200, 0.5), 150);
  EXPECT_EQ(window_time(100, 200, 0.999), 199);
  EXPECT_EQ(window_time(300, 200, 0.5), 300);  // a backwards window: its start
}

TEST(AcmeRenewal, BackoffGrowsTenfoldToSixHoursAndStaysUnderATenthOfTheLifetime) {
  EXPECT_EQ(retry_delay(1, 0, 0.5), 60);
  EXPECT_EQ(retry_delay(2, 0, 0.5), 600);
  EXPECT_EQ(retry_delay(3, 0, 0.5), 6000);
  EXPECT_EQ(retry_delay(4, 0, 0.5), 6 * 3600);
  EXPECT_EQ(retry_delay(40, 0, 0.5), 6 * 3600);
  EXPECT_EQ(retry_delay(1, 0, 0.0), 48);  // -20%
  EXPECT_EQ(retry_delay(1, 0, 1.0), 72);  // +20%
  EXPECT_EQ(retry_delay(4, 6 * kDay, 0.5), 6 * 3600);
  EXPECT_EQ(retry_delay(4, kDay, 0.5), 8640);  // a tenth of a day
  EXPECT_EQ(retry_delay(1, 5, 0.5), 1);        // never under a second
}

TEST(AcmeRenewal, RetryAfterIsSecondsOrADateAndCappedAtADay) {
  EXPECT_EQ(retry_after_time("120", 1000), 1120);
  EXPECT_EQ(retry_after_time(" 0", 1000), 1000);
  EXPECT_EQ(retry_after_time("999999999999", 1000), 1000 + kDay);
  EXPECT_EQ(retry_after_time("Sun, 06 Nov 1994 08:49:37 GMT", 784111000), 784111777);
  EXPECT_EQ(retry_after_time("Sun, 06 Nov 1994 08:49:37 GMT", 784111777 + 5), 784111777 + 5);  // past: now
  EXPECT_EQ(retry_after_time("Sun, 06 Nov 2094 08:49:37 GMT", 784111000), 784111000 + kDay);
  EXPECT_FALSE(retry_after_time("soon", 1000));
  EXPECT_FALSE(retry_after_time("", 1000));
}

TEST(AcmeRenewal, Rfc3339TimesWithFractionsAndOffsets) {
  EXPECT_EQ(parse_rfc3339("1970-01-02T00:00:00Z"), kDay);
  EXPECT_EQ(parse_rfc3339("1970-01-02T00:00:00.123456Z"), kDay);
  EXPECT_EQ(parse_rfc3339("1970-01-02T01:00:00+01:00"), kDay);
  EXPECT_EQ(parse_rfc3339("1970-01-01T23:00:00-01:00"), kDay);
  EXPECT_FALSE(parse_rfc3339("1970-01-02"));
  EXPECT_FALSE(parse_rfc3339("1970-01-02T00:00:00"));
  EXPECT_FALSE(parse_rfc3339("tomorrow"));
}

}  // namespace
}  // namespace ferry::proxy::acme
