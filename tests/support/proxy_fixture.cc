#include "support/proxy_fixture.h"

namespace ferry::testing {

config::Config test_config(const std::vector<std::string>& backends) {
  config::Config c;
  c.source = "test";
  c.listen = {"127.0.0.1:0"};
  c.workers = 1;
  c.admin = "";
  for (const std::string& b : backends) c.backends.push_back(config::BackendConfig{b, 1});
  c.health_check.enabled = false;
  return c;
}

config::Config with_health_checks(config::Config cfg, config::Duration interval,
                                  config::Duration timeout, uint32_t threshold) {
  cfg.health_check.enabled = true;
  cfg.health_check.interval = interval;
  cfg.health_check.timeout = timeout;
  cfg.health_check.healthy_threshold = threshold;
  cfg.health_check.unhealthy_threshold = threshold;
  return cfg;
}

RunningProxy::RunningProxy(config::Config config)
    : server_(std::make_unique<proxy::Server>(std::move(config))) {
  started_ = server_->start(&error_);
}

RunningProxy::~RunningProxy() { stop(); }

void RunningProxy::stop() {
  if (!server_) return;
  server_->drain();
  server_->wait();
  server_.reset();
}

}  // namespace ferry::testing
