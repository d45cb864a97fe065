#include "config/location_template.h"

#include <gtest/gtest.h>

namespace ferry::config {
namespace {

TEST(LocationTemplate, TakesUrlsAndPathsWithTheFivePlaceholders) {
  for (std::string_view ok : {"https://#{host}:443/#{path}?#{query}", "/login", "https://example.com/",
                              "#{protocol}://#{host}:#{port}/#{path}", "https://example.com/#top"})
    EXPECT_EQ(location_template_problem(ok), "") << ok;
}

TEST(LocationTemplate, NamesTheAllowedPlaceholdersForAnUnknownOne) {
  const std::string allowed = "the placeholders are #{protocol}, #{host}, #{port}, #{path} and #{query}";
  EXPECT_EQ(location_template_problem("https://#{hots}/"),
            "unknown placeholder \"#{hots}\"; " + allowed + "; did you mean \"#{host}\"?");
  EXPECT_EQ(location_template_problem("https://#{uri}/"), "unknown placeholder \"#{uri}\"; " + allowed);
  EXPECT_EQ(location_template_problem("https://#{host"), "\"#{\" is not closed by \"}\"; " + allowed);
}

TEST(LocationTemplate, RefusesWhatCannotBeAHeaderValue) {
  EXPECT_EQ(location_template_problem(""), "expected a URL or path of 1 to 2048 characters");
  EXPECT_EQ(location_template_problem(std::string(2049, 'a')),
            "expected a URL or path of 1 to 2048 characters");
  for (std::string_view bad : {"https://a b/", "https://a/\r\nSet-Cookie: x", "https://caf\xc3\xa9.fr/"})
    EXPECT_EQ(location_template_problem(bad),
              "expected visible ASCII without spaces (percent-encode anything else, a space as %20)")
        << bad;
}

}  // namespace
}  // namespace ferry::config
