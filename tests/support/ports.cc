#include "support/ports.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace ferry::testing {

namespace {

// A socket bound to a port on 127.0.0.1 the kernel picks; its fd, and the port in `port`.
int bind_any_port(uint16_t* port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin_port);
  return fd;
}

}  // namespace

uint16_t free_port() {
  uint16_t port = 0;
  ::close(bind_any_port(&port));
  return port;
}

std::string refused_address() {
  // Bound and never listened on, and kept open until the test binary exits: a connect gets
  // a reset, and no other test (ctest runs several at once) can take the port meanwhile and
  // answer, as it could a port that was merely free a moment ago.
  uint16_t port = 0;
  (void)bind_any_port(&port);
  return "127.0.0.1:" + std::to_string(port);
}

}  // namespace ferry::testing
