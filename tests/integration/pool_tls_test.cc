// HTTPS to backends (a pool's `tls:`), end to end over loopback: ferry in-process in front of
// FakeBackends that speak TLS with certificates made at test time by a private CA.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "support/child_process.h"
#include "support/client.h"
#include "support/fake_backend.h"
#include "support/metrics_text.h"
#include "support/proxy_fixture.h"
#include "support/scoped_thread.h"
#include "support/test_certificates.h"
#include "support/wait.h"

namespace ferry::testing {
namespace {

using namespace std::chrono_literals;

// One pool "secure" of `backends` with `tls`, no routes: every request goes to it.
config::Config pool_config(const std::vector<std::string>& backends, std::optional<config::PoolTls> tls) {
  config::Config c = test_config({});
  config::PoolConfig pool;
  pool.name = "secure";
  for (const std::string& b : backends) pool.backends.push_back(config::BackendConfig{b, 1});
  pool.tls = std::move(tls);
  c.pools = {pool};
  return c;
}

config::PoolTls verified_by(const std::string& ca, const std::string& server_name = "") {
  return config::PoolTls{true, ca, server_name};
}

BackendTls served(const TestCa::Files& files, int max_version = 0) {
  return BackendTls{files.cert, files.key, max_version};
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The status of GET `path` on a new connection; 0 when no response came.
int status_of_get(uint16_t port, const std::string& path = "/") {
  const std::optional<Response> r = get(port, path);
  return r ? r->status : 0;
}

std::optional<Response> get_on(Client& c, const std::string& path) {
  if (!c.send("GET " + path + " HTTP/1.1\r\nHost: app.test\r\n\r\n")) return std::nullopt;
  return c.read_response();
}

// Open backend connections across ferry's workers (ferry_active_connections{side="backend"}).
double backend_connections(RunningProxy& proxy) {
  return metric_value(proxy.server().collector()->render_text(), "ferry_active_connections{side=\"backend\"}")
      .value_or(-1);
}

// A server that answers whatever arrives first with a plain HTTP 400 and closes, as a plain
// HTTP server does with a ClientHello.
class PlainAnswerer {
 public:
  PlainAnswerer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd_, 16);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~PlainAnswerer() {
    thread_.join();
    ::close(fd_);
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  int answered() const { return answered_.load(); }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      const int conn = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (conn < 0) continue;
      char buf[4096];
      if (::recv(conn, buf, sizeof buf, 0) > 0) {
        const std::string answer = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        ++answered_;  // before the answer: ferry may reply to the test before this thread runs on
        (void)!::send(conn, answer.data(), answer.size(), MSG_NOSIGNAL);
      }
      ::close(conn);
    }
  }

  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> answered_{0};
  ScopedThread thread_{stop_, [this] { serve(); }};
};

class PoolTls : public ::testing::Test {
 protected:
  TestCa ca_;
};

TEST_F(PoolTls, ForwardsToAnHttpsBackendVerifiedWithItsCaAndKeepsTheConnection) {
  // The backend is named by its address, so its address is the name checked (as an IP
  // subjectAltName), and no SNI is sent (RFC 6066 3 allows host names only).
  FakeBackend b1("b1", served(ca_.issue("b1", {"127.0.0.1"})));
  ASSERT_EQ(b1.tls_error(), "");
  RunningProxy proxy(pool_config({b1.address()}, verified_by(ca_.ca_file())));
  ASSERT_TRUE(proxy.started()) << proxy.error();
  Client c(proxy.port());
  for (int i = 0; i < 3; ++i) {
    const std::optional<Response> r = get_on(c, "/hello");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "hello from b1");
  }
  EXPECT_EQ(b1.requests(), 3);
  EXPECT_EQ(b1.connections(), 1);  // the pooled TLS connection served all three
  EXPECT_EQ(b1.tls_handshakes(), 1);
  EXPECT_EQ(b1.tls_server_names(), std::vector<std::string>{""});
  EXPECT_EQ(b1.requests_seen().at(0).target, "/hello");
}

