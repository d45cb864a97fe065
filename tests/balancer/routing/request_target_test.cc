#include "balancer/routing/request_target.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace ferry::balancer::routing {
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

Pairs pairs_of(std::string_view query) {
  Pairs pairs;
  QueryPairs walk(query);
  std::string_view key;
  std::string_view value;
  while (walk.next(&key, &value)) pairs.emplace_back(key, value);
  return pairs;
}

TEST(SplitTarget, OriginFormSplitsAtTheQuestionMark) {
  const TargetParts parts = split_target("/api/users?id=7&x");
  EXPECT_EQ(parts.scheme_and_authority, "");
  EXPECT_EQ(parts.path, "/api/users");
  EXPECT_EQ(parts.query, "id=7&x");
  EXPECT_EQ(parts.after_path, "?id=7&x");
}

TEST(SplitTarget, OnlyTheFirstQuestionMarkEndsThePath) {
  const TargetParts parts = split_target("/a?b?c");
  EXPECT_EQ(parts.path, "/a");
  EXPECT_EQ(parts.query, "b?c");
}

TEST(SplitTarget, AnEmptyQueryIsStillAQuery) {
  const TargetParts parts = split_target("/a?");
  EXPECT_EQ(parts.path, "/a");
  EXPECT_EQ(parts.query, "");
  EXPECT_EQ(parts.after_path, "?");
}

TEST(SplitTarget, AFragmentEndsPathAndQuery) {
  TargetParts parts = split_target("/a?x=1#top");
  EXPECT_EQ(parts.path, "/a");
  EXPECT_EQ(parts.query, "x=1");
  EXPECT_EQ(parts.after_path, "?x=1#top");
  parts = split_target("/a#top?x");
  EXPECT_EQ(parts.path, "/a");
  EXPECT_EQ(parts.query, "");
}

TEST(SplitTarget, AbsoluteFormGivesAuthorityAndPath) {
  TargetParts parts = split_target("http://Example.com:8080/p/q?x=1");
  EXPECT_EQ(parts.scheme_and_authority, "http://Example.com:8080");
  EXPECT_EQ(parts.authority, "Example.com:8080");
  EXPECT_EQ(parts.path, "/p/q");
  EXPECT_EQ(parts.query, "x=1");
  parts = split_target("https://h");
  EXPECT_EQ(parts.authority, "h");
  EXPECT_EQ(parts.path, "");
  parts = split_target("http://h?x");
  EXPECT_EQ(parts.authority, "h");
  EXPECT_EQ(parts.path, "");
  EXPECT_EQ(parts.query, "x");
}

TEST(SplitTarget, ASchemeLookalikeInThePathIsNotAbsoluteForm) {
  TargetParts parts = split_target("/redirect?to=http://x/y");
  EXPECT_EQ(parts.scheme_and_authority, "");
  EXPECT_EQ(parts.path, "/redirect");
  parts = split_target("1http://x/y");  // a scheme starts with a letter
  EXPECT_EQ(parts.scheme_and_authority, "");
  EXPECT_EQ(parts.path, "1http://x/y");
}

TEST(SplitTarget, AsteriskAndAuthorityFormsAreTheirOwnPath) {
  EXPECT_EQ(split_target("*").path, "*");
  EXPECT_EQ(split_target("example.com:443").path, "example.com:443");
  EXPECT_EQ(split_target("").path, "");
}

TEST(HostWithoutPort, DropsThePort) {
  EXPECT_EQ(host_without_port("example.com"), "example.com");
  EXPECT_EQ(host_without_port("example.com:8080"), "example.com");
  EXPECT_EQ(host_without_port("example.com:"), "example.com");
  EXPECT_EQ(host_without_port("10.0.0.1:80"), "10.0.0.1");
  EXPECT_EQ(host_without_port(""), "");
}

TEST(HostWithoutPort, AnIPv6LiteralKeepsItsBrackets) {
  EXPECT_EQ(host_without_port("[::1]:80"), "[::1]");
  EXPECT_EQ(host_without_port("[::1]"), "[::1]");
  EXPECT_EQ(host_without_port("[2001:db8::7]:8443"), "[2001:db8::7]");
  EXPECT_EQ(host_without_port("[::1"), "[::1");  // unclosed: left as it is
}

TEST(HostWithoutPort, DropsUserinfo) {
  EXPECT_EQ(host_without_port("user:pw@example.com:80"), "example.com");
}

TEST(QueryPairs, SplitsAtAmpersandsThenTheFirstEquals) {
  EXPECT_EQ(pairs_of("a=1&b=2"), (Pairs{{"a", "1"}, {"b", "2"}}));
  EXPECT_EQ(pairs_of("a=b=c"), (Pairs{{"a", "b=c"}}));
  EXPECT_EQ(pairs_of("=v"), (Pairs{{"", "v"}}));
}

TEST(QueryPairs, AKeyWithoutEqualsHasAnEmptyValue) {
  EXPECT_EQ(pairs_of("a"), (Pairs{{"a", ""}}));
  EXPECT_EQ(pairs_of("a="), (Pairs{{"a", ""}}));
  EXPECT_EQ(pairs_of("a&b=1"), (Pairs{{"a", ""}, {"b", "1"}}));
}

TEST(QueryPairs, EmptyPiecesAreSkipped) {
  EXPECT_EQ(pairs_of(""), Pairs{});
  EXPECT_EQ(pairs_of("&"), Pairs{});
  EXPECT_EQ(pairs_of("&&"), Pairs{});
  EXPECT_EQ(pairs_of("&a=1&&b=2&"), (Pairs{{"a", "1"}, {"b", "2"}}));
}

TEST(QueryPairs, RepeatedKeysAreEachAPair) {
  EXPECT_EQ(pairs_of("a=1&a=2"), (Pairs{{"a", "1"}, {"a", "2"}}));
}

TEST(QueryPairs, NothingIsDecoded) {
  EXPECT_EQ(pairs_of("q=a+b%20c&%6B=v"), (Pairs{{"q", "a+b%20c"}, {"%6B", "v"}}));
}

}  // namespace
}  // namespace ferry::balancer::routing
