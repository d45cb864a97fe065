#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <thread>

#include "proxy/tls/client_session_cache.h"
#include "proxy/tls/server_context.h"
#include "proxy/tls/ticket_keys.h"
#include "tls_test_support.h"

// Session tickets under the shared ring: resumption in TLS 1.2 and 1.3, across contexts
// (workers) sharing a ring, through rotations, and never across client-certificate rules.
namespace ferry::proxy::tls {
namespace {

using namespace testing;

constexpr int64_t kStart = 1'800'000'000;
constexpr int64_t kPeriod = 3600;

std::shared_ptr<const ServerContext> server_on(std::shared_ptr<TicketKeys> ring,
                                               std::string client_ca = "") {
  ServerOptions options;
  options.ticket_keys = std::move(ring);
  options.client_ca = std::move(client_ca);
  return server_context(options);
}

std::shared_ptr<const ClientContext> client_up_to(int max_version, const Issued* cert = nullptr) {
  ClientOptions options = no_verify();
  if (cert != nullptr) {
    options.cert_file = cert->cert;
    options.key_file = cert->key;
  }
  auto ctx = client_context(options);
  SSL_CTX_set_max_proto_version(ctx->native(), max_version);
  return ctx;
}

// The key name a ticket was encrypted under: its first 16 bytes.
std::string ticket_key_name(const SSL_SESSION* session) {
  const unsigned char* ticket = nullptr;
  std::size_t length = 0;
  SSL_SESSION_get0_ticket(session, &ticket, &length);
  return length >= 16 ? std::string(reinterpret_cast<const char*>(ticket), 16) : std::string();
}

std::string name_of(const TicketKeys::Key& key) {
  return std::string(reinterpret_cast<const char*>(key.name.data()), key.name.size());
}

class Resumption : public ::testing::TestWithParam<int> {
 protected:
  int version() const { return GetParam(); }
  std::string version_name() const { return version() == TLS1_3_VERSION ? "TLSv1.3" : "TLSv1.2"; }

  // A connection from the test's client context, offering the cached session if any.
  Connection connect_to(const std::shared_ptr<const ServerContext>& server) {
    return open_connection(client_, server, "example.com", &cache_, "backend-1");
  }

