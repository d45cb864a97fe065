// The client side (HTTPS to backends, and ferry's own tests): one immutable SSL_CTX built
// from a pool's `tls:` settings. Sessions made from it verify the backend's certificate
// against a CA file or the system's trust store and check its name (Session::client), and
// hand new sessions to a ClientSessionCache for resumption.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "proxy/tls/openssl_handles.h"

namespace ferry::proxy::tls {

struct ClientOptions {
  bool verify = true;             // verify the server's chain and name; off only for tests and labs
  std::string ca_file;            // PEM CAs to trust; "": the system's store (ca-certificates)
  std::vector<std::string> alpn;  // offered in this order; empty: no ALPN
  // A client certificate for backends that ask for one (mutual TLS); both or neither.
  std::string cert_file;  // leaf then chain, PEM
  std::string key_file;
};

class ClientContext {
 public:
  struct Built {
    std::shared_ptr<const ClientContext> context;  // null when errors is not empty
    std::vector<std::string> errors;
  };
  // Main thread (reads files). Never throws.
  static Built build(const ClientOptions& options);

  ClientContext(const ClientContext&) = delete;
  ClientContext& operator=(const ClientContext&) = delete;

  // For Session::client, and for settings ferry does not model (tests narrow versions,
  // ciphers or signature algorithms here before the first session is made).
  SSL_CTX* native() const { return ctx_.get(); }
  bool verify() const { return verify_; }

 private:
  ClientContext(SslCtxPtr ctx, bool verify) : ctx_(std::move(ctx)), verify_(verify) {}

  SslCtxPtr ctx_;
  bool verify_;
};

}  // namespace ferry::proxy::tls
