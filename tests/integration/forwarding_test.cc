// End-to-end forwarding over real sockets: ferry in-process in front of fake backends.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <future>
#include <set>
#include <thread>

#include "proxy/core/buffer.h"
#include "proxy/http1/header_names.h"
#include "support/client.h"
#include "support/fake_backend.h"
#include "support/proxy_fixture.h"

namespace ferry::testing {
namespace {

TEST(Forwarding, RoundRobinAlternatesBetweenBackends) {
  FakeBackend b1("b1"), b2("b2");
  RunningProxy proxy(test_config({b1.address(), b2.address()}));
  ASSERT_TRUE(proxy.started()) << proxy.error();
  std::string sequence;
  for (int i = 0; i < 6; ++i) {
    auto r = get(proxy.port(), "/");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    sequence += r->header("X-Backend") == "b1" ? "1" : "2";
  }
  EXPECT_TRUE(sequence == "121212" || sequence == "212121") << sequence;
}

TEST(Forwarding, KeepAliveReusesConnectionsOnBothSides) {
  FakeBackend b1("b1");
  RunningProxy proxy(test_config({b1.address()}));
  ASSERT_TRUE(proxy.started());
  Client c(proxy.port());
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(c.send("GET /n HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto r = c.read_response();
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "hello from b1");
  }
  EXPECT_EQ(b1.requests(), 50);
  EXPECT_EQ(b1.connections(), 1);
}

TEST(Forwarding, PipelinedResponsesComeBackInRequestOrder) {
  FakeBackend b1("b1"), b2("b2");
  RunningProxy proxy(test_config({b1.address(), b2.address()}));
  ASSERT_TRUE(proxy.started());
  Client c(proxy.port());
  std::string all;
  for (int i = 0; i < 20; ++i) all += "GET /size/" + std::to_string(i + 1) + " HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_TRUE(c.send(all));
  for (int i = 0; i < 20; ++i) {
    auto r = c.read_response();
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->body, FakeBackend::pattern(static_cast<std::size_t>(i + 1))) << i;
  }
}

TEST(Forwarding, ReportsEachClientAddressInXForwardedFor) {
  FakeBackend b1("b1");
  RunningProxy proxy(test_config({b1.address()}));
  ASSERT_TRUE(proxy.started());
  // One-, two- and three-digit octets, a zero, and the longest text an IPv4 address has.
  for (const char* from : {"127.0.0.1", "127.10.200.3", "127.255.0.99", "127.255.255.254"}) {
    Client c(proxy.port(), from);
    ASSERT_TRUE(c.connected()) << from;
    // Two requests: the address is written out again for the second (a new exchange).
    for (const char* connection : {"keep-alive", "close"}) {
      ASSERT_TRUE(c.send(std::string("GET /ip HTTP/1.1\r\nHost: example.test\r\nConnection: ") + connection +
                         "\r\n\r\n"));
      auto r = c.read_response();
      ASSERT_TRUE(r) << from;
      const std::vector<Request> all = b1.requests_seen();
      ASSERT_FALSE(all.empty());
      EXPECT_EQ(all.back().header("X-Forwarded-For"), from) << connection;
    }
  }
}

// An IPv6 client whose address is too long for the connection's own room for it (which holds
// any IPv4 address): the text lives beside the connection, for every request it makes.
// Needs an address no host loopback has, so the test runs in a network namespace of its own
// (root only); the proxy, the backend and the client all live in it.
// Moves the calling thread (and threads it starts) into a new network namespace, and back when
// it goes out of scope, so tests run after it in the same process are not left in it.
class OwnNetworkNamespace {
 public:
  OwnNetworkNamespace() : home_(::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)) {
    entered_ = home_ >= 0 && ::unshare(CLONE_NEWNET) == 0;
  }
  ~OwnNetworkNamespace() {
    if (entered_) ::setns(home_, CLONE_NEWNET);
    if (home_ >= 0) ::close(home_);
  }
  OwnNetworkNamespace(const OwnNetworkNamespace&) = delete;
  OwnNetworkNamespace& operator=(const OwnNetworkNamespace&) = delete;
  bool entered() const { return entered_; }

 private:
  int home_;
  bool entered_ = false;
};

