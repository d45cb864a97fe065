// The server context of a TLS listener whose certificate is not in a file but handed over at
// run time (ACME): whoever obtains a certificate publishes it here, and every new connection,
// on any worker, takes the latest. Connections already open keep the context they started
// with (a Session holds a reference), so a swap drops nothing and needs no reload.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "proxy/tls/certificates.h"
#include "proxy/tls/server_context.h"

namespace ferry::proxy::tls {

class PublishedContext {
 public:
  // `options`: the listener's policy, ALPN, tickets and client CA. Until the first publish,
  // current() refuses every handshake (ServerContext::refusing).
  explicit PublishedContext(ServerOptions options);

  // Any thread (it builds the SSL_CTXs, so not a worker's). Serves `set` to new connections
  // from now on. On errors (returned, one line each) the previous context stays.
  std::vector<std::string> publish(std::shared_ptr<const CertificateSet> set);

  // Any thread; one atomic load per new connection. Never null once constructed, unless even
  // the refusing context could not be built (out of memory).
  std::shared_ptr<const ServerContext> current() const { return current_.load(std::memory_order_acquire); }
  bool has_certificate() const { return has_certificate_.load(std::memory_order_acquire); }

 private:
  const ServerOptions options_;
  std::atomic<std::shared_ptr<const ServerContext>> current_;  // stored by publish, read by workers
  std::atomic<bool> has_certificate_{false};
};

}  // namespace ferry::proxy::tls