TEST_F(PoolTls, ServerNameIsTheNameCheckedAndTheSniSent) {
  FakeBackend b1("b1", served(ca_.issue("api", {"api.internal"})));
  RunningProxy proxy(pool_config({b1.address()}, verified_by(ca_.ca_file(), "api.internal")));
  ASSERT_TRUE(proxy.started()) << proxy.error();
  const std::optional<Response> r = get(proxy.port(), "/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(b1.tls_server_names(), std::vector<std::string>{"api.internal"});
}

TEST_F(PoolTls, AWrongNameIsA502RetriedOnTheNextBackend) {
  FakeBackend wrong("wrong", served(ca_.issue("wrong", {"other.test"})));
  FakeBackend right("right", served(ca_.issue("right", {"127.0.0.1"})));
  config::Config cfg = pool_config({wrong.address(), right.address()}, verified_by(ca_.ca_file()));
  cfg.admin = "127.0.0.1:0";
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started()) << proxy.error();
  for (int i = 0; i < 4; ++i) {
    const std::optional<Response> r = get(proxy.port(), "/");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->header("X-Backend"), "right");
  }
  EXPECT_EQ(wrong.requests(), 0);
  // The backend's thread counts the failure once its own handshake call returns, which may
  // be after ferry has answered.
  EXPECT_TRUE(eventually([&] { return wrong.tls_failed() >= 1; }));
  EXPECT_EQ(wrong.tls_handshakes(), 0);
  // Counted as connect errors (the contract's kinds), against the backend that failed.
  std::string metrics;
  EXPECT_TRUE(eventually([&] {
    metrics = scrape_metrics(proxy.server().admin_port());
    return metric_value(metrics, backend_error_series(wrong.address(), "connect", "secure")) ==
           static_cast<double>(wrong.tls_failed());
  })) << metric_lines(metrics, "ferry_backend_errors_total");

  // With nothing else to try, the client gets the 502.
  RunningProxy alone(pool_config({wrong.address()}, verified_by(ca_.ca_file())));
  ASSERT_TRUE(alone.started()) << alone.error();
  const std::optional<Response> r = get(alone.port(), "/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 502);
}

