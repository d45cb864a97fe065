#include "config/decode.h"

#include <limits>

#include "config/did_you_mean.h"
#include "config/duration.h"
#include "config/fields.h"
#include "config/quote.h"
#include "config/validate.h"

namespace ferry::config {

namespace {

// Bounds beyond the contract's own (weight 1..1000). Each is far past any sane setting and
// well inside what the code using it handles; they catch typos (an extra zero or two), not taste.
constexpr uint64_t kMaxWorkers = 1024;                  // 0 = one per core
constexpr uint64_t kMaxThreshold = 100;                 // health passes/failures in a row; 0 never flips
constexpr uint64_t kMaxConnections = 10'000'000;        // 0 would refuse every client
constexpr uint64_t kMaxRetries = 10;                    // each retry is another backend tried
constexpr uint64_t kMinBuffer = 512;                    // below this a read can't hold a request line
constexpr uint64_t kMaxBuffer = 1ULL << 30;             // 1GiB per connection is already absurd
constexpr uint64_t kMinHeaderBytes = 1ULL << 10;        // 1KiB: a modest browser request head
constexpr uint64_t kMaxHeaderBytes = 1ULL << 20;        // 1MiB: no legitimate head is bigger
constexpr Duration kMinTimeout{1};                      // 0 would expire at once; "no timeout" isn't offered
constexpr Duration kMaxDuration{24LL * 3600 * 1000};    // 24h: timer arithmetic never nears overflow

constexpr std::string_view kExpectedHashKey = "client_ip, header:NAME or cookie:NAME";

void decode_balancer(const Field& f, Config& out, Diagnostics& d) {
  std::string expected = "one of ";
  for (std::size_t i = 0; i < kBalancerNames.size(); ++i) expected += (i ? ", " : "") + std::string(kBalancerNames[i]);
  const std::optional<std::string> name = read_scalar(f, expected, d);
  if (!name) return;
  if (const std::optional<BalancerKind> kind = balancer_from_name(*name)) {
    out.balancer = *kind;
    return;
  }
  std::string message = "expected " + expected + ", found " + describe(f.value);
  if (const std::optional<std::string_view> hint = closest_name(*name, kBalancerNames))
    message += "; did you mean " + quote(*hint) + "?";
  d.error(f.mark(), f.path, message);
}

// A likely intended hash key for a wrong one: "header:X-User" for "headr:X-User".
std::optional<std::string> hash_key_hint(const std::string& text) {
  const std::size_t colon = text.find(':');
  if (colon == std::string::npos) {
    static constexpr std::array<std::string_view, 1> kPlain{"client_ip"};
    if (const std::optional<std::string_view> hint = closest_name(text, kPlain)) return std::string(*hint);
    return std::nullopt;
  }
  static constexpr std::array<std::string_view, 2> kPrefixes{"header", "cookie"};
  const std::string name = text.substr(colon + 1);
  const std::optional<std::string_view> prefix = closest_name(text.substr(0, colon), kPrefixes);
  if (!prefix || !is_token(name)) return std::nullopt;
  return std::string(*prefix) + ":" + name;
}

void decode_hash_key(const Field& f, Config& out, Diagnostics& d) {
  const std::optional<std::string> text = read_scalar(f, std::string(kExpectedHashKey), d);
  if (!text) return;
  if (is_hash_key(*text)) {
    out.hash_key = *text;
    return;
  }
  std::string message = "expected " + std::string(kExpectedHashKey) + ", found " + describe(f.value);
  if (const std::optional<std::string> hint = hash_key_hint(*text)) message += "; did you mean " + quote(*hint) + "?";
  d.error(f.mark(), f.path, message);
}

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
    {"interval",
     [](const Field& f, HealthCheck& h, Diagnostics& d) {
       assign(h.interval, read_duration(f, kMinTimeout, kMaxDuration, d));
     }},
    {"timeout",
     [](const Field& f, HealthCheck& h, Diagnostics& d) {
       assign(h.timeout, read_duration(f, kMinTimeout, kMaxDuration, d));
     }},
    {"healthy_threshold",
     [](const Field& f, HealthCheck& h, Diagnostics& d) {
       assign(h.healthy_threshold, read_integer(f, 1, kMaxThreshold, d));
     }},
    {"unhealthy_threshold",
     [](const Field& f, HealthCheck& h, Diagnostics& d) {
       assign(h.unhealthy_threshold, read_integer(f, 1, kMaxThreshold, d));
     }},
    {"expected_status",
     [](const Field& f, HealthCheck& h, Diagnostics& d) {
       decode_checked(f, h.expected_status, is_status_spec,
                      "a status code, a range or a comma list of them within 100..599 "
                      "(200, 200-399, 200,204)",
                      d);
     }},
    {"host",
     [](const Field& f, HealthCheck& h, Diagnostics& d) {
       const std::string what = "a Host header value without spaces (empty = the backend address)";
       const std::optional<std::string> text = read_scalar(f, what, d);
       if (text && !is_host_header(*text)) d.expected(f, what);
       else assign(h.host, text);
     }},
    {"fail_open", [](const Field& f, HealthCheck& h, Diagnostics& d) { assign(h.fail_open, read_bool(f, d)); }},
}};

