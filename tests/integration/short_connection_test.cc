// What a connection that carries one request costs ferry's side of TCP. Its first read
// happens at accept, before its socket goes into epoll, and a request that closes its
// connection after the answer never puts it there (client_conn.cc, read_first): these tests
// look at the worker's epoll sets themselves (/proc/self/fdinfo of each eventpoll descriptor
// lists the descriptors it watches) while a slow backend holds the answer. The answer's last
// bytes wait in the kernel for the FIN and travel with it (OutQueue::flush, fin_follows): the
// client's TCP_INFO counts the segments that brought them. Every answer must still arrive
// whole, however the first read went.
#include <gtest/gtest.h>

#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "support/client.h"
#include "support/fake_backend.h"
#include "support/proxy_fixture.h"

namespace ferry::testing {
namespace {

using namespace std::chrono_literals;

uint16_t local_port(int fd, bool peer = false) {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  const int rc = peer ? ::getpeername(fd, reinterpret_cast<sockaddr*>(&a), &len)
                      : ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  if (rc != 0 || a.sin_family != AF_INET) return 0;
  return ntohs(a.sin_port);
}

std::string fd_target(int fd) {
  char buf[256];
  const std::string link = "/proc/self/fd/" + std::to_string(fd);
  const ssize_t n = ::readlink(link.c_str(), buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
}

std::set<int> open_fds() {
  std::set<int> fds;
  DIR* d = ::opendir("/proc/self/fd");
  if (d == nullptr) return fds;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] != '.') fds.insert(std::atoi(e->d_name));
  }
  ::closedir(d);
  return fds;
}

// The process's socket whose local port is `local` and whose peer's port is `peer`.
std::optional<int> socket_between(uint16_t local, uint16_t peer) {
  for (int fd : open_fds()) {
    if (fd_target(fd).rfind("socket:", 0) != 0) continue;
    if (local_port(fd) == local && local_port(fd, true) == peer) return fd;
  }
  return std::nullopt;
}

// The listening socket on `port` (ferry's, in this process).
std::optional<int> listener_on(uint16_t port) {
  for (int fd : open_fds()) {
    if (fd_target(fd).rfind("socket:", 0) != 0) continue;
    int listening = 0;
    socklen_t len = sizeof listening;
    if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0 && listening != 0 &&
        local_port(fd) == port) {
      return fd;
    }
  }
  return std::nullopt;
}

// Every descriptor some epoll set of this process watches ("tfd:" lines of its fdinfo).
std::set<int> watched_by_epoll() {
  std::set<int> watched;
  for (int fd : open_fds()) {
    if (fd_target(fd) != "anon_inode:[eventpoll]") continue;
    std::ifstream info("/proc/self/fdinfo/" + std::to_string(fd));
    std::string word;
    while (info >> word) {
      if (word == "tfd:") {
        int target = -1;
        if (info >> target) watched.insert(target);
      }
    }
  }
  return watched;
}

// How many TCP segments the socket's kernel has received on it. glibc's struct tcp_info
// stops before the counters Linux 4.2 added; they follow it in the kernel's (linux/tcp.h,
// which cannot be included beside glibc's header).
struct TcpInfoWithCounts {
  tcp_info base;
  uint64_t pacing_rate, max_pacing_rate, bytes_acked, bytes_received;
  uint32_t segs_out, segs_in;
};
static_assert(sizeof(tcp_info) == 104 && offsetof(TcpInfoWithCounts, segs_in) == 140);

uint32_t segments_in(int fd) {
  TcpInfoWithCounts info{};
  socklen_t len = sizeof info;
  if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0 || len < sizeof info) return 0;
  return info.segs_in;
}

// Reads until `until` has come, or with an empty `until` to the connection's end; `reset`
// says whether it ended with a reset rather than a FIN.
struct Reply {
  std::string bytes;
  bool eof = false;
  bool reset = false;
};
Reply read_reply(int fd, const std::string& until, std::chrono::milliseconds limit = 5000ms) {
  Reply r;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  char buf[65536];
  while (std::chrono::steady_clock::now() < deadline) {
    if (!until.empty() && r.bytes.find(until) != std::string::npos) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n == 0) {
      r.eof = true;
      break;
    }
    if (n < 0) {
      r.reset = errno == ECONNRESET;
      break;
    }
    r.bytes.append(buf, static_cast<std::size_t>(n));
  }
  return r;
}

constexpr const char* kCloseRequest = "GET / HTTP/1.1\r\nHost: first.test\r\nConnection: close\r\n\r\n";
constexpr const char* kKeepAliveRequest = "GET / HTTP/1.1\r\nHost: first.test\r\n\r\n";

