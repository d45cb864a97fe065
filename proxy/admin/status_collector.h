// Gathers the status page's data from the running proxy: the published snapshot (pools,
// backends, state, load), the checker's last results, every worker's counters, reloads and
// certificates. It keeps the previous counter sample, so each render's rates cover the time
// since the one before.
#pragma once

#include "proxy/admin/metrics_collector.h"
#include "proxy/admin/rate_meter.h"
#include "proxy/admin/status_data.h"

namespace ferry::proxy {

class StatusCollector {
 public:
  // The same sources as the server's MetricsCollector; they must outlive this.
  explicit StatusCollector(MetricsSources sources) : sources_(std::move(sources)) {}

  // Admin thread only: the rate sample it keeps is not locked.
  StatusData collect();

 private:
  MetricsSources sources_;
  RateMeter rate_meter_;
};

}  // namespace ferry::proxy
