// Accepting with the peer's address (peer_accept.h), on a bare libuv loop: each queued
// connection arrives with its own address and works as a libuv stream; errors the loop does
// not handle itself (out of descriptors) reach libuv's loop, which sheds the queue; a
// connection the callback leaves untaken is closed, and a callback that closes the listener
// ends the loop.
#include "proxy/core/peer_accept.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace ferry::proxy {
namespace {

struct Accepted {
  int status = 0;
  bool had_peer = false;
  std::string address;  // "ip:port" of the peer the accept reported
  std::unique_ptr<uv_tcp_t> conn;
};

std::string text_of(const sockaddr_storage& ss) {
  char ip[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET) {
    const auto& a = reinterpret_cast<const sockaddr_in&>(ss);
    ::inet_ntop(AF_INET, &a.sin_addr, ip, sizeof ip);
    return std::string(ip) + ":" + std::to_string(ntohs(a.sin_port));
  }
  if (ss.ss_family == AF_INET6) {
    const auto& a = reinterpret_cast<const sockaddr_in6&>(ss);
    ::inet_ntop(AF_INET6, &a.sin6_addr, ip, sizeof ip);
    return "[" + std::string(ip) + "]:" + std::to_string(ntohs(a.sin6_port));
  }
  return "family " + std::to_string(ss.ss_family);
}

// `ip`:`port` of `family` in `ss`; returns its length.
socklen_t address_of(int family, const char* ip, int port, sockaddr_storage& ss) {
  ss = {};
  if (family == AF_INET) {
    auto& a = reinterpret_cast<sockaddr_in&>(ss);
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    ::inet_pton(AF_INET, ip, &a.sin_addr);
    return sizeof a;
  }
  auto& a = reinterpret_cast<sockaddr_in6&>(ss);
  a.sin6_family = AF_INET6;
  a.sin6_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET6, ip, &a.sin6_addr);
  return sizeof a;
}

const char* loopback(int family) { return family == AF_INET ? "127.0.0.1" : "::1"; }

// What the callback does with each connection.
enum class Take { Accept, Leave, CloseListener };

struct Harness;

// As ferry's workers keep their listeners: the accepting part, and what it belongs to.
struct HarnessListener : PeerAcceptListener {
  Harness* harness = nullptr;
};

struct Harness {
  uv_loop_t loop{};
  HarnessListener listener;
  std::vector<Accepted> accepted;
  Take take = Take::Accept;
  int port = 0;
  int family = AF_INET;

  explicit Harness(int fam = AF_INET) : family(fam) {
    uv_loop_init(&loop);
    listener.harness = this;
  }
  ~Harness() {
    for (Accepted& a : accepted)
      if (a.conn) uv_close(reinterpret_cast<uv_handle_t*>(a.conn.release()), [](uv_handle_t* h) { delete reinterpret_cast<uv_tcp_t*>(h); });
    if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(&listener.tcp)))
      uv_close(reinterpret_cast<uv_handle_t*>(&listener.tcp), nullptr);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
  }

  // A listening socket on the loopback address of `family`, handed over as ferry's workers
  // hand over theirs.
  bool listen() {
    const int fd = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    sockaddr_storage ss;
    socklen_t len = address_of(family, loopback(family), 0, ss);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || ::listen(fd, 64) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
      ::close(fd);
      return false;
    }
    port = ntohs(family == AF_INET ? reinterpret_cast<sockaddr_in&>(ss).sin_port
                                   : reinterpret_cast<sockaddr_in6&>(ss).sin6_port);
    return listen_with_peer(&loop, listener, fd, 64, &Harness::on_accepted) == 0;
  }

  static void on_accepted(PeerAcceptListener& l, int status, const sockaddr_storage* peer) {
    Harness& h = *static_cast<HarnessListener&>(l).harness;
    EXPECT_EQ(&l, &h.listener);
    Accepted a;
    a.status = status;
    a.had_peer = peer != nullptr;
    if (peer != nullptr) a.address = text_of(*peer);
    if (status == 0) {
      if (h.take == Take::Accept) {
        a.conn = std::make_unique<uv_tcp_t>();
        uv_tcp_init(&h.loop, a.conn.get());
        EXPECT_EQ(uv_accept(reinterpret_cast<uv_stream_t*>(&l.tcp), reinterpret_cast<uv_stream_t*>(a.conn.get())), 0);
      } else if (h.take == Take::CloseListener) {
        uv_close(reinterpret_cast<uv_handle_t*>(&l.tcp), nullptr);
      }
    }
    h.accepted.push_back(std::move(a));
  }

  void run_for(std::chrono::milliseconds d) {
    const auto until = std::chrono::steady_clock::now() + d;
    while (std::chrono::steady_clock::now() < until) uv_run(&loop, UV_RUN_NOWAIT);
  }

  // Runs the loop until `n` callbacks came, or two seconds passed.
  void run_until(std::size_t n) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (accepted.size() < n && std::chrono::steady_clock::now() < until) uv_run(&loop, UV_RUN_NOWAIT);
  }
};

