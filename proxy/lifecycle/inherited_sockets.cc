#include "proxy/lifecycle/inherited_sockets.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>

#include "config/address.h"

namespace ferry::proxy::lifecycle {

namespace {

constexpr int kSystemdFirstFd = 3;  // SD_LISTEN_FDS_START

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

bool parse_int(std::string_view s, int* out) {
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size();
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  if (s.empty()) return parts;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == sep) {
      parts.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return parts;
}

// Checks `fd` is a listening stream socket and fills its address; "" or why not.
std::string describe(int fd, InheritedSocket* out) {
  int listening = 0;
  socklen_t len = sizeof listening;
  if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0) {
    return "descriptor " + std::to_string(fd) + " is not a socket (" + std::strerror(errno) + ")";
  }
  if (listening == 0) return "descriptor " + std::to_string(fd) + " is a socket that is not listening";
  socklen_t alen = sizeof out->address;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&out->address), &alen) != 0) {
    return "descriptor " + std::to_string(fd) + ": getsockname: " + std::strerror(errno);
  }
  if (out->address.ss_family != AF_INET && out->address.ss_family != AF_INET6) {
    return "descriptor " + std::to_string(fd) + " is not a TCP socket (ferry listens on TCP only)";
  }
  ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  out->fd = fd;
  return "";
}

bool is_wildcard(const sockaddr_storage& a) {
  if (a.ss_family == AF_INET) return reinterpret_cast<const sockaddr_in&>(a).sin_addr.s_addr == htonl(INADDR_ANY);
  const auto& a6 = reinterpret_cast<const sockaddr_in6&>(a);
  return std::memcmp(&a6.sin6_addr, &in6addr_any, sizeof in6addr_any) == 0;
}

}  // namespace

bool same_listen_address(const sockaddr_storage& a, const sockaddr_storage& b) {
  if (config::port_of(a) != config::port_of(b)) return false;
  if (is_wildcard(a) && is_wildcard(b)) return true;
  return config::to_string(a) == config::to_string(b);
}

InheritedSockets InheritedSockets::from_environment(std::string* error) {
  std::vector<InheritedSocket> sockets;
  std::string source;
  const std::string upgrade = env_or_empty(kUpgradeSocketsVariable);
  const std::string systemd_count = env_or_empty("LISTEN_FDS");
  const std::string systemd_pid = env_or_empty("LISTEN_PID");
  const std::string systemd_names = env_or_empty("LISTEN_FDNAMES");
  for (const char* v : {kUpgradeSocketsVariable, "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES"}) ::unsetenv(v);

  if (!upgrade.empty()) {
    source = "upgrade";
    for (std::string_view entry : split(upgrade, ';')) {
      const std::size_t eq = entry.find('=');
      InheritedSocket s;
      int fd = -1;
      if (eq == std::string_view::npos || !parse_int(entry.substr(0, eq), &fd) || fd < 0) {
        *error = std::string(kUpgradeSocketsVariable) + ": \"" + std::string(entry) + "\" is not FD=NAME";
        return InheritedSockets();
      }
      if (std::string why = describe(fd, &s); !why.empty()) {
        *error = std::string(kUpgradeSocketsVariable) + ": " + why;
        return InheritedSockets();
      }
      s.name = std::string(entry.substr(eq + 1));
      sockets.push_back(std::move(s));
    }
  } else if (!systemd_count.empty()) {
    // Meant for this process only when LISTEN_PID names it (a child of a socket-activated
    // service inherits the variables but not the right to the sockets).
    int pid = 0;
    int count = 0;
    if (!parse_int(systemd_pid, &pid) || pid != ::getpid()) return InheritedSockets();
    if (!parse_int(systemd_count, &count) || count < 0) {
      *error = "LISTEN_FDS: \"" + systemd_count + "\" is not a count of descriptors";
      return InheritedSockets();
    }
    source = "systemd socket activation";
    const std::vector<std::string_view> names = split(systemd_names, ':');
    for (int i = 0; i < count; ++i) {
      InheritedSocket s;
      if (std::string why = describe(kSystemdFirstFd + i, &s); !why.empty()) {
        *error = "socket activation: " + why;
        return InheritedSockets();
      }
      // systemd names a socket after its unit unless FileDescriptorName= says otherwise; that
      // default name means nothing to ferry, which then matches by address.
      if (static_cast<std::size_t>(i) < names.size()) s.name = std::string(names[static_cast<std::size_t>(i)]);
      sockets.push_back(std::move(s));
    }
  }
  return InheritedSockets(std::move(sockets), std::move(source));
}

std::vector<int> InheritedSockets::take(std::string_view name, const sockaddr_storage& address) {
  std::vector<int> fds;
  auto take_where = [&](auto matches) {
    for (InheritedSocket& s : sockets_) {
      if (s.fd < 0 || !matches(s)) continue;
      fds.push_back(s.fd);
      s.fd = -1;
    }
  };
  take_where([&](const InheritedSocket& s) { return !name.empty() && s.name == name; });
  if (fds.empty()) take_where([&](const InheritedSocket& s) { return same_listen_address(s.address, address); });
  return fds;
}

std::vector<std::string> InheritedSockets::close_rest() {
  std::vector<std::string> closed;
  for (InheritedSocket& s : sockets_) {
    if (s.fd < 0) continue;
    closed.push_back("descriptor " + std::to_string(s.fd) + " (" + config::to_string(s.address) +
                     (s.name.empty() ? "" : ", named " + s.name) + ")");
    ::close(s.fd);
    s.fd = -1;
  }
  return closed;
}

}  // namespace ferry::proxy::lifecycle
