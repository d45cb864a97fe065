#include <gtest/gtest.h>

#include "proxy/tls/server_context.h"
#include "tls_test_support.h"

// Which certificate a client gets: by its SNI name, then ECDSA or RSA by what it supports.
// The listener is standard_files(): site RSA (the default), site ECDSA with the same names,
// *.apps.example.com (ECDSA P-384), other.test + alias.other.test, legacy.example.net (CN).
namespace ferry::proxy::tls {
namespace {

using namespace testing;

std::string served(std::string_view sni, std::shared_ptr<const ClientContext> client = nullptr,
                   std::shared_ptr<const ServerContext> server = nullptr) {
  static const auto standard = server_context();
  Connection c = open_connection(client ? client : client_context(no_verify()),
                                 server ? server : standard, sni);
  if (!c.connected) return "failed: " + std::string(c.server.error());
  return served_common_name(*c.client.session);
}

std::shared_ptr<const ClientContext> client_with_sigalgs(const char* sigalgs,
                                                         int max_version = TLS1_3_VERSION) {
  auto ctx = client_context(no_verify());
  EXPECT_EQ(SSL_CTX_set1_sigalgs_list(ctx->native(), sigalgs), 1) << sigalgs;
  SSL_CTX_set_max_proto_version(ctx->native(), max_version);
  return ctx;
}

std::shared_ptr<const ClientContext> tls12_client(const char* ciphers,
                                                  const char* groups = nullptr) {
  auto ctx = client_context(no_verify());
  SSL_CTX_set_max_proto_version(ctx->native(), TLS1_2_VERSION);
  EXPECT_EQ(SSL_CTX_set_cipher_list(ctx->native(), ciphers), 1) << ciphers;
  if (groups != nullptr) {
    EXPECT_EQ(SSL_CTX_set1_groups_list(ctx->native(), groups), 1) << groups;
  }
  return ctx;
}

TEST(Sni, AnExactNameGetsItsCertificate) {
  EXPECT_EQ(served("other.test"), "other");
  EXPECT_EQ(served("alias.other.test"), "other");
  EXPECT_EQ(served("www.example.com"), "site-ecdsa");
}

TEST(Sni, NamesCompareCaseInsensitively) {
  EXPECT_EQ(served("OTHER.Test"), "other");
  EXPECT_EQ(served("Foo.APPS.Example.com"), "wildcard");
}

TEST(Sni, AWildcardCoversExactlyOneLabel) {
  EXPECT_EQ(served("a.apps.example.com"), "wildcard");
  EXPECT_EQ(served("apps.example.com"), "site-ecdsa");  // not covered: the default
  EXPECT_EQ(served("x.y.apps.example.com"), "site-ecdsa");
}

TEST(Sni, UnknownOrAbsentNamesGetTheDefault) {
  EXPECT_EQ(served("unknown.test"), "site-ecdsa");
  EXPECT_EQ(served(""), "site-ecdsa");
}

TEST(Sni, ACommonNameServesWhenThereIsNoSan) {
  EXPECT_EQ(served("legacy.example.net"), "legacy.example.net");
}

TEST(Sni, TheServerReportsTheNameTheClientSent) {
  Connection c = open_connection(client_context(no_verify()), server_context(), "Alias.Other.Test");
  ASSERT_TRUE(c.connected);
  EXPECT_EQ(c.server.session->server_name(), "Alias.Other.Test");
  Connection none = open_connection(client_context(no_verify()), server_context(), "");
  ASSERT_TRUE(none.connected);
  EXPECT_EQ(none.server.session->server_name(), "");
}

TEST(Sni, WithTheDefaultFirstItIsTheDefaultWhateverItsKey) {
  const Pki& pki = Pki::get();
  const auto server =
      server_context({}, {{pki.other.cert, pki.other.key}, {pki.site_rsa.cert, pki.site_rsa.key}});
  EXPECT_EQ(served("nobody.test", nullptr, server), "other");
  EXPECT_EQ(served("example.com", nullptr, server), "site-rsa");
}

TEST(KeyChoice, EcdsaWhenTheClientCanVerifyIt) {
  EXPECT_EQ(served("example.com", client_context(no_verify())), "site-ecdsa");
  EXPECT_EQ(
      served("example.com", client_with_sigalgs("ecdsa_secp256r1_sha256:rsa_pss_rsae_sha256")),
      "site-ecdsa");
}

TEST(KeyChoice, EcdsaEvenWhenTheClientListsRsaFirst) {
  EXPECT_EQ(
      served("example.com", client_with_sigalgs("rsa_pss_rsae_sha256:ecdsa_secp256r1_sha256")),
      "site-ecdsa");
  EXPECT_EQ(served("example.com",
                   tls12_client("ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-GCM-SHA256")),
            "site-ecdsa");
}

TEST(KeyChoice, RsaWhenTheClientCannotUseEcdsa) {
  EXPECT_EQ(served("example.com", client_with_sigalgs("rsa_pss_rsae_sha256:rsa_pss_rsae_sha384")),
            "site-rsa");
  EXPECT_EQ(served("www.example.com", tls12_client("ECDHE-RSA-AES128-GCM-SHA256")), "site-rsa");
  EXPECT_EQ(served("example.com",
                   client_with_sigalgs("rsa_pkcs1_sha256:rsa_pss_rsae_sha256", TLS1_2_VERSION)),
            "site-rsa");
  // TLS 1.2 verifies ECDSA only on curves among the client's groups; P-256 is not there.
  EXPECT_EQ(served("example.com",
                   tls12_client("ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256",
                                "X25519:secp384r1")),
            "site-rsa");
}

TEST(KeyChoice, ACurveTheClientCannotVerifyIsStillTheNamesOnlyCertificate) {
  // *.apps.example.com has only a P-384 key. A client without the P-384 scheme gets it
  // anyway (the name it asked for) and the handshake fails, rather than silently being
  // served a certificate for another name.
  const std::string result = served(
      "a.apps.example.com", client_with_sigalgs("ecdsa_secp256r1_sha256:rsa_pss_rsae_sha256"));
  EXPECT_EQ(result.rfind("failed: handshake:", 0), 0u) << result;
}

TEST(KeyChoice, OpenSslsOwnChoiceOnOneContextFollowsTheServersOrder) {
  // With RSA and ECDSA on one context, OpenSSL 3.0 picks the key by the client's order unless
  // the server's cipher order is on, as ferry's policies set it (policy.h): then an RSA-first
  // client that can verify ECDSA gets ECDSA. ferry still gives each certificate its own
  // SSL_CTX and chooses itself (certificate_choice.h), so the choice does not hang on that
  // option; this pins what OpenSSL does with it.
  const Pki& pki = Pki::get();
  const auto server = server_context({}, {{pki.site_rsa.cert, pki.site_rsa.key}});
  const auto ecdsa = load_set({{pki.site_ecdsa.cert, pki.site_ecdsa.key}});
  const Certificate& e = ecdsa->certificates().front();
  ASSERT_EQ(
      SSL_CTX_use_cert_and_key(server->initial_ctx(), e.leaf.get(), e.key.get(), e.chain.get(), 1),
      1);
  EXPECT_EQ(served("example.com", client_context(no_verify()), server), "site-ecdsa");
  EXPECT_EQ(served("example.com", client_with_sigalgs("rsa_pss_rsae_sha256:ecdsa_secp256r1_sha256"),
                   server),
            "site-ecdsa");
  EXPECT_EQ(
      served("example.com",
             tls12_client("ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-GCM-SHA256"), server),
      "site-ecdsa");
}

}  // namespace
}  // namespace ferry::proxy::tls
