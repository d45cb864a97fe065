#include "proxy/http1/host_field.h"

namespace ferry::proxy {
namespace {

bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// unreserved / sub-delims (RFC 3986 2.2, 2.3): what a reg-name may hold besides %XX.
bool is_name_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '-': case '.': case '_': case '~':                                   // unreserved
    case '!': case '$': case '&': case '\'': case '(': case ')': case '*':  // sub-delims
    case '+': case ',': case ';': case '=':
      return true;
    default:
      return false;
  }
}

bool is_port(std::string_view s) {
  for (const char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

bool is_reg_name(std::string_view s) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (i + 2 >= s.size() || !is_hex(s[i + 1]) || !is_hex(s[i + 2])) return false;
      i += 2;
    } else if (!is_name_char(s[i])) {
      return false;
    }
  }
  return true;
}

}  // namespace

bool is_valid_host_field(std::string_view value) {
  if (value.empty()) return true;  // RFC 9112 3.2: a target without an authority sends it empty
  std::string_view host = value;
  std::string_view port;
  if (value.front() == '[') {
    // IP-literal: IPv6address or IPvFuture, both of hex digits, ':', '.' and (IPvFuture) the
    // unreserved and sub-delim characters. ferry checks the characters, not the address.
    const std::size_t close = value.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    for (const char c : value.substr(1, close - 1)) {
      if (c != ':' && !is_name_char(c)) return false;
    }
    const std::string_view rest = value.substr(close + 1);
    if (rest.empty()) return true;
    if (rest.front() != ':') return false;
    return is_port(rest.substr(1));
  }
  if (const std::size_t colon = value.find(':'); colon != std::string_view::npos) {
    host = value.substr(0, colon);
    port = value.substr(colon + 1);
    if (!is_port(port)) return false;  // a second ':' lands here too
  }
  return is_reg_name(host);
}

}  // namespace ferry::proxy
