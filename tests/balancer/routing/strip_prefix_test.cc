#include <gtest/gtest.h>

#include <string>

#include "balancer/routing/route_table.h"

namespace ferry::balancer::routing {
namespace {

std::string strip(std::string_view target, std::string_view prefix) {
  std::string out;
  strip_path_prefix(target, prefix, &out);
  return out;
}

TEST(StripPathPrefix, RemovesThePrefixKeepingTheQuery) {
  EXPECT_EQ(strip("/api/users?x", "/api"), "/users?x");
  EXPECT_EQ(strip("/api/users", "/api"), "/users");
  EXPECT_EQ(strip("/api/v1/users", "/api/v1"), "/users");
  EXPECT_EQ(strip("/api//users", "/api"), "//users");
}

TEST(StripPathPrefix, AnEmptiedPathBecomesSlash) {
  EXPECT_EQ(strip("/api", "/api"), "/");
  EXPECT_EQ(strip("/api/", "/api"), "/");
  EXPECT_EQ(strip("/api?x=1", "/api"), "/?x=1");
  EXPECT_EQ(strip("/api#f", "/api"), "/#f");
}

TEST(StripPathPrefix, OnlyAtASegmentBoundary) {
  EXPECT_EQ(strip("/apiary", "/api"), "/apiary");
  EXPECT_EQ(strip("/apiary?x", "/api"), "/apiary?x");
  EXPECT_EQ(strip("/api.json", "/api"), "/api.json");
}

TEST(StripPathPrefix, ATrailingSlashOfThePrefixIsIgnored) {
  EXPECT_EQ(strip("/api/users", "/api/"), "/users");
  EXPECT_EQ(strip("/api", "/api/"), "/");
  EXPECT_EQ(strip("/apiary", "/api/"), "/apiary");
}

TEST(StripPathPrefix, EmptyOrRootPrefixStripsNothing) {
  EXPECT_EQ(strip("/api/users?x", ""), "/api/users?x");
  EXPECT_EQ(strip("/api/users?x", "/"), "/api/users?x");
  EXPECT_EQ(strip("/", "/"), "/");
}

TEST(StripPathPrefix, APathWithoutThePrefixIsUnchanged) {
  EXPECT_EQ(strip("/web/users?x", "/api"), "/web/users?x");
  EXPECT_EQ(strip("/ap", "/api"), "/ap");
  EXPECT_EQ(strip("/API/users", "/api"), "/API/users");  // case-sensitive, like path
  EXPECT_EQ(strip("/%61pi/users", "/api"), "/%61pi/users");  // raw, like path
  EXPECT_EQ(strip("/x?/api/y", "/api"), "/x?/api/y");  // never in the query
  EXPECT_EQ(strip("*", "/api"), "*");
}

TEST(StripPathPrefix, AnAbsoluteFormTargetKeepsSchemeAndAuthority) {
  EXPECT_EQ(strip("http://h:81/api/users?x", "/api"), "http://h:81/users?x");
  EXPECT_EQ(strip("http://h/api", "/api"), "http://h/");
  EXPECT_EQ(strip("http://h", "/api"), "http://h");
}

TEST(StripPathPrefix, AppendsToWhatIsAlreadyThere) {
  std::string out = "GET ";
  strip_path_prefix("/api/x", "/api", &out);
  EXPECT_EQ(out, "GET /x");
}

}  // namespace
}  // namespace ferry::balancer::routing
