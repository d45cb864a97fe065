#include "proxy/core/listen_socket.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "config/address.h"

namespace ferry::proxy {

namespace {

constexpr int kBacklog = 511;

socklen_t length_of(const sockaddr_storage& a) {
  return a.ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
}

void set_port(sockaddr_storage& a, uint16_t port) {
  if (a.ss_family == AF_INET6) {
    reinterpret_cast<sockaddr_in6*>(&a)->sin6_port = htons(port);
  } else {
    reinterpret_cast<sockaddr_in*>(&a)->sin_port = htons(port);
  }
}

int open_one(const sockaddr_storage& address, std::string* error) {
  const int fd = ::socket(address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *error = std::string("socket: ") + std::strerror(errno);
    return -1;
  }
  const int on = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  if (::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) != 0) {
    *error = std::string("SO_REUSEPORT: ") + std::strerror(errno);
    ::close(fd);
    return -1;
  }
  if (address.ss_family == AF_INET6) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
  set_no_delay(fd);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&address), length_of(address)) != 0 ||
      ::listen(fd, kBacklog) != 0) {
    *error = std::strerror(errno);
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

void set_no_delay(int fd) {
  const int on = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
}

std::vector<int> bind_listeners(const sockaddr_storage& address, unsigned count, uint16_t* port,
                                std::string* error) {
  std::vector<int> fds;
  sockaddr_storage a = address;
  for (unsigned i = 0; i < count; ++i) {
    const int fd = open_one(a, error);
    if (fd < 0) {
      for (int f : fds) ::close(f);
      return {};
    }
    if (i == 0) {
      sockaddr_storage bound{};
      socklen_t len = sizeof bound;
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
      set_port(a, config::port_of(bound));
      *port = config::port_of(bound);
    }
    fds.push_back(fd);
  }
  return fds;
}

}  // namespace ferry::proxy
