// A hostile or broken ACME server: huge, slow, malformed or redirecting answers cost ferry a
// bounded amount of memory and time, end in a Problem, and never stop the data path.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "acme_ferry.h"
#include "proxy/acme/acme_client.h"
#include "proxy/acme/jws.h"
#include "support/client.h"
#include "support/fake_backend.h"
#include "support/ports.h"
#include "support/temp_dir.h"
#include "support/test_certificates.h"
#include "support/tls_client.h"
#include "support/wait.h"

namespace ferry::testing {
namespace {

using namespace std::chrono_literals;
using proxy::acme::AcmeClient;
using proxy::acme::Problem;

struct Outcome {
  bool prepared = false;
  Problem problem;
  std::chrono::milliseconds took{0};
};

// Runs AcmeClient::prepare against `server`'s /dir with small limits: 64 KiB, 1.5 s in all.
Outcome prepare_against(FakeBackend& server) {
  proxy::acme::ClientOptions options;
  options.directory = "http://" + server.address() + "/dir";
  options.domains = {"a.ferry.test"};
  options.limits.max_body_bytes = 64 << 10;
  options.limits.total_timeout_ms = 1500;
  const proxy::tls::EvpPkeyPtr key = proxy::acme::new_p256_key();
  proxy::acme::ChallengeTokens tokens;
  AcmeClient client(options, key.get(), tokens, nullptr, [] { return int64_t{1'800'000'000}; });
  Outcome out;
  const auto start = std::chrono::steady_clock::now();
  out.prepared = client.prepare(&out.problem);
  out.took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  return out;
}

void answer(BackendConn& conn, const std::string& head, const std::string& body) {
  conn.send(head + "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
  conn.close_now();
}

TEST(AcmeHostile, AHugeBodyIsCutAtTheLimit) {
  FakeBackend server("ca");
  server.set_handler([](BackendConn& conn, const Request&) {
    // No length, then 16 MiB: only the byte limit ends it.
    conn.send("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{\"x\": \"");
    const std::string block(64 << 10, 'a');
    for (int i = 0; i < 256 && conn.send(block); ++i) {
    }
    conn.close_now();
  });
  const Outcome out = prepare_against(server);
  EXPECT_FALSE(out.prepared);
  EXPECT_NE(out.problem.detail.find("response over 65536 bytes"), std::string::npos) << out.problem.detail;
  EXPECT_LT(out.took, 5000ms);
}

TEST(AcmeHostile, AHugeContentLengthIsRefusedBeforeTheBody) {
  FakeBackend server("ca");
  server.set_handler([](BackendConn& conn, const Request&) {
    conn.send("HTTP/1.1 200 OK\r\nContent-Length: 10000000000\r\nConnection: close\r\n\r\n{");
    conn.close_now();
  });
  const Outcome out = prepare_against(server);
  EXPECT_FALSE(out.prepared);
  EXPECT_NE(out.problem.detail.find("response over"), std::string::npos) << out.problem.detail;
}

TEST(AcmeHostile, HugeHeadersAreCutAtTheLimit) {
  FakeBackend server("ca");
  server.set_handler([](BackendConn& conn, const Request&) {
    conn.send("HTTP/1.1 200 OK\r\n");
    const std::string line = "X-Junk: " + std::string(1000, 'j') + "\r\n";
    for (int i = 0; i < 200 && conn.send(line); ++i) {
    }
    conn.close_now();
  });
  const Outcome out = prepare_against(server);
  EXPECT_FALSE(out.prepared);
  EXPECT_NE(out.problem.detail.find("response over"), std::string::npos) << out.problem.detail;
}

TEST(AcmeHostile, ASlowTrickleIsCutAtTheTotalTimeout) {
  FakeBackend server("ca");
  server.set_handler([](BackendConn& conn, const Request&) {
    conn.send("HTTP/1.1 200 OK\r\nContent-Length: 50000\r\nConnection: close\r\n\r\n{");
    for (int i = 0; i < 100 && conn.send(" "); ++i) std::this_thread::sleep_for(100ms);
    conn.close_now();
  });
  const Outcome out = prepare_against(server);
  EXPECT_FALSE(out.prepared);
  EXPECT_NE(out.problem.detail.find("timed out"), std::string::npos) << out.problem.detail;
  EXPECT_GE(out.took, 1400ms);
  EXPECT_LT(out.took, 5000ms);
}

TEST(AcmeHostile, BadJsonIsAProblemNotACrash) {
  for (const std::string& body :
       {std::string("{not json"), std::string("[]"), std::string(200'000, '[') + std::string(200'000, ']'),
        std::string(R"({"newNonce": 5, "newAccount": [], "newOrder": {}})"),
        std::string(R"({"newNonce": "ftp://x/", "newAccount": "http://x/", "newOrder": "http://x/"})")}) {
    FakeBackend server("ca");
    server.set_handler([&](BackendConn& conn, const Request&) {
      answer(conn, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n", body);
    });
    const Outcome out = prepare_against(server);
    EXPECT_FALSE(out.prepared) << body.substr(0, 60);
    EXPECT_FALSE(out.problem.detail.empty());
  }
}

TEST(AcmeHostile, ARedirectIsNotFollowed) {
  FakeBackend elsewhere("elsewhere");
  FakeBackend server("ca");
  server.set_handler([&](BackendConn& conn, const Request&) {
    answer(conn, "HTTP/1.1 302 Found\r\nLocation: http://" + elsewhere.address() + "/dir\r\n", "");
  });
  const Outcome out = prepare_against(server);
  EXPECT_FALSE(out.prepared);
  EXPECT_NE(out.problem.detail.find("HTTP 302 (a redirect; ferry follows none)"), std::string::npos)
      << out.problem.detail;
  EXPECT_EQ(elsewhere.requests(), 0);
}

TEST(AcmeHostile, TheDataPathServesWhileTheCaTricklesAndTlsRefusesUntilACertificate) {
  FakeBackend ca("ca");
  std::atomic<int> asked{0};
  ca.set_handler([&](BackendConn& conn, const Request&) {
    ++asked;
    conn.send("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\nConnection: close\r\n\r\n");
    for (int i = 0; i < 100 && conn.send(" "); ++i) std::this_thread::sleep_for(100ms);
    conn.close_now();
  });
  FakeBackend backend("b1");
  TempDir dir;
  proxy::acme::HttpLimits limits;
  limits.total_timeout_ms = 4000;
  AcmeFerry ferry({free_port(), "http://" + ca.address() + "/dir", "", dir.path() + "/acme", backend.address(), ""},
                  nullptr, limits);
  ASSERT_TRUE(ferry.started()) << ferry.error();
  ASSERT_TRUE(eventually([&] { return asked.load() > 0; }));
  // The ACME thread is stuck in the trickle for 4 s; requests are served meanwhile.
  for (int i = 0; i < 10; ++i) {
    const std::optional<Response> r = get(ferry.http_port(), "/");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
  }
  EXPECT_EQ(ferry.orders(false), 0);  // all of them while it was still stuck
  TestCa any_ca;
  TlsClient tls(ferry.tls_port(), any_ca.ca_file(), "a.ferry.test", 2s);
  EXPECT_FALSE(tls.connected());
  EXPECT_TRUE(eventually([&] { return ferry.failed_handshakes() >= 1; }));
  ASSERT_TRUE(eventually([&] { return ferry.orders(false) == 1; }, 15s)) << ferry.backends_json();
  EXPECT_NE(ferry.backends_json().find("timed out"), std::string::npos) << ferry.backends_json();
}

}  // namespace
}  // namespace ferry::testing
