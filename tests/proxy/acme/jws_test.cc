// The ACME cryptography, checked with OpenSSL's own verification and known vectors.
#include <gtest/gtest.h>

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <string>

#include "proxy/acme/jws.h"
#include "support/test_certificates.h"

namespace ferry::proxy::acme {
namespace {

std::string unbase64url(std::string_view text) {
  std::string b64(text);
  for (char& c : b64) c = c == '-' ? '+' : c == '_' ? '/' : c;
  while (b64.size() % 4 != 0) b64.push_back('=');
  std::string out(b64.size(), '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(b64.data()), static_cast<int>(b64.size()));
  out.resize(static_cast<std::size_t>(n));
  while (!b64.empty() && b64.back() == '=') {  // EVP_DecodeBlock counts padding as zero bytes
    b64.pop_back();
    out.pop_back();
  }
  return out;
}

// The value of "name":"..." in a flat JSON text (enough for what jws() writes).
std::string member(const std::string& json, const std::string& name) {
  const std::size_t at = json.find("\"" + name + "\":\"");
  if (at == std::string::npos) return {};
  const std::size_t start = at + name.size() + 4;
  return json.substr(start, json.find('"', start) - start);
}

bool verify_es256(EVP_PKEY* key, const std::string& input, const std::string& raw) {
  if (raw.size() != 64) return false;
  ECDSA_SIG* sig = ECDSA_SIG_new();
  BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()), 32, nullptr);
  BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()) + 32, 32, nullptr);
  ECDSA_SIG_set0(sig, r, s);
  unsigned char* der = nullptr;
  const int length = i2d_ECDSA_SIG(sig, &der);
  ECDSA_SIG_free(sig);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok = EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
                  EVP_DigestVerify(ctx, der, static_cast<std::size_t>(length),
                                   reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
  EVP_MD_CTX_free(ctx);
  OPENSSL_free(der);
  return ok;
}

TEST(AcmeJws, Base64UrlHasNoPaddingAndTheUrlAlphabet) {
  EXPECT_EQ(base64url(""), "");
  EXPECT_EQ(base64url("f"), "Zg");
  EXPECT_EQ(base64url("fo"), "Zm8");
  EXPECT_EQ(base64url("foo"), "Zm9v");
  EXPECT_EQ(base64url("foob"), "Zm9vYg");
  EXPECT_EQ(base64url(std::string("\xfb\xff\xfe", 3)), "-__-");
}

TEST(AcmeJws, JsonQuoteEscapesWhatJsonNeeds) {
  EXPECT_EQ(json_quote("a\"b\\c\n"), "\"a\\\"b\\\\c\\u000a\"");
}

TEST(AcmeJws, AKeySurvivesPemAndOnlyP256IsAccepted) {
  const tls::EvpPkeyPtr key = new_p256_key();
  ASSERT_TRUE(key);
  const std::string pem = private_key_pem(key.get());
  const tls::EvpPkeyPtr back = read_private_key(pem);
  ASSERT_TRUE(back);
  EXPECT_EQ(jwk(back.get()), jwk(key.get()));
  EXPECT_FALSE(read_private_key(testing::pem_of(testing::ec_key("P-384").get())));
  EXPECT_FALSE(read_private_key("not a key"));
}

