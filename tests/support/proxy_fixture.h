// Runs ferry in-process on 127.0.0.1:0 in front of given backends.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "proxy/core/server.h"

namespace ferry::testing {

// A config listening on 127.0.0.1:0 with one worker, no admin, no health checks.
config::Config test_config(const std::vector<std::string>& backends);
// `cfg` with active health checks on: every `interval`, each given `timeout`; a backend changes
// state after `threshold` results in a row, either way.
config::Config with_health_checks(config::Config cfg, config::Duration interval,
                                  config::Duration timeout, uint32_t threshold);

class RunningProxy {
 public:
  explicit RunningProxy(config::Config config);
  ~RunningProxy();
  uint16_t port() const { return server_->listen_ports().at(0); }
  proxy::Server& server() { return *server_; }
  bool started() const { return started_; }
  const std::string& error() const { return error_; }
  void stop();

 private:
  std::unique_ptr<proxy::Server> server_;
  bool started_ = false;
  std::string error_;
};

}  // namespace ferry::testing