// A client connected from `from` (a loopback address); its own "ip:port" in `self_text`.
int connect_from(const Harness& h, const char* from, std::string* self_text) {
  const int fd = ::socket(h.family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_storage src, dst;
  const socklen_t len = address_of(h.family, from, 0, src);
  address_of(h.family, loopback(h.family), h.port, dst);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&src), len) != 0 ||
      ::connect(fd, reinterpret_cast<sockaddr*>(&dst), len) != 0) {
    ::close(fd);
    return -1;
  }
  sockaddr_storage me{};
  socklen_t me_len = sizeof me;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&me), &me_len);
  *self_text = text_of(me);
  return fd;
}

// True once `fd`'s peer has closed it (EOF or reset), within a second.
bool closed_by_peer(int fd) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, 1000) != 1) return false;
  char c;
  return ::recv(fd, &c, 1, MSG_DONTWAIT) <= 0;
}

TEST(PeerAccept, EachQueuedConnectionComesWithItsOwnAddress) {
  Harness h;
  ASSERT_TRUE(h.listen());
  // Queued before the loop runs: one readiness accepts them all, each with its address.
  const char* from[] = {"127.0.0.1", "127.0.0.7", "127.10.200.3", "127.255.255.254"};
  std::vector<int> clients;
  std::vector<std::string> expected;
  for (const char* f : from) {
    std::string me;
    const int fd = connect_from(h, f, &me);
    ASSERT_GE(fd, 0) << f;
    clients.push_back(fd);
    expected.push_back(me);
  }
  h.run_until(clients.size());
  ASSERT_EQ(h.accepted.size(), clients.size());
  for (std::size_t i = 0; i < clients.size(); ++i) {
    EXPECT_EQ(h.accepted[i].status, 0) << i;
    EXPECT_TRUE(h.accepted[i].had_peer) << i;
    EXPECT_EQ(h.accepted[i].address, expected[i]) << i;
  }
  // The handed-over descriptor is a working libuv stream: what the client sends is read.
  static std::string got;
  got.clear();
  uv_stream_t* conn = reinterpret_cast<uv_stream_t*>(h.accepted[2].conn.get());
  ASSERT_EQ(uv_read_start(
                conn, [](uv_handle_t*, size_t, uv_buf_t* b) { static char buf[64]; *b = uv_buf_init(buf, sizeof buf); },
                [](uv_stream_t*, ssize_t n, const uv_buf_t* b) {
                  if (n > 0) got.append(b->base, static_cast<std::size_t>(n));
                }),
            0);
  ASSERT_EQ(::send(clients[2], "hello", 5, 0), 5);
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (got.size() < 5 && std::chrono::steady_clock::now() < until) uv_run(&h.loop, UV_RUN_NOWAIT);
  EXPECT_EQ(got, "hello");
  for (int fd : clients) ::close(fd);
}

