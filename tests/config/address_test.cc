#include "config/address.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <algorithm>

namespace ferry::config {
namespace {

struct Good {
  std::string_view text;
  std::string_view host;
  uint16_t port;
};

TEST(ParseHostPort, AcceptsIpv4BracketedIpv6AndNames) {
  const Good cases[] = {
      {"1.2.3.4:80", "1.2.3.4", 80},
      {"[::1]:80", "::1", 80},
      {"[2001:db8::5]:8443", "2001:db8::5", 8443},
      {"name:80", "name", 80},
      {"backend-1.internal.example:65535", "backend-1.internal.example", 65535},
      {"localhost:1", "localhost", 1},
  };
  for (const Good& c : cases) {
    std::string error;
    const std::optional<HostPort> hp = parse_host_port(c.text, &error);
    ASSERT_TRUE(hp) << c.text << ": " << error;
    EXPECT_EQ(hp->host, c.host);
    EXPECT_EQ(hp->port, c.port);
  }
}

struct Bad {
  std::string_view text;
  std::string_view error;
};

TEST(ParseHostPort, RejectsEachMalformedAddressWithWhatWasExpected) {
  const Bad cases[] = {
      {"1.2.3.4", "expected host:port with a port"},
      {"", "expected host:port with a port"},
      {"1.2.3.4:", "expected a port from 1 to 65535 after the colon"},
      {"1.2.3.4:0", "expected a port from 1 to 65535 after the colon"},
      {"1.2.3.4:65536", "expected a port from 1 to 65535 after the colon"},
      {"1.2.3.4:123456", "expected a port from 1 to 65535 after the colon"},
      {"1.2.3.4:http", "expected a port from 1 to 65535 after the colon"},
      {"1.2.3.4:-1", "expected a port from 1 to 65535 after the colon"},
      {":80", "expected a host before the port"},
      {"::1:80", "expected an IPv6 address in brackets, as [::1]:80"},
      {"2001:db8::5", "expected an IPv6 address in brackets, as [::1]:80"},
      {"[::1]", "expected host:port with a port after the brackets, as [::1]:80"},
      {"[::1:80", "expected a closing bracket after the IPv6 address, as [::1]:80"},
      {"[1.2.3.4]:80", "expected an IPv6 address inside the brackets, as [::1]:80"},
      {"[]:80", "expected an IPv6 address inside the brackets, as [::1]:80"},
      {"300.1.1.1:80", "expected an IPv4 address of four numbers from 0 to 255"},
      {"10.0.0:80", "expected an IPv4 address of four numbers from 0 to 255"},
      {"bad host:80", "expected a host name or an IPv4 address before the port"},
      {"http://x:80", "expected a host name or an IPv4 address before the port"},
  };
  for (const Bad& c : cases) {
    std::string error;
    EXPECT_FALSE(parse_host_port(c.text, &error)) << c.text;
    EXPECT_EQ(error, c.error) << c.text;
  }
}

TEST(ParseBindAddress, AllowsPortZeroForAnyFreePort) {
  std::string error;
  const std::optional<HostPort> hp = parse_bind_address("127.0.0.1:0", &error);
  ASSERT_TRUE(hp) << error;
  EXPECT_EQ(hp->port, 0);
  EXPECT_FALSE(parse_bind_address("127.0.0.1:65536", &error));
  EXPECT_EQ(error, "expected a port from 0 to 65535 after the colon");
}

TEST(HostPortToString, IsCanonicalSoTheSameBackendCompareEqual) {
  EXPECT_EQ(to_string(HostPort{"::1", 80}), "[::1]:80");
  EXPECT_EQ(to_string(HostPort{"0:0::1", 80}), "[::1]:80");
  EXPECT_EQ(to_string(HostPort{"2001:DB8::5", 80}), "[2001:db8::5]:80");
  EXPECT_EQ(to_string(HostPort{"1.2.3.4", 8000}), "1.2.3.4:8000");
  EXPECT_EQ(to_string(HostPort{"Backend.Internal", 8000}), "backend.internal:8000");
}

TEST(Resolve, NumericHostsResolveToThemselvesWithoutDns) {
  std::string error;
  const std::vector<sockaddr_storage> v4 = resolve(HostPort{"10.20.10.31", 8000}, &error);
  ASSERT_EQ(v4.size(), 1u) << error;
  EXPECT_EQ(v4[0].ss_family, AF_INET);
  EXPECT_EQ(to_string(v4[0]), "10.20.10.31:8000");

  const std::vector<sockaddr_storage> v6 = resolve(HostPort{"2001:db8::5", 443}, &error);
  ASSERT_EQ(v6.size(), 1u) << error;
  EXPECT_EQ(v6[0].ss_family, AF_INET6);
  EXPECT_EQ(to_string(v6[0]), "[2001:db8::5]:443");
}

TEST(Resolve, LocalhostYieldsDistinctLoopbackAddressesWithThePort) {
  std::string error;
  const std::vector<sockaddr_storage> addresses = resolve(HostPort{"localhost", 8080}, &error);
  ASSERT_FALSE(addresses.empty()) << error;
  std::vector<std::string> texts;
  for (const sockaddr_storage& a : addresses) texts.push_back(to_string(a));
  for (const std::string& t : texts)
    EXPECT_TRUE((t.starts_with("127.") && t.ends_with(":8080")) || t == "[::1]:8080") << t;
  std::sort(texts.begin(), texts.end());
  EXPECT_EQ(std::adjacent_find(texts.begin(), texts.end()), texts.end()) << "duplicates";
}

}  // namespace
}  // namespace ferry::config
