// Health checks of a pool with `tls:`: the checker speaks HTTPS to the backends, verified as
// the workers verify them, against FakeBackends with certificates made at test time.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "health/checker.h"
#include "support/fake_backend.h"
#include "support/test_certificates.h"
#include "support/wait.h"

namespace ferry::health {
namespace {

using namespace std::chrono_literals;
using ferry::testing::BackendTls;
using ferry::testing::FakeBackend;
using ferry::testing::TestCa;

config::HealthCheck checks(config::Duration timeout = config::Duration{2000}) {
  config::HealthCheck s;
  s.enabled = true;
  s.path = "/health";
  s.interval = config::Duration{50};
  s.timeout = timeout;
  s.healthy_threshold = 1;
  s.unhealthy_threshold = 1;
  return s;
}

// One pool, "secure", of `backend` with `tls`, health-checked with `settings`.
void publish_pool(Publisher& publisher, const FakeBackend& backend, const config::PoolTls& tls,
                  const config::HealthCheck& settings = checks()) {
  balancer::Snapshot snap;
  snap.backend_set = 1;
  snap.config_generation = 1;
  balancer::Backend b;
  b.name = backend.address();
  sockaddr_in v4{};
  v4.sin_family = AF_INET;
  v4.sin_port = htons(backend.port());
  v4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::memcpy(&b.address, &v4, sizeof v4);
  snap.backends.push_back(b);
  snap.healthy.assign(1, 1);
  balancer::PoolSlice pool;
  pool.name = "secure";
  pool.count = 1;
  pool.health = std::make_shared<const config::HealthCheck>(settings);
  pool.tls = tls;
  snap.pools.push_back(pool);
  publisher.publish(std::move(snap));
}

BackendHealth first(const Checker& checker) {
  const std::vector<BackendHealth> all = checker.status();
  return all.empty() ? BackendHealth{} : all.front();
}

// Waits for a check that ended as `result`; the last result seen otherwise.
std::string wait_for_result(const Checker& checker, const std::string& result) {
  ferry::testing::eventually([&] { return first(checker).last_result == result; });
  return first(checker).last_result;
}

class TlsChecks : public ::testing::Test {
 protected:
  TestCa ca_;
  Publisher publisher_;
};

TEST_F(TlsChecks, AnHttpsBackendPassesAndLaterChecksResume) {
  FakeBackend backend("b1", BackendTls{ca_.issue("b1", {"127.0.0.1"}).cert, ca_.path("b1.key")});
  publish_pool(publisher_, backend, {true, ca_.ca_file(), ""});
  Checker checker(publisher_, checks());
  ASSERT_TRUE(checker.start());
  EXPECT_EQ(wait_for_result(checker, "GET /health answered 200"), "GET /health answered 200");
  EXPECT_TRUE(first(checker).healthy);
  EXPECT_EQ(backend.requests_seen().at(0).target, "/health");
  // Each check is a new connection; after the first they resume the session.
  EXPECT_TRUE(ferry::testing::eventually([&] { return backend.tls_resumed() >= 2; }))
      << backend.tls_handshakes() << " handshakes, " << backend.tls_resumed() << " resumed";
  EXPECT_EQ(backend.tls_server_names().at(0), "");  // an address is not sent as SNI
  checker.stop();
  EXPECT_TRUE(checker.closed_cleanly());
}

TEST_F(TlsChecks, TheServerNameIsCheckedAndSent) {
  FakeBackend backend("b1", BackendTls{ca_.issue("api", {"api.internal"}).cert, ca_.path("api.key")});
  publish_pool(publisher_, backend, {true, ca_.ca_file(), "api.internal"});
  Checker checker(publisher_, checks());
  ASSERT_TRUE(checker.start());
  EXPECT_EQ(wait_for_result(checker, "GET /health answered 200"), "GET /health answered 200");
  EXPECT_EQ(backend.tls_server_names().at(0), "api.internal");
}

TEST_F(TlsChecks, AWrongCertificateFailsTheCheck) {
  FakeBackend backend("b1", BackendTls{ca_.issue("other", {"other.test"}).cert, ca_.path("other.key")});
  publish_pool(publisher_, backend, {true, ca_.ca_file(), ""});
  Checker checker(publisher_, checks());
  ASSERT_TRUE(checker.start());
  const std::string expected = "TLS handshake failed: certificate verify failed: IP address mismatch";
  EXPECT_EQ(wait_for_result(checker, expected), expected);
  EXPECT_TRUE(ferry::testing::eventually([&] { return publisher_.latest()->healthy[0] == 0; }));
  EXPECT_EQ(backend.requests(), 0);
  checker.stop();
  EXPECT_TRUE(checker.closed_cleanly());
}

TEST_F(TlsChecks, WithoutVerificationASelfSignedCertificatePasses) {
  const TestCa::Files self = ca_.issue("self", {"whatever.test"}, /*self_signed=*/true);
  FakeBackend backend("b1", BackendTls{self.cert, self.key});
  publish_pool(publisher_, backend, {false, "", ""});
  Checker checker(publisher_, checks());
  ASSERT_TRUE(checker.start());
  EXPECT_EQ(wait_for_result(checker, "GET /health answered 200"), "GET /health answered 200");
}

TEST_F(TlsChecks, APlainHttpBackendFailsByTheHandshakeTimeout) {
  FakeBackend plain("plain");  // reads the ClientHello and waits for a request head
  publish_pool(publisher_, plain, {true, ca_.ca_file(), ""}, checks(config::Duration{250}));
  Checker checker(publisher_, checks());
  ASSERT_TRUE(checker.start());
  EXPECT_EQ(wait_for_result(checker, "TLS handshake timed out after 250ms"), "TLS handshake timed out after 250ms");
  EXPECT_EQ(plain.requests(), 0);
  checker.stop();
  EXPECT_TRUE(checker.closed_cleanly());
}

TEST_F(TlsChecks, ACaFileThatCannotBeReadFailsTheCheckSayingWhy) {
  FakeBackend backend("b1", BackendTls{ca_.issue("b1", {"127.0.0.1"}).cert, ca_.path("b1.key")});
  const std::string missing = ca_.path("missing.pem");
  publish_pool(publisher_, backend, {true, missing, ""});
  Checker checker(publisher_, checks());
  ASSERT_TRUE(checker.start());
  const std::string expected = "TLS: " + missing + ": cannot read: No such file or directory";
  EXPECT_EQ(wait_for_result(checker, expected), expected);
  EXPECT_EQ(backend.connections(), 0);
}

}  // namespace
}  // namespace ferry::health
