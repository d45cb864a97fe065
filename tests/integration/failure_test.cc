// Backends that refuse, reset, stall or lie, and the client-side timeouts.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "support/client.h"
#include "support/fake_backend.h"
#include "support/ports.h"
#include "support/proxy_fixture.h"

namespace ferry::testing {
namespace {

using namespace std::chrono_literals;

// A listener whose accept queue is full, so a new connect's SYN goes unanswered.
class BlackHole {
 public:
  BlackHole() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd_, 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    for (int i = 0; i < 3; ++i) {
      const int c = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
      ::connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a);
      fillers_.push_back(c);
    }
    std::this_thread::sleep_for(50ms);  // let the handshakes land in the queue
  }
  ~BlackHole() {
    for (int c : fillers_) ::close(c);
    ::close(fd_);
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_;
  uint16_t port_;
  std::vector<int> fillers_;
};

TEST(BackendFailure, RefusedConnectIsRetriedOnTheNextBackend) {
  FakeBackend b1("b1");
  RunningProxy proxy(test_config({refused_address(), b1.address()}));
  ASSERT_TRUE(proxy.started());
  for (int i = 0; i < 6; ++i) {
    auto r = get(proxy.port(), "/");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << i;
    EXPECT_EQ(r->header("X-Backend"), "b1");
  }
}

TEST(BackendFailure, EveryBackendRefusingGives502) {
  RunningProxy proxy(test_config({refused_address(), refused_address()}));
  ASSERT_TRUE(proxy.started());
  Client c(proxy.port());
  ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 502);
  // The request was read whole, so the connection stays usable.
  ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 502);
}

TEST(BackendFailure, RetriesAreBoundedByTheSetting) {
  auto cfg = test_config({refused_address(), refused_address(), refused_address()});
  FakeBackend b4("b4");
  cfg.backends.push_back({b4.address(), 1});
  cfg.retries = 0;
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started());
  // With no retries the first pick (a refused backend) decides.
  auto r = get(proxy.port(), "/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 502);
}

TEST(BackendFailure, ConnectTimeoutGives502AfterTryingTheNext) {
  BlackHole hole;
  auto cfg = test_config({hole.address()});
  cfg.timeouts.connect = 200ms;
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started());
  const auto start = std::chrono::steady_clock::now();
  auto r = get(proxy.port(), "/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 502);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 190ms);
}

TEST(BackendFailure, SilentBackendGives504) {
  FakeBackend b1("b1");
  b1.set_silent(true);
  auto cfg = test_config({b1.address()});
  cfg.timeouts.backend_response = 200ms;
  cfg.retries = 0;
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started());
  auto r = get(proxy.port(), "/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 504);
}

TEST(BackendFailure, ResetBeforeResponseRetriesIdempotentRequests) {
  FakeBackend bad("bad"), good("good");
  bad.set_handler([](BackendConn& c, const Request&) { c.reset_now(); });
  RunningProxy proxy(test_config({bad.address(), good.address()}));
  ASSERT_TRUE(proxy.started());
  for (int i = 0; i < 4; ++i) {
    auto r = get(proxy.port(), "/");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->header("X-Backend"), "good");
  }
}

TEST(BackendFailure, ResetBeforeResponseNeverRepeatsAPost) {
  FakeBackend bad("bad"), good("good");
  bad.set_handler([](BackendConn& c, const Request&) { c.reset_now(); });
  RunningProxy proxy(test_config({bad.address(), good.address()}));
  ASSERT_TRUE(proxy.started());
  int got502 = 0;
  for (int i = 0; i < 4; ++i) {
    Client c(proxy.port());
    ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    if (r->status == 502) ++got502;
  }
  EXPECT_EQ(got502, 2);
  EXPECT_EQ(bad.requests(), 2);
  EXPECT_EQ(good.requests(), 2);  // only its own turns: no POST was sent twice
}

class MalformedResponse : public ::testing::TestWithParam<std::string> {};

