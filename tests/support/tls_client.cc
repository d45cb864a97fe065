#include "support/tls_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdlib>
#include <string_view>

namespace ferry::testing {

namespace {

std::string openssl_error(const char* what) {
  std::string out = what;
  char buf[256];
  while (const unsigned long e = ERR_get_error()) {
    ERR_error_string_n(e, buf, sizeof buf);
    out += ": ";
    out += buf;
  }
  return out;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  return s;
}

}  // namespace

TlsClient::TlsClient(uint16_t port, const std::string& ca_file, const std::string& server_name,
                     std::chrono::milliseconds timeout, SSL_SESSION* session) {
  fd_ = socket(AF_INET, SOCK_STREAM, 0);
  if (fd_ < 0) {
    error_ = "socket";
    return;
  }
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    error_ = "connect";
    return;
  }
  ctx_ = SSL_CTX_new(TLS_client_method());
  if (ctx_ == nullptr || SSL_CTX_load_verify_locations(ctx_, ca_file.c_str(), nullptr) != 1) {
    error_ = openssl_error("CA file");
    return;
  }
  SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
  SSL_CTX_set_session_cache_mode(ctx_, SSL_SESS_CACHE_CLIENT);
  ssl_ = SSL_new(ctx_);
  SSL_set_fd(ssl_, fd_);
  SSL_set_tlsext_host_name(ssl_, server_name.c_str());
  SSL_set1_host(ssl_, server_name.c_str());
  if (session != nullptr) SSL_set_session(ssl_, session);
  if (SSL_connect(ssl_) != 1) error_ = openssl_error("handshake");
}

TlsClient::~TlsClient() {
  if (ssl_ != nullptr) SSL_free(ssl_);
  if (ctx_ != nullptr) SSL_CTX_free(ctx_);
  if (fd_ >= 0) close(fd_);
}

std::string TlsClient::peer_serial() const {
  if (!connected()) return {};
  X509* cert = SSL_get1_peer_certificate(ssl_);
  if (cert == nullptr) return {};
  BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr);
  char* hex = bn != nullptr ? BN_bn2hex(bn) : nullptr;
  std::string out = hex != nullptr ? hex : "";
  OPENSSL_free(hex);
  BN_free(bn);
  X509_free(cert);
  return out;
}

bool TlsClient::resumed() const { return connected() && SSL_session_reused(ssl_) == 1; }

bool TlsClient::send(const std::string& bytes) {
  if (!connected()) return false;
  return bytes.empty() || SSL_write(ssl_, bytes.data(), static_cast<int>(bytes.size())) == static_cast<int>(bytes.size());
}

bool TlsClient::fill() {
  char chunk[16384];
  const int n = SSL_read(ssl_, chunk, sizeof chunk);
  if (n <= 0) return false;
  buf_.append(chunk, static_cast<std::size_t>(n));
  return true;
}

std::optional<Response> TlsClient::read_response() {
  if (!connected()) return std::nullopt;
  std::size_t end;
  while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
    if (!fill()) return std::nullopt;
  }
  Response r;
  r.head = buf_.substr(0, end + 2);
  buf_.erase(0, end + 4);
  const std::size_t sp = r.head.find(' ');
  if (sp == std::string::npos) return std::nullopt;
  r.status = std::atoi(r.head.c_str() + sp + 1);
  std::size_t pos = r.head.find("\r\n") + 2;
  std::size_t length = 0;
  while (pos < r.head.size()) {
    const std::size_t eol = r.head.find("\r\n", pos);
    const std::string line = r.head.substr(pos, eol - pos);
    pos = eol + 2;
    const std::size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    r.headers.emplace_back(line.substr(0, colon), value);
    if (lower(line.substr(0, colon)) == "content-length") length = std::strtoull(value.c_str(), nullptr, 10);
  }
  while (buf_.size() < length) {
    if (!fill()) return std::nullopt;
  }
  r.body = buf_.substr(0, length);
  buf_.erase(0, length);
  return r;
}

}  // namespace ferry::testing
