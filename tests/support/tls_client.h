// A blocking TLS client for tests, on OpenSSL directly: it verifies the server against a
// test CA and a name (SNI and host name check), says which certificate it was given, and
// sends requests and reads responses like Client (support/client.h), with a deadline on every
// read and write.
#pragma once

#include <openssl/ssl.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "support/client.h"

namespace ferry::testing {

class TlsClient {
 public:
  // Connects to 127.0.0.1:`port` and completes the handshake, trusting only `ca_file`.
  // `session`: a session to resume (from an earlier client's session()).
  TlsClient(uint16_t port, const std::string& ca_file, const std::string& server_name,
            std::chrono::milliseconds timeout = std::chrono::seconds(10), SSL_SESSION* session = nullptr);
  ~TlsClient();
  TlsClient(const TlsClient&) = delete;
  TlsClient& operator=(const TlsClient&) = delete;

  // The handshake completed and the server's certificate verified.
  bool connected() const { return ssl_ != nullptr && error_.empty(); }
  const std::string& error() const { return error_; }
  // The server certificate's serial number in hex, to tell two certificates apart.
  std::string peer_serial() const;
  bool resumed() const;

  bool send(const std::string& bytes);
  // One response (Content-Length or no body); nullopt on close, timeout or a TLS error.
  std::optional<Response> read_response();

 private:
  bool fill();
  int fd_ = -1;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  std::string error_;
  std::string buf_;
};

}  // namespace ferry::testing