TEST(PeerAccept, IPv6ConnectionsComeWithTheirAddress) {
  Harness h(AF_INET6);
  if (!h.listen()) GTEST_SKIP() << "no IPv6 loopback here";
  std::string me;
  const int fd = connect_from(h, "::1", &me);
  ASSERT_GE(fd, 0);
  h.run_until(1);
  ASSERT_EQ(h.accepted.size(), 1u);
  EXPECT_TRUE(h.accepted[0].had_peer);
  EXPECT_EQ(h.accepted[0].address, me);
  ::close(fd);
}

TEST(PeerAccept, OutOfDescriptorsGoesToLibuvsLoopAndRecovers) {
  Harness h;
  ASSERT_TRUE(h.listen());
  // Three clients wait in the queue while no descriptor is left for an accept.
  std::vector<int> clients;
  for (int i = 0; i < 3; ++i) {
    std::string me;
    clients.push_back(connect_from(h, "127.0.0.1", &me));
    ASSERT_GE(clients.back(), 0);
  }
  rlimit saved{};
  ::getrlimit(RLIMIT_NOFILE, &saved);
  std::vector<int> fillers;  // every descriptor below the limit taken
  rlimit low = saved;
  low.rlim_cur = 256;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
  for (int fd; (fd = ::dup(0)) >= 0;) fillers.push_back(fd);
  h.run_for(std::chrono::milliseconds(300));
  // Still out of descriptors: libuv's loop gave up its spare one to shed the queue, so each
  // client sees its connection closed instead of waiting (or ferry spinning on EMFILE).
  std::vector<bool> shed;
  for (int fd : clients) shed.push_back(closed_by_peer(fd));
  for (int fd : fillers) ::close(fd);
  ::setrlimit(RLIMIT_NOFILE, &saved);
  for (std::size_t i = 0; i < shed.size(); ++i) EXPECT_TRUE(shed[i]) << i;
  for (const Accepted& a : h.accepted) EXPECT_NE(a.status, 0) << "a connection was accepted without a descriptor";
  // With descriptors back, the next connection comes through with its address.
  const std::size_t before = h.accepted.size();
  std::string me;
  const int late = connect_from(h, "127.0.0.9", &me);
  ASSERT_GE(late, 0);
  h.run_until(before + 1);
  ASSERT_EQ(h.accepted.size(), before + 1);
  EXPECT_EQ(h.accepted.back().status, 0);
  EXPECT_TRUE(h.accepted.back().had_peer);
  EXPECT_EQ(h.accepted.back().address, me);
  for (int fd : clients) ::close(fd);
  ::close(late);
}

TEST(PeerAccept, AConnectionLeftUntakenIsClosed) {
  Harness h;
  ASSERT_TRUE(h.listen());
  h.take = Take::Leave;
  std::string me;
  const int fd = connect_from(h, "127.0.0.1", &me);
  ASSERT_GE(fd, 0);
  h.run_until(1);
  ASSERT_EQ(h.accepted.size(), 1u);
  EXPECT_TRUE(closed_by_peer(fd));
  // And the listener goes on.
  h.take = Take::Accept;
  const int next = connect_from(h, "127.0.0.2", &me);
  h.run_until(2);
  ASSERT_EQ(h.accepted.size(), 2u);
  EXPECT_EQ(h.accepted[1].address, me);
  ::close(fd);
  ::close(next);
}

TEST(PeerAccept, ClosingTheListenerInTheCallbackEndsTheLoop) {
  Harness h;
  ASSERT_TRUE(h.listen());
  h.take = Take::CloseListener;
  std::vector<int> clients;
  for (int i = 0; i < 3; ++i) {
    std::string me;
    clients.push_back(connect_from(h, "127.0.0.1", &me));
  }
  h.run_for(std::chrono::milliseconds(300));
  // One callback: the loop stopped at the closed listener instead of accepting on it.
  EXPECT_EQ(h.accepted.size(), 1u);
  for (int fd : clients) ::close(fd);
}

}  // namespace
}  // namespace ferry::proxy