void decode_health_check(const Field& f, Config& out, Diagnostics& d) {
  // The section's presence is the switch: "health_check:" alone checks with every default.
  out.health_check.enabled = true;
  const std::size_t errors_before = d.count();
  decode_map(f, kHealthRules, out.health_check, d);
  // Compare only values that were read cleanly, so one typo doesn't also produce a second,
  // confusing error against a default the user never wrote.
  const HealthCheck& h = out.health_check;
  if (d.count() != errors_before || h.timeout < h.interval) return;
  if (const std::optional<Field> timeout = find_child(f, "timeout")) {
    d.expected(*timeout, "a duration shorter than health_check.interval (" + format_duration(h.interval) + ")");
  } else if (const std::optional<Field> interval = find_child(f, "interval")) {
    d.expected(*interval, "a duration longer than health_check.timeout (" + format_duration(h.timeout) + ")");
  }
}

template <Duration Timeouts::*Member>
void timeout_rule(const Field& f, Timeouts& t, Diagnostics& d) {
  assign(t.*Member, read_duration(f, kMinTimeout, kMaxDuration, d));
}

constexpr std::array<Rule<Timeouts>, 6> kTimeoutRules{{
    {"connect", timeout_rule<&Timeouts::connect>},
    {"client_header", timeout_rule<&Timeouts::client_header>},
    {"client_idle", timeout_rule<&Timeouts::client_idle>},
    {"backend_response", timeout_rule<&Timeouts::backend_response>},
    {"backend_idle", timeout_rule<&Timeouts::backend_idle>},
    {"shutdown_grace", timeout_rule<&Timeouts::shutdown_grace>},
}};

constexpr std::array<Rule<Limits>, 3> kLimitRules{{
    {"max_connections",
     [](const Field& f, Limits& l, Diagnostics& d) {
       assign(l.max_connections, read_integer(f, 1, kMaxConnections, d));
     }},
    {"max_header_bytes",
     [](const Field& f, Limits& l, Diagnostics& d) {
       assign(l.max_header_bytes, read_size(f, kMinHeaderBytes, kMaxHeaderBytes, d));
     }},
    {"max_body_bytes",
     [](const Field& f, Limits& l, Diagnostics& d) {
       assign(l.max_body_bytes, read_size(f, 0, std::numeric_limits<uint64_t>::max(), d));
     }},
}};

constexpr std::array<Rule<Buffers>, 2> kBufferRules{{
    {"request", [](const Field& f, Buffers& b, Diagnostics& d) { assign(b.request, read_size(f, kMinBuffer, kMaxBuffer, d)); }},
    {"response", [](const Field& f, Buffers& b, Diagnostics& d) { assign(b.response, read_size(f, kMinBuffer, kMaxBuffer, d)); }},
}};

// The top level, in the contract's order (which is also the order of "expected one of").
constexpr std::array<Rule<Config>, 13> kRootRules{{
    {"listen", decode_listen},
    {"workers", [](const Field& f, Config& c, Diagnostics& d) { assign(c.workers, read_integer(f, 0, kMaxWorkers, d)); }},
    {"admin", decode_admin},
    {"balancer", decode_balancer},
    {"hash_key", decode_hash_key},
    {"resolve_interval",
     [](const Field& f, Config& c, Diagnostics& d) {
       assign(c.resolve_interval, read_duration(f, Duration{0}, kMaxDuration, d));
     }},
    {"backends", decode_backends},
    {"health_check", decode_health_check},
    {"timeouts", [](const Field& f, Config& c, Diagnostics& d) { decode_map(f, kTimeoutRules, c.timeouts, d); }},
    {"limits", [](const Field& f, Config& c, Diagnostics& d) { decode_map(f, kLimitRules, c.limits, d); }},
    {"buffers", [](const Field& f, Config& c, Diagnostics& d) { decode_map(f, kBufferRules, c.buffers, d); }},
    {"retries", [](const Field& f, Config& c, Diagnostics& d) { assign(c.retries, read_integer(f, 0, kMaxRetries, d)); }},
    {"access_log",
     [](const Field& f, Config& c, Diagnostics& d) {
       decode_checked(f, c.access_log, is_access_log, "\"off\", \"stdout\" or a file path", d);
     }},
}};

}  // namespace

void decode_config(const YAML::Node& root, Config& out, Diagnostics& diag) {
  // An empty document has no position; the top of the file is where its content belongs.
  const YAML::Mark top = root.IsNull() ? YAML::Mark() : root.Mark();
  const Field file{"", root, top};
  decode_map(file, kRootRules, out, diag);
  if (root.IsMap() && !find_child(file, "backends"))
    diag.error(top, "backends", "missing; a file must list at least one backend");
  else if (root.IsNull())
    diag.error(top, "backends", "missing; a file must list at least one backend (the file is empty)");
}

}  // namespace ferry::config