TEST_F(PoolTls, AnUntrustedChainIsRefused) {
  TestCa stranger;
  FakeBackend b1("b1", served(stranger.issue("b1", {"127.0.0.1"})));
  RunningProxy proxy(pool_config({b1.address()}, verified_by(ca_.ca_file())));
  ASSERT_TRUE(proxy.started()) << proxy.error();
  const std::optional<Response> r = get(proxy.port(), "/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 502);
  EXPECT_EQ(b1.requests(), 0);
  EXPECT_TRUE(eventually([&] { return b1.tls_failed() >= 1; }));
}

TEST_F(PoolTls, WithoutVerificationASelfSignedCertificateIsAccepted) {
  FakeBackend b1("b1", served(ca_.issue("self", {"whatever.test"}, /*self_signed=*/true)));
  RunningProxy lab(pool_config({b1.address()}, config::PoolTls{false, "", ""}));
  ASSERT_TRUE(lab.started()) << lab.error();
  std::optional<Response> r = get(lab.port(), "/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello from b1");
  // Verified against the system's trust store instead, it is not.
  RunningProxy checked(pool_config({b1.address()}, config::PoolTls{true, "", ""}));
  ASSERT_TRUE(checked.started()) << checked.error();
  r = get(checked.port(), "/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 502);
}

TEST_F(PoolTls, APlainHttpBackendThatAnswersIsA502AtOnce) {
  PlainAnswerer plain;
  config::Config cfg = pool_config({plain.address()}, verified_by(ca_.ca_file()));
  cfg.timeouts.connect = config::Duration{10000};
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started()) << proxy.error();
  const auto start = std::chrono::steady_clock::now();
  const std::optional<Response> r = get(proxy.port(), "/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 502);
  // Its "HTTP/1.1 400" is not TLS: the handshake fails on the spot, not at timeouts.connect.
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_GE(plain.answered(), 1);
}

TEST_F(PoolTls, APlainHttpBackendThatWaitsIsA502AfterTheConnectTimeout) {
  // A plain server reading the ClientHello waits for a request head that never comes: the
  // handshake is bounded by timeouts.connect like the connect itself.
  FakeBackend plain("plain");
  config::Config cfg = pool_config({plain.address()}, verified_by(ca_.ca_file()));
  cfg.timeouts.connect = config::Duration{300};
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started()) << proxy.error();
  const auto start = std::chrono::steady_clock::now();
  const std::optional<Response> r = get(proxy.port(), "/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 502);
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, 250ms);
  EXPECT_LT(took, 5s);
  EXPECT_EQ(plain.requests(), 0);
}

TEST_F(PoolTls, TheSecondConnectionToABackendResumesTheSession) {
  const TestCa::Files files = ca_.issue("b1", {"127.0.0.1"});
  for (const int version : {0, TLS1_2_VERSION}) {
    SCOPED_TRACE(version == 0 ? "TLS 1.3" : "TLS 1.2");
    FakeBackend b1("b1", served(files, version));
    // The backend closes after each response, so every request needs a new connection.
    b1.set_handler([](BackendConn& c, const Request&) {
      c.send("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
    });
    RunningProxy proxy(pool_config({b1.address()}, verified_by(ca_.ca_file())));
    ASSERT_TRUE(proxy.started()) << proxy.error();
    for (int i = 0; i < 3; ++i) {
      const std::optional<Response> r = get(proxy.port(), "/");
      ASSERT_TRUE(r);
      EXPECT_EQ(r->status, 200);
    }
    EXPECT_EQ(b1.tls_handshakes(), 3);
    EXPECT_EQ(b1.tls_resumed(), 2);
  }
}

TEST_F(PoolTls, LargeBodiesCrossIntactBothWays) {
  FakeBackend b1("b1", served(ca_.issue("b1", {"127.0.0.1"})));
  config::Config cfg = pool_config({b1.address()}, verified_by(ca_.ca_file()));
  cfg.buffers.response = 64 * 1024;  // the backend is paused and resumed many times over
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started()) << proxy.error();
  constexpr std::size_t kMiB = 1024 * 1024;
  Client c(proxy.port());
  std::optional<Response> r = get_on(c, "/size/" + std::to_string(kMiB));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body.size(), kMiB);
  EXPECT_EQ(FakeBackend::hash(r->body), FakeBackend::hash(FakeBackend::pattern(kMiB)));
  r = get_on(c, "/chunked/" + std::to_string(kMiB));
  ASSERT_TRUE(r);
  EXPECT_EQ(FakeBackend::hash(r->body), FakeBackend::hash(FakeBackend::pattern(kMiB)));
  // A request body past buffers.request streams through the session to the backend.
  const std::string upload = FakeBackend::pattern(kMiB + 12345);
  ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: app.test\r\nContent-Length: " + std::to_string(upload.size()) +
                     "\r\n\r\n" + upload));
  r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("X-Body-Sha"), std::to_string(FakeBackend::hash(upload)));
  EXPECT_EQ(FakeBackend::hash(r->body), FakeBackend::hash(upload));
  EXPECT_EQ(b1.connections(), 1);
}

TEST_F(PoolTls, AnUpgradeTunnelsThroughTheSession) {
  FakeBackend b1("b1", served(ca_.issue("b1", {"127.0.0.1"})));
  b1.set_handler([](BackendConn& c, const Request& req) {
    if (req.header("Upgrade") != "echo") return;
    c.send("HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n");
    std::string got;
    while (got.find("bye") == std::string::npos && c.read_some(got)) {
    }
    c.send("echo:" + got);
    c.close_now();
  });
  RunningProxy proxy(pool_config({b1.address()}, verified_by(ca_.ca_file())));
  ASSERT_TRUE(proxy.started()) << proxy.error();
  Client c(proxy.port());
  ASSERT_TRUE(c.send("GET /tunnel HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n"));
  const std::optional<Response> r = c.read_response();
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 101);
  ASSERT_TRUE(c.send("hello, "));
  ASSERT_TRUE(c.send("bye"));
  EXPECT_EQ(c.read_all(), "echo:hello, bye");
}