TEST(Forwarding, ReportsALongIPv6ClientAddressOnEveryRequest) {
  const OwnNetworkNamespace ns;
  if (!ns.entered()) GTEST_SKIP() << "cannot make a network namespace (needs root)";
  constexpr const char* kClient = "fd00:f:0:0:1234:5678:9abc:def0";
  const std::string setup = std::string("ip link set lo up && ip -6 addr add ") + kClient +
                            "/128 dev lo nodad 2>&1";
  if (std::system(setup.c_str()) != 0) GTEST_SKIP() << "cannot add an IPv6 address (ip, or IPv6 off)";
  FakeBackend b1("b1");
  config::Config cfg = test_config({b1.address()});
  cfg.listen = {std::string("[") + kClient + "]:0"};
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started()) << proxy.error();
  Client c(proxy.port(), kClient);
  ASSERT_TRUE(c.connected());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(c.send("GET /ip HTTP/1.1\r\nHost: example.test\r\n\r\n"));
    auto r = c.read_response();
    ASSERT_TRUE(r) << i;
    const std::vector<Request> all = b1.requests_seen();
    ASSERT_EQ(all.size(), static_cast<std::size_t>(i + 1));
    EXPECT_EQ(all.back().header("X-Forwarded-For"), "fd00:f::1234:5678:9abc:def0") << i;
  }
}

