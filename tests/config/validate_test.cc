#include "config/validate.h"

#include <gtest/gtest.h>

namespace ferry::config {
namespace {

TEST(IsHashKey, AcceptsClientIpAndNamedHeadersAndCookies) {
  for (std::string_view ok : {"client_ip", "header:X-User-Id", "cookie:session", "header:x"})
    EXPECT_TRUE(is_hash_key(ok)) << ok;
  for (std::string_view bad : {"", "client-ip", "header:", "cookie:", "header:X User", "header", "ip",
                               "query:id", "Header:X", "header:a:b"})
    EXPECT_FALSE(is_hash_key(bad)) << bad;
}

TEST(IsStatusSpec, AcceptsCodesRangesAndCommaListsWithin100To599) {
  for (std::string_view ok : {"200", "200-399", "200,204", "200-299,304", "100-599", "599"})
    EXPECT_TRUE(is_status_spec(ok)) << ok;
  for (std::string_view bad : {"", "99", "600", "200-600", "399-200", "200,", ",200", "200, 204", "2xx",
                               "200-", "-200", "0200", "200--300", "200-300-400"})
    EXPECT_FALSE(is_status_spec(bad)) << bad;
}

TEST(IsRequestPath, NeedsALeadingSlashAndNoSpaces) {
  for (std::string_view ok : {"/", "/health", "/health?full=1", "/a%20b"})
    EXPECT_TRUE(is_request_path(ok)) << ok;
  for (std::string_view bad :
       {"", "health", "/he alth", "/health\r\nX: y", "http://x/health", "/caf\xc3\xa9"})
    EXPECT_FALSE(is_request_path(bad)) << bad;
}

TEST(IsHostHeader, RefusesSpacesAndLineBreaks) {
  for (std::string_view ok : {"", "example.com", "example.com:8080", "[::1]:80"})
    EXPECT_TRUE(is_host_header(ok)) << ok;
  for (std::string_view bad : {"a b", "a\r\nX-Evil: 1", "a\tb"}) EXPECT_FALSE(is_host_header(bad)) << bad;
}

TEST(IsAccessLog, TakesOffStdoutOrAPath) {
  for (std::string_view ok : {"off", "stdout", "/var/log/ferry.log", "access.log"})
    EXPECT_TRUE(is_access_log(ok)) << ok;
  for (std::string_view bad : {"", "a\nb"}) EXPECT_FALSE(is_access_log(bad)) << bad;
}

TEST(IsName, TakesOneToSixtyFourLettersDigitsDashesAndUnderscores) {
  const std::string longest(64, 'a');
  for (std::string_view ok : {"web", "web-canary", "api_v2", "A", "0"}) EXPECT_TRUE(is_name(ok)) << ok;
  EXPECT_TRUE(is_name(longest));
  for (std::string_view bad : {"", "web app", "web.canary", "web/1", "caf\xc3\xa9", "#1"})
    EXPECT_FALSE(is_name(bad)) << bad;
  EXPECT_FALSE(is_name(longest + "a"));
}

TEST(IsServerName, TakesHostNamesWithoutPorts) {
  for (std::string_view ok :
       {"app.internal", "backend-1.example.com", "localhost", "my_host.lan", "10.0.0.1"})
    EXPECT_TRUE(is_server_name(ok)) << ok;
  for (std::string_view bad : {"", "app.internal:443", "[::1]", "a b", "app\r\n"})
    EXPECT_FALSE(is_server_name(bad)) << bad;
}

TEST(IsContentType, TakesTypeSlashSubtypeAndParameters) {
  for (std::string_view ok : {"text/plain", "application/json", "text/html; charset=utf-8",
                              "text/html;charset=\"utf-8\"", "application/vnd.api+json"})
    EXPECT_TRUE(is_content_type(ok)) << ok;
  for (std::string_view bad : {"", "text", "/plain", "text/", "text plain", "text/plain\r\nX-Evil: 1",
                               "text/pl ain", "t\xc3\xa9xt/plain"})
    EXPECT_FALSE(is_content_type(bad)) << bad;
}

}  // namespace
}  // namespace ferry::config
