#include <gtest/gtest.h>

#include "proxy/tls/server_context.h"
#include "tls_test_support.h"

// Mutual TLS: with client_ca, a client must present a certificate that chains to it.
namespace ferry::proxy::tls {
namespace {

using namespace testing;

std::shared_ptr<const ServerContext> mtls_server() {
  ServerOptions options;
  options.client_ca = Pki::get().ca;
  return server_context(options);
}

std::shared_ptr<const ClientContext> client_with(const Issued* cert,
                                                 int max_version = TLS1_3_VERSION) {
  ClientOptions options = no_verify();
  if (cert != nullptr) {
    options.cert_file = cert->cert;
    options.key_file = cert->key;
  }
  auto ctx = client_context(options);
  SSL_CTX_set_max_proto_version(ctx->native(), max_version);
  return ctx;
}

TEST(MutualTls, AClientWithoutACertificateIsRefused) {
  for (const int version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
    Connection c = open_connection(client_with(nullptr, version), mtls_server());
    EXPECT_FALSE(c.connected);
    EXPECT_EQ(c.server.error(), "handshake: peer did not return a certificate");
    EXPECT_TRUE(c.client.failed()) << "version " << version;
  }
}

TEST(MutualTls, ACertificateFromAnotherCaIsRefused) {
  Connection c = open_connection(client_with(&Pki::get().stranger), mtls_server());
  EXPECT_FALSE(c.connected);
  EXPECT_EQ(c.server.error().rfind("handshake: certificate verify failed", 0), 0u)
      << c.server.error();
  EXPECT_TRUE(c.client.failed());
  EXPECT_EQ(c.server.session->peer_subject(), "");
}

TEST(MutualTls, AGoodCertificatePassesAndItsSubjectIsReported) {
  for (const int version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
    Connection c = open_connection(client_with(&Pki::get().client, version), mtls_server());
    ASSERT_TRUE(c.connected) << c.server.error();
    EXPECT_EQ(c.server.session->peer_subject(), "O=Ferry Tests,CN=client-1");
  }
}

TEST(MutualTls, TheServerNamesTheAcceptedCas) {
  Connection c = open_connection(client_with(&Pki::get().client), mtls_server());
  ASSERT_TRUE(c.connected);
  const STACK_OF(X509_NAME)* names = SSL_get0_peer_CA_list(c.client.session->native());
  ASSERT_NE(names, nullptr);
  ASSERT_EQ(sk_X509_NAME_num(names), 1);
  char cn[64] = {};
  X509_NAME_get_text_by_NID(sk_X509_NAME_value(names, 0), NID_commonName, cn, sizeof cn);
  EXPECT_STREQ(cn, "Ferry Test CA");
}

TEST(MutualTls, WithoutClientCaNoCertificateIsAskedFor) {
  Connection c = open_connection(client_with(&Pki::get().client), server_context());
  ASSERT_TRUE(c.connected);
  EXPECT_EQ(c.server.session->peer_subject(), "");
}

}  // namespace
}  // namespace ferry::proxy::tls
