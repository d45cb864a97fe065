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

// The key pick_key() takes for `spec` from a GET with `headers` from `client_ip`.
std::string_view key_of(std::string_view spec, std::string_view client_ip,
                        const HeaderList& headers) {
  return pick_key(*parse_key_spec(spec, nullptr), Request{"GET", "/", client_ip, headers});
}

TEST(PickKey, UsesTheClientIpForClientIp) {
  const HeaderList headers{{"Host", "example.com"}};
  EXPECT_EQ(key_of("client_ip", "10.0.0.7", headers), "10.0.0.7");
}

TEST(PickKey, MatchesHeaderNamesCaseInsensitively) {
  const HeaderList headers{{"Host", "example.com"}, {"x-user-id", "  u-42 "}};
  EXPECT_EQ(key_of("header:X-User-ID", "10.0.0.7", headers), "u-42");
}

TEST(PickKey, UsesTheFirstOfRepeatedHeaders) {
  const HeaderList headers{{"X-Tenant", "a"}, {"X-Tenant", "b"}};
  EXPECT_EQ(key_of("header:x-tenant", "ip", headers), "a");
}

TEST(PickKey, FindsTheCookieInAnyCookieHeader) {
  const HeaderList headers{{"cookie", "theme=dark"}, {"COOKIE", "sid=s-9; x=1"}};
  EXPECT_EQ(key_of("cookie:sid", "10.0.0.7", headers), "s-9");
}

TEST(PickKey, FallsBackToTheClientIpWhenTheHeaderOrCookieIsMissingOrEmpty) {
  const HeaderList headers{{"X-Empty", "  "}, {"Cookie", "sid=; other=1"}};
  EXPECT_EQ(key_of("header:X-Missing", "10.0.0.7", headers),
            "10.0.0.7");
  EXPECT_EQ(key_of("header:X-Empty", "10.0.0.7", headers),
            "10.0.0.7");
  EXPECT_EQ(key_of("cookie:sid", "10.0.0.7", headers), "10.0.0.7");
  EXPECT_EQ(key_of("cookie:nope", "10.0.0.7", HeaderList{}), "10.0.0.7");
}

TEST(PickKey, ReturnsAViewIntoTheRequestNotACopy) {
  const std::string value = "tenant-7";
  const HeaderList headers{{"X-Tenant", value}};
  const std::string_view key = key_of("header:X-Tenant", "ip", headers);
  EXPECT_EQ(key.data(), value.data());
}

}  // namespace
}  // namespace ferry::balancer
