#include "config/decode.h"

#include <limits>

#include "config/duration.h"
#include "config/fields.h"
#include "config/validate.h"

namespace ferry::config {

namespace {

// Bounds beyond the contract's own (weight 1..1000). Each is far past any sane setting and
// well inside what the code using it handles; they catch typos (an extra zero or two), not taste.
constexpr uint64_t kMaxWorkers = 1024;                   // 0 = one per core
constexpr uint64_t kMaxThreshold = 100;                  // health passes/failures in a row; 0 never flips
constexpr uint64_t kMaxConnections = 10'000'000;         // 0 would refuse every client
constexpr uint64_t kMaxHttp2Streams = 10'000;            // per connection; nginx's default is 128
constexpr uint64_t kMinBuffer = 512;                     // below this a read can't hold a request line
constexpr uint64_t kMaxBuffer = 1ULL << 30;              // 1GiB per connection is already absurd
constexpr uint64_t kMinHeaderBytes = 1ULL << 10;         // 1KiB: a modest browser request head
constexpr uint64_t kMaxHeaderBytes = 1ULL << 20;         // 1MiB: no legitimate head is bigger
constexpr Duration::rep kMinTimeoutMs = 1;               // 0 would expire at once; "no timeout" isn't offered
constexpr Duration::rep kMaxDurationMs = 24 * 3600'000;  // 24h: timer arithmetic never nears overflow

// Reads a string that `valid` must accept, else reports "expected `what`".
void decode_checked(const Field& f, std::string& target, bool (*valid)(std::string_view),
                    const std::string& what, Diagnostics& d) {
  const std::optional<std::string> text = read_scalar(f, what, d);
  if (!text) return;
  if (!valid(*text)) {
    d.expected(f, what);
    return;
  }
  target = *text;
}

constexpr std::array<Rule<HealthCheck>, 8> kHealthRules{{
    {"path",
     [](const Field& f, HealthCheck& h, Diagnostics& d) {
       decode_checked(f, h.path, is_request_path, "a path starting with \"/\", without spaces", d);
     }},
    {"interval", duration_rule<&HealthCheck::interval, kMinTimeoutMs, kMaxDurationMs>},
    {"timeout", duration_rule<&HealthCheck::timeout, kMinTimeoutMs, kMaxDurationMs>},
    {"healthy_threshold", integer_rule<&HealthCheck::healthy_threshold, 1, kMaxThreshold>},
    {"unhealthy_threshold", integer_rule<&HealthCheck::unhealthy_threshold, 1, kMaxThreshold>},
    {"expected_status",
     [](const Field& f, HealthCheck& h, Diagnostics& d) {
       decode_checked(
           f, h.expected_status, is_status_spec,
           "a status code, a range or a comma list of them within 100..599 (200, 200-399, 200,204)", d);
     }},
    {"host",
     [](const Field& f, HealthCheck& h, Diagnostics& d) {
       decode_checked(f, h.host, is_host_header,
                      "a Host header value without spaces (empty = the backend address)", d);
     }},
    {"fail_open", bool_rule<&HealthCheck::fail_open>},
}};

constexpr std::array<Rule<Timeouts>, 6> kTimeoutRules{{
    {"connect", duration_rule<&Timeouts::connect, kMinTimeoutMs, kMaxDurationMs>},
    {"client_header", duration_rule<&Timeouts::client_header, kMinTimeoutMs, kMaxDurationMs>},
    {"client_idle", duration_rule<&Timeouts::client_idle, kMinTimeoutMs, kMaxDurationMs>},
    {"backend_response", duration_rule<&Timeouts::backend_response, kMinTimeoutMs, kMaxDurationMs>},
    {"backend_idle", duration_rule<&Timeouts::backend_idle, kMinTimeoutMs, kMaxDurationMs>},
    {"shutdown_grace", duration_rule<&Timeouts::shutdown_grace, kMinTimeoutMs, kMaxDurationMs>},
}};

constexpr std::array<Rule<Limits>, 5> kLimitRules{{
    {"max_connections", integer_rule<&Limits::max_connections, 1, kMaxConnections>},
    {"max_header_bytes", size_rule<&Limits::max_header_bytes, kMinHeaderBytes, kMaxHeaderBytes>},
    {"max_body_bytes", size_rule<&Limits::max_body_bytes, 0, std::numeric_limits<uint64_t>::max()>},
    {"per_client", member_rule<decode_rate_limit, &Limits::per_client>},
    {"http2_max_concurrent_streams", integer_rule<&Limits::http2_max_concurrent_streams, 1, kMaxHttp2Streams>},
}};

constexpr std::array<Rule<Buffers>, 2> kBufferRules{{
    {"request", size_rule<&Buffers::request, kMinBuffer, kMaxBuffer>},
    {"response", size_rule<&Buffers::response, kMinBuffer, kMaxBuffer>},
}};

}  // namespace

void decode_health_check(const Field& f, HealthCheck& h, Diagnostics& d) {
  // The section's presence is the switch: "health_check:" alone checks with every default.
  h.enabled = true;
  const std::size_t errors_before = d.count();
  decode_map(f, kHealthRules, h, d);
  // Compare only values that were read cleanly, so one typo doesn't also produce a second,
  // confusing error against a default the user never wrote. f.path names the section, at the
  // top level or in a pool.
  if (d.count() != errors_before || h.timeout < h.interval) return;
  if (const std::optional<Field> timeout = find_child(f, "timeout")) {
    d.expected(*timeout,
               "a duration shorter than " + f.path + ".interval (" + format_duration(h.interval) + ")");
  } else if (const std::optional<Field> interval = find_child(f, "interval")) {
    d.expected(*interval,
               "a duration longer than " + f.path + ".timeout (" + format_duration(h.timeout) + ")");
  }
}

namespace {

template <auto Member, const auto& Rules>
void section_rule(const Field& field, Config& out, Diagnostics& diag) {
  decode_map(field, Rules, out.*Member, diag);
}

// The top level, in the contract's order (which is also the order of "expected one of").
constexpr std::array<Rule<Config>, 18> kRootRules{{
    {"listen", decode_listen},
    {"listeners", decode_listeners},
    {"workers", integer_rule<&Config::workers, 0, kMaxWorkers>},
    {"admin", decode_admin},
    {"admin_token",
     [](const Field& f, Config& c, Diagnostics& d) {
       decode_checked(f, c.admin_token, is_admin_token,
                      "a token of 16 to 256 visible ASCII characters, without spaces (for example "
                      "the output of: openssl rand -hex 32), or \"\" for none",
                      d);
     }},
    {"balancer", member_rule<decode_balancer, &Config::balancer>},
    {"hash_key", member_rule<decode_hash_key, &Config::hash_key>},
    {"resolve_interval", duration_rule<&Config::resolve_interval, 0, kMaxDurationMs>},
    {"backends", member_rule<decode_backends, &Config::backends>},
    {"health_check", member_rule<decode_health_check, &Config::health_check>},
    {"timeouts", section_rule<&Config::timeouts, kTimeoutRules>},
    {"limits", section_rule<&Config::limits, kLimitRules>},
    {"buffers", section_rule<&Config::buffers, kBufferRules>},
    {"retries", member_rule<decode_retries, &Config::retries>},
    {"access_log",
     [](const Field& f, Config& c, Diagnostics& d) {
       decode_checked(f, c.access_log, is_access_log, "\"off\", \"stdout\" or a file path", d);
     }},
    {"pools", decode_pools},
    {"acme", decode_acme},
    // Read by decode_config once the rest is known: a route names pools and listeners.
    {"routes", [](const Field&, Config&, Diagnostics&) {}},
}};

// The pools a route may forward to: those under `pools`, and "default" when the file has
// top-level backends (even ones with errors, so a route naming it gets no second, false error).
std::vector<std::string> routable_pools(const Field& file, const Config& config) {
  std::vector<std::string> names;
  if (find_child(file, "backends")) names.emplace_back("default");
  for (const PoolConfig& pool : config.pools)
    if (pool.name != "default" || names.empty()) names.push_back(pool.name);
  return names;
}

}  // namespace

void decode_config(const YAML::Node& root, Config& out, Diagnostics& diag) {
  // An empty document has no position; the top of the file is where its content belongs.
  const YAML::Mark top = root.IsNull() ? YAML::Mark() : root.Mark();
  const Field file{"", root, top};
  decode_map(file, kRootRules, out, diag);
  if (const std::optional<Field> listeners = find_child(file, "listeners"); listeners && find_child(file, "listen"))
    diag.error(listeners->key_mark, "listeners",
               "a file gives either listen (plain addresses) or listeners, not both; move each listen "
               "address into listeners as {address: ...}");
  check_pool_layout(file, out, diag);
  check_admin_exposure(file, out, diag);
  check_acme_layout(file, out, diag);
  const std::optional<Field> routes = find_child(file, "routes");
  if (routes) decode_routes(*routes, routable_pools(file, out), out, diag);
  const bool has_pools = find_child(file, "pools").has_value();
  if (root.IsMap() && !find_child(file, "backends") && !has_pools) {
    if (routes)
      diag.error(routes->key_mark, "routes",
                 "no pool to forward to: give pools, or backends at the top level (the pool \"default\")");
    else
      diag.error(top, "backends", "missing; a file must list at least one backend, or pools");
  } else if (root.IsNull()) {
    diag.error(top, "backends",
               "missing; a file must list at least one backend, or pools (the file is empty)");
  }
}

}  // namespace ferry::config
