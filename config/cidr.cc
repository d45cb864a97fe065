#include "config/cidr.h"

#include <arpa/inet.h>

#include "config/quote.h"

namespace ferry::config {

namespace {

constexpr std::string_view kExpected =
    "expected an IPv4 or IPv6 address, or a range of them in CIDR notation (10.0.0.0/8, 2001:db8::/32)";

// A prefix length of at most `max`: decimal digits only, no sign or leading zero.
std::optional<unsigned> parse_prefix(std::string_view text, unsigned max) {
  if (text.empty() || text.size() > 3 || (text.size() > 1 && text.front() == '0')) return std::nullopt;
  unsigned value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  return value <= max ? std::optional<unsigned>(value) : std::nullopt;
}

std::string address_text(const Cidr& cidr) {
  char out[INET6_ADDRSTRLEN] = {};
  inet_ntop(cidr.v6 ? AF_INET6 : AF_INET, cidr.network.data(), out, sizeof(out));
  return out;
}

}  // namespace

std::optional<Cidr> parse_cidr(std::string_view text, std::string* problem) {
  const std::size_t slash = text.find('/');
  const std::string address(text.substr(0, slash));
  Cidr cidr;
  if (inet_pton(AF_INET, address.c_str(), cidr.network.data()) == 1) {
    cidr.prefix = 32;
  } else if (inet_pton(AF_INET6, address.c_str(), cidr.network.data()) == 1) {
    cidr.v6 = true;
    cidr.prefix = 128;
  } else {
    *problem = kExpected;
    return std::nullopt;
  }
  if (slash != std::string_view::npos) {
    const unsigned bits = cidr.prefix;
    const std::optional<unsigned> prefix = parse_prefix(text.substr(slash + 1), bits);
    if (!prefix) {
      *problem = "expected a prefix length from 0 to " + std::to_string(bits) + " after the '/' of an IPv" +
                 (cidr.v6 ? "6" : "4") + " range";
      return std::nullopt;
    }
    cidr.prefix = *prefix;
  }
  const Cidr given = cidr;
  for (unsigned bit = cidr.prefix; bit < (cidr.v6 ? 128u : 32u); ++bit)
    cidr.network[bit / 8] = static_cast<uint8_t>(cidr.network[bit / 8] & ~(0x80u >> (bit % 8)));
  if (cidr.network != given.network) {
    const std::string network = address_text(cidr) + "/" + std::to_string(cidr.prefix);
    *problem = quote(text) + " has bits set past its /" + std::to_string(cidr.prefix) +
               " prefix: write the range as " + quote(network) + ", or the one address as " + quote(address);
    return std::nullopt;
  }
  return cidr;
}

}  // namespace ferry::config
