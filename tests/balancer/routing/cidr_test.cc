#include "balancer/routing/cidr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <gtest/gtest.h>

#include <cstring>

#include "balancer/routing/test_peers.h"

namespace ferry::balancer::routing {
namespace {

bool contains(std::string_view cidr, const sockaddr_storage& peer) {
  const std::optional<Cidr> parsed = Cidr::parse(cidr);
  EXPECT_TRUE(parsed.has_value()) << cidr;
  return parsed && parsed->contains(peer);
}

TEST(Cidr, IPv4Prefixes) {
  EXPECT_TRUE(contains("10.0.0.0/8", ipv4_peer("10.1.2.3")));
  EXPECT_TRUE(contains("10.0.0.0/8", ipv4_peer("10.255.255.255")));
  EXPECT_FALSE(contains("10.0.0.0/8", ipv4_peer("11.0.0.0")));
  EXPECT_TRUE(contains("192.168.4.0/22", ipv4_peer("192.168.7.255")));
  EXPECT_FALSE(contains("192.168.4.0/22", ipv4_peer("192.168.8.0")));
  EXPECT_FALSE(contains("192.168.4.0/22", ipv4_peer("192.168.3.255")));
  EXPECT_TRUE(contains("0.0.0.0/0", ipv4_peer("203.0.113.9")));
  EXPECT_TRUE(contains("10.0.0.1/31", ipv4_peer("10.0.0.0")));  // host bits ignored
}

TEST(Cidr, APlainAddressIsASingleHost) {
  EXPECT_TRUE(contains("192.0.2.7", ipv4_peer("192.0.2.7")));
  EXPECT_FALSE(contains("192.0.2.7", ipv4_peer("192.0.2.8")));
  EXPECT_TRUE(contains("192.0.2.7/32", ipv4_peer("192.0.2.7")));
  EXPECT_TRUE(contains("2001:db8::1", ipv6_peer("2001:db8::1")));
  EXPECT_FALSE(contains("2001:db8::1", ipv6_peer("2001:db8::2")));
}

TEST(Cidr, IPv6Prefixes) {
  EXPECT_TRUE(contains("2001:db8::/32", ipv6_peer("2001:db8:ffff::1")));
  EXPECT_FALSE(contains("2001:db8::/32", ipv6_peer("2001:db9::1")));
  EXPECT_TRUE(contains("2001:db8:abcd:12::/63", ipv6_peer("2001:db8:abcd:13::1")));
  EXPECT_FALSE(contains("2001:db8:abcd:12::/63", ipv6_peer("2001:db8:abcd:14::1")));
  EXPECT_TRUE(contains("::1/128", ipv6_peer("::1")));
  EXPECT_TRUE(contains("::/0", ipv6_peer("fe80::1")));
}

TEST(Cidr, AnIPv4MappedPeerMatchesIPv4Cidrs) {
  EXPECT_TRUE(contains("10.0.0.0/8", ipv6_peer("::ffff:10.1.2.3")));
  EXPECT_FALSE(contains("10.0.0.0/8", ipv6_peer("::ffff:11.1.2.3")));
  EXPECT_TRUE(contains("10.1.2.3", ipv6_peer("::ffff:10.1.2.3")));
  // ... and not IPv6 ones: "::/0" is every IPv6 client.
  EXPECT_FALSE(contains("::/0", ipv6_peer("::ffff:10.1.2.3")));
  EXPECT_FALSE(contains("::/0", ipv4_peer("10.1.2.3")));
  EXPECT_FALSE(contains("0.0.0.0/0", ipv6_peer("2001:db8::1")));
}

TEST(Cidr, AMappedCidrIsTheIPv4CidrItMaps) {
  EXPECT_TRUE(contains("::ffff:10.0.0.0/104", ipv4_peer("10.9.9.9")));
  EXPECT_TRUE(contains("::ffff:10.0.0.0/104", ipv6_peer("::ffff:10.9.9.9")));
  EXPECT_FALSE(contains("::ffff:10.0.0.0/104", ipv4_peer("11.0.0.0")));
  EXPECT_TRUE(contains("::ffff:192.0.2.1", ipv4_peer("192.0.2.1")));
}

TEST(Cidr, OtherFamiliesNeverMatch) {
  sockaddr_storage unix_peer{};
  unix_peer.ss_family = AF_UNIX;
  EXPECT_FALSE(contains("0.0.0.0/0", unix_peer));
  EXPECT_FALSE(contains("::/0", unix_peer));
}

TEST(Cidr, RefusesWhatIsNotACidr) {
  for (const char* text : {"", "/8", "10.0.0.0/", "10.0.0.0/33", "::/129", "10.0.0.0/8/8",
                           "10.0.0.0/-1", "10.0.0.0/+8", "10.0.0.0/ 8", "10.0.0/8", "host",
                           "10.0.0.256", "[::1]", "::1/1280", "fe80::1%eth0"})
    EXPECT_FALSE(Cidr::parse(text).has_value()) << text;
  EXPECT_FALSE(Cidr::parse(std::string_view("10.0.0.1\0x", 10)).has_value());
}

}  // namespace
}  // namespace ferry::balancer::routing
