// Plain configuration structs with the contract's defaults (../CONTRACT.md "YAML schema").
// No behaviour lives here: loading is config/load.h, printing config/print.h.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
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

// A token bucket per client address (`limits.per_client`, `routes[].rate_limit`): `rate` tokens
// a second, `burst` at most. rate 0 = off; burst 0 = the rate.
struct RateLimit {
  uint32_t rate = 0;
  uint32_t burst = 0;

  bool operator==(const RateLimit&) const = default;
};

struct Limits {
  uint32_t max_connections = 10000;
  uint64_t max_header_bytes = 32768;
  uint64_t max_body_bytes = 0;  // 0 = unlimited
  RateLimit per_client;         // every request of a client address, whatever its route
  uint32_t http2_max_concurrent_streams = 128;  // per HTTP/2 connection (nginx and ALB: 128)

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

// A pool's HTTPS to its backends (`tls:` of a pool).
struct PoolTls {
  bool verify = true;        // check the chain against `ca` and the name against `server_name`
  std::string ca;            // empty: the system trust store
  std::string server_name;   // empty: the backend's host; also the SNI sent

  bool operator==(const PoolTls&) const = default;
};

enum class PoolProtocol : uint8_t { Http1, H2c };
inline constexpr std::array<std::string_view, 2> kPoolProtocolNames{"http/1.1", "h2c"};

// A pool's `stickiness: {cookie: NAME, duration: 1h}`.
struct Stickiness {
  std::string cookie;        // the cookie's name (an RFC 6265 token)
  Duration duration{3600000};

  bool operator==(const Stickiness&) const = default;
};

// One named group of backends (ALB's target group). The top-level backends, balancer,
// hash_key, health_check and retries are the pool "default" (see pools_of()).
struct PoolConfig {
  std::string name;
  std::vector<BackendConfig> backends;
  BalancerKind balancer = BalancerKind::RoundRobin;
  std::string hash_key = "client_ip";
  HealthCheck health_check;
  uint32_t retries = 1;
  Duration slow_start{0};     // 0 = a backend gets its full share at once
  Duration drain{30000};      // deregistration delay
  std::optional<Stickiness> stickiness;  // none = off
  std::optional<PoolTls> tls;            // none = plain HTTP to the backends
  PoolProtocol protocol = PoolProtocol::Http1;
  int line = 0;               // where the pool is defined (1-based; 0 = the top-level keys)
  int column = 0;

  bool operator==(const PoolConfig&) const = default;
};

// `match:` of a route. Every condition given must hold; an empty list means "not given".
struct RouteMatch {
  std::vector<std::string> host;     // any of; * and ? wildcards; case-insensitive, port ignored
  std::vector<std::string> path;     // any of; * and ?; case-sensitive; a string is a list of one
  std::vector<std::string> method;   // any of; case-sensitive
  std::vector<std::pair<std::string, std::string>> header;  // all must hold; value wildcards
  std::vector<std::pair<std::string, std::string>> query;   // all must hold; value wildcards
  std::vector<std::string> source;   // any of; CIDRs ("10.0.0.0/8", "::1/128") or plain addresses
  std::vector<std::string> listener; // any of; listener addresses spelt exactly as in `listen`

  bool operator==(const RouteMatch&) const = default;
};

enum class RouteAction : uint8_t { Forward, Redirect, Respond };

struct WeightedPool {
  std::string pool;
  uint32_t weight = 1;  // 0..999 (ALB's); `forward: NAME` is one entry of weight 1

  bool operator==(const WeightedPool&) const = default;
};

struct RouteConfig {
  std::string name;  // default "route-N" (1-based position)
  RouteMatch match;
  RouteAction action = RouteAction::Forward;
  std::vector<WeightedPool> forward;  // Forward
  std::string strip_prefix;           // Forward: removed from the path before forwarding
  std::string location;               // Redirect: the template with #{...} placeholders
  uint32_t status = 0;                // Redirect: 301 302 307 308 (default 301); Respond: 2xx 4xx 5xx
  std::string content_type = "text/plain";  // Respond
  std::string body;                         // Respond: at most 4096 bytes
  RateLimit rate_limit;  // per client address, on the requests this route takes (off by default)
  int line = 0;  // where the route is defined (1-based)
  int column = 0;

  bool operator==(const RouteConfig&) const = default;
};

// `acme`: certificates obtained and renewed by ferry itself (RFC 8555, HTTP-01). Present only
// when the file has the section.
struct AcmeConfig {
  std::string directory = "https://acme-v02.api.letsencrypt.org/directory";
  std::string email;                 // account contact; "" for none
  std::vector<std::string> domains;  // lower-case host names; the first names the certificate
  std::string storage = "/var/lib/ferry/acme";
  std::string ca_bundle;             // trust for the ACME server itself; "" = the system's

  bool operator==(const AcmeConfig&) const = default;
};

struct Config {
  std::string source = "<built-in>";  // file the config came from, for messages
  std::vector<std::string> listen{"0.0.0.0:8888"};  // every listening address, in order
  // Given as `listeners`: one per address of `listen`, in the same order. Empty when the file
  // said `listen` (every address plain HTTP/1.1).
  std::vector<ListenerConfig> listeners;
  uint32_t workers = 0;  // 0 = one per CPU core
  std::string admin = "127.0.0.1:9901";  // empty = no admin listener
  // Bearer token the admin POST controls require; needed when admin listens beyond loopback.
  std::string admin_token;
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
  std::vector<PoolConfig> pools;    // as written under `pools`, in file order
  std::vector<RouteConfig> routes;  // as written under `routes`, in order (first match wins)
  std::optional<AcmeConfig> acme;   // none: no ACME; TLS listeners then need certificates

  bool operator==(const Config&) const = default;
};

// The built-in default: the seed layout (listen :8888, two backends at 10.20.10.31/10.20.20.32,
// active GET /health checks, admin on 127.0.0.1:9901).
Config seed_default();

// Every pool the configuration serves, in the order the proxy indexes them: the pool "default"
// made of the top-level backends, balancer, hash_key, health_check and retries first (when the
// file lists top-level backends), then `pools` in file order.
std::vector<PoolConfig> pools_of(const Config& config);

std::string_view balancer_name(BalancerKind kind);
std::string_view tls_policy_name(TlsPolicy policy);

// The kind named `name` as the contract spells it (round_robin, ...), or nullopt.
std::optional<BalancerKind> balancer_from_name(std::string_view name);

}  // namespace ferry::config
