#include "balancer/routing/wildcard.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "balancer/random.h"

namespace ferry::balancer::routing {
namespace {

bool fits(std::string_view pattern, std::string_view text) {
  return Wildcard(pattern, CaseRule::Sensitive).matches(text);
}

bool fits_ignoring_case(std::string_view pattern, std::string_view text) {
  return Wildcard(pattern, CaseRule::Insensitive).matches(text);
}

TEST(Wildcard, APatternWithoutWildcardsIsAnExactMatch) {
  EXPECT_TRUE(Wildcard("/health", CaseRule::Sensitive).is_exact());
  EXPECT_TRUE(fits("/health", "/health"));
  EXPECT_FALSE(fits("/health", "/healthz"));
  EXPECT_FALSE(fits("/health", "/healt"));
  EXPECT_FALSE(fits("/health", "/Health"));
  EXPECT_TRUE(fits_ignoring_case("Example.COM", "example.com"));
  EXPECT_FALSE(fits_ignoring_case("example.com", "example.co"));
}

TEST(Wildcard, TheEmptyPatternMatchesOnlyTheEmptyText) {
  EXPECT_TRUE(fits("", ""));
  EXPECT_FALSE(fits("", "a"));
  EXPECT_TRUE(fits_ignoring_case("", ""));
  EXPECT_FALSE(fits_ignoring_case("", "a"));
}

TEST(Wildcard, AStarAloneMatchesEverythingIncludingNothing) {
  EXPECT_FALSE(Wildcard("*", CaseRule::Sensitive).is_exact());
  for (const char* text : {"", "a", "/any/path?x", "*"}) EXPECT_TRUE(fits("*", text)) << text;
}

TEST(Wildcard, StarMatchesAnyRunIncludingTheEmptyOne) {
  EXPECT_TRUE(fits("/img/*", "/img/"));
  EXPECT_TRUE(fits("/img/*", "/img/picture.jpg"));
  EXPECT_TRUE(fits("/img/*", "/img/a/b/c.png"));
  EXPECT_FALSE(fits("/img/*", "/img"));
  EXPECT_FALSE(fits("/img/*", "/images/x"));
  EXPECT_TRUE(fits("*.jpg", ".jpg"));
  EXPECT_TRUE(fits("*.jpg", "/a/b.jpg"));
  EXPECT_FALSE(fits("*.jpg", "/a/b.jpeg"));
  EXPECT_TRUE(fits("/a*b*c", "/abc"));
  EXPECT_TRUE(fits("/a*b*c", "/a-b-c"));
  EXPECT_TRUE(fits("/a*b*c", "/abbbcbc"));
  EXPECT_FALSE(fits("/a*b*c", "/acb"));
}

TEST(Wildcard, QuestionMarkMatchesExactlyOneByte) {
  EXPECT_TRUE(fits("/v?/users", "/v1/users"));
  EXPECT_FALSE(fits("/v?/users", "/v/users"));
  EXPECT_FALSE(fits("/v?/users", "/v10/users"));
  EXPECT_TRUE(fits("?", "x"));
  EXPECT_FALSE(fits("?", ""));
  EXPECT_FALSE(fits("?", "xy"));
  EXPECT_TRUE(fits("?abc", "zabc"));   // at the start
  EXPECT_TRUE(fits("abc?", "abcz"));   // at the end
  EXPECT_FALSE(fits("abc?", "abc"));
  EXPECT_TRUE(fits("??", "\xff\xfe"));  // bytes, not characters
  EXPECT_TRUE(fits("*?", "a"));
  EXPECT_FALSE(fits("*?", ""));
  EXPECT_TRUE(fits("?*?", "ab"));
  EXPECT_FALSE(fits("?*?", "a"));
  EXPECT_TRUE(fits("*a?c*", "xxabcxx"));
  EXPECT_TRUE(fits("*a?c*", "aaxc"));  // the run is tried again past a near miss
}

TEST(Wildcard, ConsecutiveStarsAreOneStar) {
  EXPECT_TRUE(fits("**", ""));
  EXPECT_TRUE(fits("a**b", "ab"));
  EXPECT_TRUE(fits("a**b", "axxb"));
  EXPECT_TRUE(fits("a***b***c", "abc"));
  EXPECT_FALSE(fits("a**b", "axx"));
}

TEST(Wildcard, HeadAndTailRunsMayNotOverlap) {
  EXPECT_FALSE(fits("ab*ba", "aba"));
  EXPECT_TRUE(fits("ab*ba", "abba"));
  EXPECT_FALSE(fits("a*a", "a"));
  EXPECT_TRUE(fits("a*a", "aa"));
}

TEST(Wildcard, BackslashEscapesAStarAQuestionMarkOrItself) {
  EXPECT_TRUE(Wildcard("a\\*b", CaseRule::Sensitive).is_exact());
  EXPECT_TRUE(fits("a\\*b", "a*b"));
  EXPECT_FALSE(fits("a\\*b", "axb"));
  EXPECT_TRUE(fits("what\\?", "what?"));
  EXPECT_FALSE(fits("what\\?", "whatx"));
  EXPECT_TRUE(fits("a\\\\b", "a\\b"));
  EXPECT_TRUE(fits("a\\b", "a\\b"));     // before any other byte a backslash is itself
  EXPECT_TRUE(fits("end\\", "end\\"));   // so is a trailing one
  EXPECT_TRUE(fits("*\\**", "x*y"));
  EXPECT_FALSE(fits("*\\**", "xy"));
}

TEST(Wildcard, CaseRules) {
  EXPECT_FALSE(fits("/API/*", "/api/x"));
  EXPECT_TRUE(fits_ignoring_case("/API/*", "/api/X"));
  EXPECT_TRUE(fits_ignoring_case("*CHROME*", "Mozilla/5.0 chrome/120"));
  EXPECT_TRUE(fits_ignoring_case("?B?", "aBc"));
  // Only ASCII letters fold: the bytes of a UTF-8 letter are compared as they are.
  EXPECT_FALSE(fits_ignoring_case("\xc3\x89", "\xc3\xa9"));
  // '[' and '{' sit next to the letters; folding must not map them onto letters.
  EXPECT_FALSE(fits_ignoring_case("[", "{"));
  EXPECT_FALSE(fits_ignoring_case("@", "`"));
}

TEST(Wildcard, AlternatingStarsStayLinearOnLongTexts) {
  // A naive backtracking matcher tries every split of the text between the stars: well over
  // 10^20 steps here. Placing each run leftmost makes it one pass per run.
  const std::string text(100000, 'a');
  const Wildcard pattern("*a*a*a*a*a*a*a*a*a*b", CaseRule::Sensitive);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(pattern.matches(text));
  EXPECT_TRUE(pattern.matches(text + "b"));
  EXPECT_FALSE(Wildcard("*aaaaaaaaab*", CaseRule::Insensitive).matches(text));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

// The textbook quadratic table over (pattern prefix, text prefix), with no cleverness to get
// wrong: the reference the run-placing matcher is checked against. No escapes.
bool reference_match(std::string_view pattern, std::string_view text) {
  std::vector<std::vector<bool>> fits(pattern.size() + 1,
                                      std::vector<bool>(text.size() + 1, false));
  fits[0][0] = true;
  for (std::size_t p = 1; p <= pattern.size(); ++p) {
    const char c = pattern[p - 1];
    fits[p][0] = c == '*' && fits[p - 1][0];
    for (std::size_t t = 1; t <= text.size(); ++t) {
      if (c == '*')
        fits[p][t] = fits[p - 1][t] || fits[p][t - 1];
      else
        fits[p][t] = (c == '?' || c == text[t - 1]) && fits[p - 1][t - 1];
    }
  }
  return fits[pattern.size()][text.size()];
}

TEST(Wildcard, AgreesWithTheQuadraticReferenceOnRandomPatterns) {
  SplitMix64 rng(20260806);
  constexpr std::string_view kPatternBytes = "ab*?";
  constexpr std::string_view kTextBytes = "ab";
  for (int round = 0; round < 50000; ++round) {
    std::string pattern(rng.below(9), ' ');
    for (char& c : pattern) c = kPatternBytes[rng.below(kPatternBytes.size())];
    std::string text(rng.below(11), ' ');
    for (char& c : text) c = kTextBytes[rng.below(kTextBytes.size())];
    ASSERT_EQ(fits(pattern, text), reference_match(pattern, text))
        << "pattern \"" << pattern << "\" text \"" << text << "\"";
  }
}

}  // namespace
}  // namespace ferry::balancer::routing
