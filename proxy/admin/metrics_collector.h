// The scrape: adds up every worker's counters and the health and reload state into the
// contract's metric families (prometheus-cpp's Collectable), and renders /backends as JSON.
// Runs on the admin thread.
#pragma once

#include <prometheus/collectable.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <sstream>
#include <utility>
#include <string>
#include <string_view>
#include <vector>

#include "health/checker.h"
#include "health/publisher.h"
#include "proxy/admin/acme_status.h"
#include "proxy/admin/metrics.h"

namespace ferry::proxy {

class Worker;

struct MetricsSources {
  const MetricSlots* slots = nullptr;
  const RouteSlots* routes = nullptr;  // may be null (no route counters)
  std::vector<const WorkerMetrics*> workers;
  const health::Publisher* publisher = nullptr;
  const health::Checker* checker = nullptr;  // null without health checks
  const std::atomic<uint64_t>* reloads_ok = nullptr;
  const std::atomic<uint64_t>* reloads_failed = nullptr;
  std::string balancer;  // for /backends
  std::string config_file;  // the file ferry runs from, for the status page
  // Every listener's name as written in the config, by index: ferry_rate_limited_total's labels.
  std::vector<std::string> listeners;
  // TLS listeners: their index (into each worker's TLS counters) and name.
  std::vector<std::pair<uint32_t, std::string>> tls_listeners;
  // The certificates served now, (first name, notAfter in unix seconds); any thread.
  std::function<std::vector<std::pair<std::string, int64_t>>()> certificate_expiry;
  const AcmeBoard* acme = nullptr;  // null without an acme section
};

class MetricsCollector final : public prometheus::Collectable {
 public:
  explicit MetricsCollector(MetricsSources sources) : sources_(std::move(sources)) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

  // Prometheus text exposition format 0.0.4.
  std::string render_text() const;
  // GET /backends.
  std::string render_backends_json() const;
  // One backend's entry of /backends (its first address when the name has several), as the
  // admin controls answer; "{}" when the pool has no such backend.
  std::string render_backend_entry(std::string_view pool, std::string_view name) const;

 private:
  // A counter family with one series per listener, summed over the workers' `count`.
  prometheus::MetricFamily per_listener(const char* name, const char* help,
                            uint64_t (WorkerMetrics::*count)(uint32_t) const) const;
  // Backend `i` of `snap` as a /backends entry (one line, no trailing newline).
  void write_backend_json(std::ostringstream& o, const balancer::Snapshot& snap,
                          const std::vector<health::BackendHealth>& health, std::size_t i, const char* indent) const;

  MetricsSources sources_;
};

}  // namespace ferry::proxy