TEST(AcmeJws, JwkIsCanonicalAndItsThumbprintIsTheSha256OfIt) {
  const tls::EvpPkeyPtr key = new_p256_key();
  const std::string text = jwk(key.get());
  ASSERT_EQ(text.rfind(R"({"crv":"P-256","kty":"EC","x":")", 0), 0u) << text;
  EXPECT_EQ(unbase64url(member(text, "x")).size(), 32u);
  EXPECT_EQ(unbase64url(member(text, "y")).size(), 32u);
  unsigned char digest[32];
  unsigned int length = 0;
  EVP_Digest(text.data(), text.size(), digest, &length, EVP_sha256(), nullptr);
  EXPECT_EQ(jwk_thumbprint(key.get()), base64url(std::string(reinterpret_cast<char*>(digest), length)));
  EXPECT_EQ(jwk_thumbprint(key.get()).size(), 43u);
}

TEST(AcmeJws, AFlattenedJwsVerifiesAndCarriesNonceUrlAndKey) {
  const tls::EvpPkeyPtr key = new_p256_key();
  const std::string with_jwk = jws(key.get(), "", "nonce-1", "https://ca/new-acct", R"({"a":1})");
  const std::string header = unbase64url(member(with_jwk, "protected"));
  EXPECT_NE(header.find(R"("alg":"ES256")"), std::string::npos) << header;
  EXPECT_NE(header.find(R"("jwk":{"crv":"P-256")"), std::string::npos) << header;
  EXPECT_NE(header.find(R"("nonce":"nonce-1")"), std::string::npos) << header;
  EXPECT_NE(header.find(R"("url":"https://ca/new-acct")"), std::string::npos) << header;
  EXPECT_EQ(unbase64url(member(with_jwk, "payload")), R"({"a":1})");
  EXPECT_TRUE(verify_es256(key.get(), member(with_jwk, "protected") + "." + member(with_jwk, "payload"),
                           unbase64url(member(with_jwk, "signature"))));

  const std::string with_kid = jws(key.get(), "https://ca/acct/7", "n2", "https://ca/order", "");
  const std::string kid_header = unbase64url(member(with_kid, "protected"));
  EXPECT_NE(kid_header.find(R"("kid":"https://ca/acct/7")"), std::string::npos);
  EXPECT_EQ(kid_header.find("jwk"), std::string::npos);
  EXPECT_EQ(member(with_kid, "payload"), "");  // POST-as-GET
  const tls::EvpPkeyPtr other = new_p256_key();
  EXPECT_FALSE(verify_es256(other.get(), member(with_kid, "protected") + ".",
                            unbase64url(member(with_kid, "signature"))));
}

TEST(AcmeJws, TheCsrNamesEveryDomainAndIsSignedByTheKey) {
  const tls::EvpPkeyPtr key = new_p256_key();
  const std::string der = csr_der(key.get(), {"example.com", "www.example.com"});
  ASSERT_FALSE(der.empty());
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  X509_REQ* req = d2i_X509_REQ(nullptr, &p, static_cast<long>(der.size()));
  ASSERT_NE(req, nullptr);
  EXPECT_EQ(X509_REQ_verify(req, key.get()), 1);
  STACK_OF(X509_EXTENSION)* extensions = X509_REQ_get_extensions(req);
  std::string names;
  for (int i = 0; i < sk_X509_EXTENSION_num(extensions); ++i) {
    X509_EXTENSION* ext = sk_X509_EXTENSION_value(extensions, i);
    if (OBJ_obj2nid(X509_EXTENSION_get_object(ext)) != NID_subject_alt_name) continue;
    auto* sans = static_cast<GENERAL_NAMES*>(X509V3_EXT_d2i(ext));
    for (int j = 0; j < sk_GENERAL_NAME_num(sans); ++j) {
      const ASN1_IA5STRING* dns = sk_GENERAL_NAME_value(sans, j)->d.dNSName;
      names += std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(dns)),
                           static_cast<std::size_t>(ASN1_STRING_length(dns))) + " ";
    }
    GENERAL_NAMES_free(sans);
  }
  sk_X509_EXTENSION_pop_free(extensions, X509_EXTENSION_free);
  X509_REQ_free(req);
  EXPECT_EQ(names, "example.com www.example.com ");
}

// RFC 9773 4.1's example: AKI 69:88:5B:6B:87:46:40:41:E1:B3:7B:84:7B:A0:AE:2C:DE:01:C8:D4 and
// serial 00:87:65:43:21 give "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE".
TEST(AcmeJws, TheAriIdIsTheRfc9773ExampleAndDatesAndNamesAreRead) {
  const tls::EvpPkeyPtr key = testing::ec_key("P-256");
  testing::CertificateSpec spec{"example.com", "", {"Example.com", "www.example.com"}, 1'700'000'000, 1'707'776'000};
  tls::X509Ptr cert = testing::make_certificate(spec, key.get(), nullptr, key.get());
  BIGNUM* serial = nullptr;
  BN_hex2bn(&serial, "87654321");
  BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(cert.get()));
  BN_free(serial);
  AUTHORITY_KEYID* akid = AUTHORITY_KEYID_new();
  akid->keyid = ASN1_OCTET_STRING_new();
  const unsigned char id[] = {0x69, 0x88, 0x5B, 0x6B, 0x87, 0x46, 0x40, 0x41, 0xE1, 0xB3,
                              0x7B, 0x84, 0x7B, 0xA0, 0xAE, 0x2C, 0xDE, 0x01, 0xC8, 0xD4};
  ASN1_OCTET_STRING_set(akid->keyid, id, sizeof id);
  X509_add1_ext_i2d(cert.get(), NID_authority_key_identifier, akid, 0, X509V3_ADD_REPLACE);
  AUTHORITY_KEYID_free(akid);
  X509_sign(cert.get(), key.get(), EVP_sha256());
  const std::optional<CertificateFacts> facts = certificate_facts(testing::pem_of(cert.get()));
  ASSERT_TRUE(facts);
  EXPECT_EQ(facts->ari_id, "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE");
  EXPECT_EQ(facts->not_before, 1'700'000'000);
  EXPECT_EQ(facts->not_after, 1'707'776'000);
  EXPECT_EQ(facts->names, (std::vector<std::string>{"example.com", "www.example.com"}));
  EXPECT_FALSE(certificate_facts("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"));
}

}  // namespace
}  // namespace ferry::proxy::acme
