#include <gtest/gtest.h>

#include <string>

#include "balancer/routing/route_table.h"

namespace ferry::balancer::routing {
namespace {

std::string expand(std::string_view location, std::string_view path = "a/b",
                   std::string_view query = "x=1") {
  const RedirectParts parts{"http", "example.com", "8080", path, query};
  std::string out;
  expand_location(location, parts, &out);
  return out;
}

TEST(ExpandLocation, FillsEveryPlaceholder) {
  EXPECT_EQ(expand("#{protocol}://#{host}:#{port}/#{path}?#{query}"),
            "http://example.com:8080/a/b?x=1");
  EXPECT_EQ(expand("https://#{host}:443/#{path}?#{query}"), "https://example.com:443/a/b?x=1");
  EXPECT_EQ(expand("https://new.example.com/#{path}"), "https://new.example.com/a/b");
  EXPECT_EQ(expand("/#{host}/#{host}"), "/example.com/example.com");
}

TEST(ExpandLocation, TextWithoutPlaceholdersIsKept) {
  EXPECT_EQ(expand("https://example.org/"), "https://example.org/");
  EXPECT_EQ(expand(""), "");
}

TEST(ExpandLocation, AQuestionMarkLeftWithAnEmptyQueryIsDropped) {
  EXPECT_EQ(expand("https://#{host}/#{path}?#{query}", "a", ""), "https://example.com/a");
  EXPECT_EQ(expand("https://#{host}/?#{query}", "", ""), "https://example.com/");
  EXPECT_EQ(expand("https://#{host}/#{path}?", "a", "x=1"), "https://example.com/a");
  EXPECT_EQ(expand("https://#{host}/#{path}?#{query}#top", "a", ""), "https://example.com/a#top");
  EXPECT_EQ(expand("https://#{host}/#{path}?#{query}#top", "a", "y"),
            "https://example.com/a?y#top");
}

TEST(ExpandLocation, AQueryWithMoreAfterThePlaceholderKeepsItsQuestionMark) {
  EXPECT_EQ(expand("https://h/?#{query}&src=old", "", ""), "https://h/?&src=old");
  EXPECT_EQ(expand("https://h/?#{query}&src=old", "", "x=1"), "https://h/?x=1&src=old");
  EXPECT_EQ(expand("https://h/?src=old&#{query}", "", ""), "https://h/?src=old&");
}

TEST(ExpandLocation, AnEmptyPathLeavesTheSlashTheTemplateWrote) {
  EXPECT_EQ(expand("https://#{host}/#{path}", "", ""), "https://example.com/");
}

TEST(ExpandLocation, UnknownOrUnclosedPlaceholdersStayAsWritten) {
  EXPECT_EQ(expand("https://#{hostname}/#{path}"), "https://#{hostname}/a/b");
  EXPECT_EQ(expand("https://#{HOST}/"), "https://#{HOST}/");
  EXPECT_EQ(expand("https://#{host"), "https://#{host");
  EXPECT_EQ(expand("https://#{}/"), "https://#{}/");
  EXPECT_EQ(expand("#{x#{host}}"), "#{xexample.com}");
  EXPECT_EQ(expand("https://h/#frag"), "https://h/#frag");
  EXPECT_EQ(expand("trailing#"), "trailing#");
  EXPECT_EQ(expand("#{"), "#{");
}

TEST(ExpandLocation, AnUnknownPlaceholderAfterTheQuestionMarkIsNotAFragment) {
  EXPECT_EQ(expand("https://h/?#{nope}", "", ""), "https://h/?#{nope}");
}

TEST(ExpandLocation, AppendsToWhatIsAlreadyThere) {
  std::string out = "Location: ";
  expand_location("https://#{host}/?#{query}", RedirectParts{"http", "h", "80", "", ""}, &out);
  EXPECT_EQ(out, "Location: https://h/");
  // A '?' before the appended part is not ours to drop.
  out = "?";
  expand_location("/x", RedirectParts{}, &out);
  EXPECT_EQ(out, "?/x");
}

}  // namespace
}  // namespace ferry::balancer::routing
