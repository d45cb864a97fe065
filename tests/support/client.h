// A raw-socket HTTP client for tests: sends exact bytes and reads responses back with a
// minimal parser (Content-Length, chunked, or until close), with a deadline on every read.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ferry::testing {

struct Response {
  int status = 0;
  std::string head;  // status line and headers, raw
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string header(const std::string& name) const;  // case-insensitive, first, or ""
  int count(const std::string& name) const;
};

class Client {
 public:
  explicit Client(uint16_t port, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Connects from `source_ip` (any 127.x.y.z works on Linux loopback), so tests can see how
  // ferry reports client addresses other than 127.0.0.1. An IPv6 `source_ip` connects to that
  // same address, where the test has ferry listen (an address it put on a loopback of its own).
  Client(uint16_t port, const char* source_ip, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const { return fd_ >= 0; }
  int fd() const { return fd_; }  // for tests that look at the socket itself
  bool send(const std::string& bytes);
  void shutdown_write();
  // Reads one response. `head_request`: the response has no body. nullopt on close/timeout.
  std::optional<Response> read_response(bool head_request = false);
  // True if the server closed the connection (EOF) within the timeout with no more bytes.
  bool closed_by_peer();
  // Everything until EOF or timeout.
  std::string read_all();
  // Bytes up to and including `marker` (empty on close/timeout).
  std::string read_until(const std::string& marker);
  std::string buffered() const { return buf_; }

 private:
  // Connects fd_ to `to` (from `from` when not null; both of length `len`), or leaves it -1.
  void open(const sockaddr* from, const sockaddr* to, socklen_t len);
  bool fill();
  int fd_ = -1;
  std::chrono::milliseconds timeout_;
  std::string buf_;
};

// One request on a fresh connection; "GET path HTTP/1.1" with Host and Connection: close.
std::optional<Response> get(uint16_t port, const std::string& path);

}  // namespace ferry::testing
