// Listening sockets, bound by ferry or taken over from systemd's socket activation: both must
// have TCP_NODELAY, which every accepted client connection inherits from them.
#include "proxy/core/listen_socket.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "proxy/core/server.h"
#include "proxy/lifecycle/inherited_sockets.h"
#include "support/client.h"
#include "support/fake_backend.h"
#include "support/proxy_fixture.h"

namespace ferry::testing {
namespace {

bool no_delay(int fd) {
  int on = 0;
  socklen_t len = sizeof on;
  return ::getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, &len) == 0 && on != 0;
}

TEST(ListenSocket, SocketsFerryBindsHaveTcpNoDelay) {
  sockaddr_storage address{};
  auto& sin = reinterpret_cast<sockaddr_in&>(address);
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  uint16_t port = 0;
  std::string error;
  const std::vector<int> fds = proxy::bind_listeners(address, 2, &port, &error);
  ASSERT_EQ(fds.size(), 2u) << error;
  for (int fd : fds) {
    EXPECT_TRUE(no_delay(fd));
    ::close(fd);
  }
}

TEST(ListenSocket, AnInheritedSocketGetsTcpNoDelay) {
  // As systemd-socket-activate binds it: no TCP_NODELAY, so without ferry setting it every
  // accepted connection would have Nagle on, and a response's small last write would wait for
  // the client's delayed ACK.
  FakeBackend b("b");
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(fd, 16), 0);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
  ASSERT_FALSE(no_delay(fd));
  const int probe = ::dup(fd);  // the same socket, still ours once the server owns `fd`
  const std::string listen = "127.0.0.1:" + std::to_string(ntohs(a.sin_port));

  config::Config cfg = test_config({b.address()});
  cfg.listen = {listen};
  proxy::Server server(cfg);
  proxy::lifecycle::InheritedSocket inherited;
  inherited.fd = fd;
  std::memcpy(&inherited.address, &a, sizeof a);
  server.inherit(proxy::lifecycle::InheritedSockets({inherited}, "systemd socket activation"));
  std::string error;
  ASSERT_TRUE(server.start(&error)) << error;
  EXPECT_TRUE(no_delay(probe)) << "the inherited listening socket kept Nagle on";
  const auto r = get(ntohs(a.sin_port), "/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << "the inherited socket is the one serving";
  server.drain();
  server.wait();
  ::close(probe);
}

}  // namespace
}  // namespace ferry::testing
