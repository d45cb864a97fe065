#include "config/cidr.h"

#include <gtest/gtest.h>

namespace ferry::config {
namespace {

TEST(ParseCidr, TakesRangesAndPlainAddressesOfBothFamilies) {
  std::string problem;
  const std::optional<Cidr> v4 = parse_cidr("10.0.0.0/8", &problem);
  ASSERT_TRUE(v4) << problem;
  EXPECT_FALSE(v4->v6);
  EXPECT_EQ(v4->prefix, 8u);
  EXPECT_EQ(v4->network[0], 10);
  const std::optional<Cidr> one = parse_cidr("192.0.2.7", &problem);
  ASSERT_TRUE(one) << problem;
  EXPECT_EQ(one->prefix, 32u);
  const std::optional<Cidr> v6 = parse_cidr("2001:db8::/32", &problem);
  ASSERT_TRUE(v6) << problem;
  EXPECT_TRUE(v6->v6);
  EXPECT_EQ(v6->prefix, 32u);
  EXPECT_EQ(parse_cidr("::1", &problem)->prefix, 128u);
  EXPECT_EQ(parse_cidr("0.0.0.0/0", &problem)->prefix, 0u);
  EXPECT_EQ(parse_cidr("::/0", &problem)->prefix, 0u);
}

TEST(ParseCidr, NamesWhatIsWrong) {
  const auto problem_of = [](std::string_view text) {
    std::string problem;
    EXPECT_FALSE(parse_cidr(text, &problem)) << text;
    return problem;
  };
  const std::string malformed =
      "expected an IPv4 or IPv6 address, or a range of them in CIDR notation (10.0.0.0/8, 2001:db8::/32)";
  for (std::string_view bad :
       {"", "nope", "10.0.0", "10.0.0.256/8", "10.0.0.01", "[::1]/128", "fe80::1%eth0"})
    EXPECT_EQ(problem_of(bad), malformed) << bad;
  EXPECT_EQ(problem_of("10.0.0.0/33"),
            "expected a prefix length from 0 to 32 after the '/' of an IPv4 range");
  for (std::string_view bad : {"10.0.0.0/", "10.0.0.0/08", "10.0.0.0/+8", "10.0.0.0/8/8"})
    EXPECT_EQ(problem_of(bad), "expected a prefix length from 0 to 32 after the '/' of an IPv4 range") << bad;
  EXPECT_EQ(problem_of("::1/129"), "expected a prefix length from 0 to 128 after the '/' of an IPv6 range");
  EXPECT_EQ(problem_of("10.0.0.1/8"),
            "\"10.0.0.1/8\" has bits set past its /8 prefix: write the range as \"10.0.0.0/8\", or the one "
            "address as \"10.0.0.1\"");
  EXPECT_EQ(
      problem_of("2001:db8::1/32"),
      "\"2001:db8::1/32\" has bits set past its /32 prefix: write the range as \"2001:db8::/32\", or the "
      "one address as \"2001:db8::1\"");
}

}  // namespace
}  // namespace ferry::config
