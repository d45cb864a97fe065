#include "support/fake_backend.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <sstream>
#include <utility>

namespace ferry::testing {

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string openssl_errors(const std::string& what) {
  std::string out = what;
  char buf[256];
  while (const unsigned long e = ERR_get_error()) {
    ERR_error_string_n(e, buf, sizeof buf);
    out += ": ";
    out += buf;
  }
  return out;
}

}  // namespace

std::string Request::header(const std::string& name) const {
  const std::string wanted = lower(name);
  for (const auto& [k, v] : headers)
    if (lower(k) == wanted) return v;
  return "";
}

int Request::count(const std::string& name) const {
  const std::string wanted = lower(name);
  int n = 0;
  for (const auto& [k, v] : headers) n += lower(k) == wanted ? 1 : 0;
  return n;
}

bool BackendConn::send(const std::string& bytes) {
  if (ssl_ != nullptr) {
    std::size_t written = 0;
    return bytes.empty() || (SSL_write_ex(ssl_, bytes.data(), bytes.size(), &written) == 1 && written == bytes.size());
  }
  std::size_t off = 0;
  while (off < bytes.size()) {
    const ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<std::size_t>(n);
  }
  return true;
}

bool BackendConn::read_some(std::string& buf) {
  char tmp[65536];
  if (ssl_ != nullptr) {
    std::size_t n = 0;
    if (SSL_read_ex(ssl_, tmp, sizeof tmp, &n) != 1) return false;
    buf.append(tmp, n);
    return true;
  }
  const ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
  if (n <= 0) return false;
  buf.append(tmp, static_cast<std::size_t>(n));
  return true;
}

void BackendConn::close_now() { ::shutdown(fd_, SHUT_RDWR); }