TEST(Forwarding, RewritesForwardingHeadersAndDropsHopByHop) {
  FakeBackend b1("b1");
  RunningProxy proxy(test_config({b1.address()}));
  ASSERT_TRUE(proxy.started());
  Client c(proxy.port());
  ASSERT_TRUE(c.send("GET /h HTTP/1.1\r\nHost: example.test\r\nConnection: keep-alive, X-Secret\r\n"
                     "Keep-Alive: timeout=5\r\nX-Secret: 1\r\nTE: trailers\r\nProxy-Connection: x\r\n"
                     "X-Forwarded-For: 203.0.113.9\r\nX-Forwarded-Proto: https\r\nX_Smuggle: 1\r\n"
                     "X-Keep: yes\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  const std::vector<Request> all = b1.requests_seen();
  ASSERT_EQ(all.size(), 1u);
  const Request& seen = all[0];
  EXPECT_EQ(seen.header("Host"), "example.test");
  EXPECT_EQ(seen.header("X-Forwarded-For"), "203.0.113.9, 127.0.0.1");
  EXPECT_EQ(seen.header("X-Forwarded-Proto"), "http");
  EXPECT_EQ(seen.header("X-Forwarded-Host"), "example.test");
  EXPECT_EQ(seen.header("X-Keep"), "yes");
  for (const char* gone : {"Connection", "Keep-Alive", "X-Secret", "TE", "Proxy-Connection", "X_Smuggle"}) {
    EXPECT_EQ(seen.header(gone), "") << gone;
  }
  EXPECT_EQ(seen.version, "HTTP/1.1");
}

TEST(Forwarding, ResponseHopByHopHeadersAreDropped) {
  FakeBackend b1("b1");
  b1.set_handler([](BackendConn& c, const Request&) {
    c.send("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nKeep-Alive: timeout=9\r\nConnection: X-Internal\r\n"
           "X-Internal: secret\r\nX-Public: ok\r\n\r\nhi");
  });
  RunningProxy proxy(test_config({b1.address()}));
  ASSERT_TRUE(proxy.started());
  auto r = get(proxy.port(), "/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "hi");
  EXPECT_EQ(r->header("X-Public"), "ok");
  EXPECT_EQ(r->header("X-Internal"), "");
  EXPECT_EQ(r->header("Keep-Alive"), "");
}

// Every hop-by-hop header, one at a time, in each direction: RFC 9110 7.6.1 (Connection and
// the fields it names, Proxy-Connection, Keep-Alive, TE, Transfer-Encoding, Upgrade) and the
// older RFC 2616 13.5.1 list ferry also drops (Proxy-Authenticate, Proxy-Authorization,
// Trailer). The credentials in Proxy-Authorization were meant for ferry, not the application.
struct HopHeader {
  const char* name;
  const char* value;
};

void PrintTo(const HopHeader& h, std::ostream* os) { *os << h.name << ": " << h.value; }

std::string hop_case_name(const ::testing::TestParamInfo<HopHeader>& info) {
  std::string n;
  for (const char* p = info.param.name; *p != '\0'; ++p)
    if (std::isalnum(static_cast<unsigned char>(*p))) n += *p;
  return n;
}

int count_header(const std::vector<std::pair<std::string, std::string>>& headers, const std::string& name) {
  int n = 0;
  for (const auto& [k, v] : headers)
    if (proxy::iequals(k, name)) ++n;
  return n;
}

const HopHeader kHopByHop[] = {
    {"Connection", "keep-alive"},
    {"Keep-Alive", "timeout=5, max=100"},
    {"Proxy-Connection", "keep-alive"},
    {"Proxy-Authorization", "Basic Zm9vOmJhcg=="},
    {"Proxy-Authenticate", "Basic realm=\"proxy\""},
    {"TE", "trailers"},
    {"Trailer", "X-Checksum"},
    {"Upgrade", "h2c"},  // without Connection: upgrade, so not an upgrade
    {"Transfer-Encoding", "chunked"},
    {"X-Named-In-Connection", "secret"},  // dropped because Connection names it (below)
};

class HopByHopRequest : public ::testing::TestWithParam<HopHeader> {};

TEST_P(HopByHopRequest, IsNotForwardedToTheBackend) {
  const HopHeader h = GetParam();
  const std::string name = h.name;
  FakeBackend b1("b1");
  RunningProxy proxy(test_config({b1.address()}));
  ASSERT_TRUE(proxy.started()) << proxy.error();
  Client c(proxy.port());
  std::string request;
  if (name == "Transfer-Encoding") {
    // A chunked body: ferry writes its own Transfer-Encoding for the framing, so the client's
    // must not be passed on beside it.
    request = "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nX-End-To-End: kept\r\n\r\n"
              "5\r\nhello\r\n0\r\n\r\n";
  } else if (name == "X-Named-In-Connection") {
    request = "GET /h HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, x-named-in-connection, X-Other-Named\r\n"
              "X-Named-In-Connection: secret\r\nX-Other-Named: 2\r\nX-End-To-End: kept\r\n\r\n";
  } else {
    request = "GET /h HTTP/1.1\r\nHost: x\r\n" + name + ": " + h.value + "\r\nX-End-To-End: kept\r\n\r\n";
  }
  ASSERT_TRUE(c.send(request));
  auto r = c.read_response();
  ASSERT_TRUE(r) << name;
  EXPECT_EQ(r->status, 200);
  const std::vector<Request> all = b1.requests_seen();
  ASSERT_EQ(all.size(), 1u);
  const Request& seen = all[0];
  EXPECT_EQ(seen.header("X-End-To-End"), "kept") << "the request was forwarded with its other headers";
  if (name == "Transfer-Encoding") {
    EXPECT_EQ(count_header(seen.headers, "Transfer-Encoding"), 1) << b1.received();
    EXPECT_EQ(seen.header("Transfer-Encoding"), "chunked");
    EXPECT_EQ(seen.body, "hello");
  } else {
    EXPECT_EQ(count_header(seen.headers, name), 0) << name << " reached the backend:\n" << b1.received();
  }
  if (name == "X-Named-In-Connection") {
    EXPECT_EQ(count_header(seen.headers, "X-Other-Named"), 0) << b1.received();
    EXPECT_EQ(count_header(seen.headers, "Connection"), 0) << b1.received();
  }
}

INSTANTIATE_TEST_SUITE_P(EveryName, HopByHopRequest, ::testing::ValuesIn(kHopByHop), hop_case_name);

class HopByHopResponse : public ::testing::TestWithParam<HopHeader> {};

TEST_P(HopByHopResponse, IsNotRelayedToTheClient) {
  const HopHeader h = GetParam();
  const std::string name = h.name;
  FakeBackend b1("b1");
  b1.set_handler([name, h](BackendConn& c, const Request&) {
    if (name == "Transfer-Encoding") {
      c.send("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-End-To-End: kept\r\n\r\n2\r\nhi\r\n0\r\n\r\n");
    } else if (name == "X-Named-In-Connection") {
      c.send("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive, X-Named-In-Connection, x-other-named\r\n"
             "X-Named-In-Connection: secret\r\nX-Other-Named: 2\r\nX-End-To-End: kept\r\n\r\nhi");
    } else {
      c.send("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n" + name + ": " + h.value + "\r\nX-End-To-End: kept\r\n\r\nhi");
    }
  });
  RunningProxy proxy(test_config({b1.address()}));
  ASSERT_TRUE(proxy.started()) << proxy.error();
  // A keep-alive HTTP/1.1 exchange: ferry then writes no Connection header of its own, so any
  // Connection the client sees came from the backend.
  Client c(proxy.port());
  ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r) << name;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hi");
  EXPECT_EQ(r->header("X-End-To-End"), "kept");
  if (name == "Transfer-Encoding") {
    EXPECT_EQ(r->count("Transfer-Encoding"), 1) << r->head;
  } else {
    EXPECT_EQ(r->count(name), 0) << name << " reached the client:\n" << r->head;
  }
  if (name == "X-Named-In-Connection") {
    EXPECT_EQ(r->count("X-Other-Named"), 0) << r->head;
  }
  EXPECT_EQ(r->count("Connection"), 0) << r->head;
  // Still one exchange among several on a working keep-alive connection.
  ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto again = c.read_response();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200);
}

INSTANTIATE_TEST_SUITE_P(EveryName, HopByHopResponse, ::testing::ValuesIn(kHopByHop), hop_case_name);

class BodyIntegrity : public ::testing::TestWithParam<std::size_t> {};

TEST_P(BodyIntegrity, ContentLengthBodiesArriveIntactBothWays) {
  FakeBackend b1("b1");
  RunningProxy proxy(test_config({b1.address()}));
  ASSERT_TRUE(proxy.started());
  const std::string body = FakeBackend::pattern(GetParam());
  Client c(proxy.port(), std::chrono::seconds(30));
  ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) +
                     "\r\n\r\n" + body));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body.size(), body.size());
  EXPECT_EQ(FakeBackend::hash(r->body), FakeBackend::hash(body));
  EXPECT_EQ(r->header("X-Body-Sha"), std::to_string(FakeBackend::hash(body)));
}

