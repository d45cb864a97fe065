#include "proxy/admin/status_collector.h"

#include <unistd.h>

#include <algorithm>
#include <map>

#include "config/address.h"
#include "proxy/admin/backend_totals.h"

namespace ferry::proxy {

namespace {

// Set while the program loads, before main(): close enough to the process's start for an
// uptime shown in whole seconds, without parsing /proc.
const std::chrono::steady_clock::time_point kProgramStart = std::chrono::steady_clock::now();

StatusBackend backend_status(const balancer::Snapshot& snap, std::size_t i, const BackendTotals& totals) {
  const balancer::Backend& b = snap.backends[i];
  StatusBackend out;
  out.address = b.name;
  out.resolved = config::to_string(b.address);
  out.state = snap.state_name(i);
  out.weight = b.weight;
  out.in_flight = b.load->outstanding.load(std::memory_order_relaxed);
  out.requests = totals.responses();
  out.errors = totals.server_errors();
  return out;
}

}  // namespace

StatusData StatusCollector::collect() {
  StatusData data;
  data.now = std::chrono::system_clock::now();
  const balancer::SnapshotPtr snap = sources_.publisher->latest();

  data.process.pid = static_cast<int>(::getpid());
  data.process.version = FERRY_VERSION;
  data.process.uptime =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - kProgramStart);
  data.process.config_file = sources_.config_file;
  data.process.config_generation = snap ? snap->config_generation : 0;
  if (sources_.reloads_ok != nullptr) data.process.reloads_ok = sources_.reloads_ok->load(std::memory_order_relaxed);
  if (sources_.reloads_failed != nullptr)
    data.process.reloads_failed = sources_.reloads_failed->load(std::memory_order_relaxed);

  if (sources_.certificate_expiry) {
    for (const auto& [name, not_after] : sources_.certificate_expiry()) data.certificates.push_back({name, not_after});
    std::sort(data.certificates.begin(), data.certificates.end(),
              [](const StatusCertificate& a, const StatusCertificate& b) { return a.not_after < b.not_after; });
  }
  if (!snap) return data;

  std::vector<health::BackendHealth> health;
  if (sources_.checker != nullptr) health = sources_.checker->status();
  // One address resolving to several backends shares its metric slot: totals per slot.
  std::map<uint32_t, BackendTotals> totals;
  std::map<uint32_t, RateMeter::Counts> counts;
  for (const balancer::Backend& b : snap->backends) {
    if (totals.count(b.metrics_slot) != 0) continue;
    const BackendTotals& t = totals[b.metrics_slot] = backend_totals(sources_.workers, b.metrics_slot);
    counts[b.metrics_slot] = {t.responses(), t.server_errors()};
  }
  const RateMeter::Result rates = rate_meter_.sample(counts, std::chrono::steady_clock::now());
  data.rate_window = rates.window;

  // A snapshot without pools (tests, tools) is one pool of every backend.
  std::vector<balancer::PoolSlice> pools = snap->pools;
  if (pools.empty()) {
    balancer::PoolSlice all;
    all.name = "default";
    all.count = static_cast<uint32_t>(snap->size());
    all.health = nullptr;  // health_checks below: whether the checker checks any of them
    pools.push_back(all);
  }
  for (const balancer::PoolSlice& slice : pools) {
    StatusPool pool;
    pool.name = slice.name;
    pool.balancer = snap->pools.empty() ? sources_.balancer : std::string(config::balancer_name(slice.balancer));
    pool.health_checks = slice.health ? slice.health->enabled
                                      : std::any_of(health.begin(), health.end(),
                                                    [](const health::BackendHealth& h) { return h.checked; });
    for (uint32_t i = slice.first; i < slice.first + slice.count; ++i) {
      const uint32_t slot = snap->backends[i].metrics_slot;
      StatusBackend b = backend_status(*snap, i, totals[slot]);
      if (const auto it = rates.rates.find(slot); it != rates.rates.end()) b.rates = it->second;
      // status() lists the backends in snapshot order; a reload racing it can make them differ.
      if (i < health.size() && health[i].name == b.address && health[i].checked) {
        const health::BackendHealth& h = health[i];
        b.last_check = StatusCheck{h.last_result, h.last_check, h.consecutive_passes, h.consecutive_failures};
      }
      if (snap->is_draining(i)) ++pool.draining;
      else if (snap->healthy[i] != 0) ++pool.up;
      pool.backends.push_back(std::move(b));
    }
    data.pools.push_back(std::move(pool));
  }
  return data;
}

}  // namespace ferry::proxy
