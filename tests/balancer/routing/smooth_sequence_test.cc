#include "balancer/routing/smooth_sequence.h"

#include <gtest/gtest.h>

#include <string>

namespace ferry::balancer::routing {
namespace {

std::string letters(const std::vector<uint32_t>& sequence) {
  std::string out;
  for (uint32_t position : sequence) out.push_back(static_cast<char>('a' + position));
  return out;
}

TEST(SmoothSequence, InterleavesByWeightAsNginxDoes) {
  EXPECT_EQ(letters(smooth_sequence({5, 1, 1})), "aabacaa");
  EXPECT_EQ(letters(smooth_sequence({1, 1})), "ab");
  EXPECT_EQ(letters(smooth_sequence({1})), "a");
}

TEST(SmoothSequence, DividesByTheGreatestCommonDivisor) {
  EXPECT_EQ(letters(smooth_sequence({90, 10})), "aaaaabaaaa");
  EXPECT_EQ(letters(smooth_sequence({10, 20})), "bab");
  EXPECT_EQ(letters(smooth_sequence({500, 500})), "ab");
  EXPECT_EQ(smooth_sequence({999, 998}).size(), 1997u);
}

TEST(SmoothSequence, WeightZeroNeverAppears) {
  EXPECT_EQ(letters(smooth_sequence({0, 3, 0, 1})), "bbdb");
  EXPECT_TRUE(smooth_sequence({0, 0}).empty());
  EXPECT_TRUE(smooth_sequence({}).empty());
}

TEST(SmoothSequence, AnOversizedCycleIsScaledDownKeepingEveryPool) {
  std::vector<uint32_t> weights(20, 997);
  weights.push_back(1);
  const std::vector<uint32_t> sequence = smooth_sequence(weights);
  EXPECT_LE(sequence.size(), kMaxSequenceLength);
  std::vector<std::size_t> counts(weights.size(), 0);
  for (uint32_t position : sequence) ++counts[position];
  for (std::size_t i = 0; i + 1 < counts.size(); ++i) EXPECT_EQ(counts[i], counts[0]);
  EXPECT_EQ(counts.back(), 1u);
}

}  // namespace
}  // namespace ferry::balancer::routing