TEST_F(PoolTls, APooledConnectionTheBackendClosesLeavesThePool) {
  FakeBackend b1("b1", served(ca_.issue("b1", {"127.0.0.1"})));
  std::atomic<bool> close_after{false};
  b1.set_handler([&close_after](BackendConn& c, const Request& req) {
    const bool hang_up = close_after;  // read first: the test flips it once it has the response
    c.send(FakeBackend::default_response("b1", req));
    if (hang_up) c.close_now();
  });
  config::Config cfg = pool_config({b1.address()}, verified_by(ca_.ca_file()));
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started()) << proxy.error();
  std::optional<Response> r = get(proxy.port(), "/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(backend_connections(proxy), 1);  // idle in the pool, reading
  close_after = true;
  r = get(proxy.port(), "/");  // the same connection; the backend closes it after answering
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(eventually([&] { return backend_connections(proxy) == 0; }));
  close_after = false;
  r = get(proxy.port(), "/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(b1.connections(), 2);
}

TEST_F(PoolTls, ABadCaFileFailsTheStartAndTheReloadNamingThePool) {
  const std::string missing = ca_.path("missing.pem");
  RunningProxy bad(pool_config({"127.0.0.1:1"}, verified_by(missing)));
  EXPECT_FALSE(bad.started());
  EXPECT_EQ(bad.error(), "test: pools.secure.tls: " + missing + ": cannot read: No such file or directory");

  FakeBackend b1("b1", served(ca_.issue("b1", {"127.0.0.1"})));
  RunningProxy proxy(pool_config({b1.address()}, verified_by(ca_.ca_file())));
  ASSERT_TRUE(proxy.started()) << proxy.error();
  std::string error;
  EXPECT_FALSE(proxy.server().reload(pool_config({b1.address()}, verified_by(missing)), &error));
  EXPECT_EQ(error, "test: pools.secure.tls: " + missing + ": cannot read: No such file or directory");
  const std::optional<Response> r = get(proxy.port(), "/");  // the old settings still serve
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST_F(PoolTls, AReloadKeepsPooledConnectionsUnlessTheTlsSettingsChange) {
  FakeBackend b1("b1", served(ca_.issue("b1", {"127.0.0.1", "api.internal"})));
  config::Config cfg = pool_config({b1.address()}, verified_by(ca_.ca_file()));
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started()) << proxy.error();
  ASSERT_EQ(status_of_get(proxy.port()), 200);
  // A reload that leaves the pool's TLS alone keeps its context: the warm connection serves.
  cfg.timeouts.client_idle = config::Duration{30000};
  std::string error;
  ASSERT_TRUE(proxy.server().reload(cfg, &error)) << error;
  ASSERT_EQ(status_of_get(proxy.port()), 200);
  ASSERT_EQ(status_of_get(proxy.port()), 200);
  EXPECT_EQ(b1.connections(), 1);
  // Another server name: the connection verified under the old one is not used again, and
  // the new handshake checks the new name (a worker adopts the reload at its next turn).
  cfg.pools[0].tls->server_name = "api.internal";
  ASSERT_TRUE(proxy.server().reload(cfg, &error)) << error;
  ASSERT_TRUE(eventually([&] { return status_of_get(proxy.port()) == 200 && b1.tls_server_names().size() == 2; }));
  EXPECT_EQ(b1.tls_server_names().back(), "api.internal");
  EXPECT_EQ(b1.tls_resumed(), 0);  // a session made under the old name is not offered either
  EXPECT_EQ(b1.connections(), 2);
  // And a name the certificate does not carry fails, pooled connection or not.
  cfg.pools[0].tls->server_name = "elsewhere.test";
  ASSERT_TRUE(proxy.server().reload(cfg, &error)) << error;
  EXPECT_TRUE(eventually([&] { return status_of_get(proxy.port()) == 502; }));
}

TEST_F(PoolTls, ASessionIsNeverResumedUnderAStricterTrust) {
  // Resuming skips the certificate check, so a session from an unverified connection must
  // not carry over when the pool starts verifying.
  FakeBackend b1("b1", served(ca_.issue("self", {"127.0.0.1"}, /*self_signed=*/true)));
  b1.set_handler([](BackendConn& c, const Request&) {
    c.send("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
  });
  config::Config cfg = pool_config({b1.address()}, config::PoolTls{false, "", ""});
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started()) << proxy.error();
  ASSERT_EQ(status_of_get(proxy.port()), 200);
  ASSERT_EQ(status_of_get(proxy.port()), 200);
  ASSERT_EQ(b1.tls_resumed(), 1);  // a session is cached for it
  cfg.pools[0].tls = verified_by(ca_.ca_file());
  std::string error;
  ASSERT_TRUE(proxy.server().reload(cfg, &error)) << error;
  EXPECT_TRUE(eventually([&] { return status_of_get(proxy.port()) == 502; }));
  EXPECT_EQ(b1.tls_resumed(), 1);
}

TEST_F(PoolTls, AReloadReadsAChangedCaFileAgain) {
  TestCa other;
  FakeBackend b1("b1", served(ca_.issue("b1", {"127.0.0.1"})));
  const std::string ca = ca_.path("trusted.pem");
  write_file(ca, read_file(ca_.ca_file()));
  config::Config cfg = pool_config({b1.address()}, verified_by(ca));
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started()) << proxy.error();
  ASSERT_EQ(status_of_get(proxy.port()), 200);
  // Same path, another CA in it: the pool's context is made again, and the pooled connection
  // (verified by the old CA) is not used.
  write_file(ca, read_file(other.ca_file()));
  std::string error;
  ASSERT_TRUE(proxy.server().reload(cfg, &error)) << error;
  EXPECT_TRUE(eventually([&] { return status_of_get(proxy.port()) == 502; }));
}

