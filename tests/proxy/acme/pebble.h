// Debian's pebble (a test ACME CA) on loopback for one test, with pebble-challtestsrv as its
// DNS server answering every name with 127.0.0.1, so HTTP-01 validations reach ferry's plain
// listener on `http_port` and nothing ever leaves the machine. Pebble's own HTTPS certificate
// comes from a test CA made here (ca_bundle()); the CA that issues is Pebble's, fetched from
// its management interface (root_file()).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "support/child_process.h"
#include "support/temp_dir.h"
#include "support/test_certificates.h"

namespace ferry::testing {

struct PebbleOptions {
  uint16_t http_port = 0;          // where Pebble's VA sends HTTP-01 requests: ferry's plain listener
  int64_t validity_seconds = 0;    // certificateValidityPeriod; 0: Pebble's default (5 years)
  int nonce_reject_percent = 0;    // PEBBLE_WFE_NONCEREJECT: good nonces refused as badNonce
};

class Pebble {
 public:
  explicit Pebble(PebbleOptions options);
  ~Pebble();
  Pebble(const Pebble&) = delete;
  Pebble& operator=(const Pebble&) = delete;

  // Both processes answer. Otherwise error() says why.
  bool ready() const { return ready_; }
  const std::string& error() const { return error_; }
  std::string directory() const { return "https://127.0.0.1:" + std::to_string(port_) + "/dir"; }
  uint16_t port() const { return port_; }
  const std::string& ca_bundle() const { return ca_.ca_file(); }
  // Pebble's issuing root as a PEM file, for clients that verify what ferry serves.
  std::string root_file();
  // Kills Pebble (the DNS server stays): the CA is down.
  void stop();
  std::string log() const;

 private:
  TestCa ca_;
  TempDir dir_{"ferry-pebble"};
  uint16_t port_ = 0;
  uint16_t management_port_ = 0;
  std::unique_ptr<ChildProcess> dns_;
  std::unique_ptr<ChildProcess> pebble_;
  bool ready_ = false;
  std::string error_;
};

}  // namespace ferry::testing
