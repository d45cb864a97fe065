// RateMeter (proxy/admin/rate_meter.h): rates from counter samples taken at successive renders.
#include "proxy/admin/rate_meter.h"

#include <gtest/gtest.h>

namespace ferry::proxy {
namespace {

using namespace std::chrono_literals;

const RateMeter::Clock::time_point t0{std::chrono::hours(100)};

TEST(RateMeter, TheFirstSampleHasNothingToCompareWith) {
  RateMeter meter;
  const RateMeter::Result r = meter.sample({{1, {100, 5}}}, t0);
  EXPECT_EQ(r.window, 0ms);
  EXPECT_TRUE(r.rates.empty());
}

TEST(RateMeter, RatesAreTheGrowthSinceTheEarlierSamplePerSecond) {
  RateMeter meter;
  meter.sample({{1, {100, 5}}, {2, {0, 0}}}, t0);
  const RateMeter::Result r = meter.sample({{1, {110, 7}}, {2, {3, 0}}}, t0 + 2s);
  EXPECT_EQ(r.window, 2000ms);
  ASSERT_EQ(r.rates.size(), 2u);
  EXPECT_DOUBLE_EQ(r.rates.at(1).requests, 5.0);
  EXPECT_DOUBLE_EQ(r.rates.at(1).errors, 1.0);
  EXPECT_DOUBLE_EQ(r.rates.at(2).requests, 1.5);
  EXPECT_DOUBLE_EQ(r.rates.at(2).errors, 0.0);
  // The next sample compares with this one, not the first.
  const RateMeter::Result next = meter.sample({{1, {110, 7}}, {2, {7, 1}}}, t0 + 6s);
  EXPECT_EQ(next.window, 4000ms);
  EXPECT_DOUBLE_EQ(next.rates.at(1).requests, 0.0);
  EXPECT_DOUBLE_EQ(next.rates.at(2).requests, 1.0);
  EXPECT_DOUBLE_EQ(next.rates.at(2).errors, 0.25);
}

TEST(RateMeter, ASampleSoonAfterTheEarlierOneKeepsItAsTheBaseline) {
  RateMeter meter;
  meter.sample({{1, {0, 0}}}, t0);
  meter.sample({{1, {20, 0}}}, t0 + 2s);
  // A HEAD then a GET: the second render repeats the rates instead of measuring 100ms.
  const RateMeter::Result soon = meter.sample({{1, {21, 0}}}, t0 + 2100ms);
  EXPECT_EQ(soon.window, 2000ms);
  EXPECT_DOUBLE_EQ(soon.rates.at(1).requests, 10.0);
  const RateMeter::Result later = meter.sample({{1, {35, 0}}}, t0 + 3500ms);
  EXPECT_EQ(later.window, 1500ms);  // from t0 + 2s: the early sample replaced nothing
  EXPECT_DOUBLE_EQ(later.rates.at(1).requests, 10.0);
}

TEST(RateMeter, AKeyNewSinceTheEarlierSampleHasNoRateYet) {
  RateMeter meter;
  meter.sample({{1, {0, 0}}}, t0);
  const RateMeter::Result r = meter.sample({{1, {4, 0}}, {9, {50, 1}}}, t0 + 2s);
  EXPECT_EQ(r.rates.count(1), 1u);
  EXPECT_EQ(r.rates.count(9), 0u);
}

TEST(RateMeter, CountsThatWentBackGiveNoRate) {
  RateMeter meter;
  meter.sample({{1, {50, 2}}}, t0);
  const RateMeter::Result r = meter.sample({{1, {40, 2}}}, t0 + 2s);
  EXPECT_EQ(r.rates.count(1), 0u);
}

}  // namespace
}  // namespace ferry::proxy
