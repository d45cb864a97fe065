// ClientConn and UpstreamConn decisions seen from both sockets: ferry in-process (one worker) in
// front of a fake backend, driven by a raw client. Each test pins one decision the connection
// code makes: when a backend connection is reused, when a client connection ends, when a slow
// client holds the backend back, which methods are sent again after a reset, which timer bounds
// a connect.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "support/client.h"
#include "support/fake_backend.h"
#include "support/proxy_fixture.h"
#include "support/wait.h"

namespace ferry::testing {
namespace {

using namespace std::chrono_literals;

std::string keep_alive_get(const std::string& path) {
  return "GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n";
}

TEST(BackendConnectionReuse, KeepsAConnectionTheBackendKeptOpen) {
  FakeBackend b("b");
  RunningProxy proxy(test_config({b.address()}));
  ASSERT_TRUE(proxy.started()) << proxy.error();
  Client c(proxy.port());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(c.send(keep_alive_get("/")));
    auto r = c.read_response();
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->status, 200) << i;
  }
  EXPECT_EQ(b.requests(), 3);
  EXPECT_EQ(b.connections(), 1) << "three requests in a row should share one pooled connection";
}

TEST(BackendConnectionReuse, NeverReusesAConnectionWhoseResponseSaidClose) {
  // The backend says "Connection: close" but leaves the socket open and would read on: ferry
  // must still not send it another request (RFC 9112 9.6), so every request opens a connection.
  FakeBackend b("b");
  b.set_handler([](BackendConn& conn, const Request&) {
    conn.send("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok");
  });
  RunningProxy proxy(test_config({b.address()}));
  ASSERT_TRUE(proxy.started()) << proxy.error();
  Client c(proxy.port());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(c.send(keep_alive_get("/")));
    auto r = c.read_response();
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->status, 200) << i;
    EXPECT_EQ(r->body, "ok") << i;
  }
  EXPECT_EQ(b.requests(), 3);
  EXPECT_EQ(b.connections(), 3) << "a connection the backend said it would close was pooled";
}

TEST(ClientConnectionEnd, AnHttp10ResponseReadUntilCloseEndsTheClientConnection) {
  // A response without a length reaches an HTTP/1.0 client delimited by the close of the
  // connection, so ferry must say "close" and close, whatever keep-alive the client asked for.
  FakeBackend b("b");
  b.set_handler([](BackendConn& conn, const Request&) {
    conn.send("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end");
    conn.close_now();
  });
  RunningProxy proxy(test_config({b.address()}));
  ASSERT_TRUE(proxy.started()) << proxy.error();
  Client c(proxy.port(), 3s);
  ASSERT_TRUE(c.send("GET / HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\n\r\n"));
  const std::string all = c.read_until("\r\n\r\n");
  ASSERT_FALSE(all.empty());
  EXPECT_NE(all.find("Connection: close\r\n"), std::string::npos) << all;
  EXPECT_EQ(all.find("keep-alive"), std::string::npos) << all;
  EXPECT_EQ(c.read_all(), "until the end");
  EXPECT_TRUE(c.closed_by_peer());
}

TEST(ResponseBackpressure, AClientThatStopsReadingHoldsTheBackendBack) {
  // buffers.response bounds what ferry reads ahead of its client; past it the backend is no
  // longer read, so what the backend manages to send stalls at that plus the sockets' buffers
  // (a few MiB on loopback), far short of the whole response.
  constexpr std::size_t kTotal = 96u << 20;
  constexpr std::size_t kBound = 32u << 20;
  std::atomic<std::size_t> sent{0};
  FakeBackend b("b");
  b.set_handler([&sent](BackendConn& conn, const Request&) {
    if (!conn.send("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(kTotal) + "\r\n\r\n")) return;
    const std::string block(64 * 1024, 'x');
    for (std::size_t off = 0; off < kTotal; off += block.size()) {
      if (!conn.send(block)) return;
      sent += block.size();
    }
  });
  config::Config cfg = test_config({b.address()});
  cfg.buffers.response = 64 * 1024;
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started()) << proxy.error();
  Client c(proxy.port(), 20s);
  ASSERT_TRUE(c.send("GET /big HTTP/1.1\r\nHost: x\r\n\r\n"));
  // The client reads nothing for a while: the backend gets only as far as the buffers allow.
  std::this_thread::sleep_for(1500ms);
  const std::size_t stalled_at = sent.load();
  EXPECT_LT(stalled_at, kBound) << "ferry kept reading the backend for a client that read nothing";
  // Reading resumes the backend: the whole response arrives intact.
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body.size(), kTotal);
  EXPECT_EQ(r->body.find_first_not_of('x'), std::string::npos);
  EXPECT_EQ(sent.load(), kTotal);
}