  std::shared_ptr<TicketKeys> ring_ = TicketKeys::create(kStart, kPeriod);
  std::shared_ptr<const ClientContext> client_ = client_up_to(GetParam());
  ClientSessionCache cache_;
};

TEST_P(Resumption, ASecondConnectionResumesWithATicket) {
  const auto server = server_on(ring_);
  Connection first = connect_to(server);
  ASSERT_TRUE(first.connected) << first.server.error();
  EXPECT_FALSE(first.server.session->resumed());
  EXPECT_EQ(first.server.session->version(), version_name());
  ASSERT_NE(cache_.find("backend-1"), nullptr);  // the ticket reached the client's cache
  EXPECT_EQ(ticket_key_name(cache_.find("backend-1")), name_of(ring_->snapshot().current));
  Connection second = connect_to(server);
  ASSERT_TRUE(second.connected) << second.server.error();
  EXPECT_TRUE(second.server.session->resumed());
  EXPECT_TRUE(second.client.session->resumed());
}

// Found by fuzz_tls: OpenSSL ties a TLS 1.2 session to the SNI name the server accepted, and
// without a servername callback it accepted none, so a resumed 1.2 connection reported "".
TEST_P(Resumption, AResumedConnectionStillReportsTheServerName) {
  const auto server = server_on(ring_);
  ASSERT_TRUE(connect_to(server).connected);
  Connection second = connect_to(server);
  ASSERT_TRUE(second.connected);
  EXPECT_TRUE(second.server.session->resumed());
  EXPECT_EQ(second.server.session->server_name(), "example.com");
}

TEST_P(Resumption, ATicketDoesNotResumeUnderAnotherServerName) {
  // RFC 6066 3 / RFC 8446 4.6.1: a session belongs to the name it was made for. OpenSSL 3.0
  // alone resumes a TLS 1.2 ticket under any name and reports the old one.
  const auto server = server_on(ring_);
  ASSERT_TRUE(connect_to(server).connected);
  Connection other = open_connection(client_, server, "www.example.com", &cache_, "backend-1");
  ASSERT_TRUE(other.connected);
  EXPECT_FALSE(other.server.session->resumed());
  EXPECT_EQ(other.server.session->server_name(), "www.example.com");
  // The same name in other letter cases is the same name.
  Connection same = open_connection(client_, server, "WWW.Example.com", &cache_, "backend-1");
  ASSERT_TRUE(same.connected);
  EXPECT_TRUE(same.server.session->resumed());
}

TEST_P(Resumption, ResumesOnAnotherContextBuiltFromTheSameRing) {
  const auto worker_a = server_on(ring_);
  const auto worker_b = server_on(ring_);
  ASSERT_TRUE(connect_to(worker_a).connected);
  Connection second = connect_to(worker_b);
  ASSERT_TRUE(second.connected);
  EXPECT_TRUE(second.server.session->resumed());
}

TEST_P(Resumption, DoesNotResumeUnderAnotherRing) {
  ASSERT_TRUE(connect_to(server_on(ring_)).connected);
  Connection second = connect_to(server_on(TicketKeys::create(kStart, kPeriod)));
  ASSERT_TRUE(second.connected);  // a full handshake instead
  EXPECT_FALSE(second.server.session->resumed());
}

TEST_P(Resumption, AfterOneRotationTheOldTicketIsAcceptedAndRenewed) {
  const auto server = server_on(ring_);
  ASSERT_TRUE(connect_to(server).connected);
  const std::string old_name = ticket_key_name(cache_.find("backend-1"));
  ASSERT_EQ(ring_->rotate(kStart + kPeriod), 1);
  EXPECT_EQ(name_of(ring_->snapshot().previous), old_name);
  Connection second = connect_to(server);
  ASSERT_TRUE(second.connected);
  EXPECT_TRUE(second.server.session->resumed());
  // The client now holds a ticket under the current key.
  EXPECT_EQ(ticket_key_name(cache_.find("backend-1")), name_of(ring_->snapshot().current));
}

TEST_P(Resumption, AfterTwoRotationsTheTicketIsTooOldAndAFullHandshakeFollows) {
  const auto server = server_on(ring_);
  ASSERT_TRUE(connect_to(server).connected);
  ASSERT_EQ(ring_->rotate(kStart + 2 * kPeriod), 2);
  Connection second = connect_to(server);
  ASSERT_TRUE(second.connected) << second.server.error();
  EXPECT_FALSE(second.server.session->resumed());
  Connection third = connect_to(server);  // on the ticket the full handshake gave
  EXPECT_TRUE(third.server.session->resumed());
}

TEST_P(Resumption, WithoutTicketsNothingResumes) {
  const auto server = server_on(nullptr);
  ASSERT_TRUE(connect_to(server).connected);
  Connection second = connect_to(server);
  ASSERT_TRUE(second.connected);
  EXPECT_FALSE(second.server.session->resumed());
}

TEST_P(Resumption, AnImportedRingResumesTheExportersTickets) {
  ASSERT_TRUE(connect_to(server_on(ring_)).connected);
  auto successor = TicketKeys::create(kStart + 10, kPeriod);  // a new process after an upgrade
  std::vector<uint8_t> bytes = ring_->export_ring();
  ASSERT_EQ(successor->import_ring(bytes), "");
  OPENSSL_cleanse(bytes.data(), bytes.size());
  Connection second = connect_to(server_on(successor));
  ASSERT_TRUE(second.connected);
  EXPECT_TRUE(second.server.session->resumed());
}

TEST_P(Resumption, ATicketFromAListenerWithoutClientCaDoesNotSkipTheClientCertificate) {
  client_ = client_up_to(version(), &Pki::get().client);
  ASSERT_TRUE(connect_to(server_on(ring_)).connected);
  Connection mtls = connect_to(server_on(ring_, Pki::get().ca));
  ASSERT_TRUE(mtls.connected) << mtls.server.error();
  EXPECT_FALSE(mtls.server.session->resumed());
  EXPECT_EQ(mtls.server.session->peer_subject(), "O=Ferry Tests,CN=client-1");
}

TEST_P(Resumption, AResumedMutualTlsSessionStillReportsTheClientSubject) {
  client_ = client_up_to(version(), &Pki::get().client);
  const auto server = server_on(ring_, Pki::get().ca);
  ASSERT_TRUE(connect_to(server).connected);
  Connection second = connect_to(server);
  ASSERT_TRUE(second.connected);
  EXPECT_TRUE(second.server.session->resumed());
  EXPECT_EQ(second.server.session->peer_subject(), "O=Ferry Tests,CN=client-1");
}

TEST_P(Resumption, WorkersOnTwoThreadsResumeWhileTheRingRotates) {
  // Each "worker" has its own context and cache, as ferry's workers do; the ring is shared
  // and rotates underneath them. A ticket may miss the ring after two rotations (a full
  // handshake), never fail one.
  std::atomic<int> resumed{0};
  std::atomic<int> failed{0};
  auto worker = [&] {
    const auto server = server_on(ring_);
    const auto client = client_up_to(version());
    ClientSessionCache cache;
    for (int i = 0; i < 40; ++i) {
      Connection c = open_connection(client, server, "example.com", &cache, "backend");
      if (!c.connected) failed.fetch_add(1);
      if (c.connected && c.server.session->resumed()) resumed.fetch_add(1);
    }
  };
  std::thread a(worker);
  std::thread b(worker);
  for (int64_t i = 1; i <= 200; ++i) ring_->rotate(kStart + i * kPeriod);
  a.join();
  b.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_GT(resumed.load(), 0);
}

INSTANTIATE_TEST_SUITE_P(Versions, Resumption, ::testing::Values(TLS1_3_VERSION, TLS1_2_VERSION),
                         [](const ::testing::TestParamInfo<int>& param_info) {
                           return param_info.param == TLS1_3_VERSION ? "Tls13" : "Tls12";
                         });

}  // namespace
}  // namespace ferry::proxy::tls