void BackendConn::reset_now() {
  linger l{1, 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  ::shutdown(fd_, SHUT_RDWR);
}

FakeBackend::FakeBackend(std::string name, const std::string& ip, uint16_t port)
    : name_(std::move(name)), ip_(ip) {
  listen_on(port);
}

FakeBackend::FakeBackend(std::string name, const BackendTls& tls) : name_(std::move(name)), ip_("127.0.0.1") {
  // OpenSSL writes to the socket with write(2): a client that has gone must not kill the test.
  std::signal(SIGPIPE, SIG_IGN);
  tls_ctx_ = SSL_CTX_new(TLS_server_method());
  if (tls_ctx_ == nullptr || SSL_CTX_use_certificate_chain_file(tls_ctx_, tls.cert_file.c_str()) != 1 ||
      SSL_CTX_use_PrivateKey_file(tls_ctx_, tls.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    tls_error_ = openssl_errors("certificate " + tls.cert_file);
  }
  if (tls_ctx_ != nullptr && tls.max_version != 0) SSL_CTX_set_max_proto_version(tls_ctx_, tls.max_version);
  listen_on(0);
}

void FakeBackend::listen_on(uint16_t port) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int on = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  ::inet_pton(AF_INET, ip_.c_str(), &a.sin_addr);
  a.sin_port = htons(port);
  ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::listen(listen_fd_, 512);
  socklen_t len = sizeof a;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
  port_ = ntohs(a.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

FakeBackend::~FakeBackend() { stop(); }

void FakeBackend::stop() {
  if (stopping_.exchange(true)) return;
  ::shutdown(listen_fd_, SHUT_RDWR);
  acceptor_.join();
  {
    std::lock_guard lock(mutex_);
    for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
  }
  for (auto& t : servers_) t.join();
  ::close(listen_fd_);
  if (tls_ctx_ != nullptr) SSL_CTX_free(std::exchange(tls_ctx_, nullptr));
}

void FakeBackend::set_handler(Handler h) {
  std::lock_guard lock(mutex_);
  handler_ = std::move(h);
}

std::string FakeBackend::received() const {
  std::lock_guard lock(mutex_);
  return received_;
}

std::vector<std::string> FakeBackend::tls_server_names() const {
  std::lock_guard lock(mutex_);
  return tls_server_names_;
}

std::vector<Request> FakeBackend::requests_seen() const {
  std::lock_guard lock(mutex_);
  return seen_;
}

void FakeBackend::accept_loop() {
  while (!stopping_) {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (stopping_) return;
      continue;
    }
    if (stopping_) {
      ::close(fd);
      return;
    }
    ++connections_;
    const int on = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    std::lock_guard lock(mutex_);
    open_fds_.push_back(fd);
    servers_.emplace_back([this, fd] { serve(fd); });
  }
}

std::string FakeBackend::pattern(std::size_t n) {
  std::string s(n, '\0');
  uint32_t x = 2463534242u;
  for (std::size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    s[i] = static_cast<char>('a' + x % 26);
  }
  return s;
}

uint64_t FakeBackend::hash(const std::string& s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

std::string FakeBackend::default_response(const std::string& name, const Request& req) {
  std::string body;
  std::string extra;
  bool chunked = false;
  if (req.target.rfind("/size/", 0) == 0) {
    body = pattern(std::stoul(req.target.substr(6)));
  } else if (req.target.rfind("/chunked/", 0) == 0) {
    body = pattern(std::stoul(req.target.substr(9)));
    chunked = true;
  } else if (req.target == "/echo") {
    body = req.body;
    extra = "X-Body-Sha: " + std::to_string(hash(req.body)) + "\r\n";
  } else {
    body = "hello from " + name;
  }
  std::string out = "HTTP/1.1 200 OK\r\nX-Backend: " + name + "\r\n" + extra;
  if (req.method == "HEAD") return out + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  if (!chunked) return out + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  out += "Transfer-Encoding: chunked\r\n\r\n";
  for (std::size_t off = 0; off < body.size(); off += 1000) {
    const std::string piece = body.substr(off, 1000);
    std::ostringstream hex;
    hex << std::hex << piece.size();
    out += hex.str() + "\r\n" + piece + "\r\n";
  }
  return out + "0\r\n\r\n";
}

void FakeBackend::serve(int fd) {
  SSL* ssl = nullptr;
  bool ready = true;
  if (tls_ctx_ != nullptr) {
    ssl = SSL_new(tls_ctx_);
    ready = ssl != nullptr && tls_error_.empty() && SSL_set_fd(ssl, fd) == 1 && SSL_accept(ssl) == 1;
    if (ready) {
      const char* sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
      {
        std::lock_guard lock(mutex_);
        tls_server_names_.emplace_back(sni != nullptr ? sni : "");
      }
      if (SSL_session_reused(ssl) == 1) ++tls_resumed_;
      ++tls_handshakes_;
    } else {
      ++tls_failed_;
    }
    ERR_clear_error();
  }
  if (ready) {
    BackendConn conn(fd, ssl);
    serve_requests(conn);
  }
  if (ssl != nullptr) {
    if (ready) SSL_shutdown(ssl);  // close_notify; the client's is not waited for
    SSL_free(ssl);
    ERR_clear_error();
  }
  ::shutdown(fd, SHUT_RDWR);
  std::lock_guard lock(mutex_);
  open_fds_.erase(std::remove(open_fds_.begin(), open_fds_.end(), fd), open_fds_.end());
  ::close(fd);
}

void FakeBackend::serve_requests(BackendConn& conn) {
  std::string buf;
  while (!stopping_) {
    if (silent_) {
      std::string dropped;
      if (!conn.read_some(dropped)) break;
      continue;
    }
    std::size_t head_end;
    while ((head_end = buf.find("\r\n\r\n")) == std::string::npos) {
      const std::size_t before = buf.size();
      if (!conn.read_some(buf)) return;
      std::lock_guard lock(mutex_);
      received_.append(buf, before, std::string::npos);
    }
    {
      Request req;
      std::istringstream head(buf.substr(0, head_end));
      std::string line;
      std::getline(head, line);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      std::istringstream start(line);
      start >> req.method >> req.target >> req.version;
      while (std::getline(head, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        const std::size_t colon = line.find(':');
        if (colon == std::string::npos) continue;
        std::string value = line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.erase(0, 1);
        req.headers.emplace_back(line.substr(0, colon), value);
      }
      buf.erase(0, head_end + 4);
      Handler early_handler;
      if (early_) {
        {
          std::lock_guard lock(mutex_);
          early_handler = handler_;
        }
        ++requests_;
        if (early_handler) early_handler(conn, req);
      }
      if (lower(req.header("transfer-encoding")) == "chunked") {
        while (true) {
          std::size_t eol;
          while ((eol = buf.find("\r\n")) == std::string::npos) {
            const std::size_t before = buf.size();
            if (!conn.read_some(buf)) return;
            std::lock_guard lock(mutex_);
            received_.append(buf, before, std::string::npos);
          }
          const std::size_t size = std::stoul(buf.substr(0, eol), nullptr, 16);
          while (buf.size() < eol + 2 + size + 2) {
            const std::size_t before = buf.size();
            if (!conn.read_some(buf)) return;
            std::lock_guard lock(mutex_);
            received_.append(buf, before, std::string::npos);
          }
          req.body.append(buf, eol + 2, size);
          buf.erase(0, eol + 2 + size + 2);
          if (size == 0) break;
        }
      } else if (!req.header("content-length").empty()) {
        const std::size_t size = std::stoul(req.header("content-length"));
        while (buf.size() < size) {
          const std::size_t before = buf.size();
          if (!conn.read_some(buf)) return;
          std::lock_guard lock(mutex_);
          received_.append(buf, before, std::string::npos);
        }
        req.body = buf.substr(0, size);
        buf.erase(0, size);
      }
      if (early_) continue;
      ++requests_;
      Handler h;
      {
        std::lock_guard lock(mutex_);
        seen_.push_back(req);
        h = handler_;
      }
      if (h) {
        h(conn, req);
      } else {
        conn.send(default_response(name_, req));
      }
      if (lower(req.header("connection")) == "close") break;
    }
  }
}

}  // namespace ferry::testing
