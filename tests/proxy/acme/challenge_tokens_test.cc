// The HTTP-01 answers workers give.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "proxy/acme/challenge_tokens.h"

namespace ferry::proxy::acme {
namespace {

TEST(AcmeChallengeTokens, AnswersPublishedTokensOnlyUnderThePrefix) {
  ChallengeTokens tokens;
  EXPECT_FALSE(tokens.answer("/.well-known/acme-challenge/abc"));  // nothing published yet
  tokens.publish({{"abc", "abc.thumb"}, {"def", "def.thumb"}});
  EXPECT_EQ(tokens.answer("/.well-known/acme-challenge/abc"), "abc.thumb");
  EXPECT_EQ(tokens.answer("/.well-known/acme-challenge/def?x=1"), "def.thumb");
  EXPECT_FALSE(tokens.answer("/.well-known/acme-challenge/"));
  EXPECT_FALSE(tokens.answer("/.well-known/acme-challenge/abcd"));
  EXPECT_FALSE(tokens.answer("/abc"));
  tokens.publish({});
  EXPECT_FALSE(tokens.answer("/.well-known/acme-challenge/abc"));
}

TEST(AcmeChallengeTokens, ReadersOnOtherThreadsSeeWholeMaps) {
  ChallengeTokens tokens;
  std::atomic<bool> stop{false};
  std::atomic<int> torn{0};
  std::thread reader([&] {
    while (!stop) {
      const auto a = tokens.answer("/.well-known/acme-challenge/a");
      const auto b = tokens.answer("/.well-known/acme-challenge/b");
      if (a && a->substr(2) != "x" && a->substr(2) != "y") ++torn;
      (void)b;
    }
  });
  for (int i = 0; i < 2000; ++i) tokens.publish({{"a", i % 2 ? "a.x" : "a.y"}, {"b", "b.z"}});
  stop = true;
  reader.join();
  EXPECT_EQ(torn, 0);
}

}  // namespace
}  // namespace ferry::proxy::acme