// ferry in front of one backend that answers `body` after `delay`, so a test can look at
// ferry while it waits.
class ShortConnection : public ::testing::Test {
 protected:
  void start(std::chrono::milliseconds delay, const std::string& body) {
    answer(delay, body);
    proxy_ = std::make_unique<RunningProxy>(test_config({backend_.address()}));
    ASSERT_TRUE(proxy_->started()) << proxy_->error();
  }
  void answer(std::chrono::milliseconds delay, const std::string& body) {
    backend_.set_handler([delay, body](BackendConn& c, const Request&) {
      std::this_thread::sleep_for(delay);
      c.send("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
    });
  }
  uint16_t port() const { return proxy_->port(); }

  // The request is in before ferry accepts: TCP_DEFER_ACCEPT on ferry's listener holds the
  // accept until the first bytes arrive, as loopback's or a LAN's timing usually does.
  void defer_accept() {
    const std::optional<int> listener = listener_on(port());
    ASSERT_TRUE(listener.has_value());
    const int seconds = 2;
    ASSERT_EQ(::setsockopt(*listener, IPPROTO_TCP, TCP_DEFER_ACCEPT, &seconds, sizeof seconds), 0);
  }

  // ferry's socket for `client`, once ferry has accepted it.
  std::optional<int> ferrys_end(const Client& client) const {
    const uint16_t client_port = local_port(client.fd());
    for (int i = 0; i < 200; ++i) {
      if (auto fd = socket_between(port(), client_port)) return fd;
      std::this_thread::sleep_for(5ms);
    }
    return std::nullopt;
  }

  FakeBackend backend_{"b1"};
  std::unique_ptr<RunningProxy> proxy_;
};

TEST_F(ShortConnection, ARequestThatClosesItsConnectionIsAnsweredWithoutItsSocketEverEnteringEpoll) {
  start(400ms, "slow answer");
  defer_accept();
  Client client(port());
  ASSERT_TRUE(client.send(kCloseRequest));
  const std::optional<int> ferry_fd = ferrys_end(client);
  ASSERT_TRUE(ferry_fd.has_value()) << "ferry never accepted the connection";
  std::this_thread::sleep_for(150ms);  // ferry has read the request; the backend holds the answer
  EXPECT_EQ(watched_by_epoll().count(*ferry_fd), 0u) << "ferry's socket " << *ferry_fd << " is in an epoll set";

  const Reply reply = read_reply(client.fd(), "");
  EXPECT_TRUE(reply.eof) << "the connection did not end with a FIN";
  EXPECT_FALSE(reply.reset);
  EXPECT_EQ(reply.bytes.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << reply.bytes;
  EXPECT_NE(reply.bytes.find("\r\n\r\nslow answer"), std::string::npos) << reply.bytes;
}

// The answer and the FIN that ends the connection come in one segment, where they took two:
// the client's kernel counts the segments it received (TCP_INFO's tcpi_segs_in), before the
// answer (the SYN-ACK, and an ACK of the request if ferry's kernel sent one at once) and after.
TEST_F(ShortConnection, ACloseModeAnswerAndItsFinArriveInOneSegment) {
  start(300ms, "slow answer");
  Client client(port());
  ASSERT_TRUE(client.send(kCloseRequest));
  std::this_thread::sleep_for(150ms);  // the request is in; the backend holds the answer
  const uint32_t before = segments_in(client.fd());
  std::this_thread::sleep_for(450ms);  // the answer has come, and the FIN
  const uint32_t after = segments_in(client.fd());
  const Reply reply = read_reply(client.fd(), "");
  EXPECT_TRUE(reply.eof);
  EXPECT_NE(reply.bytes.find("\r\n\r\nslow answer"), std::string::npos) << reply.bytes;
  EXPECT_EQ(after - before, 1u) << "the answer and the FIN took " << after - before << " segments";
}

// The control for ARequestThatClosesItsConnectionIsAnswered...: the same look at the epoll
// sets finds a keep-alive connection's socket there, since ferry reads on for its next
// request (or its EOF).
TEST_F(ShortConnection, AKeepAliveConnectionGoesIntoEpollAndServesItsNextRequest) {
  start(400ms, "slow answer");
  defer_accept();
  Client client(port());
  ASSERT_TRUE(client.send(kKeepAliveRequest));
  const std::optional<int> ferry_fd = ferrys_end(client);
  ASSERT_TRUE(ferry_fd.has_value()) << "ferry never accepted the connection";
  std::this_thread::sleep_for(150ms);
  EXPECT_EQ(watched_by_epoll().count(*ferry_fd), 1u) << "ferry's socket " << *ferry_fd << " is in no epoll set";

  for (int i = 0; i < 2; ++i) {
    if (i > 0) {
      ASSERT_TRUE(client.send(kKeepAliveRequest));
    }
    const Reply reply = read_reply(client.fd(), "slow answer");
    EXPECT_NE(reply.bytes.find("\r\n\r\nslow answer"), std::string::npos) << "request " << i << ": " << reply.bytes;
  }
}

// A connection accepted before its request arrives: the first read finds nothing, the socket
// waits in epoll, and the request that comes later is read and answered.
TEST_F(ShortConnection, ARequestThatArrivesAfterTheAcceptIsStillRead) {
  start(0ms, "late request");
  Client client(port());
  const std::optional<int> ferry_fd = ferrys_end(client);
  ASSERT_TRUE(ferry_fd.has_value()) << "ferry never accepted the connection";
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(watched_by_epoll().count(*ferry_fd), 1u) << "ferry's socket waits for its request outside epoll";
  ASSERT_TRUE(client.send(kCloseRequest));
  const Reply reply = read_reply(client.fd(), "");
  EXPECT_TRUE(reply.eof);
  EXPECT_NE(reply.bytes.find("\r\n\r\nlate request"), std::string::npos) << reply.bytes;
}

// Clients that connect and go before their first byte (a reset, as a port scanner's or a
// health check's abort, or a FIN): the first read finds an error or the end, and the socket is
// closed, libuv's handle with it, whatever read had been started on it. Many in a row, then
// ferry still serves.
TEST_F(ShortConnection, ClientsThatResetOrCloseBeforeTheirFirstByteLeaveAWorkingProxy) {
  start(0ms, "still here");
  for (int i = 0; i < 200; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port());
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0) << i;
    if (i % 4 != 3) {
      const linger reset{1, 0};  // close(2) sends a reset
      ASSERT_EQ(::setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset), 0);
    }
    if (i % 8 == 1) {
      ASSERT_EQ(::send(fd, "GET / HT", 8, MSG_NOSIGNAL), 8);  // part of a head first
    }
    ::close(fd);
    if (i % 16 == 0) std::this_thread::sleep_for(2ms);
  }
  for (int i = 0; i < 5; ++i) {
    Client client(port());
    ASSERT_TRUE(client.send(kCloseRequest)) << i;
    const Reply reply = read_reply(client.fd(), "");
    EXPECT_TRUE(reply.eof) << i;
    EXPECT_NE(reply.bytes.find("\r\n\r\nstill here"), std::string::npos) << i << ": " << reply.bytes;
  }
}

