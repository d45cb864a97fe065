#include "proxy/http1/header_names.h"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>

namespace ferry::proxy {

namespace {

inline char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c | 0x20) : c; }

static_assert(std::endian::native == std::endian::little, "pattern() builds its words byte 0 lowest");

// A lowercase name as 8-byte words, for names_match. Words start every 8 bytes; a name not a
// multiple of 8 long (and at least 8) ends with a word that overlaps the one before, so every
// load is a whole word. `fold` has 0x20 where the name has a letter: OR-ing it into a word of
// the header lowercases an uppercase letter there and maps no other byte onto a lowercase one.
template <std::size_t L>
struct Pattern {
  static constexpr std::size_t kWords = L < 8 ? 1 : (L + 7) / 8;
  uint64_t want[kWords] = {};
  uint64_t fold[kWords] = {};
};

constexpr std::size_t word_at(std::size_t length, std::size_t w) {
  return length < 8 ? 0 : std::min(w * 8, length - 8);
}

template <std::size_t N>
constexpr Pattern<N - 1> pattern(const char (&name)[N]) {
  constexpr std::size_t kLength = N - 1;
  Pattern<kLength> p;
  for (std::size_t w = 0; w < Pattern<kLength>::kWords; ++w) {
    const std::size_t at = word_at(kLength, w);
    for (std::size_t j = 0; j < std::min<std::size_t>(8, kLength); ++j) {
      const auto c = static_cast<unsigned char>(name[at + j]);
      p.want[w] |= static_cast<uint64_t>(c) << (8 * j);
      if (c >= 'a' && c <= 'z') p.fold[w] |= uint64_t{0x20} << (8 * j);
    }
  }
  return p;
}

// n, which the caller has checked is L bytes long, is the pattern's name in any case: a load,
// an OR and a compare per word, where iequals took a few instructions per byte.
template <std::size_t L>
[[gnu::always_inline]] inline bool names_match(std::string_view n, const Pattern<L>& p) {
  for (std::size_t w = 0; w < Pattern<L>::kWords; ++w) {
    uint64_t got = 0;
    std::memcpy(&got, n.data() + word_at(L, w), std::min<std::size_t>(8, L));
    if ((got | p.fold[w]) != p.want[w]) return false;
  }
  return true;
}

#define FERRY_NAME_IS(n, literal)                            \
  ([&] {                                                     \
    static constexpr auto kPattern = pattern(literal);       \
    return names_match((n), kPattern);                       \
  }())

}  // namespace

namespace {

constexpr uint64_t kEachByte = 0x0101010101010101ull;

uint64_t load_word(const char* p) {
  uint64_t w;
  std::memcpy(&w, p, sizeof w);
  return w;
}

// The word with 'A'..'Z' lowercased and every other byte as it was, in a few instructions for
// eight bytes: a byte's high bit after adding (0x80 - 'A') says it is at least 'A', after adding
// (0x7f - 'Z') that it is past 'Z' (on its low seven bits, so no byte carries into the next);
// ASCII bytes with the first and not the second are the capitals, which get 0x20.
uint64_t lower_word(uint64_t w) {
  const uint64_t low7 = w & (0x7f * kEachByte);
  const uint64_t from_a = low7 + (0x80 - 'A') * kEachByte;
  const uint64_t past_z = low7 + (0x7f - 'Z') * kEachByte;
  const uint64_t upper = ~w & (from_a ^ past_z) & (0x80 * kEachByte);
  return w | (upper >> 2);
}

}  // namespace

// Eight bytes a step: Connection tokens, routing's header matches and the like compare names
// of ten or twenty bytes, where a byte at a time took several instructions each.
bool iequals(std::string_view a, std::string_view b) {
  const std::size_t n = a.size();
  if (n != b.size()) return false;
  if (n < 8) {
    for (std::size_t i = 0; i < n; ++i)
      if (lower(a[i]) != lower(b[i])) return false;
    return true;
  }
  for (std::size_t i = 0; i + 8 <= n; i += 8)
    if (lower_word(load_word(a.data() + i)) != lower_word(load_word(b.data() + i))) return false;
  // The last word overlaps the one before when n is not a multiple of 8.
  return lower_word(load_word(a.data() + n - 8)) == lower_word(load_word(b.data() + n - 8));
}

HeaderName classify_header(std::string_view n) {
  // By length first: one or two candidates each, so most names cost one comparison or none.
  switch (n.size()) {
    case 2:
      return FERRY_NAME_IS(n, "te") ? HeaderName::Te : HeaderName::Other;
    case 4:
      return FERRY_NAME_IS(n, "host") ? HeaderName::Host : HeaderName::Other;
    case 6:
      if (FERRY_NAME_IS(n, "expect")) return HeaderName::Expect;
      if (FERRY_NAME_IS(n, "cookie")) return HeaderName::Cookie;
      return HeaderName::Other;
    case 7:
      if (FERRY_NAME_IS(n, "upgrade")) return HeaderName::Upgrade;
      if (FERRY_NAME_IS(n, "trailer")) return HeaderName::Trailer;
      return HeaderName::Other;
    case 10:
      if (FERRY_NAME_IS(n, "connection")) return HeaderName::Connection;
      if (FERRY_NAME_IS(n, "keep-alive")) return HeaderName::KeepAlive;
      return HeaderName::Other;
    case 12:
      return FERRY_NAME_IS(n, "x-request-id") ? HeaderName::XRequestId : HeaderName::Other;
    case 14:
      return FERRY_NAME_IS(n, "content-length") ? HeaderName::ContentLength : HeaderName::Other;
    case 15:
      return FERRY_NAME_IS(n, "x-forwarded-for") ? HeaderName::XForwardedFor : HeaderName::Other;
    case 16:
      if (FERRY_NAME_IS(n, "proxy-connection")) return HeaderName::ProxyConnection;
      if (FERRY_NAME_IS(n, "x-forwarded-host")) return HeaderName::XForwardedHost;
      return HeaderName::Other;
    case 17:
      if (FERRY_NAME_IS(n, "transfer-encoding")) return HeaderName::TransferEncoding;
      if (FERRY_NAME_IS(n, "x-forwarded-proto")) return HeaderName::XForwardedProto;
      return HeaderName::Other;
    case 18:
      return FERRY_NAME_IS(n, "proxy-authenticate") ? HeaderName::ProxyAuthenticate : HeaderName::Other;
    case 19:
      return FERRY_NAME_IS(n, "proxy-authorization") ? HeaderName::ProxyAuthorization : HeaderName::Other;
    case 21:
      return FERRY_NAME_IS(n, "x-client-cert-subject") ? HeaderName::XClientCertSubject : HeaderName::Other;
    default:
      return HeaderName::Other;
  }
}

}  // namespace ferry::proxy
