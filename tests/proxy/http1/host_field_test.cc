// A Host value is a host and an optional port (RFC 9112 3.2, RFC 3986 3.2.2), or ferry
// answers 400: anything else would reach routing, X-Forwarded-Host and redirects as a host.
#include "proxy/http1/host_field.h"

#include <gtest/gtest.h>

#include <string_view>

namespace ferry::proxy {
namespace {

TEST(HostField, HostsAndPortsAsRfc3986SpellsThemAreValid) {
  for (const std::string_view ok :
       {"", "x", "example.com", "Example.COM:8080", "example.com:", "10.0.0.1:80", "[::1]", "[::1]:8888",
        "[2001:db8::1]:443", "[v1.fe80::a+en1]", "a_b.example", "xn--bcher-kva.example", "%41bc.example",
        "a,b;c=d!$&'()*+~", "localhost:65535"}) {
    EXPECT_TRUE(is_valid_host_field(ok)) << ok;
  }
}

TEST(HostField, AnythingElseIsNot) {
  for (const std::string_view bad :
       {"x y", "x/evil", "x\\evil", "user@x", "x?q", "x#f", "\"x\"", "x:8o", "x:80:80", "x::80", "[::1",
        "[::1]x", "[::1]:x", "[]", "[::1/64]", "%4", "%zz.example", "x%", "<x>", "x|y", "x\ty", "\xc3\xa9.example",
        ":80:"}) {
    EXPECT_FALSE(is_valid_host_field(bad)) << bad;
  }
}

}  // namespace
}  // namespace ferry::proxy