TEST_F(PoolTls, HealthChecksGoOverTlsAndAWrongCertificateFailsThem) {
  FakeBackend good("good", served(ca_.issue("good", {"127.0.0.1"})));
  FakeBackend wrong("wrong", served(ca_.issue("wrong", {"other.test"})));
  config::Config cfg = pool_config({good.address(), wrong.address()}, verified_by(ca_.ca_file()));
  cfg.admin = "127.0.0.1:0";
  cfg.pools[0].health_check.enabled = true;
  cfg.pools[0].health_check.interval = config::Duration{50};
  cfg.pools[0].health_check.timeout = config::Duration{1000};
  cfg.pools[0].health_check.healthy_threshold = 1;
  cfg.pools[0].health_check.unhealthy_threshold = 1;
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started()) << proxy.error();
  ASSERT_TRUE(eventually([&] {
    const balancer::SnapshotPtr snap = proxy.server().publisher().latest();
    return snap->healthy.size() == 2 && snap->healthy[0] == 1 && snap->healthy[1] == 0 && good.requests() > 0;
  }));
  // Every request now goes to the backend that passes, at the first try: no request fails
  // on the other one (its handshakes are the checks').
  const std::string errors = backend_error_series(wrong.address(), "connect", "secure");
  const std::optional<double> errors_before = metric_value(scrape_metrics(proxy.server().admin_port()), errors);
  for (int i = 0; i < 4; ++i) {
    const std::optional<Response> r = get(proxy.port(), "/");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->header("X-Backend"), "good");
  }
  EXPECT_EQ(wrong.requests(), 0);
  EXPECT_EQ(metric_value(scrape_metrics(proxy.server().admin_port()), errors), errors_before);
  const std::string json = proxy.server().collector()->render_backends_json();
  EXPECT_NE(json.find("TLS handshake failed: certificate verify failed: IP address mismatch"), std::string::npos)
      << json;
}

}  // namespace
}  // namespace ferry::testing