// A backend that reads a request whole, then hangs up without a byte of response: the request
// may have been acted on, so only a method RFC 9110 9.2.2 calls idempotent may be sent again.
struct MethodRetry {
  const char* method;
  bool idempotent;
};

std::string method_name(const ::testing::TestParamInfo<MethodRetry>& param) { return param.param.method; }
void PrintTo(const MethodRetry& m, std::ostream* os) { *os << m.method; }

class RetryAfterAReset : public ::testing::TestWithParam<MethodRetry> {};

TEST_P(RetryAfterAReset, GoesToTheNextBackendOnlyForAnIdempotentMethod) {
  const MethodRetry m = GetParam();
  FakeBackend hangs_up("hangs-up");
  FakeBackend good("good");
  hangs_up.set_handler([](BackendConn& conn, const Request&) { conn.close_now(); });
  config::Config cfg = test_config({hangs_up.address(), good.address()});
  cfg.retries = 1;
  RunningProxy proxy(cfg);  // one worker: round robin tries hangs-up first
  ASSERT_TRUE(proxy.started()) << proxy.error();
  Client c(proxy.port());
  ASSERT_TRUE(c.send(std::string(m.method) + " /x HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(hangs_up.requests(), 1);
  if (m.idempotent) {
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->header("X-Backend"), "good");
    EXPECT_EQ(good.requests(), 1);
  } else {
    EXPECT_EQ(r->status, 502);
    EXPECT_EQ(good.requests(), 0) << m.method << " was sent a second time";
  }
}

INSTANTIATE_TEST_SUITE_P(Methods, RetryAfterAReset,
                         ::testing::Values(MethodRetry{"GET", true}, MethodRetry{"PUT", true},
                                           MethodRetry{"DELETE", true}, MethodRetry{"OPTIONS", true},
                                           MethodRetry{"POST", false}, MethodRetry{"PATCH", false}),
                         method_name);

// A socket listening on 127.0.0.1 at a free port, written to *bound; false on failure (the fd
// is then closed, or never opened).
bool listen_on_loopback(int backlog, int* fd, sockaddr_in* bound) {
  *fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  *bound = sockaddr_in{};
  bound->sin_family = AF_INET;
  bound->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof *bound;
  if (*fd >= 0 && ::bind(*fd, reinterpret_cast<sockaddr*>(bound), sizeof *bound) == 0 &&
      ::listen(*fd, backlog) == 0 && ::getsockname(*fd, reinterpret_cast<sockaddr*>(bound), &len) == 0) {
    return true;
  }
  if (*fd >= 0) ::close(*fd);
  *fd = -1;
  return false;
}

// A listening socket whose accept queue is full and never drained: the kernel drops further
// SYNs, so a connect to it neither succeeds nor fails until the connector gives up.
class BlackHole {
 public:
  BlackHole() {
    sockaddr_in a{};
    if (!listen_on_loopback(0, &fd_, &a)) return;
    port_ = ntohs(a.sin_port);
    // Fill the queue (backlog 0 holds one); further connects hang in SYN-SENT.
    for (int i = 0; i < 2; ++i) {
      const int c = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
      (void)::connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a);
      fillers_.push_back(c);
    }
    std::this_thread::sleep_for(50ms);  // let the handshakes settle into the queue
  }
  ~BlackHole() {
    for (int c : fillers_) ::close(c);
    if (fd_ >= 0) ::close(fd_);
  }
  bool ok() const { return port_ != 0; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  // Whether a plain connect to it is still pending after `wait` (the hole really swallows SYNs).
  bool swallows(std::chrono::milliseconds wait) const {
    const int c = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port_);
    (void)::connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a);
    pollfd p{c, POLLOUT, 0};
    const bool pending = ::poll(&p, 1, static_cast<int>(wait.count())) == 0;
    ::close(c);
    return pending;
  }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
  std::vector<int> fillers_;
};

