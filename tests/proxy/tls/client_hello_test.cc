#include "proxy/tls/client_hello.h"

#include <gtest/gtest.h>
#include <openssl/obj_mac.h>

#include <vector>

namespace ferry::proxy::tls {
namespace {

std::vector<uint8_t> u16_list(const std::vector<uint16_t>& values) {
  std::vector<uint8_t> out;
  const std::size_t length = values.size() * 2;
  out.push_back(static_cast<uint8_t>(length >> 8));
  out.push_back(static_cast<uint8_t>(length));
  for (const uint16_t v : values) {
    out.push_back(static_cast<uint8_t>(v >> 8));
    out.push_back(static_cast<uint8_t>(v));
  }
  return out;
}

std::vector<uint8_t> raw_u16(const std::vector<uint16_t>& values) {
  const std::vector<uint8_t> list = u16_list(values);
  return {list.begin() + 2, list.end()};
}

std::vector<uint8_t> server_name_ext(const std::string& name) {
  std::vector<uint8_t> out;
  const std::size_t entry = 3 + name.size();
  out.push_back(static_cast<uint8_t>(entry >> 8));
  out.push_back(static_cast<uint8_t>(entry));
  out.push_back(0);  // host_name
  out.push_back(static_cast<uint8_t>(name.size() >> 8));
  out.push_back(static_cast<uint8_t>(name.size()));
  out.insert(out.end(), name.begin(), name.end());
  return out;
}

TEST(ClientHelloParsing, ReadsTheHostNameOfServerName) {
  const std::vector<uint8_t> ext = server_name_ext("www.example.com");
  EXPECT_EQ(parse_server_name(ext), "www.example.com");
}

TEST(ClientHelloParsing, MalformedExtensionsReadAsAbsent) {
  std::vector<uint8_t> ext = server_name_ext("www.example.com");
  ext.pop_back();  // list length now says one byte more than there is
  EXPECT_EQ(parse_server_name(ext), "");
  EXPECT_EQ(parse_server_name(std::vector<uint8_t>{0x00}), "");
  EXPECT_TRUE(parse_u16_list(std::vector<uint8_t>{0x00, 0x03, 0x04, 0x03, 0x05}).empty());
  EXPECT_FALSE(lists_tls13(std::vector<uint8_t>{0x04, 0x03, 0x04}));
}

TEST(ClientHelloParsing, SupportedVersionsListingTls13) {
  EXPECT_TRUE(lists_tls13(std::vector<uint8_t>{0x04, 0x03, 0x04, 0x03, 0x03}));
  EXPECT_FALSE(lists_tls13(std::vector<uint8_t>{0x02, 0x03, 0x03}));
}

ClientOffer offer_of(bool tls13, const std::vector<uint8_t>& schemes,
                     const std::vector<uint8_t>& suites,
                     const std::vector<uint8_t>* groups = nullptr) {
  ClientOffer offer;
  offer.tls13 = tls13;
  offer.signature_schemes_sent = true;
  offer.signature_schemes = schemes;
  offer.cipher_suites = suites;
  if (groups != nullptr) {
    offer.groups_sent = true;
    offer.groups = *groups;
  }
  return offer;
}

TEST(CanUse, Tls13NeedsTheSchemeOfTheKeysCurve) {
  const std::vector<uint8_t> p256_only = raw_u16({0x0403, 0x0804});
  const std::vector<uint8_t> suites = raw_u16({0x1301});
  const ClientOffer offer = offer_of(true, p256_only, suites);
  EXPECT_TRUE(can_use(offer, KeyType::Ecdsa, NID_X9_62_prime256v1));
  EXPECT_FALSE(can_use(offer, KeyType::Ecdsa, NID_secp384r1));
  EXPECT_TRUE(can_use(offer, KeyType::Rsa, 0));
  const std::vector<uint8_t> pkcs1_only = raw_u16({0x0401});
  EXPECT_FALSE(
      can_use(offer_of(true, pkcs1_only, suites), KeyType::Rsa, 0));  // TLS 1.3 signs RSA with PSS
}

TEST(CanUse, Tls12NeedsASuiteForTheKeyAndItsCurveAmongTheGroups) {
  const std::vector<uint8_t> schemes = raw_u16({0x0403, 0x0401});
  const std::vector<uint8_t> rsa_suites = raw_u16({0xC02F});
  const std::vector<uint8_t> both_suites = raw_u16({0xC02F, 0xC02B});
  EXPECT_FALSE(can_use(offer_of(false, schemes, rsa_suites), KeyType::Ecdsa, NID_X9_62_prime256v1));
  EXPECT_TRUE(can_use(offer_of(false, schemes, rsa_suites), KeyType::Rsa, 0));
  EXPECT_TRUE(can_use(offer_of(false, schemes, both_suites), KeyType::Ecdsa, NID_X9_62_prime256v1));
  const std::vector<uint8_t> x25519_only = raw_u16({29});
  EXPECT_FALSE(can_use(offer_of(false, schemes, both_suites, &x25519_only), KeyType::Ecdsa,
                       NID_X9_62_prime256v1));
  const std::vector<uint8_t> rsa_schemes = raw_u16({0x0401});
  EXPECT_FALSE(
      can_use(offer_of(false, rsa_schemes, both_suites), KeyType::Ecdsa, NID_X9_62_prime256v1));
  const std::vector<uint8_t> cbc_only =
      raw_u16({0xC027});  // ECDHE-RSA-AES128-SHA256: not in the policy
  EXPECT_FALSE(can_use(offer_of(false, schemes, cbc_only), KeyType::Rsa, 0));
}

}  // namespace
}  // namespace ferry::proxy::tls