TEST_P(BodyIntegrity, ChunkedBodiesArriveIntactBothWays) {
  FakeBackend b1("b1");
  RunningProxy proxy(test_config({b1.address()}));
  ASSERT_TRUE(proxy.started());
  const std::string body = FakeBackend::pattern(GetParam());
  std::string chunked;
  for (std::size_t off = 0; off < body.size(); off += 7777) {
    const std::string piece = body.substr(off, 7777);
    char size[32];
    std::snprintf(size, sizeof size, "%zx\r\n", piece.size());
    chunked += size + piece + "\r\n";
  }
  chunked += "0\r\n\r\n";
  Client c(proxy.port(), std::chrono::seconds(30));
  ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(FakeBackend::hash(r->body), FakeBackend::hash(body));
  // And a chunked response body of the same size.
  ASSERT_TRUE(c.send("GET /chunked/" + std::to_string(body.size()) + " HTTP/1.1\r\nHost: x\r\n\r\n"));
  r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header("Transfer-Encoding"), "chunked");
  EXPECT_EQ(FakeBackend::hash(r->body), FakeBackend::hash(body));
}

INSTANTIATE_TEST_SUITE_P(Sizes, BodyIntegrity,
                         ::testing::Values(1, 100, 65535, 65536, 65537, 300000, 8 * 1024 * 1024));

TEST(Forwarding, Http10ClientGetsAnUnchunkedBodyAndAClose) {
  FakeBackend b1("b1");
  RunningProxy proxy(test_config({b1.address()}));
  ASSERT_TRUE(proxy.started());
  Client c(proxy.port());
  ASSERT_TRUE(c.send("GET /chunked/5000 HTTP/1.0\r\n\r\n"));
  const std::string all = c.read_all();
  const std::size_t end = all.find("\r\n\r\n");
  ASSERT_NE(end, std::string::npos);
  EXPECT_EQ(all.find("Transfer-Encoding"), std::string::npos);
  EXPECT_EQ(all.substr(end + 4), FakeBackend::pattern(5000));
  // An HTTP/1.0 request without Host gets one (the backend's address) on the way.
  EXPECT_EQ(b1.requests_seen().at(0).header("Host"), b1.address());
}

TEST(Forwarding, Http10KeepAliveIsHonoured) {
  FakeBackend b1("b1");
  RunningProxy proxy(test_config({b1.address()}));
  ASSERT_TRUE(proxy.started());
  Client c(proxy.port());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(c.send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->header("Connection"), "keep-alive");
  }
}

