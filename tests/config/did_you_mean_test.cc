#include "config/did_you_mean.h"

#include <gtest/gtest.h>

#include <array>

namespace ferry::config {
namespace {

TEST(EditDistance, CountsInsertionsDeletionsSubstitutionsAndSwaps) {
  EXPECT_EQ(edit_distance("connect", "connect"), 0u);
  EXPECT_EQ(edit_distance("conect", "connect"), 1u);
  EXPECT_EQ(edit_distance("connnect", "connect"), 1u);
  EXPECT_EQ(edit_distance("cennect", "connect"), 1u);
  EXPECT_EQ(edit_distance("wieght", "weight"), 1u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
}

TEST(ClosestName, SuggestsOnlyPlausibleTypos) {
  constexpr std::array<std::string_view, 4> names{"listen", "workers", "timeouts", "retries"};
  EXPECT_EQ(closest_name("lisen", names), "listen");
  EXPECT_EQ(closest_name("timeout", names), "timeouts");
  EXPECT_EQ(closest_name("Workers", names), "workers");
  EXPECT_EQ(closest_name("retires", names), "retries");
  EXPECT_EQ(closest_name("banana", names), std::nullopt);
  EXPECT_EQ(closest_name("x", names), std::nullopt);
  EXPECT_EQ(closest_name("anything", std::span<const std::string_view>{}), std::nullopt);
}

}  // namespace
}  // namespace ferry::config
