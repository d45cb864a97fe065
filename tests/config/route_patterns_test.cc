#include "config/route_patterns.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ferry::config {
namespace {

using Texts = std::vector<std::string>;

const std::string k128(128, 'a');
const std::string k129(129, 'a');

TEST(IsHostPattern, TakesAnAlbHostConditionsCharactersWithoutAPort) {
  for (const std::string& ok :
       Texts{"api.example.com", "*.example.org", "www?.example.com", "localhost", "*", k128})
    EXPECT_TRUE(is_host_pattern(ok)) << ok;
  for (const std::string& bad :
       Texts{"", "api.example.com:443", "a b", "a_b.example.com", "[::1]", "caf\xc3\xa9.fr", k129})
    EXPECT_FALSE(is_host_pattern(bad)) << bad;
}

TEST(IsPathPattern, StartsWithSlashOrStarAndHoldsVisibleAscii) {
  const std::string long_path = "/" + std::string(127, 'a');
  for (const std::string& ok : Texts{"/", "/api/*", "*.jpg", "/v?/users", "/a%20b", long_path})
    EXPECT_TRUE(is_path_pattern(ok)) << ok;
  for (const std::string& bad : Texts{"", "api/*", "/a b", "/caf\xc3\xa9", "/a\tb", "/" + k128})
    EXPECT_FALSE(is_path_pattern(bad)) << bad;
}

TEST(IsHeaderValuePattern, TakesPrintableAsciiWithInnerSpaces) {
  for (const std::string& ok : Texts{"1", "*Chrome*", "Mozilla/5.0 (X11; Linux)", "a?c", k128})
    EXPECT_TRUE(is_header_value_pattern(ok)) << ok;
  for (const std::string& bad : Texts{"", " 1", "1 ", "a\r\nb", "a\tb", "caf\xc3\xa9", k129})
    EXPECT_FALSE(is_header_value_pattern(bad)) << bad;
}

TEST(IsQueryPatterns, KeepTheQuerySeparatorsOut) {
  for (const std::string& ok : Texts{"version", "a.b", "x-y_z", "%20"}) EXPECT_TRUE(is_query_name(ok)) << ok;
  for (const std::string& bad : Texts{"", "a=b", "a&b", "a#", "v*", "v?", "a b", k129})
    EXPECT_FALSE(is_query_name(bad)) << bad;
  for (const std::string& ok : Texts{"2", "*", "a=b", "v?", "%20x"})
    EXPECT_TRUE(is_query_value_pattern(ok)) << ok;
  for (const std::string& bad : Texts{"", "a&b", "a#b", "a b", k129})
    EXPECT_FALSE(is_query_value_pattern(bad)) << bad;
}

TEST(IsStripPrefix, IsEmptyOrAPathWithoutATrailingSlash) {
  for (const std::string& ok : Texts{"", "/api", "/api/v1", "/a%20b"}) EXPECT_TRUE(is_strip_prefix(ok)) << ok;
  for (const std::string& bad : Texts{"/", "/api/", "api", "/api?x=1", "/a b"})
    EXPECT_FALSE(is_strip_prefix(bad)) << bad;
}

}  // namespace
}  // namespace ferry::config
