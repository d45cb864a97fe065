#include "balancer/routing/cidr.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>
#include <string>

namespace ferry::balancer::routing {

namespace {

constexpr std::array<uint8_t, 12> kMappedPrefix{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

bool is_ipv4_mapped(const uint8_t* bytes16) {
  return std::memcmp(bytes16, kMappedPrefix.data(), kMappedPrefix.size()) == 0;
}

// The leading `bits` bits of `a` and `b` are equal.
bool same_prefix(const uint8_t* a, const uint8_t* b, uint32_t bits) {
  const uint32_t whole = bits / 8;
  if (std::memcmp(a, b, whole) != 0) return false;
  const uint32_t rest = bits % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (a[whole] & mask) == (b[whole] & mask);
}

std::optional<uint32_t> parse_prefix(std::string_view digits, uint32_t max) {
  if (digits.empty() || digits.size() > 3) return std::nullopt;
  uint32_t value = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<uint32_t>(c - '0');
  }
  if (value > max) return std::nullopt;
  return value;
}

}  // namespace

std::optional<Cidr> Cidr::parse(std::string_view text) {
  const std::size_t slash = text.find('/');
  const std::string address(text.substr(0, slash));  // inet_pton wants a terminated string
  if (address.find('\0') != std::string::npos) return std::nullopt;
  Cidr cidr;
  uint32_t width = 0;
  if (inet_pton(AF_INET, address.c_str(), cidr.network_.data()) == 1) {
    cidr.ipv4_ = true;
    width = 32;
  } else if (inet_pton(AF_INET6, address.c_str(), cidr.network_.data()) == 1) {
    width = 128;
  } else {
    return std::nullopt;
  }

  cidr.prefix_bits_ = width;
  if (slash != std::string_view::npos) {
    const std::optional<uint32_t> bits = parse_prefix(text.substr(slash + 1), width);
    if (!bits) return std::nullopt;
    cidr.prefix_bits_ = *bits;
  }

  if (!cidr.ipv4_ && cidr.prefix_bits_ >= 96 && is_ipv4_mapped(cidr.network_.data())) {
    std::memmove(cidr.network_.data(), cidr.network_.data() + 12, 4);
    cidr.ipv4_ = true;
    cidr.prefix_bits_ -= 96;
  }
  return cidr;
}

bool Cidr::contains(const sockaddr_storage& peer) const {
  // memcpy rather than casting the storage: the peer came from the kernel as bytes.
  if (peer.ss_family == AF_INET) {
    if (!ipv4_) return false;
    sockaddr_in v4;
    std::memcpy(&v4, &peer, sizeof v4);
    uint8_t bytes[4];
    std::memcpy(bytes, &v4.sin_addr, sizeof bytes);
    return same_prefix(bytes, network_.data(), prefix_bits_);
  }
  if (peer.ss_family == AF_INET6) {
    sockaddr_in6 v6;
    std::memcpy(&v6, &peer, sizeof v6);
    uint8_t bytes[16];
    std::memcpy(bytes, &v6.sin6_addr, sizeof bytes);
    if (is_ipv4_mapped(bytes))
      return ipv4_ && same_prefix(bytes + 12, network_.data(), prefix_bits_);
    return !ipv4_ && same_prefix(bytes, network_.data(), prefix_bits_);
  }
  return false;
}

}  // namespace ferry::balancer::routing
