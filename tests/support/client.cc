#include "support/client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <string_view>

namespace ferry::testing {

namespace {
std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}
}  // namespace

std::string Response::header(const std::string& name) const {
  const std::string wanted = lower(name);
  for (const auto& [k, v] : headers)
    if (lower(k) == wanted) return v;
  return "";
}

int Response::count(const std::string& name) const {
  const std::string wanted = lower(name);
  return static_cast<int>(std::count_if(headers.begin(), headers.end(),
                                        [&](const auto& kv) { return lower(kv.first) == wanted; }));
}

Client::Client(uint16_t port, std::chrono::milliseconds timeout) : Client(port, nullptr, timeout) {}

Client::Client(uint16_t port, const char* source_ip, std::chrono::milliseconds timeout) : timeout_(timeout) {
  if (source_ip != nullptr && std::string_view(source_ip).find(':') != std::string_view::npos) {
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    if (::inet_pton(AF_INET6, source_ip, &a.sin6_addr) != 1) return;
    sockaddr_in6 to = a;
    to.sin6_port = htons(port);
    open(reinterpret_cast<sockaddr*>(&a), reinterpret_cast<sockaddr*>(&to), sizeof a);
    return;
  }
  sockaddr_in from{};
  from.sin_family = AF_INET;
  if (source_ip != nullptr && ::inet_pton(AF_INET, source_ip, &from.sin_addr) != 1) return;
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  to.sin_port = htons(port);
  open(source_ip != nullptr ? reinterpret_cast<sockaddr*>(&from) : nullptr, reinterpret_cast<sockaddr*>(&to),
       sizeof to);
}

void Client::open(const sockaddr* from, const sockaddr* to, socklen_t len) {
  fd_ = ::socket(to->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if ((from != nullptr && ::bind(fd_, from, len) != 0) || ::connect(fd_, to, len) != 0) {
    ::close(fd_);
    fd_ = -1;
    return;
  }
  const int on = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
}

Client::~Client() {
  if (fd_ >= 0) ::close(fd_);
}

bool Client::send(const std::string& bytes) {
  std::size_t off = 0;
  while (off < bytes.size()) {
    const ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<std::size_t>(n);
  }
  return true;
}

void Client::shutdown_write() { ::shutdown(fd_, SHUT_WR); }

bool Client::fill() {
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(timeout_.count())) <= 0) return false;
  char tmp[65536];
  const ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
  if (n <= 0) return false;
  buf_.append(tmp, static_cast<std::size_t>(n));
  return true;
}

std::optional<Response> Client::read_response(bool head_request) {
  while (true) {
    std::size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill()) return std::nullopt;
    }
    Response r;
    r.head = buf_.substr(0, end + 4);
    buf_.erase(0, end + 4);
    if (r.head.size() < 12) return std::nullopt;
    r.status = std::stoi(r.head.substr(9, 3));
    std::size_t pos = r.head.find("\r\n") + 2;
    while (pos < end) {
      const std::size_t eol = r.head.find("\r\n", pos);
      const std::string line = r.head.substr(pos, eol - pos);
      const std::size_t colon = line.find(':');
      if (colon != std::string::npos) {
        std::string v = line.substr(colon + 1);
        while (!v.empty() && v.front() == ' ') v.erase(0, 1);
        r.headers.emplace_back(line.substr(0, colon), v);
      }
      pos = eol + 2;
    }
    if (r.status >= 100 && r.status < 200 && r.status != 101) continue;  // interim: read on
    if (head_request || r.status == 204 || r.status == 304 || r.status == 101) return r;
    if (lower(r.header("transfer-encoding")) == "chunked") {
      while (true) {
        std::size_t eol;
        while ((eol = buf_.find("\r\n")) == std::string::npos)
          if (!fill()) return std::nullopt;
        const std::size_t size = std::stoul(buf_.substr(0, eol), nullptr, 16);
        while (buf_.size() < eol + 2 + size + 2)
          if (!fill()) return std::nullopt;
        r.body.append(buf_, eol + 2, size);
        buf_.erase(0, eol + 2 + size + 2);
        if (size == 0) break;
      }
      return r;
    }
    if (!r.header("content-length").empty()) {
      const std::size_t size = std::stoul(r.header("content-length"));
      while (buf_.size() < size)
        if (!fill()) return std::nullopt;
      r.body = buf_.substr(0, size);
      buf_.erase(0, size);
      return r;
    }
    while (fill()) {
    }
    r.body = std::move(buf_);
    buf_.clear();
    return r;
  }
}

bool Client::closed_by_peer() {
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(timeout_.count())) <= 0) return false;
  char tmp[4096];
  const ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
  if (n > 0) buf_.append(tmp, static_cast<std::size_t>(n));
  return n <= 0;
}

std::string Client::read_all() {
  while (fill()) {
  }
  std::string out = std::move(buf_);
  buf_.clear();
  return out;
}

std::string Client::read_until(const std::string& marker) {
  std::size_t at;
  while ((at = buf_.find(marker)) == std::string::npos)
    if (!fill()) return "";
  std::string out = buf_.substr(0, at + marker.size());
  buf_.erase(0, at + marker.size());
  return out;
}

std::optional<Response> get(uint16_t port, const std::string& path) {
  Client c(port);
  if (!c.connected()) return std::nullopt;
  c.send("GET " + path + " HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
  return c.read_response();
}

}  // namespace ferry::testing
