#include "acme_ferry.h"

#include <chrono>

#include "config/load.h"
#include "support/metrics_text.h"
#include "support/tls_client.h"

namespace ferry::testing {

int64_t TestClock::now() const {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
             .count() +
         offset.load();
}

AcmeFerry::AcmeFerry(const AcmeSetup& setup, TestClock* clock, proxy::acme::HttpLimits limits) {
  const std::string http = "127.0.0.1:" + std::to_string(setup.http_port);
  const std::string yaml = "listeners:\n  - address: \"" + http +
                           "\"\n  - address: \"127.0.0.1:0\"\n    tls: {}\nworkers: 2\nadmin: \"off\"\n"
                           "backends: [\"" + setup.backend + "\"]\nacme:\n  directory: \"" + setup.directory +
                           "\"\n  email: ops@ferry.test\n  domains: [a.ferry.test, b.ferry.test]\n  storage: \"" +
                           setup.storage + "\"\n  ca_bundle: \"" + setup.ca_bundle + "\"\n" + setup.extra_yaml;
  config::LoadResult loaded = config::load_text(yaml, "acme-test.yaml");
  if (!loaded.errors.empty()) {
    error_ = loaded.errors.front().to_string();
    return;
  }
  server_ = std::make_unique<proxy::Server>(std::move(loaded.config));
  proxy::acme::ManagerOptions options;
  options.limits = limits;
  options.validation_timeout_ms = 20'000;
  if (clock != nullptr) options.now = [clock] { return clock->now(); };
  server_->set_acme_options(std::move(options));
  started_ = server_->start(&error_);
}

AcmeFerry::~AcmeFerry() { stop(); }

void AcmeFerry::stop() {
  if (!server_ || !started_) return;
  server_->drain();
  server_->wait();
  started_ = false;
}

double AcmeFerry::orders(bool success) const {
  return metric_value(server_->collector()->render_text(),
                      std::string("ferry_acme_orders_total{result=\"") + (success ? "success" : "failure") + "\"}")
      .value_or(-1);
}

double AcmeFerry::failed_handshakes() const {
  const std::string text = server_->collector()->render_text();
  return metric_value(text, "ferry_tls_handshakes_total{listener=\"127.0.0.1:0\",result=\"failed\",version=\"\"}")
      .value_or(-1);
}

std::string served_serial(uint16_t tls_port, const std::string& root, const std::string& name) {
  TlsClient client(tls_port, root, name, std::chrono::seconds(5));
  return client.connected() ? client.peer_serial() : std::string();
}

}  // namespace ferry::testing
