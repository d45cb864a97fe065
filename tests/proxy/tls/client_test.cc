#include <gtest/gtest.h>

#include "proxy/tls/client_context.h"
#include "proxy/tls/client_session_cache.h"
#include "tls_test_support.h"

// The client role (HTTPS to backends): verification against a CA file or the system store,
// the name check, SNI, and the per-backend session cache.
namespace ferry::proxy::tls {
namespace {

using namespace testing;

std::shared_ptr<const ClientContext> trusting(const std::string& ca_file) {
  ClientOptions options;
  options.ca_file = ca_file;
  return client_context(options);
}

TEST(ClientRole, VerifiesTheServerAgainstTheCaFileAndChecksTheName) {
  Connection c = open_connection(trusting(Pki::get().ca), server_context(), "www.example.com");
  ASSERT_TRUE(c.connected) << c.client.error();
  EXPECT_EQ(c.client.session->peer_subject(), "CN=site-ecdsa");
  Connection wildcard =
      open_connection(trusting(Pki::get().ca), server_context(), "api.apps.example.com");
  ASSERT_TRUE(wildcard.connected) << wildcard.client.error();
}

TEST(ClientRole, ACertificateForAnotherNameIsRefused) {
  Connection c = open_connection(trusting(Pki::get().ca), server_context(), "unknown.test");
  EXPECT_FALSE(c.connected);
  EXPECT_EQ(c.client.error(), "handshake: certificate verify failed: hostname mismatch");
  EXPECT_TRUE(c.server.failed());  // told by the client's alert
}

TEST(ClientRole, AnUntrustedCaIsRefused) {
  // The server sends its CA along, so OpenSSL words it as an untrusted root in the chain.
  Connection c = open_connection(trusting(Pki::get().other_ca), server_context(), "example.com");
  EXPECT_FALSE(c.connected);
  EXPECT_EQ(c.client.error(),
            "handshake: certificate verify failed: self-signed certificate in certificate chain");
}

TEST(ClientRole, TheSystemStoreDoesNotKnowAPrivateCa) {
  Connection c = open_connection(trusting(""), server_context(), "example.com");
  EXPECT_FALSE(c.connected);
  EXPECT_EQ(c.client.error(),
            "handshake: certificate verify failed: self-signed certificate in certificate chain");
}

TEST(ClientRole, AnExpiredServerCertificateIsRefused) {
  const Pki& pki = Pki::get();
  const auto server = server_context({}, {{pki.expired.cert, pki.expired.key}});
  Connection c = open_connection(trusting(pki.ca), server, "expired.example.com");
  EXPECT_FALSE(c.connected);
  EXPECT_EQ(c.client.error(), "handshake: certificate verify failed: certificate has expired");
}

TEST(ClientRole, WithoutVerificationAnyCertificateIsAccepted) {
  Connection c = open_connection(client_context(no_verify()), server_context(), "unknown.test");
  ASSERT_TRUE(c.connected);
  EXPECT_EQ(c.client.session->peer_subject(), "");  // nothing verified, nothing reported
}

TEST(ClientRole, AnAddressIsCheckedButNotSentAsSni) {
  Connection unverified =
      open_connection(client_context(no_verify()), server_context(), "127.0.0.1");
  ASSERT_TRUE(unverified.connected);
  EXPECT_EQ(unverified.server.session->server_name(), "");
  Connection verified = open_connection(trusting(Pki::get().ca), server_context(), "127.0.0.1");
  EXPECT_FALSE(verified.connected);
  EXPECT_EQ(verified.client.error(), "handshake: certificate verify failed: IP address mismatch");
}

TEST(ClientRole, BuildErrorsNameTheProblem) {
  const Pki& pki = Pki::get();
  ClientOptions options;
  options.ca_file = pki.path("missing-ca.pem");
  options.cert_file = pki.client.cert;
  options.alpn = {""};
  const ClientContext::Built built = ClientContext::build(options);
  EXPECT_FALSE(built.context);
  EXPECT_EQ(built.errors,
            (std::vector<std::string>{
                pki.path("missing-ca.pem") + ": cannot read: No such file or directory",
                "alpn: every protocol name must be 1 to 255 bytes",
                "client certificate: give both cert and key, or neither"}));
  options = {};
  options.cert_file = pki.mismatched.cert;
  options.key_file = pki.mismatched.key;
  EXPECT_EQ(
      ClientContext::build(options).errors,
      std::vector<std::string>{pki.mismatched.key + ": key does not match the certificate in " +
                               pki.mismatched.cert});
}

TEST(ClientSessionCache, KeepsTheLatestSessionPerBackend) {
  ClientSessionCache cache;
  ServerOptions options;
  options.ticket_keys = TicketKeys::create(unix_now());
  const auto server = server_context(options);
  const auto client = client_context(no_verify());
  ASSERT_TRUE(open_connection(client, server, "example.com", &cache, "10.0.0.1:443").connected);
  ASSERT_TRUE(open_connection(client, server, "example.com", &cache, "10.0.0.2:443").connected);
  EXPECT_EQ(cache.size(), 2u);
  SSL_SESSION* first = cache.find("10.0.0.1:443");
  ASSERT_NE(first, nullptr);
  Connection again = open_connection(client, server, "example.com", &cache, "10.0.0.1:443");
  EXPECT_TRUE(again.client.session->resumed());
  // OpenSSL 3.0 issues no new TLS 1.3 ticket on a plain resumption (only when the ring
  // asks for renewal), so the cached session stays the one that was offered.
  EXPECT_EQ(cache.find("10.0.0.1:443"), first);
  cache.forget("10.0.0.1:443");
  EXPECT_EQ(cache.find("10.0.0.1:443"), nullptr);
  Connection fresh = open_connection(client, server, "example.com", &cache, "10.0.0.1:443");
  EXPECT_FALSE(fresh.client.session->resumed());
  cache.store("x", nullptr);
  EXPECT_EQ(cache.find("x"), nullptr);
}

}  // namespace
}  // namespace ferry::proxy::tls
