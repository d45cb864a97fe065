// match.source: client address ranges in CIDR notation.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ferry::config {

struct Cidr {
  bool v6 = false;
  std::array<uint8_t, 16> network{};  // the first 4 bytes for IPv4
  unsigned prefix = 0;                // 0..32 or 0..128
};

// "10.0.0.0/8", "2001:db8::/32", or a plain address (the range of that one address: /32 or
// /128). A range with bits set past its prefix ("10.0.0.1/8") is refused: it is a typo for either
// the network or the one address, and guessing which would route the wrong clients. On failure
// returns nullopt and sets *problem to a sentence starting with "expected", or, for host bits,
// one naming the network that was probably meant.
std::optional<Cidr> parse_cidr(std::string_view text, std::string* problem);

}  // namespace ferry::config
