#include "balancer/pick_key.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ferry::balancer {
namespace {

TEST(ParseKeySpec, AcceptsClientIp) {
  auto spec = parse_key_spec("client_ip", nullptr);
  ASSERT_TRUE(spec);
  EXPECT_EQ(spec->source, KeySource::ClientIp);
}

TEST(ParseKeySpec, AcceptsHeaderAndCookieNames) {
  auto header = parse_key_spec("header:X-User-Id", nullptr);
  ASSERT_TRUE(header);
  EXPECT_EQ(header->source, KeySource::Header);
  EXPECT_EQ(header->name, "X-User-Id");
  auto cookie = parse_key_spec("cookie:session_id", nullptr);
  ASSERT_TRUE(cookie);
  EXPECT_EQ(cookie->source, KeySource::Cookie);
  EXPECT_EQ(cookie->name, "session_id");
}

TEST(ParseKeySpec, RejectsUnknownSourcesAndBadNamesWithAReason) {
  for (const char* text : {"", "client", "ip", "header:", "cookie:", "header:X User",
                           "cookie:a=b", "Header:X", "header:X:Y"}) {
    std::string error;
    EXPECT_FALSE(parse_key_spec(text, &error)) << text;
    EXPECT_NE(error.find("hash_key"), std::string::npos) << text << ": " << error;
  }
}

TEST(CookieValue, FindsANamedCookieAmongOthers) {
  EXPECT_EQ(cookie_value("a=1; sid=abc123; b=2", "sid"), "abc123");
  EXPECT_EQ(cookie_value("sid=first", "sid"), "first");
  EXPECT_EQ(cookie_value("a=1;sid=tight", "sid"), "tight");
  EXPECT_EQ(cookie_value("a=1;  sid = spaced ", "sid"), "spaced");
}

TEST(CookieValue, StripsQuotesAroundAValue) {
  EXPECT_EQ(cookie_value("sid=\"quoted\"", "sid"), "quoted");
}

TEST(CookieValue, MatchesNamesExactlyAndCaseSensitively) {
  EXPECT_EQ(cookie_value("xsid=1; sidx=2", "sid"), std::nullopt);
  EXPECT_EQ(cookie_value("SID=1", "sid"), std::nullopt);
  EXPECT_EQ(cookie_value("", "sid"), std::nullopt);
  EXPECT_EQ(cookie_value("sid", "sid"), std::nullopt);
}

TEST(CookieValue, ReturnsTheFirstOfRepeatedCookies) {
  EXPECT_EQ(cookie_value("sid=one; sid=two", "sid"), "one");
}

TEST(PickKey, UsesTheClientIpForClientIp) {
  const std::vector<HeaderField> headers{{"Host", "example.com"}};
  EXPECT_EQ(pick_key(*parse_key_spec("client_ip", nullptr), "10.0.0.7", headers), "10.0.0.7");
}

TEST(PickKey, MatchesHeaderNamesCaseInsensitively) {
  const std::vector<HeaderField> headers{{"Host", "example.com"}, {"x-user-id", "  u-42 "}};
  EXPECT_EQ(pick_key(*parse_key_spec("header:X-User-ID", nullptr), "10.0.0.7", headers), "u-42");
}

TEST(PickKey, UsesTheFirstOfRepeatedHeaders) {
  const std::vector<HeaderField> headers{{"X-Tenant", "a"}, {"X-Tenant", "b"}};
  EXPECT_EQ(pick_key(*parse_key_spec("header:x-tenant", nullptr), "ip", headers), "a");
}

TEST(PickKey, FindsTheCookieInAnyCookieHeader) {
  const std::vector<HeaderField> headers{{"cookie", "theme=dark"}, {"COOKIE", "sid=s-9; x=1"}};
  EXPECT_EQ(pick_key(*parse_key_spec("cookie:sid", nullptr), "10.0.0.7", headers), "s-9");
}

TEST(PickKey, FallsBackToTheClientIpWhenTheHeaderOrCookieIsMissingOrEmpty) {
  const std::vector<HeaderField> headers{{"X-Empty", "  "}, {"Cookie", "sid=; other=1"}};
  EXPECT_EQ(pick_key(*parse_key_spec("header:X-Missing", nullptr), "10.0.0.7", headers),
            "10.0.0.7");
  EXPECT_EQ(pick_key(*parse_key_spec("header:X-Empty", nullptr), "10.0.0.7", headers),
            "10.0.0.7");
  EXPECT_EQ(pick_key(*parse_key_spec("cookie:sid", nullptr), "10.0.0.7", headers), "10.0.0.7");
  EXPECT_EQ(pick_key(*parse_key_spec("cookie:nope", nullptr), "10.0.0.7", {}), "10.0.0.7");
}

TEST(PickKey, ReturnsAViewIntoTheRequestNotACopy) {
  const std::string value = "tenant-7";
  const std::vector<HeaderField> headers{{"X-Tenant", value}};
  const std::string_view key = pick_key(*parse_key_spec("header:X-Tenant", nullptr), "ip", headers);
  EXPECT_EQ(key.data(), value.data());
}

}  // namespace
}  // namespace ferry::balancer