TEST(BackendConnect, GivesUpAfterTimeoutsConnectNotBackendResponse) {
  BlackHole hole;
  ASSERT_TRUE(hole.ok());
  if (!hole.swallows(300ms)) GTEST_SKIP() << "this kernel answers connects to a full accept queue";
  config::Config cfg = test_config({hole.address()});
  cfg.timeouts.connect = 200ms;
  cfg.timeouts.backend_response = 30s;
  cfg.retries = 0;
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started()) << proxy.error();
  Client c(proxy.port(), 5s);
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r) << "no answer within 5s: the connect waited for something longer than timeouts.connect";
  EXPECT_EQ(r->status, 502);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
}

// The kernel's struct tcp_info as far as tcpi_data_segs_in (Linux 4.6); glibc's struct stops
// at tcpi_total_retrans, and <linux/tcp.h> clashes with <netinet/tcp.h>.
struct KernelTcpInfo {
  tcp_info glibc;
  uint64_t pacing_rate;
  uint64_t max_pacing_rate;
  uint64_t bytes_acked;
  uint64_t bytes_received;
  uint32_t segs_out;
  uint32_t segs_in;
  uint32_t notsent_bytes;
  uint32_t min_rtt;
  uint32_t data_segs_in;
};

// A backend on a raw socket that answers one request and reports how many TCP segments with
// data the request arrived in (TCP_INFO's tcpi_data_segs_in on its side of the connection).
class SegmentCountingBackend {
 public:
  SegmentCountingBackend() {
    sockaddr_in a{};
    if (!listen_on_loopback(8, &fd_, &a)) return;
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~SegmentCountingBackend() {
    if (fd_ < 0) return;
    ::shutdown(fd_, SHUT_RDWR);  // wakes a pending accept
    if (thread_.joinable()) thread_.join();
    ::close(fd_);
  }
  bool ok() const { return port_ != 0; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  // The request as received, and its data segments; valid once done().
  bool done() const { return done_.load(); }
  const std::string& request() const { return request_; }
  uint32_t data_segments() const { return segments_; }
  bool counted() const { return counted_; }  // false on a kernel older than 4.6

 private:
  void serve() {
    const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) return;
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    std::size_t want = std::string::npos;
    char buf[16384];
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{c, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      const ssize_t n = ::recv(c, buf, sizeof buf, 0);
      if (n <= 0) break;
      request_.append(buf, static_cast<std::size_t>(n));
      const std::size_t end = request_.find("\r\n\r\n");
      if (want == std::string::npos && end != std::string::npos) {
        const std::size_t cl = request_.find("Content-Length: ");
        want = end + 4 + (cl == std::string::npos ? 0 : std::stoul(request_.substr(cl + 16)));
      }
      if (want != std::string::npos && request_.size() >= want) break;
    }
    KernelTcpInfo info{};
    socklen_t len = sizeof info;
    if (::getsockopt(c, IPPROTO_TCP, TCP_INFO, &info, &len) == 0 && len >= sizeof info) {
      segments_ = info.data_segs_in;
      counted_ = true;
    }
    done_.store(true);
    const std::string response = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
    (void)::send(c, response.data(), response.size(), MSG_NOSIGNAL);
    ::close(c);
  }

  int fd_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
  std::atomic<bool> done_{false};
  std::string request_;
  uint32_t segments_ = 0;
  bool counted_ = false;
};

TEST(RequestBody, ASmallBodyReachesTheBackendWithItsHeadInOneSegment) {
  // A body up to buffers.request is read whole before the backend is engaged; then head and
  // body go out in one write. Two writes cost the backend two segments, and with delayed ACKs
  // on the way, a round trip of waiting for each POST.
  SegmentCountingBackend b;
  ASSERT_TRUE(b.ok());
  RunningProxy proxy(test_config({b.address()}));
  ASSERT_TRUE(proxy.started()) << proxy.error();
  Client c(proxy.port());
  const std::string body(4096, 'x');
  // The client sends the head and two halves of the body apart, so ferry reads them apart.
  ASSERT_TRUE(c.send("POST /post HTTP/1.1\r\nHost: x\r\nContent-Length: 4096\r\n\r\n"));
  ASSERT_TRUE(c.send(body.substr(0, 2048)));
  ASSERT_TRUE(c.send(body.substr(2048)));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  ASSERT_TRUE(b.done());
  const std::size_t end = b.request().find("\r\n\r\n");
  ASSERT_NE(end, std::string::npos);
  EXPECT_EQ(b.request().substr(end + 4), body);
  if (!b.counted()) GTEST_SKIP() << "this kernel's TCP_INFO has no tcpi_data_segs_in";
  EXPECT_EQ(b.data_segments(), 1u) << "the head and the body reached the backend in separate segments";
}

}  // namespace
}  // namespace ferry::testing
