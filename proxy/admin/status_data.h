// What the status page shows, as plain values: StatusCollector fills it from the running
// proxy, render_status_page() turns it into HTML, and tests build it by hand.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ferry::proxy {

// A backend's last active health check.
struct StatusCheck {
  std::string result;  // "GET /health answered 200", "connect refused", ...; peer data, escape it
  std::chrono::system_clock::time_point time{};
  uint32_t consecutive_passes = 0;
  uint32_t consecutive_failures = 0;
};

// Requests and 5xx responses per second, over StatusData::rate_window.
struct StatusRates {
  double requests = 0;
  double errors = 0;
};

struct StatusBackend {
  std::string address;   // as written in the configuration
  std::string resolved;  // the address it resolved to
  std::string state;     // balancer::Snapshot::state_name: healthy, unhealthy, draining, drained
  uint32_t weight = 1;
  uint64_t in_flight = 0;
  uint64_t requests = 0;  // responses since ferry started
  uint64_t errors = 0;    // of those, 5xx
  std::optional<StatusRates> rates;       // none on the first render after it appeared
  std::optional<StatusCheck> last_check;  // none: its pool has no checks, or none ran yet
};

struct StatusPool {
  std::string name;
  std::string balancer;  // "round_robin", ...
  bool health_checks = false;
  uint32_t up = 0;        // healthy and not draining
  uint32_t draining = 0;  // draining after a reload, or drained by hand
  std::vector<StatusBackend> backends;
};

// A certificate a TLS listener serves.
struct StatusCertificate {
  std::string name;       // its first name
  int64_t not_after = 0;  // unix seconds
};

struct StatusProcess {
  int pid = 0;
  std::string version;
  std::chrono::seconds uptime{0};
  std::string config_file;          // "<built-in>" without one
  uint64_t config_generation = 0;   // 1 at start, +1 per applied reload
  uint64_t reloads_ok = 0;
  uint64_t reloads_failed = 0;
};

struct StatusData {
  std::chrono::system_clock::time_point now{};  // when gathered; ages and expiry count from it
  std::chrono::milliseconds rate_window{0};     // what the rates cover; 0 = no earlier sample yet
  int refresh_seconds = 5;                      // the page reloads itself this often
  StatusProcess process;
  std::vector<StatusPool> pools;
  std::vector<StatusCertificate> certificates;
};

}  // namespace ferry::proxy
