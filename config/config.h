// Plain configuration structs with the contract's defaults (../CONTRACT.md "YAML schema").
// No behaviour lives here: loading is config/load.h, printing config/print.h.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::config {

using Duration = std::chrono::milliseconds;

enum class BalancerKind : uint8_t {
  RoundRobin,
  WeightedRoundRobin,
  LeastOutstanding,
  PowerOfTwo,
  ConsistentHash,
};

// The names a file uses, indexed by BalancerKind, in the contract's order.
inline constexpr std::array<std::string_view, 5> kBalancerNames{
    "round_robin", "weighted_round_robin", "least_outstanding", "power_of_two", "consistent_hash"};

struct BackendConfig {
  std::string address;  // "host:port" exactly as written: the metric label and log name
  uint32_t weight = 1;  // 1..1000

  bool operator==(const BackendConfig&) const = default;
};

struct HealthCheck {
  bool enabled = false;  // a file without a health_check section: every backend always eligible
  std::string path = "/health";
  Duration interval{5000};
  Duration timeout{2000};
  uint32_t healthy_threshold = 2;
  uint32_t unhealthy_threshold = 2;
  std::string expected_status = "200-399";
  std::string host;  // empty: the backend address
  bool fail_open = false;

  bool operator==(const HealthCheck&) const = default;
};

struct Timeouts {
  Duration connect{3000};
  Duration client_header{10000};
  Duration client_idle{60000};
  Duration backend_response{60000};
  Duration backend_idle{4000};
  Duration shutdown_grace{10000};

  bool operator==(const Timeouts&) const = default;
};

struct Limits {
  uint32_t max_connections = 10000;
  uint64_t max_header_bytes = 32768;
  uint64_t max_body_bytes = 0;  // 0 = unlimited

  bool operator==(const Limits&) const = default;
};

struct Buffers {
  uint64_t request = 64 * 1024;
  uint64_t response = 256 * 1024;

  bool operator==(const Buffers&) const = default;
};

enum class TlsPolicy : uint8_t {
  Intermediate,  // Mozilla's intermediate: TLS 1.2 (ECDHE + AEAD only) and TLS 1.3
  Modern,        // TLS 1.3 only
};

inline constexpr std::array<std::string_view, 2> kTlsPolicyNames{"intermediate", "modern"};

// One certificate of a TLS listener: PEM files, read at load and at every reload.
struct TlsCertificateFiles {
  std::string cert;  // leaf, then its chain
  std::string key;   // RSA or ECDSA
  int line = 0;      // where the entry is in the file (1-based), for errors found reading it
  int column = 0;

  bool operator==(const TlsCertificateFiles&) const = default;
};

struct TlsSettings {
  std::vector<TlsCertificateFiles> certificates;  // the first is the default (no SNI match)
  TlsPolicy policy = TlsPolicy::Intermediate;
  bool session_tickets = true;
  std::string client_ca;  // non-empty: require and verify client certificates

  bool operator==(const TlsSettings&) const = default;
};

struct ListenerConfig {
  std::string address;
  std::vector<std::string> protocols{"http/1.1"};
  std::optional<TlsSettings> tls;  // none: plain HTTP
  Duration hsts{0};                // > 0: Strict-Transport-Security on responses over TLS

  bool operator==(const ListenerConfig&) const = default;
};

struct Config {
  std::string source = "<built-in>";  // file the config came from, for messages
  std::vector<std::string> listen{"0.0.0.0:8888"};  // every listening address, in order
  // Given as `listeners`: one per address of `listen`, in the same order. Empty when the file
  // said `listen` (every address plain HTTP/1.1).
  std::vector<ListenerConfig> listeners;
  uint32_t workers = 0;  // 0 = one per CPU core
  std::string admin = "127.0.0.1:9901";  // empty = no admin listener
  BalancerKind balancer = BalancerKind::RoundRobin;
  std::string hash_key = "client_ip";
  Duration resolve_interval{30000};
  std::vector<BackendConfig> backends;
  HealthCheck health_check;
  Timeouts timeouts;
  Limits limits;
  Buffers buffers;
  uint32_t retries = 1;
  std::string access_log = "off";

  bool operator==(const Config&) const = default;
};

// The built-in default: the seed layout (listen :8888, two backends at 10.20.10.31/10.20.20.32,
// active GET /health checks, admin on 127.0.0.1:9901).
Config seed_default();

std::string_view balancer_name(BalancerKind kind);
std::string_view tls_policy_name(TlsPolicy policy);

// The kind named `name` as the contract spells it (round_robin, ...), or nullopt.
std::optional<BalancerKind> balancer_from_name(std::string_view name);

}  // namespace ferry::config
