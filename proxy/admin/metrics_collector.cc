#include "proxy/admin/metrics_collector.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <array>
#include <iterator>
#include <limits>
#include <map>
#include <prometheus/text_serializer.h>
#include <sstream>

#include "config/address.h"
#include "proxy/admin/backend_totals.h"

namespace ferry::proxy {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;


MetricFamily family(const char* name, const char* help, MetricType type) {
  MetricFamily f;
  f.name = name;
  f.help = help;
  f.type = type;
  return f;
}

ClientMetric counter(std::vector<ClientMetric::Label> labels, double value) {
  ClientMetric m;
  m.label = std::move(labels);
  m.counter.value = value;
  return m;
}

ClientMetric gauge(std::vector<ClientMetric::Label> labels, double value) {
  ClientMetric m;
  m.label = std::move(labels);
  m.gauge.value = value;
  return m;
}

uint64_t load(const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); }

// The pool of backend `i`: its name, or "default" in a snapshot without pools.
std::string pool_of(const balancer::Snapshot& snap, std::size_t i) {
  const uint32_t pool = snap.backends[i].pool;
  return pool < snap.pools.size() ? snap.pools[pool].name : std::string("default");
}

std::string json_escape(std::string_view s) {
  std::string out;
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += ch;
    }
  }
  return out;
}