TEST_P(MalformedResponse, Gives502AndIsNeverRelayed) {
  FakeBackend b1("b1");
  const std::string bytes = GetParam();
  b1.set_handler([bytes](BackendConn& c, const Request&) { c.send(bytes); });
  auto cfg = test_config({b1.address()});
  cfg.retries = 0;
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started());
  auto r = get(proxy.port(), "/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 502);
  EXPECT_EQ(r->body, "bad gateway\n");
}

INSTANTIATE_TEST_SUITE_P(
    Responses, MalformedResponse,
    ::testing::Values("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc",
                      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                      "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
                      "HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n",
                      "HTTX/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
                      "HTTP/1.1 200 OK\nContent-Length: 0\n\n",
                      "HTTP/1.1 200 OK\r\nX: a\rb\r\nContent-Length: 0\r\n\r\n",
                      "HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 0\r\n\r\n",
                      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n",
                      "garbage\r\n\r\n"));

TEST(BackendFailure, BackendDyingMidResponseClosesTheClient) {
  FakeBackend b1("b1");
  b1.set_handler([](BackendConn& c, const Request&) {
    c.send("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b");
    c.close_now();
  });
  RunningProxy proxy(test_config({b1.address()}));
  ASSERT_TRUE(proxy.started());
  Client c(proxy.port());
  ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  const std::string all = c.read_all();
  EXPECT_NE(all.find("Content-Length: 100"), std::string::npos);
  EXPECT_NE(all.find("only ten b"), std::string::npos);
  EXPECT_EQ(all.find("502"), std::string::npos);  // never a second response on top
}

// A server that writes its head and body separately (gunicorn does) and dies in between:
// nothing of that response reached the client, so a GET goes to another backend.
void head_then_die(BackendConn& c, const Request&) {
  c.send("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // ferry reads the head alone
  c.close_now();
}

TEST(BackendFailure, BackendDyingAfterItsHeadIsRetriedForAGet) {
  FakeBackend bad("bad");
  FakeBackend good("good");
  bad.set_handler(head_then_die);
  RunningProxy proxy(test_config({bad.address(), good.address()}));
  ASSERT_TRUE(proxy.started());
  for (int i = 0; i < 4; ++i) {
    auto r = get(proxy.port(), "/");
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->header("X-Backend"), "good");
    EXPECT_EQ(r->body, "hello from good");
  }
  EXPECT_GE(bad.requests(), 1);
}

TEST(BackendFailure, BackendDyingAfterItsHeadIsACleanErrorForAPost) {
  FakeBackend bad("bad");
  bad.set_handler(head_then_die);
  RunningProxy proxy(test_config({bad.address()}));
  ASSERT_TRUE(proxy.started());
  Client c(proxy.port());
  ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"));
  auto r = c.read_response();
  ASSERT_TRUE(r) << "a 502, not a cut connection";
  EXPECT_EQ(r->status, 502);
  EXPECT_EQ(bad.requests(), 1) << "a POST is never sent twice";
}

TEST(BackendFailure, TruncatedChunkedResponseClosesTheClient) {
  FakeBackend b1("b1");
  b1.set_handler([](BackendConn& c, const Request&) {
    c.send("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
    c.close_now();
  });
  RunningProxy proxy(test_config({b1.address()}));
  ASSERT_TRUE(proxy.started());
  Client c(proxy.port());
  ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  const std::string all = c.read_all();
  EXPECT_NE(all.find("hello"), std::string::npos);
  EXPECT_EQ(all.find("0\r\n\r\n"), std::string::npos);  // the client can tell it was cut short
}

TEST(BackendFailure, BackendClosingPooledConnectionsIsHarmless) {
  FakeBackend b1("b1");
  // A backend that answers keep-alive and then closes the connection right away, as gunicorn
  // does when its keep-alive runs out.
  b1.set_handler([](BackendConn& c, const Request&) {
    c.send("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    c.close_now();
  });
  RunningProxy proxy(test_config({b1.address()}));
  ASSERT_TRUE(proxy.started());
  Client c(proxy.port());
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << i;
  }
}

TEST(BackendFailure, EarlyResponseBeforeTheBodyIsSentIsNotPooled) {
  FakeBackend b1("b1");
  b1.set_respond_before_body(true);
  b1.set_handler([](BackendConn& c, const Request&) {
    c.send("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nearly");
  });
  auto cfg = test_config({b1.address()});
  cfg.buffers.request = 1024;  // so a 200 KiB body streams
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started());
  // Only part of the body is sent: the backend answers before the request is complete.
  const std::string part = FakeBackend::pattern(10000);
  Client c(proxy.port());
  ASSERT_TRUE(c.send("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 200000\r\n\r\n" + part));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "early");
  EXPECT_EQ(r->header("Connection"), "close");  // ferry can't tell where the next request starts
  auto r2 = get(proxy.port(), "/");
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->status, 200);
  EXPECT_EQ(b1.connections(), 2);
}

