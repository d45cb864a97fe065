// A route's `source` block: an IPv4 or IPv6 CIDR ("10.0.0.0/8", "2001:db8::/32"), or a plain
// address meaning /32 or /128. Parsed once at load; matching compares bytes.
//
// IPv4 is one family however it arrives: a dual-stack listener on [::] sees IPv4 clients as
// IPv4-mapped IPv6 peers (::ffff:10.1.2.3), and those match IPv4 CIDRs. For the same reason a
// CIDR written inside ::ffff:0:0/96 is read as the IPv4 CIDR it maps. Other IPv6 CIDRs match
// IPv6 peers only: "::/0" is every IPv6 client, not every client.
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace ferry::balancer::routing {

class Cidr {
 public:
  // The CIDR `text` spells, or nullopt when it is not one (bad address, prefix not a decimal
  // number within the family's width). Host bits below the prefix are ignored: "10.1.2.3/8"
  // is 10.0.0.0/8.
  static std::optional<Cidr> parse(std::string_view text);

  // Whether `peer` (AF_INET or AF_INET6; any other family never matches) lies inside. Any
  // thread; no allocation.
  bool contains(const sockaddr_storage& peer) const;

 private:
  bool ipv4_ = false;
  uint32_t prefix_bits_ = 0;
  std::array<uint8_t, 16> network_{};  // the first 4 bytes when ipv4_
};

}  // namespace ferry::balancer::routing
