#include "proxy/tls/server_context.h"

#include <gtest/gtest.h>

#include "tls_test_support.h"

// Policies, versions and suites, ALPN, and the context's own settings, through handshakes
// between two in-memory sessions.
namespace ferry::proxy::tls {
namespace {

using namespace testing;

std::shared_ptr<const ClientContext> client_limited_to(int min_version, int max_version,
                                                       const char* ciphers = nullptr,
                                                       int security_level = -1) {
  auto ctx = client_context(no_verify());
  SSL_CTX* native = ctx->native();
  SSL_CTX_set_min_proto_version(native, min_version);
  SSL_CTX_set_max_proto_version(native, max_version);
  if (security_level >= 0) SSL_CTX_set_security_level(native, security_level);
  if (ciphers != nullptr) {
    EXPECT_EQ(SSL_CTX_set_cipher_list(native, ciphers), 1) << ciphers;
  }
  return ctx;
}

std::vector<std::string> cipher_names(SSL_CTX* ctx) {
  std::vector<std::string> names;
  const STACK_OF(SSL_CIPHER)* ciphers = SSL_CTX_get_ciphers(ctx);
  for (int i = 0; i < sk_SSL_CIPHER_num(ciphers); ++i) {
    names.push_back(SSL_CIPHER_get_name(sk_SSL_CIPHER_value(ciphers, i)));
  }
  return names;
}

TEST(ServerPolicy, IntermediateOffersExactlyMozillas58SuitesInOrder) {
  const auto server = server_context();
  ASSERT_TRUE(server);
  EXPECT_EQ(cipher_names(server->initial_ctx()),
            (std::vector<std::string>{
                "TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256",
                "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
                "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
                "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305"}));
}

TEST(ServerPolicy, ContextsRefuseRenegotiationAndCompressionAndReleaseIdleBuffers) {
  const auto server = server_context();
  ASSERT_TRUE(server);
  for (std::size_t i = 0; i < server->certificates().certificates().size(); ++i) {
    SSL_CTX* ctx = server->ctx_for(i);
    const uint64_t options = SSL_CTX_get_options(ctx);
    EXPECT_NE(options & SSL_OP_NO_RENEGOTIATION, 0u);
    EXPECT_NE(options & SSL_OP_NO_COMPRESSION, 0u);
    EXPECT_NE(options & SSL_OP_CIPHER_SERVER_PREFERENCE, 0u);  // ferry's order...
    EXPECT_NE(options & SSL_OP_PRIORITIZE_CHACHA, 0u);         // ...unless the client wants ChaCha20
    EXPECT_EQ(options & SSL_OP_NO_TICKET, SSL_OP_NO_TICKET);   // no ring given: no tickets
    EXPECT_NE(SSL_CTX_get_mode(ctx) & SSL_MODE_RELEASE_BUFFERS, 0u);
    EXPECT_EQ(SSL_CTX_get_min_proto_version(ctx), TLS1_2_VERSION);
    EXPECT_EQ(SSL_CTX_get_security_level(ctx), 2);
  }
  ServerOptions modern;
  modern.policy = Policy::Modern;
  modern.ticket_keys = TicketKeys::create(unix_now());
  const auto modern_server = server_context(modern);
  ASSERT_TRUE(modern_server);
  EXPECT_EQ(SSL_CTX_get_min_proto_version(modern_server->initial_ctx()), TLS1_3_VERSION);
  EXPECT_EQ(SSL_CTX_get_options(modern_server->initial_ctx()) & SSL_OP_NO_TICKET, 0u);
  EXPECT_EQ(SSL_CTX_get_timeout(modern_server->initial_ctx()), TicketKeys::kDefaultPeriod);
}

TEST(ServerPolicy, Tls13HandshakeInFerrysCipherOrder) {
  Connection c = open_connection(client_context(no_verify()), server_context());
  ASSERT_TRUE(c.connected) << c.server.error() << " / " << c.client.error();
  EXPECT_EQ(c.server.session->version(), "TLSv1.3");
  EXPECT_EQ(c.client.session->version(), "TLSv1.3");
  // ferry's order (AES-128 first), not the client's (OpenSSL's client lists AES-256 first).
  EXPECT_EQ(c.server.session->cipher(), "TLS_AES_128_GCM_SHA256");
  EXPECT_FALSE(c.server.session->resumed());
}

TEST(ServerPolicy, Tls12HandshakeUnderIntermediate) {
  Connection c =
      open_connection(client_limited_to(TLS1_2_VERSION, TLS1_2_VERSION), server_context());
  ASSERT_TRUE(c.connected) << c.server.error() << " / " << c.client.error();
  EXPECT_EQ(c.server.session->version(), "TLSv1.2");
  EXPECT_EQ(c.server.session->cipher(), "ECDHE-ECDSA-AES128-GCM-SHA256");  // ferry's order
  // ...except that a client putting ChaCha20 first gets it (SSL_OP_PRIORITIZE_CHACHA).
  Connection chacha = open_connection(
      client_limited_to(TLS1_2_VERSION, TLS1_2_VERSION,
                        "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256"),
      server_context());
  ASSERT_TRUE(chacha.connected);
  EXPECT_EQ(chacha.server.session->cipher(), "ECDHE-ECDSA-CHACHA20-POLY1305");
}

TEST(ServerPolicy, Tls11IsRefused) {
  // The client is allowed everything (security level 0), so the refusal is the server's.
  Connection c =
      open_connection(client_limited_to(TLS1_1_VERSION, TLS1_1_VERSION, "DEFAULT:@SECLEVEL=0", 0),
                      server_context());
  EXPECT_FALSE(c.connected);
  EXPECT_TRUE(c.server.failed());
  EXPECT_EQ(c.server.error(), "handshake: unsupported protocol");
  EXPECT_TRUE(c.client.failed());
  EXPECT_NE(c.client.error().find("alert protocol version"), std::string::npos) << c.client.error();
}

TEST(ServerPolicy, CbcSuitesAreRefusedUnderIntermediate) {
  Connection c = open_connection(
      client_limited_to(TLS1_2_VERSION, TLS1_2_VERSION,
                        "ECDHE-RSA-AES128-SHA256:ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA"),
      server_context());
  EXPECT_FALSE(c.connected);
  EXPECT_EQ(c.server.error(), "handshake: no shared cipher");
  EXPECT_NE(c.client.error().find("alert handshake failure"), std::string::npos)
      << c.client.error();
}

TEST(ServerPolicy, RsaKeyExchangeIsRefusedUnderIntermediate) {
  Connection c = open_connection(
      client_limited_to(TLS1_2_VERSION, TLS1_2_VERSION, "AES128-GCM-SHA256:AES256-GCM-SHA384"),
      server_context());
  EXPECT_FALSE(c.connected);
  EXPECT_EQ(c.server.error(), "handshake: no shared cipher");
}

TEST(ServerPolicy, ModernRefusesTls12AndAcceptsTls13) {
  ServerOptions modern;
  modern.policy = Policy::Modern;
  const auto server = server_context(modern);
  Connection refused = open_connection(client_limited_to(TLS1_2_VERSION, TLS1_2_VERSION), server);
  EXPECT_FALSE(refused.connected);
  EXPECT_EQ(refused.server.error(), "handshake: unsupported protocol");
  Connection accepted = open_connection(client_context(no_verify()), server);
  ASSERT_TRUE(accepted.connected);
  EXPECT_EQ(accepted.server.session->version(), "TLSv1.3");
}

TEST(ServerPolicy, PolicyNamesParse) {
  EXPECT_EQ(policy_from_name("intermediate"), Policy::Intermediate);
  EXPECT_EQ(policy_from_name("modern"), Policy::Modern);
  EXPECT_EQ(policy_from_name("old"), std::nullopt);
  EXPECT_EQ(policy_name(Policy::Modern), "modern");
}

std::shared_ptr<const ClientContext> client_offering(std::vector<std::string> alpn) {
  ClientOptions options = no_verify();
  options.alpn = std::move(alpn);
  return client_context(options);
}

TEST(Alpn, TheServersPreferenceWins) {
  ServerOptions options;
  options.alpn = {"h2", "http/1.1"};
  const auto server = server_context(options);
  Connection c = open_connection(client_offering({"http/1.1", "h2"}), server);
  ASSERT_TRUE(c.connected);
  EXPECT_EQ(c.server.session->alpn(), "h2");
  EXPECT_EQ(c.client.session->alpn(), "h2");
  Connection h1 = open_connection(client_offering({"http/1.1"}), server);
  ASSERT_TRUE(h1.connected);
  EXPECT_EQ(h1.server.session->alpn(), "http/1.1");
}

TEST(Alpn, AClientWithoutAlpnGetsNone) {
  ServerOptions options;
  options.alpn = {"http/1.1"};
  Connection c = open_connection(client_context(no_verify()), server_context(options));
  ASSERT_TRUE(c.connected);
  EXPECT_EQ(c.server.session->alpn(), "");
}

TEST(Alpn, NoCommonProtocolFailsTheHandshake) {
  ServerOptions options;
  options.alpn = {"http/1.1"};
  Connection c = open_connection(client_offering({"spdy/3", "h2"}), server_context(options));
  EXPECT_FALSE(c.connected);
  EXPECT_EQ(c.server.error(), "handshake: no application protocol");
  EXPECT_NE(c.client.error().find("no application protocol"), std::string::npos)
      << c.client.error();
}

TEST(Alpn, AServerWithoutAlpnIgnoresTheClientsList) {
  Connection c = open_connection(client_offering({"h2"}), server_context());
  ASSERT_TRUE(c.connected);
  EXPECT_EQ(c.client.session->alpn(), "");
}

TEST(ServerContextBuild, ErrorsNameWhatIsWrong) {
  const Pki& pki = Pki::get();
  ServerOptions options;
  options.alpn = {"h2", ""};
  options.client_ca = pki.path("no-such-ca.pem");
  ServerContext::Built built = ServerContext::build(load_set(standard_files()), options);
  EXPECT_FALSE(built.context);
  EXPECT_EQ(built.errors,
            (std::vector<std::string>{
                "alpn: every protocol name must be 1 to 255 bytes",
                pki.path("no-such-ca.pem") + ": cannot read: No such file or directory"}));
  options = {};
  options.client_ca = pki.site_rsa.key;  // a file with no certificate in it
  built = ServerContext::build(load_set(standard_files()), options);
  EXPECT_EQ(built.errors, std::vector<std::string>{pki.site_rsa.key + ": no CA certificate found"});
  built = ServerContext::build(nullptr, {});
  EXPECT_EQ(built.errors, std::vector<std::string>{"no certificates"});
}

TEST(ServerContextBuild, ASessionKeepsItsContextAliveAcrossAReload) {
  auto server = server_context();
  auto client = Session::client(client_context(no_verify()), "example.com");
  Peer client_peer;
  client_peer.session = std::move(client);
  Peer server_peer;
  server_peer.session = Session::server(server);
  server.reset();  // the reload dropped the listener's reference
  ASSERT_TRUE(connect(client_peer, server_peer)) << server_peer.error();
  EXPECT_EQ(served_common_name(*client_peer.session), "site-ecdsa");
}

}  // namespace
}  // namespace ferry::proxy::tls