TEST(ClientTimeout, SlowHeadGets408) {
  FakeBackend b1("b1");
  auto cfg = test_config({b1.address()});
  cfg.timeouts.client_header = 200ms;
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started());
  Client c(proxy.port());
  ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: x\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 408);
  EXPECT_EQ(r->header("Connection"), "close");
  EXPECT_TRUE(c.closed_by_peer());
  EXPECT_EQ(b1.received(), "");
}

TEST(ClientTimeout, DribbledHeadStillGets408) {
  FakeBackend b1("b1");
  auto cfg = test_config({b1.address()});
  cfg.timeouts.client_header = 300ms;
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started());
  Client c(proxy.port());
  // Slowloris: a byte every 50ms never resets the deadline for the whole head.
  bool got408 = false;
  ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: x\r\nX-Slow: "));
  for (int i = 0; i < 40 && !got408; ++i) {
    if (!c.send("a")) break;
    std::this_thread::sleep_for(50ms);
    if (c.buffered().find("408") != std::string::npos) got408 = true;
  }
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 408);
}

TEST(ClientTimeout, IdleKeepAliveConnectionIsClosed) {
  FakeBackend b1("b1");
  auto cfg = test_config({b1.address()});
  cfg.timeouts.client_idle = 200ms;
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started());
  Client c(proxy.port(), 3s);
  ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(c.read_response());
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(c.closed_by_peer());
  EXPECT_GE(std::chrono::steady_clock::now() - start, 150ms);
  EXPECT_EQ(c.buffered(), "");  // closed silently, no 408 between requests
}

TEST(Limits, ConnectionsPastMaxAreClosedAtOnce) {
  FakeBackend b1("b1");
  auto cfg = test_config({b1.address()});
  cfg.limits.max_connections = 2;
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started());
  auto a = std::make_unique<Client>(proxy.port());
  Client b(proxy.port());
  ASSERT_TRUE(a->send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(a->read_response());
  ASSERT_TRUE(b.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(b.read_response());
  Client third(proxy.port());
  EXPECT_TRUE(third.closed_by_peer());
  a.reset();  // one slot frees up
  bool served = false;
  for (int i = 0; i < 50 && !served; ++i) {
    Client again(proxy.port());
    again.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    auto r = again.read_response();
    served = r && r->status == 200;
    if (!served) std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(served);
}

TEST(Shutdown, DrainLetsTheInFlightRequestFinish) {
  FakeBackend b1("b1");
  b1.set_handler([](BackendConn& c, const Request&) {
    std::this_thread::sleep_for(300ms);
    c.send("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nslow");
  });
  RunningProxy proxy(test_config({b1.address()}));
  ASSERT_TRUE(proxy.started());
  const uint16_t port = proxy.port();
  Client c(port);
  ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  while (b1.requests() == 0) std::this_thread::sleep_for(5ms);
  proxy.server().drain();
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "slow");
  EXPECT_EQ(r->header("Connection"), "close");
  proxy.stop();
  Client late(port);
  EXPECT_FALSE(late.connected());
}

}  // namespace
}  // namespace ferry::testing
