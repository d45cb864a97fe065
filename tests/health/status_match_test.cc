#include "health/status_match.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ferry::health {
namespace {

struct Row {
  const char* text;
  std::vector<int> matching;
  std::vector<int> not_matching;
};

TEST(StatusMatch, MatchesCodesRangesAndLists) {
  const Row rows[] = {
      {"200-399", {200, 204, 301, 399}, {199, 400, 500, 100, 599}},
      {"200", {200}, {201, 199, 404}},
      {"200,204,300-302", {200, 204, 300, 301, 302}, {201, 203, 303, 299}},
      {" 200 , 204 ", {200, 204}, {202}},
      {"100-599", {100, 599, 404}, {99, 600, 0, -1}},
      {"503,200", {200, 503}, {500}},
      {"200-200", {200}, {201}},
  };
  for (const Row& row : rows) {
    std::string error;
    auto match = StatusMatch::parse(row.text, &error);
    ASSERT_TRUE(match) << row.text << ": " << error;
    for (int code : row.matching) EXPECT_TRUE(match->matches(code)) << row.text << " " << code;
    for (int code : row.not_matching)
      EXPECT_FALSE(match->matches(code)) << row.text << " " << code;
  }
}

TEST(StatusMatch, RejectsBadInputWithAReason) {
  const std::pair<const char*, const char*> rows[] = {
      {"", "expected a status code"},
      {"  ", "expected a status code"},
      {"ok", "\"ok\" is not a three-digit status code"},
      {"20", "\"20\" is not a three-digit status code"},
      {"2000", "\"2000\" is not a three-digit status code"},
      {"200-", "\"200-\" is not a three-digit status code"},
      {"-200", "\"-200\" is not a three-digit status code"},
      {"200-300-400", "is not a three-digit status code"},
      {"200,,204", "empty item"},
      {"200,", "empty item"},
      {"399-200", "ends before it starts"},
      {"600", "outside 100-599"},
      {"099", "outside 100-599"},
      {"2xx", "is not a three-digit status code"},
  };
  for (auto [text, reason] : rows) {
    std::string error;
    EXPECT_FALSE(StatusMatch::parse(text, &error)) << text;
    EXPECT_NE(error.find(reason), std::string::npos) << text << ": " << error;
    EXPECT_NE(error.find("expected_status"), std::string::npos) << error;
  }
}

}  // namespace
}  // namespace ferry::health
