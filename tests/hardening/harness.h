// Helpers the hardening tests share: waiting on conditions with a deadline, a backend that can
// be stopped and started again on the same port, a strict re-parse of what a backend received,
// and the process's own memory and CPU time (ferry runs in-process).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "proxy/http1/http_parser.h"
#include "support/wait.h"

namespace ferry::testing {

using namespace std::chrono_literals;

// Resident memory of this process (ferry included), in KiB.
inline long vm_rss_kib() {
  FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return -1;
  char line[256];
  long kib = -1;
  while (std::fgets(line, sizeof line, f) != nullptr) {
    if (std::strncmp(line, "VmRSS:", 6) == 0) {
      kib = std::strtol(line + 6, nullptr, 10);
      break;
    }
  }
  std::fclose(f);
  return kib;
}

// User + system CPU time this process has used, in seconds.
inline double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

inline sockaddr_in loopback(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  return a;
}

// A blocking TCP connection to 127.0.0.1:port, or -1.
inline int connect_to(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in a = loopback(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

inline bool send_all(int fd, const std::string& bytes) {
  std::size_t off = 0;
  while (off < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<std::size_t>(n);
  }
  return true;
}

// Everything `fd` receives until EOF, an error, or `limit` passes.
inline std::string read_until_close(int fd, std::chrono::milliseconds limit, bool* closed = nullptr) {
  std::string out;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  if (closed != nullptr) *closed = false;
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return out;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return out;
    char buf[65536];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      if (closed != nullptr) *closed = true;
      return out;
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
}

// A small HTTP server on a port that stays the same across stop() and start(), for backends
// that go away and come back. Answers every request with "hello from NAME" (Content-Length)
// and X-Backend: NAME; /health answers `health_status`.
class RestartableBackend {
 public:
  explicit RestartableBackend(std::string name) : name_(std::move(name)) {
    // Take a free port once; SO_REUSEADDR lets every start() bind it again at once.
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a = loopback(0);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    ::close(fd);
  }
  ~RestartableBackend() { stop(); }
  RestartableBackend(const RestartableBackend&) = delete;
  RestartableBackend& operator=(const RestartableBackend&) = delete;

  uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::atomic<int> health_status{200};
  std::atomic<int> requests{0};
  std::atomic<int> starts{0};

  // False if the port could not be bound again.
  bool start() {
    std::lock_guard lock(mutex_);
    if (listen_fd_ >= 0) return true;
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int on = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    sockaddr_in a = loopback(port_);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 128) != 0) {
      ::close(fd);
      return false;
    }
    listen_fd_ = fd;
    stopping_ = false;
    ++starts;
    acceptor_ = std::thread([this, fd] { accept_loop(fd); });
    return true;
  }

  // Closes the listener and every connection (in-flight requests die with them).
  void stop() {
    std::vector<std::thread> servers;
    {
      std::lock_guard lock(mutex_);
      if (listen_fd_ < 0) return;
      stopping_ = true;
      ::shutdown(listen_fd_, SHUT_RDWR);
      for (int fd : conns_) ::shutdown(fd, SHUT_RDWR);
    }
    acceptor_.join();
    {
      std::lock_guard lock(mutex_);
      servers.swap(servers_);
    }
    for (auto& t : servers) t.join();
    std::lock_guard lock(mutex_);
    ::close(listen_fd_);
    listen_fd_ = -1;
  }

 private:
  void accept_loop(int listen_fd) {
    while (true) {
      const int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
      std::lock_guard lock(mutex_);
      if (fd < 0 || stopping_) {
        if (fd >= 0) ::close(fd);
        if (stopping_) return;
        continue;
      }
      const int on = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
      conns_.push_back(fd);
      servers_.emplace_back([this, fd] { serve(fd); });
    }
  }

  void serve(int fd) {
    std::string buf;
    char tmp[16384];
    while (true) {
      std::size_t end;
      while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
        const ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
        if (n <= 0) goto done;
        buf.append(tmp, static_cast<std::size_t>(n));
      }
      {
        // Bodies are not expected here: requests are GETs.
        const std::string head = buf.substr(0, end);
        buf.erase(0, end + 4);
        std::string response;
        if (head.rfind("GET /health ", 0) == 0) {
          response = "HTTP/1.1 " + std::to_string(health_status.load()) + " X\r\nContent-Length: 0\r\n\r\n";
        } else {
          ++requests;
          const std::string body = "hello from " + name_;
          response = "HTTP/1.1 200 OK\r\nX-Backend: " + name_ + "\r\nContent-Length: " +
                     std::to_string(body.size()) + "\r\n\r\n" + body;
        }
        if (!send_all(fd, response)) goto done;
      }
    }
  done:
    std::lock_guard lock(mutex_);
    for (auto it = conns_.begin(); it != conns_.end(); ++it) {
      if (*it == fd) {
        conns_.erase(it);
        break;
      }
    }
    ::close(fd);
  }

  std::string name_;
  uint16_t port_ = 0;
  std::mutex mutex_;
  int listen_fd_ = -1;
  bool stopping_ = false;
  std::thread acceptor_;
  std::vector<std::thread> servers_;
  std::vector<int> conns_;
};

// The requests in `bytes` (what a backend received), read by a fresh strict parser. `clean`:
// every byte belongs to a complete, valid request.
struct ParsedRequests {
  struct One {
    std::string method;
    std::string target;
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
    int count(std::string_view name) const {
      int n = 0;
      for (const auto& [k, v] : headers)
        if (proxy::iequals(k, name)) ++n;
      return n;
    }
  };
  std::vector<One> requests;
  bool clean = false;
};

inline ParsedRequests parse_requests(const std::string& bytes) {
  class Sink final : public proxy::HttpParser::Sink {
   public:
    std::vector<ParsedRequests::One>* out = nullptr;
    int on_head(proxy::MessageHead& h) override {
      ParsedRequests::One one;
      one.method = llhttp_method_name(static_cast<llhttp_method_t>(h.method));
      one.target = std::string(h.view(h.url));
      for (const auto& f : h.fields) one.headers.emplace_back(std::string(h.name(f)), std::string(h.value(f)));
      out->push_back(std::move(one));
      return 0;
    }
    int on_body(const char* d, std::size_t n) override {
      out->back().body.append(d, n);
      return 0;
    }
    int on_message_end() override { return 0; }
  };
  ParsedRequests result;
  Sink sink;
  sink.out = &result.requests;
  proxy::HttpParser parser(proxy::HttpParser::Kind::Request, sink, 1 << 20);
  std::size_t pos = 0;
  while (pos < bytes.size()) {
    std::size_t used = 0;
    const auto s = parser.feed(bytes.data() + pos, bytes.size() - pos, &used);
    pos += used;
    if (s == proxy::HttpParser::Status::MessageDone) {
      parser.next_message();
      continue;
    }
    if (s != proxy::HttpParser::Status::Ok) return result;  // clean stays false
  }
  result.clean = !parser.message_started();
  return result;
}

}  // namespace ferry::testing