TEST(Forwarding, HeadResponsesHaveNoBody) {
  FakeBackend b1("b1");
  RunningProxy proxy(test_config({b1.address()}));
  ASSERT_TRUE(proxy.started());
  Client c(proxy.port());
  ASSERT_TRUE(c.send("HEAD /size/1000 HTTP/1.1\r\nHost: x\r\n\r\nGET /size/3 HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = c.read_response(true);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header("Content-Length"), "1000");
  r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, FakeBackend::pattern(3));
}

TEST(Forwarding, NoContentAndNotModifiedHaveNoBody) {
  FakeBackend b1("b1");
  b1.set_handler([](BackendConn& c, const Request& req) {
    c.send(req.target == "/204" ? "HTTP/1.1 204 No Content\r\n\r\n"
                                : "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n");
  });
  RunningProxy proxy(test_config({b1.address()}));
  ASSERT_TRUE(proxy.started());
  Client c(proxy.port());
  ASSERT_TRUE(c.send("GET /204 HTTP/1.1\r\nHost: x\r\n\r\nGET /304 HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 204);
  EXPECT_EQ(r->header("Transfer-Encoding"), "");
  r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 304);
  EXPECT_EQ(r->header("ETag"), "\"x\"");
}

TEST(Forwarding, ExpectContinueIsAnsweredByFerry) {
  FakeBackend b1("b1");
  RunningProxy proxy(test_config({b1.address()}));
  ASSERT_TRUE(proxy.started());
  Client c(proxy.port());
  ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"));
  // The interim response comes before any body byte is sent.
  EXPECT_EQ(c.read_until("\r\n\r\n"), "HTTP/1.1 100 Continue\r\n\r\n");
  ASSERT_TRUE(c.send("hello"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  const std::string raw = r->body;
  EXPECT_EQ(raw, "hello");
  EXPECT_EQ(b1.requests_seen().at(0).header("Expect"), "");
}

TEST(Forwarding, BackendCloseDelimitedResponseIsRechunkedForHttp11) {
  FakeBackend b1("b1");
  b1.set_handler([](BackendConn& c, const Request&) {
    c.send("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end");
    c.close_now();
  });
  RunningProxy proxy(test_config({b1.address()}));
  ASSERT_TRUE(proxy.started());
  Client c(proxy.port());
  ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header("Transfer-Encoding"), "chunked");
  EXPECT_EQ(r->body, "until the end");
  // The client connection stays usable.
  ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_TRUE(c.read_response());
}

TEST(Forwarding, WebSocketUpgradeTunnelsRawBytes) {
  FakeBackend b1("b1");
  b1.set_handler([](BackendConn& c, const Request& req) {
    if (req.header("Upgrade") != "websocket") return;
    c.send("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
    char buf[256];
    const ssize_t n = ::recv(c.fd(), buf, sizeof buf, 0);
    if (n > 0) c.send("echo:" + std::string(buf, static_cast<std::size_t>(n)));
    c.close_now();
  });
  RunningProxy proxy(test_config({b1.address()}));
  ASSERT_TRUE(proxy.started());
  Client c(proxy.port());
  ASSERT_TRUE(c.send("GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 101);
  EXPECT_EQ(r->header("Upgrade"), "websocket");
  ASSERT_TRUE(c.send("\x81\x05hello"));
  EXPECT_EQ(c.read_all(), "echo:\x81\x05hello");
  EXPECT_EQ(b1.requests_seen().at(0).header("Sec-WebSocket-Key"), "dGhlIHNhbXBsZSBub25jZQ==");
}

TEST(Forwarding, TunnelBytesSentRightBeforeTheClientLeavesReachTheBackend) {
  // Exactly one read block and then the client's FIN: ferry reads both in one turn of its
  // loop, so the bytes must go out before the backend connection closes behind them.
  const std::string payload = FakeBackend::pattern(proxy::BlockPool::kBlockSize);
  std::promise<std::string> tunnelled;
  FakeBackend b1("b1");
  b1.set_handler([&tunnelled](BackendConn& c, const Request&) {
    c.send("HTTP/1.1 101 Switching Protocols\r\nUpgrade: raw\r\nConnection: Upgrade\r\n\r\n");
    const timeval limit{5, 0};
    ::setsockopt(c.fd(), SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    std::string all;
    char buf[65536];
    for (ssize_t n; (n = ::recv(c.fd(), buf, sizeof buf, 0)) > 0;) all.append(buf, static_cast<std::size_t>(n));
    tunnelled.set_value(all);
    c.close_now();
  });
  RunningProxy proxy(test_config({b1.address()}));
  ASSERT_TRUE(proxy.started());
  Client c(proxy.port());
  ASSERT_TRUE(c.send("GET /raw HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: raw\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 101);
  ASSERT_TRUE(c.send(payload));
  c.shutdown_write();
  auto result = tunnelled.get_future();
  ASSERT_EQ(result.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  const std::string got = result.get();
  EXPECT_EQ(got.size(), payload.size());
  EXPECT_TRUE(got == payload);
}

TEST(Forwarding, EveryWorkerServes) {
  FakeBackend b1("b1");
  auto cfg = test_config({b1.address()});
  cfg.workers = 4;
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started());
  for (int i = 0; i < 200; ++i) {
    auto r = get(proxy.port(), "/");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
  }
  EXPECT_EQ(proxy.server().worker_count(), 4u);
  // Connections hash across the SO_REUSEPORT sockets: with 200 connections every worker gets some.
  EXPECT_EQ(proxy.server().workers_serving(), 4u);
}

}  // namespace
}  // namespace ferry::testing
