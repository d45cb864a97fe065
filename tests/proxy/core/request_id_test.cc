// Request ids ferry makes (proxy/core/request_id.h): their shape, uniqueness, and which
// client-sent ids are kept.
#include "proxy/core/request_id.h"

#include <gtest/gtest.h>

#include <string>
#include <unordered_set>

namespace ferry::proxy {
namespace {

bool is_lower_hex(const std::string& s) {
  for (const char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

TEST(RequestIdSource, IdsAre32HexDigitsAndNeverRepeat) {
  RequestIdSource ids;
  std::unordered_set<std::string> seen;
  std::string id;
  for (int i = 0; i < 100000; ++i) {
    ids.next(id);
    ASSERT_EQ(id.size(), 32u) << id;
    ASSERT_TRUE(is_lower_hex(id)) << id;
    ASSERT_TRUE(seen.insert(id).second) << "repeated " << id << " after " << i;
  }
}

TEST(RequestIdSource, TwoWorkersNeverShareAnId) {
  // Each source draws its own random prefix, so two workers (or two runs) differ.
  RequestIdSource a, b;
  std::string first_a, first_b;
  a.next(first_a);
  b.next(first_b);
  EXPECT_NE(first_a.substr(0, 16), first_b.substr(0, 16));
  EXPECT_NE(first_a, first_b);
}

TEST(RequestIdSource, ConsecutiveIdsDoNotLookSequential) {
  RequestIdSource ids;
  std::string one, two;
  ids.next(one);
  ids.next(two);
  EXPECT_EQ(one.substr(0, 16), two.substr(0, 16));  // the worker's prefix
  int differing = 0;
  for (std::size_t i = 16; i < 32; ++i) differing += one[i] != two[i] ? 1 : 0;
  EXPECT_GT(differing, 8) << one << " " << two;
}

TEST(AcceptableRequestId, KeepsVisibleAsciiUpTo200Bytes) {
  EXPECT_TRUE(acceptable_request_id("abc-123"));
  EXPECT_TRUE(acceptable_request_id("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"));
  EXPECT_TRUE(acceptable_request_id(std::string(200, 'a')));
  EXPECT_FALSE(acceptable_request_id(""));
  EXPECT_FALSE(acceptable_request_id(std::string(201, 'a')));
  EXPECT_FALSE(acceptable_request_id("two words"));
  EXPECT_FALSE(acceptable_request_id("quote\"d"));
  EXPECT_FALSE(acceptable_request_id("back\\slash"));
  EXPECT_FALSE(acceptable_request_id("tab\there"));
  EXPECT_FALSE(acceptable_request_id("caf\xc3\xa9"));
}

}  // namespace
}  // namespace ferry::proxy
