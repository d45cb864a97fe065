#include "proxy/lifecycle/systemd_notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>

#include "proxy/admin/log.h"

namespace ferry::proxy::lifecycle {

bool notify_systemd(std::string_view message, std::string* error) {
  const char* path = std::getenv("NOTIFY_SOCKET");
  if (path == nullptr || path[0] == '\0') return true;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::size_t len = std::strlen(path);
  if (len >= sizeof addr.sun_path || (path[0] != '/' && path[0] != '@')) {
    *error = std::string("NOTIFY_SOCKET \"") + path + "\" is neither a path nor @abstract";
    return false;
  }
  std::memcpy(addr.sun_path, path, len);
  if (path[0] == '@') addr.sun_path[0] = '\0';  // the abstract namespace
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *error = std::string("socket: ") + std::strerror(errno);
    return false;
  }
  const auto addr_len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len);
  const ssize_t sent = ::sendto(fd, message.data(), message.size(), MSG_NOSIGNAL,
                                reinterpret_cast<const sockaddr*>(&addr), addr_len);
  const int err = errno;
  ::close(fd);
  if (sent != static_cast<ssize_t>(message.size())) {
    *error = std::string("sendto ") + path + ": " + std::strerror(err);
    return false;
  }
  return true;
}

void notify_systemd(std::string_view message) {
  std::string error;
  if (!notify_systemd(message, &error)) log_error("systemd notification failed: %s", error.c_str());
}

}  // namespace ferry::proxy::lifecycle
