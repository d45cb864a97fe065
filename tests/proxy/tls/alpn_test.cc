#include "proxy/tls/alpn.h"

#include <gtest/gtest.h>

#include <string>

namespace ferry::proxy::tls {
namespace {

std::string wire(const std::vector<std::string>& protocols) {
  std::string out;
  EXPECT_TRUE(alpn_wire(protocols, out));
  return out;
}

TEST(AlpnWire, PrefixesEachNameWithItsLength) {
  EXPECT_EQ(wire({"h2", "http/1.1"}), std::string("\x02h2\x08http/1.1"));
  EXPECT_EQ(wire({}), "");
  std::string out = "x";
  EXPECT_FALSE(alpn_wire({"h2", ""}, out));
  EXPECT_EQ(out, "");
  EXPECT_FALSE(alpn_wire({std::string(256, 'p')}, out));
}

TEST(SelectAlpn, TakesTheServersFirstChoiceTheClientAlsoOffers) {
  const std::string ours = wire({"h2", "http/1.1"});
  EXPECT_EQ(select_alpn(ours, wire({"http/1.1", "h2"})), "h2");
  EXPECT_EQ(select_alpn(ours, wire({"http/1.1"})), "http/1.1");
  EXPECT_EQ(select_alpn(ours, wire({"spdy/3", "http/1.1"})), "http/1.1");
  EXPECT_EQ(select_alpn(ours, wire({"spdy/3"})), "");
}

TEST(SelectAlpn, AMalformedClientListSelectsNothing) {
  const std::string ours = wire({"h2", "http/1.1"});
  EXPECT_EQ(select_alpn(ours, std::string("\x02h2\x09http/1.1", 11)), "");  // length past the end
  EXPECT_EQ(select_alpn(ours, std::string("\x00\x02h2", 4)), "");           // empty name
  EXPECT_EQ(select_alpn(ours, ""), "");
}

TEST(SelectAlpn, TheChoiceIsAViewIntoTheClientsList) {
  const std::string ours = wire({"http/1.1"});
  const std::string theirs = wire({"h2", "http/1.1"});
  const std::string_view chosen = select_alpn(ours, theirs);
  EXPECT_EQ(chosen.data(), theirs.data() + 4);
}

}  // namespace
}  // namespace ferry::proxy::tls
