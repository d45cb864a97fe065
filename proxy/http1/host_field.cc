#include "proxy/http1/host_field.h"

#include <array>

namespace ferry::proxy {
namespace {

// One table lookup a byte: the host check runs on every request.
enum CharClass : unsigned char {
  kOther = 0,
  kName = 1,   // unreserved / sub-delims (RFC 3986 2.2, 2.3): a reg-name's own characters
  kDigit = 2,  // also kName
  kHex = 4,    // also kName
};

constexpr std::array<unsigned char, 256> make_classes() {
  std::array<unsigned char, 256> t{};
  for (int c = 'a'; c <= 'z'; ++c) t[c] = kName;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = kName;
  for (int c = 'a'; c <= 'f'; ++c) t[c] |= kHex;
  for (int c = 'A'; c <= 'F'; ++c) t[c] |= kHex;
  for (int c = '0'; c <= '9'; ++c) t[c] = kName | kDigit | kHex;
  for (const char c : std::string_view("-._~!$&'()*+,;=")) t[static_cast<unsigned char>(c)] = kName;
  return t;
}
constexpr std::array<unsigned char, 256> kClasses = make_classes();

bool is(char c, CharClass k) { return (kClasses[static_cast<unsigned char>(c)] & k) != 0; }

bool is_port(std::string_view s) {
  for (const char c : s) {
    if (!is(c, kDigit)) return false;
  }
  return true;
}

}  // namespace

bool is_valid_host_field(std::string_view value) {
  if (value.empty()) return true;  // RFC 9112 3.2: a target without an authority sends it empty
  if (value.front() == '[') {
    // IP-literal: IPv6address or IPvFuture, both of hex digits, ':', '.' and (IPvFuture) the
    // unreserved and sub-delim characters. ferry checks the characters, not the address.
    const std::size_t close = value.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    for (const char c : value.substr(1, close - 1)) {
      if (c != ':' && !is(c, kName)) return false;
    }
    const std::string_view rest = value.substr(close + 1);
    return rest.empty() || (rest.front() == ':' && is_port(rest.substr(1)));
  }
  // reg-name [":" port] in one pass: name characters and %XX escapes up to a ':', digits after.
  const char* p = value.data();
  const std::size_t n = value.size();
  std::size_t i = 0;
  for (; i < n; ++i) {
    if (is(p[i], kName)) continue;
    if (p[i] == ':') break;
    if (p[i] != '%' || i + 2 >= n || !is(p[i + 1], kHex) || !is(p[i + 2], kHex)) return false;
    i += 2;
  }
  return i == n || is_port(value.substr(i + 1));  // a second ':' fails the port
}

}  // namespace ferry::proxy