// A close-mode answer too large for the socket buffers waits in libuv's write queue, which
// puts the socket in epoll after all: closing it then takes it out of epoll as usual. The
// client reads it late and slowly, gets every byte and a FIN, and the descriptor numbers the
// closes free (reused at once by the next accepts) serve the next connections.
TEST_F(ShortConnection, ACloseModeAnswerThatWaitsForTheClientArrivesWholeAndLaterConnectionsAreServed) {
  const std::string big(8 << 20, 'x');
  start(0ms, big);
  const int client = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int small = 16384;
  ASSERT_EQ(::setsockopt(client, SOL_SOCKET, SO_RCVBUF, &small, sizeof small), 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port());
  ASSERT_EQ(::connect(client, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  const std::string request = kCloseRequest;
  ASSERT_EQ(::send(client, request.data(), request.size(), MSG_NOSIGNAL), static_cast<ssize_t>(request.size()));
  std::this_thread::sleep_for(300ms);  // ferry's write fills the buffers and waits
  const Reply reply = read_reply(client, "", 15000ms);
  ::close(client);
  EXPECT_TRUE(reply.eof);
  EXPECT_FALSE(reply.reset);
  const std::size_t body = reply.bytes.find("\r\n\r\n");
  ASSERT_NE(body, std::string::npos);
  EXPECT_EQ(reply.bytes.size() - body - 4, big.size());

  answer(0ms, "next");
  for (int i = 0; i < 50; ++i) {
    Client c(port());
    ASSERT_TRUE(c.send(i % 2 == 0 ? kCloseRequest : "GET / HTTP/1.0\r\nHost: first.test\r\n\r\n"));
    const Reply r = read_reply(c.fd(), "");
    EXPECT_TRUE(r.eof) << "connection " << i;
    EXPECT_NE(r.bytes.find("\r\n\r\nnext"), std::string::npos) << "connection " << i << ": " << r.bytes;
  }
}

}  // namespace
}  // namespace ferry::testing
