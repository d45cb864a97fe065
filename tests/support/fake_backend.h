// A real HTTP/1.1 server on 127.0.0.1, port 0, one thread per connection, for integration
// tests. It records every byte it receives and counts connections and requests, and answers by
// path unless a test installs its own handler:
//   /size/N      N bytes of a deterministic pattern, Content-Length
//   /chunked/N   N bytes, Transfer-Encoding: chunked, in 1000-byte chunks
//   /echo        the request body back (Content-Length), X-Body-Sha: a hash of it
//   anything     "hello from NAME"
// Every response carries X-Backend: NAME.
// Given a certificate it speaks HTTPS instead (OpenSSL, blocking, a server session cache and
// tickets on, as OpenSSL sets them by default), and counts full, resumed and failed handshakes.
#pragma once

#include <openssl/ssl.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace ferry::testing {

struct Request {
  std::string method;
  std::string target;
  std::string version;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string header(const std::string& name) const;  // case-insensitive, first, or ""
  int count(const std::string& name) const;           // how many lines carry this name
};

class BackendConn {
 public:
  explicit BackendConn(int fd, SSL* ssl = nullptr) : fd_(fd), ssl_(ssl) {}
  bool send(const std::string& bytes);
  // Appends what arrives next (decrypted over TLS); false on EOF or an error.
  bool read_some(std::string& buf);
  void close_now();  // close without a response (over TLS: without close_notify)
  void reset_now();  // RST (SO_LINGER 0)
  int fd() const { return fd_; }

 private:
  int fd_;
  SSL* ssl_;  // null: plain HTTP
};

// The certificate an HTTPS FakeBackend serves: PEM files, the leaf then its chain, and its key.
struct BackendTls {
  std::string cert_file;
  std::string key_file;
  int max_version = 0;  // TLS1_2_VERSION pins TLS 1.2; 0: OpenSSL's highest (1.3)
};

class FakeBackend {
 public:
  using Handler = std::function<void(BackendConn&, const Request&)>;

  explicit FakeBackend(std::string name, const std::string& ip = "127.0.0.1", uint16_t port = 0);
  // An HTTPS backend on 127.0.0.1:0. If the files do not load, tls_error() says why and every
  // connection is closed at once.
  FakeBackend(std::string name, const BackendTls& tls);
  ~FakeBackend();
  FakeBackend(const FakeBackend&) = delete;
  FakeBackend& operator=(const FakeBackend&) = delete;

  uint16_t port() const { return port_; }
  std::string address() const { return ip_ + ":" + std::to_string(port_); }
  const std::string& name() const { return name_; }
  void set_handler(Handler h);
  // Accept connections but never read or answer (a silent backend).
  void set_silent(bool silent) { silent_ = silent; }
  // Call the handler as soon as the head arrives, then read and drop the body.
  void set_respond_before_body(bool early) { early_ = early; }

  int connections() const { return connections_.load(); }
  int requests() const { return requests_.load(); }
  // HTTPS only: handshakes completed (and of those, resumed) and failed.
  int tls_handshakes() const { return tls_handshakes_.load(); }
  int tls_resumed() const { return tls_resumed_.load(); }
  int tls_failed() const { return tls_failed_.load(); }
  const std::string& tls_error() const { return tls_error_; }
  // The SNI name of each completed handshake, in order ("" when the client sent none).
  std::vector<std::string> tls_server_names() const;
  std::string received() const;  // every byte received, all connections
  std::vector<Request> requests_seen() const;
  void stop();

  static std::string default_response(const std::string& name, const Request& req);
  static std::string pattern(std::size_t n);  // deterministic bytes
  static uint64_t hash(const std::string& s);  // FNV-1a

 private:
  void listen_on(uint16_t port);
  void accept_loop();
  void serve(int fd);
  void serve_requests(BackendConn& conn);

  std::string name_;
  std::string ip_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> silent_{false};
  std::atomic<bool> early_{false};
  std::atomic<int> connections_{0};
  std::atomic<int> requests_{0};
  std::atomic<int> tls_handshakes_{0};
  std::atomic<int> tls_resumed_{0};
  std::atomic<int> tls_failed_{0};
  SSL_CTX* tls_ctx_ = nullptr;  // HTTPS backends; set before the acceptor starts
  std::string tls_error_;
  std::vector<std::string> tls_server_names_;  // guarded by mutex_
  mutable std::mutex mutex_;
  Handler handler_;
  std::string received_;
  std::vector<Request> seen_;
  std::vector<int> open_fds_;
  std::thread acceptor_;
  std::vector<std::thread> servers_;
};

}  // namespace ferry::testing
