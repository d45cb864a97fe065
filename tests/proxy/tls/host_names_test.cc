#include "proxy/tls/host_names.h"

#include <gtest/gtest.h>

#include <string>

namespace ferry::proxy::tls {
namespace {

TEST(CanonicalHost, LowerCasesAndDropsOneTrailingDot) {
  EXPECT_EQ(canonical_host("WWW.Example.COM"), "www.example.com");
  EXPECT_EQ(canonical_host("example.com."), "example.com");
  EXPECT_EQ(canonical_host("a-b_c.example"), "a-b_c.example");
}

TEST(CanonicalHost, RefusesWhatIsNotAHostName) {
  EXPECT_EQ(canonical_host(""), "");
  EXPECT_EQ(canonical_host("."), "");
  EXPECT_EQ(canonical_host("example..com"), "");
  EXPECT_EQ(canonical_host(".example.com"), "");
  EXPECT_EQ(canonical_host("example.com.."), "");
  EXPECT_EQ(canonical_host("*.example.com"), "");
  EXPECT_EQ(canonical_host("exa mple.com"), "");
  EXPECT_EQ(canonical_host(std::string("exa\0mple.com", 12)), "");
  EXPECT_EQ(canonical_host("caf\xc3\xa9.example"), "");
  EXPECT_EQ(canonical_host(std::string(64, 'a') + ".example"), "");
  EXPECT_EQ(canonical_host(std::string(63, 'a') + ".example"), std::string(63, 'a') + ".example");
  std::string long_name;
  while (long_name.size() < 254) long_name += "abcdefghi.";
  EXPECT_EQ(canonical_host(long_name.substr(0, 254)), "");
}

TEST(Covers, ExactNamesMatchThemselvesOnly) {
  EXPECT_TRUE(covers("example.com", "example.com"));
  EXPECT_FALSE(covers("example.com", "www.example.com"));
  EXPECT_FALSE(covers("example.com", ""));
}

TEST(Covers, AWildcardStandsForExactlyOneLeftmostLabel) {
  EXPECT_TRUE(covers("*.example.com", "a.example.com"));
  EXPECT_FALSE(covers("*.example.com", "example.com"));
  EXPECT_FALSE(covers("*.example.com", "a.b.example.com"));
  EXPECT_FALSE(covers("*.example.com", "aexample.com"));
  EXPECT_FALSE(covers("w*.example.com", "www.example.com"));  // partial wildcards never match
}

TEST(WildcardBase, IsTheNameAfterTheStarLabel) {
  EXPECT_EQ(wildcard_base("*.example.com"), "example.com");
  EXPECT_EQ(wildcard_base("example.com"), "");
  EXPECT_EQ(wildcard_base("*."), "");
  EXPECT_EQ(parent_of("a.example.com"), "example.com");
  EXPECT_EQ(parent_of("localhost"), "");
}

}  // namespace
}  // namespace ferry::proxy::tls
