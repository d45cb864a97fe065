// classify_header, which compares a name eight bytes at a time with a case mask: every name it
// knows, in any case, and every one-byte change of each, against a byte-by-byte reference. A
// mask that folded a byte other than a letter (CR onto '-', '@' onto '`') would make a
// different name read as a framing or hop-by-hop header.
#include "proxy/http1/header_names.h"

#include <gtest/gtest.h>

#include <cctype>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ferry::proxy {
namespace {

const std::vector<std::pair<std::string_view, HeaderName>>& known() {
  static const std::vector<std::pair<std::string_view, HeaderName>> names = {
      {"te", HeaderName::Te},
      {"host", HeaderName::Host},
      {"expect", HeaderName::Expect},
      {"cookie", HeaderName::Cookie},
      {"upgrade", HeaderName::Upgrade},
      {"trailer", HeaderName::Trailer},
      {"connection", HeaderName::Connection},
      {"keep-alive", HeaderName::KeepAlive},
      {"x-request-id", HeaderName::XRequestId},
      {"content-length", HeaderName::ContentLength},
      {"x-forwarded-for", HeaderName::XForwardedFor},
      {"proxy-connection", HeaderName::ProxyConnection},
      {"x-forwarded-host", HeaderName::XForwardedHost},
      {"transfer-encoding", HeaderName::TransferEncoding},
      {"x-forwarded-proto", HeaderName::XForwardedProto},
      {"proxy-authenticate", HeaderName::ProxyAuthenticate},
      {"proxy-authorization", HeaderName::ProxyAuthorization},
      {"x-client-cert-subject", HeaderName::XClientCertSubject},
  };
  return names;
}

// The reference: ASCII case-insensitive equality, a byte at a time.
HeaderName reference(std::string_view n) {
  for (const auto& [name, kind] : known()) {
    if (name.size() != n.size()) continue;
    bool same = true;
    for (std::size_t i = 0; i < n.size() && same; ++i)
      same = std::tolower(static_cast<unsigned char>(n[i])) == static_cast<unsigned char>(name[i]);
    if (same) return kind;
  }
  return HeaderName::Other;
}

TEST(ClassifyHeader, KnowsEachNameInAnyCase) {
  for (const auto& [name, kind] : known()) {
    std::string upper(name);
    std::string mixed(name);
    for (std::size_t i = 0; i < name.size(); ++i) {
      upper[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(name[i])));
      if (i % 2 == 0) mixed[i] = upper[i];
    }
    EXPECT_EQ(classify_header(name), kind) << name;
    EXPECT_EQ(classify_header(upper), kind) << upper;
    EXPECT_EQ(classify_header(mixed), kind) << mixed;
  }
}

TEST(ClassifyHeader, EveryOneByteChangeReadsAsTheReferenceDoes) {
  int changed = 0;
  for (const auto& [name, kind] : known()) {
    for (std::size_t i = 0; i < name.size(); ++i) {
      for (int b = 0; b < 256; ++b) {
        std::string n(name);
        n[i] = static_cast<char>(b);
        ASSERT_EQ(classify_header(n), reference(n)) << "byte " << b << " at " << i << " of " << name;
        changed += reference(n) == HeaderName::Other ? 1 : 0;
      }
    }
  }
  EXPECT_GT(changed, 0);
}

TEST(ClassifyHeader, ByteThatFoldsOntoAnotherIsNotTheName) {
  // CR is '-' without 0x20, '@' is '`' without it: neither may pass for the other.
  EXPECT_EQ(classify_header("content\rlength"), HeaderName::Other);
  EXPECT_EQ(classify_header("keep\ralive"), HeaderName::Other);
  EXPECT_EQ(classify_header("content_length"), HeaderName::Other);
  EXPECT_EQ(classify_header("Content-Lengt@"), HeaderName::Other);
  EXPECT_EQ(classify_header("content-length "), HeaderName::Other);
  EXPECT_EQ(classify_header("content-lengt"), HeaderName::Other);
  EXPECT_EQ(classify_header(""), HeaderName::Other);
}

}  // namespace
}  // namespace ferry::proxy

namespace ferry::proxy {
namespace {

bool reference_iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

// iequals lowercases eight bytes at once: each byte value at each position of strings of every
// length up to 24, against a byte-at-a-time reference. Bytes next to the capitals ('@', '[',
// '`', '{') and those with the high bit set (0xc1 is 'A' | 0x80) are where such a trick slips.
TEST(Iequals, EveryByteAtEveryPositionAsTheReference) {
  for (std::size_t len = 0; len <= 24; ++len) {
    const std::string base = std::string("Content-Length-Xy_z0123456789").substr(0, len);
    for (std::size_t i = 0; i < len; ++i) {
      for (int b = 0; b < 256; ++b) {
        std::string changed = base;
        changed[i] = static_cast<char>(b);
        ASSERT_EQ(iequals(changed, base), reference_iequals(changed, base)) << "byte " << b << " at " << i << " of " << len;
        std::string lower = base;
        for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        ASSERT_EQ(iequals(changed, lower), reference_iequals(changed, lower)) << "byte " << b << " at " << i << " of " << len;
        // The same byte with 0x20 flipped: equal only for letters (0xc1 and 0xe1 are not).
        std::string flipped = changed;
        flipped[i] = static_cast<char>(b ^ 0x20);
        ASSERT_EQ(iequals(changed, flipped), reference_iequals(changed, flipped)) << "byte " << b << " at " << i << " of " << len;
      }
    }
  }
  EXPECT_TRUE(iequals("KEEP-ALIVE", "keep-alive"));
  EXPECT_FALSE(iequals("keep-alivf", "keep-alive"));
  EXPECT_FALSE(iequals("keep-alive", "keep-aliv"));
  // Not letters: 0x80 | 'A' and 0x80 | 'a', alone and in a name long enough for the word path.
  EXPECT_FALSE(iequals("\xc1", "\xe1"));
  EXPECT_FALSE(iequals("content-\xc1" "ength", "content-\xe1" "ength"));
}

}  // namespace
}  // namespace ferry::proxy
