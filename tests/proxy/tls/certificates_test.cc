#include "proxy/tls/certificates.h"

#include <gtest/gtest.h>
#include <openssl/obj_mac.h>
#include <sys/stat.h>

#include <fstream>

#include "tls_test_support.h"

namespace ferry::proxy::tls {
namespace {

using testing::Pki;
using testing::unix_now;

CertificateLoad load_one(const std::string& cert, const std::string& key,
                         int64_t now = unix_now()) {
  return CertificateSet::load({{cert, key}}, now);
}

void write(const std::string& path, const std::string& content) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
}

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(CertificateSet, LoadsLeafChainKeyNamesTypeAndExpiry) {
  const Pki& pki = Pki::get();
  const CertificateLoad load = load_one(pki.site_rsa.cert, pki.site_rsa.key);
  ASSERT_TRUE(load.set) << (load.errors.empty() ? "" : load.errors.front());
  EXPECT_TRUE(load.errors.empty());
  EXPECT_TRUE(load.warnings.empty());
  const Certificate& c = load.set->certificates().front();
  EXPECT_EQ(c.names, (std::vector<std::string>{"example.com", "www.example.com"}));
  EXPECT_EQ(c.first_name(), "example.com");
  EXPECT_EQ(c.key_type, KeyType::Rsa);
  EXPECT_EQ(key_type_name(c.key_type), "RSA");
  EXPECT_EQ(sk_X509_num(c.chain.get()), 1);  // the CA after the leaf
  EXPECT_EQ(c.not_after, pki.site_rsa.not_after);
  EXPECT_EQ(c.cert_source, pki.site_rsa.cert);
}

TEST(CertificateSet, ReadsTheEcdsaCurveAndWildcardNames) {
  const Pki& pki = Pki::get();
  const CertificateLoad load = CertificateSet::load(
      {{pki.site_ecdsa.cert, pki.site_ecdsa.key}, {pki.wildcard.cert, pki.wildcard.key}},
      unix_now());
  ASSERT_TRUE(load.set);
  const auto& certs = load.set->certificates();
  ASSERT_EQ(certs.size(), 2u);
  EXPECT_EQ(certs[0].key_type, KeyType::Ecdsa);
  EXPECT_EQ(certs[0].curve_nid, NID_X9_62_prime256v1);
  EXPECT_EQ(certs[1].curve_nid, NID_secp384r1);
  EXPECT_EQ(certs[1].names, std::vector<std::string>{"*.apps.example.com"});
}

TEST(CertificateSet, FallsBackToTheCommonNameWithoutDnsNames) {
  const Pki& pki = Pki::get();
  const CertificateLoad load = load_one(pki.legacy.cert, pki.legacy.key);
  ASSERT_TRUE(load.set);
  EXPECT_EQ(load.set->certificates().front().names, std::vector<std::string>{"legacy.example.net"});
}

TEST(CertificateSet, AKeyThatDoesNotMatchNamesBothFiles) {
  const Pki& pki = Pki::get();
  const CertificateLoad load = load_one(pki.mismatched.cert, pki.mismatched.key);
  EXPECT_FALSE(load.set);
  ASSERT_EQ(load.errors.size(), 1u);
  EXPECT_EQ(load.errors[0],
            pki.site_ecdsa.key + ": key does not match the certificate in " + pki.site_rsa.cert);
}

TEST(CertificateSet, AMissingFileIsReportedWithItsPathAndReason) {
  const Pki& pki = Pki::get();
  const std::string missing = pki.path("nope.pem");
  const CertificateLoad load = load_one(missing, pki.site_rsa.key);
  EXPECT_FALSE(load.set);
  ASSERT_EQ(load.errors.size(), 1u);
  EXPECT_EQ(load.errors[0], missing + ": cannot read: No such file or directory");
  const CertificateLoad dir = load_one(pki.dir.path(), pki.site_rsa.key);
  ASSERT_EQ(dir.errors.size(), 1u);
  EXPECT_EQ(dir.errors[0], pki.dir.path() + ": cannot read: Is a directory");
}

TEST(CertificateSet, AFileWithoutACertificateOrKeySaysSo) {
  const Pki& pki = Pki::get();
  const std::string empty = pki.path("empty.pem");
  write(empty, "just some text\n");
  CertificateLoad load = load_one(empty, pki.site_rsa.key);
  ASSERT_EQ(load.errors.size(), 1u);
  EXPECT_EQ(load.errors[0], empty + ": no certificate found");
  load = load_one(pki.site_rsa.cert, empty);
  ASSERT_EQ(load.errors.size(), 1u);
  EXPECT_EQ(load.errors[0], empty + ": no private key found");
  // A key file holding only a certificate has no key either.
  load = load_one(pki.site_rsa.cert, pki.site_rsa.cert);
  ASSERT_EQ(load.errors.size(), 1u);
  EXPECT_EQ(load.errors[0], pki.site_rsa.cert + ": no private key found");
}

TEST(CertificateSet, ACorruptCertificateIsABadPemError) {
  const Pki& pki = Pki::get();
  const std::string corrupt = pki.path("corrupt.pem");
  std::string pem = read(pki.site_rsa.cert);
  pem[pem.find('\n') + 10] = '!';  // inside the base64 of the first certificate
  write(corrupt, pem);
  const CertificateLoad load = load_one(corrupt, pki.site_rsa.key);
  ASSERT_EQ(load.errors.size(), 1u);
  EXPECT_EQ(load.errors[0].rfind(corrupt + ": bad certificate PEM: ", 0), 0u) << load.errors[0];
}

TEST(CertificateSet, AnEncryptedKeyIsRefusedWithoutPrompting) {
  const Pki& pki = Pki::get();
  const EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  BioPtr bio(BIO_new(BIO_s_mem()));
  char pass[] = "secret";
  ASSERT_EQ(
      PEM_write_bio_PrivateKey(bio.get(), key.get(), EVP_aes_256_cbc(), nullptr, 0, nullptr, pass),
      1);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  const std::string encrypted = pki.path("encrypted.key");
  write(encrypted, std::string(data, static_cast<std::size_t>(n)));
  const CertificateLoad load = load_one(pki.site_ecdsa.cert, encrypted);
  ASSERT_EQ(load.errors.size(), 1u);
  EXPECT_EQ(load.errors[0].rfind(encrypted + ": the key is protected by a passphrase", 0), 0u)
      << load.errors[0];
}

TEST(CertificateSet, AnExpiredCertificateLoadsWithAWarning) {
  const Pki& pki = Pki::get();
  const CertificateLoad load = load_one(pki.expired.cert, pki.expired.key);
  ASSERT_TRUE(load.set);
  EXPECT_TRUE(load.errors.empty());
  ASSERT_EQ(load.warnings.size(), 1u);
  EXPECT_EQ(load.warnings[0].rfind(pki.expired.cert + ": certificate expired on 2025-01-01", 0), 0u)
      << load.warnings[0];
  EXPECT_EQ(load.set->certificates().front().not_after, 1735689600);  // the metric's value
}

TEST(CertificateSet, ANotYetValidCertificateLoadsWithAWarning) {
  const Pki& pki = Pki::get();
  const CertificateLoad load = load_one(pki.expired.cert, pki.expired.key, 1700000000);  // 2023-11
  ASSERT_TRUE(load.set);
  ASSERT_EQ(load.warnings.size(), 1u);
  EXPECT_EQ(
      load.warnings[0].rfind(pki.expired.cert + ": certificate is not valid before 2024-01-01", 0),
      0u);
}

TEST(CertificateSet, EveryErrorIsReportedAtOnceAndNoSetIsMade) {
  const Pki& pki = Pki::get();
  const CertificateLoad load = CertificateSet::load({{pki.site_rsa.cert, pki.site_rsa.key},
                                                     {pki.mismatched.cert, pki.mismatched.key},
                                                     {pki.path("gone.pem"), pki.path("gone.key")}},
                                                    unix_now());
  EXPECT_FALSE(load.set);
  // Both files of the missing pair, and the mismatch found in the pairs that could be read.
  EXPECT_EQ(load.errors.size(), 3u);
  const CertificateLoad mismatch_only =
      CertificateSet::load({{pki.site_rsa.cert, pki.site_rsa.key},
                            {pki.mismatched.cert, pki.mismatched.key},
                            {pki.other.cert, pki.site_rsa.key}},
                           unix_now());
  EXPECT_FALSE(mismatch_only.set);
  EXPECT_EQ(mismatch_only.errors.size(), 2u);
}

TEST(CertificateSet, AnEmptyListIsAnError) {
  const CertificateLoad load = CertificateSet::load({}, unix_now());
  EXPECT_FALSE(load.set);
  EXPECT_EQ(load.errors, std::vector<std::string>{"no certificates given"});
}

TEST(CertificateSet, LoadsFromMemoryAndNamesTheSourcesInErrors) {
  const Pki& pki = Pki::get();
  CertificateLoad load =
      CertificateSet::from_pem({{"acme:example.com", read(pki.site_ecdsa.cert),
                                 "acme:example.com.key", read(pki.site_ecdsa.key)}},
                               unix_now());
  ASSERT_TRUE(load.set);
  EXPECT_EQ(load.set->certificates().front().cert_source, "acme:example.com");
  load = CertificateSet::from_pem(
      {{"acme:a", read(pki.site_ecdsa.cert), "acme:a.key", read(pki.site_rsa.key)}}, unix_now());
  ASSERT_EQ(load.errors.size(), 1u);
  EXPECT_EQ(load.errors[0], "acme:a.key: key does not match the certificate in acme:a");
}

}  // namespace
}  // namespace ferry::proxy::tls
