// ferry in-process with an acme section, for the ACME tests: a plain listener on a port the
// test names up front (the CA's HTTP-01 requests go there), a TLS listener without
// certificates on port 0, one fake backend, storage in a temporary directory.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "proxy/core/server.h"

namespace ferry::testing {

struct AcmeSetup {
  uint16_t http_port = 0;
  std::string directory;
  std::string ca_bundle;
  std::string storage;
  std::string backend;        // host:port
  std::string extra_yaml;     // appended at the top level (routes, ...)
};

// A clock for the ACME thread that a test moves forward.
struct TestClock {
  std::atomic<int64_t> offset{0};
  int64_t now() const;
};

class AcmeFerry {
 public:
  // Starts at once; started() and error() say how it went. `clock`: null for the real one.
  AcmeFerry(const AcmeSetup& setup, TestClock* clock = nullptr, proxy::acme::HttpLimits limits = {});
  ~AcmeFerry();

  bool started() const { return started_; }
  const std::string& error() const { return error_; }
  proxy::Server& server() { return *server_; }
  uint16_t http_port() const { return server_->listen_ports().at(0); }
  uint16_t tls_port() const { return server_->listen_ports().at(1); }
  // ferry_acme_orders_total{result=...}.
  double orders(bool success) const;
  std::string backends_json() const { return server_->collector()->render_backends_json(); }
  double failed_handshakes() const;
  void stop();

 private:
  std::unique_ptr<proxy::Server> server_;
  bool started_ = false;
  std::string error_;
};

// The serial of the certificate the TLS port serves to `name`, verified against `root`;
// "" when the handshake or the verification fails.
std::string served_serial(uint16_t tls_port, const std::string& root, const std::string& name);

}  // namespace ferry::testing
