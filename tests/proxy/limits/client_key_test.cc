// A client's key is its address, IPv4 or IPv6, whatever its port or the listener's family.
#include "proxy/limits/client_key.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <string>

namespace ferry::proxy::limits {
namespace {

sockaddr_storage address(const std::string& ip, uint16_t port) {
  sockaddr_storage ss{};
  if (ip.find(':') == std::string::npos) {
    auto& v4 = reinterpret_cast<sockaddr_in&>(ss);
    v4.sin_family = AF_INET;
    v4.sin_port = htons(port);
    EXPECT_EQ(inet_pton(AF_INET, ip.c_str(), &v4.sin_addr), 1) << ip;
  } else {
    auto& v6 = reinterpret_cast<sockaddr_in6&>(ss);
    v6.sin6_family = AF_INET6;
    v6.sin6_port = htons(port);
    EXPECT_EQ(inet_pton(AF_INET6, ip.c_str(), &v6.sin6_addr), 1) << ip;
  }
  return ss;
}

uint64_t key_of(const std::string& ip, uint16_t port = 40000) { return client_key(address(ip, port)); }

TEST(ClientKey, IsTheAddressWithoutThePort) {
  EXPECT_NE(key_of("127.0.0.1"), 0U);
  EXPECT_EQ(key_of("127.0.0.1", 1), key_of("127.0.0.1", 2));
  EXPECT_NE(key_of("127.0.0.1"), key_of("127.0.0.2"));
  EXPECT_EQ(key_of("2001:db8::1", 1), key_of("2001:db8::1", 2));
  EXPECT_NE(key_of("2001:db8::1"), key_of("2001:db8::2"));
}

TEST(ClientKey, AnIpv4ClientIsOneClientOnEitherFamilyOfListener) {
  EXPECT_EQ(key_of("::ffff:192.0.2.7"), key_of("192.0.2.7"));
  EXPECT_NE(key_of("::ffff:192.0.2.7"), key_of("192.0.2.8"));
  // The same bytes as a plain IPv6 address are another client.
  EXPECT_NE(key_of("::c000:207"), key_of("192.0.2.7"));
  EXPECT_NE(key_of("::1"), key_of("127.0.0.1"));
}

TEST(ClientKey, AnAddressOfNeitherFamilyHasNoKey) {
  sockaddr_storage unix_peer{};
  unix_peer.ss_family = AF_UNIX;
  EXPECT_EQ(client_key(unix_peer), 0U);
}

// A connection keeps its peer's address as text only; the key from that text must be the key
// of the address, or a client's buckets would split between the two ways of finding them.
TEST(ClientKey, FromTheAddressAsTextIsTheAddresssKey) {
  for (const char* ip : {"127.0.0.1", "192.0.2.255", "255.255.255.255", "::1", "2001:db8::1",
                         "fd00:f::1234:5678:9abc:def0", "::ffff:192.0.2.7"}) {
    EXPECT_EQ(client_key(ip), key_of(ip)) << ip;
  }
  EXPECT_EQ(client_key("::ffff:192.0.2.7"), client_key("192.0.2.7"));
  EXPECT_NE(client_key("192.0.2.7"), client_key("192.0.2.8"));
  // What a connection holds when getpeername failed or the peer was neither family.
  EXPECT_EQ(client_key(""), 0U);
  EXPECT_EQ(client_key("unknown"), 0U);
}

TEST(ClientKey, EachRouteHasBucketsApartFromTheGlobalOnesAndEachOther) {
  const uint64_t client = key_of("10.0.0.1");
  const uint64_t api = route_salt("api");
  const uint64_t web = route_salt("web");
  EXPECT_NE(api, 0U);
  EXPECT_NE(api, web);
  EXPECT_EQ(salted_key(client, 0), client);
  EXPECT_NE(salted_key(client, api), client);
  EXPECT_NE(salted_key(client, api), salted_key(client, web));
  EXPECT_EQ(salted_key(client, api), salted_key(key_of("10.0.0.1", 9), route_salt("api")));
  EXPECT_NE(salted_key(client, api), salted_key(key_of("10.0.0.2"), api));
}

}  // namespace
}  // namespace ferry::proxy::limits
