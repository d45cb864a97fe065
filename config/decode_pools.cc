// `pools`: named groups of backends (an ALB's target groups), and the rules that tie them to the
// top-level keys, which describe the pool "default".
#include <array>
#include <string>

#include "config/decode.h"
#include "config/did_you_mean.h"
#include "config/duration.h"
#include "config/fields.h"
#include "config/quote.h"
#include "config/validate.h"

namespace ferry::config {

namespace {

// ALB's slow start is 30-900 s; ferry takes 1s to 1h so tests can watch a whole ramp, and so a
// large fleet can warm for longer. Below a second a ramp is a step anyway.
constexpr Duration kMinSlowStart{1000};
constexpr Duration kMaxSlowStart{3600'000};
constexpr Duration::rep kMaxDrainMs = 3600'000;   // ALB's deregistration delay: 0-3600 s
constexpr Duration::rep kMinStickinessMs = 1000;  // ALB's lb_cookie: 1 s to 7 days
constexpr Duration::rep kMaxStickinessMs = 7LL * 24 * 3600'000;

// The keys at the top level that make up the pool "default".
constexpr std::array<std::string_view, 5> kDefaultPoolKeys{"backends", "balancer", "hash_key", "health_check",
                                                           "retries"};

constexpr std::string_view kPoolName = "a pool name of 1 to 64 letters, digits, '-' or '_'";

void decode_slow_start(const Field& f, Duration& out, Diagnostics& d) {
  const std::string format = "a duration with a unit (250ms, 5s, 2m)";
  const std::optional<std::string> text = read_scalar(f, format, d);
  if (!text) return;
  const std::optional<Duration> value = parse_duration(*text);
  if (!value) {
    d.expected(f, format);
    return;
  }
  if (value->count() != 0 && (*value < kMinSlowStart || *value > kMaxSlowStart)) {
    d.expected(f, "0 (off) or a duration from " + format_duration(kMinSlowStart) + " to " +
                      format_duration(kMaxSlowStart));
    return;
  }
  out = *value;
}

constexpr std::array<Rule<Stickiness>, 2> kStickinessRules{{
    {"cookie",
     [](const Field& f, Stickiness& out, Diagnostics& d) {
       const std::string what = "a cookie name (an HTTP token: letters, digits and !#$%&'*+-.^_`|~)";
       const std::optional<std::string> name = read_scalar(f, what, d);
       if (!name) return;
       if (!is_token(*name)) {
         d.expected(f, what);
         return;
       }
       out.cookie = *name;
     }},
    {"duration", duration_rule<&Stickiness::duration, kMinStickinessMs, kMaxStickinessMs>},
}};

void decode_stickiness(const Field& f, std::optional<Stickiness>& out, Diagnostics& d) {
  if (f.value.IsScalar() && f.value.Scalar() == "off") {
    out.reset();
    return;
  }
  if (!f.value.IsMap()) {
    d.expected(f, "\"off\" or a map {cookie: NAME, duration: 1h}");
    return;
  }
  Stickiness stickiness;
  decode_map(f, kStickinessRules, stickiness, d);
  if (!find_child(f, "cookie"))
    d.error(f.mark(), f.path, "missing key \"cookie\" (the name of the cookie ferry sets, e.g. cookie: srv)");
  out = std::move(stickiness);
}

constexpr std::array<Rule<PoolTls>, 3> kPoolTlsRules{{
    {"verify", bool_rule<&PoolTls::verify>},
    {"ca",
     [](const Field& f, PoolTls& out, Diagnostics& d) {
       // The file itself is read where the pool's TLS client is set up, at load and at every
       // reload, as a listener's certificate files are; here only its form is checked.
       const std::string what = "a CA bundle file path, or \"\" for the system's trust store";
       const std::optional<std::string> path = read_scalar(f, what, d);
       if (!path) return;
       if (path->find('\0') != std::string::npos) {
         d.expected(f, what);
         return;
       }
       out.ca = *path;
     }},
    {"server_name",
     [](const Field& f, PoolTls& out, Diagnostics& d) {
       const std::string what =
           "a host name (letters, digits, '-', '_' and '.'; no port), or \"\" for each backend's own host";
       const std::optional<std::string> name = read_scalar(f, what, d);
       if (!name) return;
       if (!name->empty() && !is_server_name(*name)) {
         d.expected(f, what);
         return;
       }
       out.server_name = *name;
     }},
}};

void decode_pool_tls(const Field& f, std::optional<PoolTls>& out, Diagnostics& d) {
  if (f.value.IsScalar() && f.value.Scalar() == "off") {
    out.reset();
    return;
  }
  if (!f.value.IsMap()) {
    d.expected(f, "\"off\" or a map {verify, ca, server_name} ({} for HTTPS with every default)");
    return;
  }
  PoolTls tls;
  decode_map(f, kPoolTlsRules, tls, d);
  out = std::move(tls);
}

void decode_protocol(const Field& f, PoolProtocol& out, Diagnostics& d) {
  const std::string expected = "http/1.1 or h2c";
  const std::optional<std::string> name = read_scalar(f, expected, d);
  if (!name) return;
  if (*name == "http/1.1") {
    out = PoolProtocol::Http1;
    return;
  }
  if (*name == "h2c") {
    out = PoolProtocol::H2c;
    return;
  }
  std::string message = "expected " + expected + ", found " + describe(f.value);
  if (const std::optional<std::string_view> hint = closest_name(*name, kPoolProtocolNames))
    message += "; did you mean " + quote(*hint) + "?";
  d.error(f.mark(), f.path, message);
}

// A pool's keys, in the contract's order.
constexpr std::array<Rule<PoolConfig>, 10> kPoolRules{{
    {"backends", member_rule<decode_backends, &PoolConfig::backends>},
    {"balancer", member_rule<decode_balancer, &PoolConfig::balancer>},
    {"hash_key", member_rule<decode_hash_key, &PoolConfig::hash_key>},
    {"health_check", member_rule<decode_health_check, &PoolConfig::health_check>},
    {"retries", member_rule<decode_retries, &PoolConfig::retries>},
    {"slow_start", member_rule<decode_slow_start, &PoolConfig::slow_start>},
    {"drain", duration_rule<&PoolConfig::drain, 0, kMaxDrainMs>},
    {"stickiness", member_rule<decode_stickiness, &PoolConfig::stickiness>},
    {"tls", member_rule<decode_pool_tls, &PoolConfig::tls>},
    {"protocol", member_rule<decode_protocol, &PoolConfig::protocol>},
}};

}  // namespace

void decode_pools(const Field& field, Config& out, Diagnostics& diag) {
  const std::string what = "a map of pools, each NAME: {backends: [...], ...}";
  if (!field.value.IsMap() || field.value.size() == 0) {
    diag.expected(field, what);
    return;
  }
  for (const NamedEntry& entry : named_entries(field, what, diag)) {
    const Field& item = entry.field;
    if (!is_name(entry.name)) {
      diag.error(item.key_mark, field.path,
                 "expected " + std::string(kPoolName) + ", found " + quote(entry.name));
      continue;
    }
    PoolConfig pool;
    pool.name = entry.name;
    pool.line = item.key_mark.line + 1;
    pool.column = item.key_mark.column + 1;
    if (!item.value.IsMap()) {
      diag.expected(item,
                    "a map with backends (and balancer, hash_key, health_check, retries, slow_start, "
                    "drain, stickiness, tls, protocol)");
    } else {
      decode_map(item, kPoolRules, pool, diag);
      if (!find_child(item, "backends"))
        diag.error(item.key_mark, item.path, "missing key \"backends\" (a pool needs at least one backend)");
      if (pool.protocol == PoolProtocol::H2c) {
        // h2c is HTTP/2 in the clear; checks are HTTP/1.1 GETs, which a gRPC server refuses.
        if (const std::optional<Field> tls = find_child(item, "tls"); tls && pool.tls)
          diag.error(tls->key_mark, tls->path, "h2c is HTTP/2 without TLS; leave tls out of an h2c pool");
        if (const std::optional<Field> check = find_child(item, "health_check"); check && pool.health_check.enabled)
          diag.error(check->key_mark, check->path,
                     "health checks speak HTTP/1.1, which an h2c (gRPC) backend does not; leave health_check out "
                     "(without checks every backend stays eligible, and a failed connect is retried per retries)");
      }
    }
    // Kept even when it has errors, so a route forwarding to it is not also reported as naming
    // an unknown pool.
    out.pools.push_back(std::move(pool));
  }
}

void check_pool_layout(const Field& file, const Config& config, Diagnostics& diag) {
  const std::optional<Field> pools = find_child(file, "pools");
  if (!pools) return;  // a file without pools means what it meant before
  const PoolConfig* named_default = nullptr;
  for (const PoolConfig& pool : config.pools)
    if (pool.name == "default") named_default = &pool;
  const bool top_level_backends = find_child(file, "backends").has_value();
  for (std::string_view key : kDefaultPoolKeys) {
    const std::optional<Field> top = find_child(file, key);
    if (!top) continue;
    if (named_default != nullptr) {
      diag.error(
          top->key_mark, top->path,
          "the pool \"default\" is also defined under pools (line " + std::to_string(named_default->line) +
              "), and the top-level backends, balancer, hash_key, health_check and retries are that pool "
              "too; move " +
              std::string(key) + " into pools.default, or rename that pool");
    } else if (!top_level_backends) {
      diag.error(top->key_mark, top->path,
                 "sets the pool \"default\" (the top-level backends), which this file does not have; move " +
                     std::string(key) + " into each pool under pools that should use it");
    }
  }
  const std::size_t count = config.pools.size() + (top_level_backends && named_default == nullptr ? 1 : 0);
  if (count > 1 && !find_child(file, "routes")) {
    diag.error(pools->key_mark, pools->path,
               std::to_string(count) + " pools" +
                   (top_level_backends ? " (the top-level backends are the pool \"default\")" : "") +
                   " and no routes: add routes that forward to them (without routes every request goes "
                   "to the only pool)");
  }
}

}  // namespace ferry::config