std::string iso_time(std::chrono::system_clock::time_point t) {
  if (t.time_since_epoch().count() == 0) return "";
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

void add_process_metrics(std::vector<MetricFamily>& out) {
  // /proc/self/stat: utime and stime are fields 14 and 15, starttime 22, rss 24 (pages).
  std::ifstream stat("/proc/self/stat");
  std::string content((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const std::size_t paren = content.rfind(')');
  if (paren != std::string::npos) {
    std::istringstream rest(content.substr(paren + 2));
    std::vector<std::string> f((std::istream_iterator<std::string>(rest)), std::istream_iterator<std::string>());
    // f[0] is field 3 (state).
    if (f.size() > 21) {
      const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
      const double cpu = (std::stod(f[11]) + std::stod(f[12])) / ticks;
      auto cpu_family = family("process_cpu_seconds_total", "User and system CPU time spent in seconds.",
                               MetricType::Counter);
      cpu_family.metric.push_back(counter({}, cpu));
      out.push_back(std::move(cpu_family));
      const double rss = std::stod(f[21]) * static_cast<double>(sysconf(_SC_PAGESIZE));
      auto rss_family = family("process_resident_memory_bytes", "Resident memory size in bytes.",
                               MetricType::Gauge);
      rss_family.metric.push_back(gauge({}, rss));
      out.push_back(std::move(rss_family));
      std::ifstream uptime("/proc/uptime");
      double up = 0;
      uptime >> up;
      const double now = static_cast<double>(std::time(nullptr));
      const double start = now - up + std::stod(f[19]) / ticks;
      auto start_family = family("process_start_time_seconds",
                                 "Start time of the process since unix epoch in seconds.", MetricType::Gauge);
      start_family.metric.push_back(gauge({}, start));
      out.push_back(std::move(start_family));
    }
  }
  std::size_t fds = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (readdir(d) != nullptr) ++fds;
    closedir(d);
    fds = fds >= 3 ? fds - 3 : 0;  // ".", ".." and the directory's own descriptor
  }
  auto fd_family = family("process_open_fds", "Number of open file descriptors.", MetricType::Gauge);
  fd_family.metric.push_back(gauge({}, static_cast<double>(fds)));
  out.push_back(std::move(fd_family));
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  auto max_family = family("process_max_fds", "Maximum number of open file descriptors.", MetricType::Gauge);
  max_family.metric.push_back(gauge({}, static_cast<double>(lim.rlim_cur)));
  out.push_back(std::move(max_family));
}

}  // namespace

std::vector<MetricFamily> MetricsCollector::Collect() const {
  std::vector<MetricFamily> out;
  const auto slots = sources_.slots->all();
  const balancer::SnapshotPtr snap = sources_.publisher->latest();

  auto requests = family("ferry_requests_total", "Requests answered, by backend and status code.",
                         MetricType::Counter);
  auto durations = family("ferry_request_duration_seconds",
                          "Time from the request head's first byte to the end of the response.",
                          MetricType::Histogram);
  auto errors = family("ferry_backend_errors_total", "Backend failures by kind.", MetricType::Counter);
  // Labels of one backend: {pool, backend}; ferry's own answers ("none") have no pool.
  auto labels_of = [](const std::string& pool, const std::string& name) {
    std::vector<ClientMetric::Label> labels;
    if (!pool.empty()) labels.push_back({"pool", pool});
    labels.push_back({"backend", name});
    return labels;
  };
  auto with = [](std::vector<ClientMetric::Label> labels, const char* key, std::string value) {
    labels.push_back({key, std::move(value)});
    return labels;
  };
  std::map<std::pair<std::string, std::string>, bool> current;  // (pool, backend) in the current set
  if (snap) {
    for (std::size_t i = 0; i < snap->size(); ++i) current[{pool_of(*snap, i), snap->backends[i].name}] = true;
  }
  for (const BackendLabel& label : slots) {
    const BackendTotals t = backend_totals(sources_.workers, label.slot);
    const bool is_current = current.count({label.pool, label.backend}) != 0;
    if (!t.seen && !is_current) continue;
    const std::vector<ClientMetric::Label> base = labels_of(label.pool, label.backend);
    for (const auto& [code, count] : t.codes) {
      requests.metric.push_back(
          counter(with(base, "code", code == 0 ? "other" : std::to_string(code)), static_cast<double>(count)));
    }
    if (t.count > 0 || is_current) {
      ClientMetric h;
      h.label = base;
      h.histogram.sample_count = t.count;
      h.histogram.sample_sum = static_cast<double>(t.sum_ns) / 1e9;
      uint64_t cumulative = 0;
      for (std::size_t i = 0; i < kLatencyBuckets.size(); ++i) {
        cumulative += t.buckets[i];
        h.histogram.bucket.push_back({cumulative, kLatencyBuckets[i]});
      }
      cumulative += t.buckets.back();
      h.histogram.bucket.push_back({cumulative, std::numeric_limits<double>::infinity()});
      durations.metric.push_back(std::move(h));
    }
    if (label.slot != kNoBackendSlot) {
      for (std::size_t k = 0; k < kBackendErrorKinds.size(); ++k) {
        errors.metric.push_back(counter(with(base, "kind", kBackendErrorKinds[k]), static_cast<double>(t.errors[k])));
      }
    }
  }
  out.push_back(std::move(requests));
  out.push_back(std::move(durations));
  out.push_back(std::move(errors));

  auto routes = family("ferry_route_requests_total", "Requests answered, by route and status code.",
                       MetricType::Counter);
  if (sources_.routes != nullptr) {
    for (const auto& [name, slot] : sources_.routes->all()) {
      std::map<uint32_t, uint64_t> codes;
      for (const WorkerMetrics* w : sources_.workers) {
        const BackendCounters* c = w->peek_route(slot);
        if (c == nullptr) continue;
        for (const auto& cc : c->codes) {
          const uint32_t code = cc.code.load(std::memory_order_acquire);
          if (code != 0) codes[code] += load(cc.count);
        }
        if (const uint64_t other = load(c->other_codes); other != 0) codes[0] += other;
      }
      for (const auto& [code, count] : codes) {
        routes.metric.push_back(counter({{"route", name}, {"code", code == 0 ? "other" : std::to_string(code)}},
                                        static_cast<double>(count)));
      }
    }
  }
  out.push_back(std::move(routes));

  auto up = family("ferry_backend_up", "1 if the backend is eligible (healthy), else 0.", MetricType::Gauge);
  if (snap) {
    // A name resolving to several addresses is up if any is; a draining backend is not up.
    std::map<std::pair<std::string, std::string>, bool> healthy;
    for (std::size_t i = 0; i < snap->size(); ++i) {
      bool& is_up = healthy[{pool_of(*snap, i), snap->backends[i].name}];
      is_up = is_up || (snap->healthy[i] != 0 && !snap->is_draining(i));
    }
    for (const auto& [key, is_up] : healthy) up.metric.push_back(gauge(labels_of(key.first, key.second), is_up ? 1 : 0));
  }
  out.push_back(std::move(up));

  auto checks = family("ferry_health_checks_total", "Active health checks by result.", MetricType::Counter);
  if (sources_.checker != nullptr) {
    std::map<std::pair<std::string, std::string>, std::pair<uint64_t, uint64_t>> by_name;
    for (const health::BackendHealth& h : sources_.checker->status()) {
      if (!h.checked) continue;
      by_name[{h.pool, h.name}].first += h.checks_ok;
      by_name[{h.pool, h.name}].second += h.checks_failed;
    }
    for (const auto& [key, counts] : by_name) {
      checks.metric.push_back(counter(with(labels_of(key.first, key.second), "result", "success"), static_cast<double>(counts.first)));
      checks.metric.push_back(counter(with(labels_of(key.first, key.second), "result", "failure"), static_cast<double>(counts.second)));
    }
  }
  out.push_back(std::move(checks));

  int64_t clients = 0;
  int64_t backends = 0;
  for (const WorkerMetrics* w : sources_.workers) {
    clients += w->client_connections.load(std::memory_order_relaxed);
    backends += w->backend_connections.load(std::memory_order_relaxed);
  }
  auto active = family("ferry_active_connections", "Open connections by side.", MetricType::Gauge);
  active.metric.push_back(gauge({{"side", "client"}}, static_cast<double>(clients)));
  active.metric.push_back(gauge({{"side", "backend"}}, static_cast<double>(backends)));
  out.push_back(std::move(active));

  auto reloads = family("ferry_config_reloads_total", "Configuration reloads by result.", MetricType::Counter);
  reloads.metric.push_back(counter({{"result", "success"}}, sources_.reloads_ok ? static_cast<double>(load(*sources_.reloads_ok)) : 0));
  reloads.metric.push_back(counter({{"result", "failure"}}, sources_.reloads_failed ? static_cast<double>(load(*sources_.reloads_failed)) : 0));
  out.push_back(std::move(reloads));

  auto handshakes = family("ferry_tls_handshakes_total", "TLS handshakes by listener, result and version.",
                           MetricType::Counter);
  for (const auto& [index, name] : sources_.tls_listeners) {
    for (std::size_t r = 0; r < kTlsResults.size(); ++r) {
      for (std::size_t v = 0; v < kTlsVersions.size(); ++v) {
        const bool failed = r == static_cast<std::size_t>(TlsResult::Failed);
        if (failed != (v + 1 == kTlsVersions.size())) continue;  // failures have no version
        uint64_t total = 0;
        for (const WorkerMetrics* w : sources_.workers)
          if (const TlsCounters* t = w->tls(index)) total += load(t->handshakes[r][v]);
        handshakes.metric.push_back(counter(
            {{"listener", name}, {"result", kTlsResults[r]}, {"version", kTlsVersions[v]}}, static_cast<double>(total)));
      }
    }
  }
  out.push_back(std::move(handshakes));
  out.push_back(per_listener("ferry_rate_limited_total", "Requests answered 429 by a per-client rate limit, by listener.",
                             &WorkerMetrics::rate_limited));
  out.push_back(per_listener("ferry_http2_streams_total", "HTTP/2 streams that carried a request, by listener.",
                             &WorkerMetrics::http2_streams));
  auto expiry = family("ferry_tls_certificate_expiry_timestamp_seconds",
                       "When each served certificate expires (unix seconds), by its first name.", MetricType::Gauge);
  if (sources_.certificate_expiry) {
    std::map<std::string, int64_t> soonest;  // one series per name: the certificate that expires first
    for (const auto& [name, not_after] : sources_.certificate_expiry()) {
      auto [it, inserted] = soonest.emplace(name, not_after);
      if (!inserted) it->second = std::min(it->second, not_after);
    }
    for (const auto& [name, not_after] : soonest)
      expiry.metric.push_back(gauge({{"name", name}}, static_cast<double>(not_after)));
  }
  out.push_back(std::move(expiry));

  auto acme = family("ferry_acme_orders_total", "ACME certificate orders by result.", MetricType::Counter);
  for (const bool success : {true, false})
    acme.metric.push_back(counter({{"result", success ? "success" : "failure"}},
                                  sources_.acme ? static_cast<double>(sources_.acme->orders(success)) : 0));
  out.push_back(std::move(acme));

  auto build = family("ferry_build_info", "Always 1; the version is a label.", MetricType::Gauge);
  build.metric.push_back(gauge({{"version", FERRY_VERSION}}, 1));
  out.push_back(std::move(build));

  add_process_metrics(out);
  return out;
}

MetricFamily MetricsCollector::per_listener(const char* name, const char* help,
                                            uint64_t (WorkerMetrics::*count)(uint32_t) const) const {
  MetricFamily f = family(name, help, MetricType::Counter);
  for (std::size_t i = 0; i < sources_.listeners.size(); ++i) {
    uint64_t total = 0;
    for (const WorkerMetrics* w : sources_.workers) total += (w->*count)(static_cast<uint32_t>(i));
    f.metric.push_back(counter({{"listener", sources_.listeners[i]}}, static_cast<double>(total)));
  }
  return f;
}

std::string MetricsCollector::render_text() const {
  return prometheus::TextSerializer().Serialize(Collect());
}

std::string acme_status_json(const AcmeStatus& status) {
  const auto names = [](const std::vector<std::string>& list) {
    std::string out = "[";
    for (const std::string& n : list) out += (out.size() > 1 ? ", \"" : "\"") + json_escape(n) + "\"";
    return out + "]";
  };
  const auto time = [](int64_t unix_seconds) {
    return "\"" + iso_time(std::chrono::system_clock::time_point(std::chrono::seconds(unix_seconds))) + "\"";
  };
  std::string o = "{\"domains\": " + names(status.domains) + ", \"certificate\": ";
  if (status.not_after != 0) {
    o += "{\"names\": " + names(status.names) + ", \"not_after\": " + time(status.not_after) +
         ", \"renew_at\": " + time(status.renew_at) + "}";
  } else {
    o += "null";
  }
  o += ", \"last_order\": ";
  if (!status.last_result.empty()) {
    o += "{\"result\": \"" + status.last_result + "\", \"time\": " + time(status.last_attempt) +
         ", \"error\": \"" + json_escape(status.last_error) + "\"}";
  } else {
    o += "null";
  }
  return o + ", \"next_attempt\": " + (status.next_attempt != 0 ? time(status.next_attempt) : "null") + "}";
}

void MetricsCollector::write_backend_json(std::ostringstream& o, const balancer::Snapshot& snap,
                                          const std::vector<health::BackendHealth>& health, std::size_t i,
                                          const char* indent) const {
  const balancer::Backend& b = snap.backends[i];
  const uint64_t served = backend_totals(sources_.workers, b.metrics_slot).responses();
  const char* state = snap.state_name(i);
  o << indent << "{\"address\": \"" << json_escape(b.name) << "\", ";
  o << "\"pool\": \"" << json_escape(pool_of(snap, i)) << "\", ";
  o << "\"resolved\": \"" << json_escape(config::to_string(b.address)) << "\", ";
  o << "\"state\": \"" << state << "\", ";
  const bool eligible = snap.pools.empty() ? snap.eligible(i)
                                            : snap.pool(b.pool).eligible(i - snap.pools[b.pool].first);
  o << "\"eligible\": " << (eligible ? "true" : "false") << ", ";
  o << "\"weight\": " << b.weight << ", ";
  o << "\"in_flight\": " << b.load->outstanding.load(std::memory_order_relaxed) << ", ";
  o << "\"requests\": " << served;
  const health::BackendHealth* h = nullptr;
  if (i < health.size() && health[i].name == b.name && health[i].checked) h = &health[i];
  if (h != nullptr) {
    o << ", \"last_check\": {\"result\": \"" << json_escape(h->last_result) << "\", \"time\": \""
      << iso_time(h->last_check) << "\", \"consecutive_passes\": " << h->consecutive_passes
      << ", \"consecutive_failures\": " << h->consecutive_failures << "}";
  }
  o << "}";
}

std::string MetricsCollector::render_backends_json() const {
  const balancer::SnapshotPtr snap = sources_.publisher->latest();
  std::vector<health::BackendHealth> health;
  if (sources_.checker != nullptr) health = sources_.checker->status();
  bool any_checks = false;
  for (const health::BackendHealth& h : health) any_checks = any_checks || h.checked;
  // One backend's entry; `i` indexes the snapshot.
  auto backend_json = [&](std::ostringstream& o, std::size_t i, const char* indent) {
    write_backend_json(o, *snap, health, i, indent);
  };
  std::ostringstream o;
  const std::string first_balancer = snap && !snap->pools.empty()
                                         ? std::string(config::balancer_name(snap->pools.front().balancer))
                                         : sources_.balancer;
  o << "{\n  \"balancer\": \"" << json_escape(first_balancer) << "\",\n";
  o << "  \"generation\": " << (snap ? snap->generation : 0) << ",\n";
  o << "  \"fail_open\": " << (snap && snap->fail_open ? "true" : "false") << ",\n";
  o << "  \"health_checks\": " << (any_checks ? "true" : "false") << ",\n";
  if (sources_.acme != nullptr) o << "  \"acme\": " << acme_status_json(sources_.acme->get()) << ",\n";
  // Every backend of every pool in one list (each names its pool), then the same grouped.
  o << "  \"backends\": [";
  if (snap) {
    for (std::size_t i = 0; i < snap->size(); ++i) {
      o << (i == 0 ? "\n" : ",\n");
      backend_json(o, i, "    ");
    }
  }
  o << "\n  ],\n  \"pools\": [";
  if (snap) {
    for (std::size_t p = 0; p < snap->pools.size(); ++p) {
      const balancer::PoolSlice& pool = snap->pools[p];
      uint32_t draining = 0;
      uint64_t draining_in_flight = 0;
      for (uint32_t i = pool.first; i < pool.first + pool.count; ++i) {
        if (!snap->is_draining(i)) continue;
        ++draining;
        draining_in_flight += snap->backends[i].load->outstanding.load(std::memory_order_relaxed);
      }
      o << (p == 0 ? "\n" : ",\n") << "    {\"name\": \"" << json_escape(pool.name) << "\", ";
      o << "\"balancer\": \"" << config::balancer_name(pool.balancer) << "\", ";
      o << "\"health_checks\": " << (pool.health->enabled ? "true" : "false") << ", ";
      o << "\"fail_open\": " << (pool.fail_open ? "true" : "false") << ", ";
      o << "\"draining\": " << draining << ", \"draining_in_flight\": " << draining_in_flight << ", ";
      o << "\"backends\": [";
      for (uint32_t i = pool.first; i < pool.first + pool.count; ++i) {
        o << (i == pool.first ? "\n" : ",\n");
        backend_json(o, i, "      ");
      }
      o << "\n    ]}";
    }
  }
  o << "\n  ]\n}\n";
  return o.str();
}

std::string MetricsCollector::render_backend_entry(std::string_view pool, std::string_view name) const {
  const balancer::SnapshotPtr snap = sources_.publisher->latest();
  std::vector<health::BackendHealth> health;
  if (sources_.checker != nullptr) health = sources_.checker->status();
  for (std::size_t i = 0; snap && i < snap->size(); ++i) {
    if (snap->backends[i].name != name || pool_of(*snap, i) != pool) continue;
    std::ostringstream o;
    write_backend_json(o, *snap, health, i, "");
    o << "\n";
    return o.str();
  }
  return "{}\n";
}

}  // namespace ferry::proxy
