// Three of the keys a pool shares with the top level, where they describe the pool "default":
// balancer, hash_key and retries. (backends is with the other addresses in decode_addresses.cc,
// health_check in decode.cc beside the timeouts whose bounds it shares.) Each decoder fills one
// field, so the same code serves a Config and a PoolConfig.
#include <array>
#include <string>

#include "config/decode.h"
#include "config/did_you_mean.h"
#include "config/fields.h"
#include "config/quote.h"
#include "config/validate.h"

namespace ferry::config {

namespace {

constexpr uint64_t kMaxRetries = 10;  // each retry is another backend tried; beyond catches typos

constexpr std::string_view kExpectedHashKey = "client_ip, header:NAME or cookie:NAME";

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

}  // namespace

void decode_balancer(const Field& f, BalancerKind& out, Diagnostics& d) {
  std::string expected = "one of ";
  for (std::size_t i = 0; i < kBalancerNames.size(); ++i)
    expected += (i ? ", " : "") + std::string(kBalancerNames[i]);
  const std::optional<std::string> name = read_scalar(f, expected, d);
  if (!name) return;
  if (const std::optional<BalancerKind> kind = balancer_from_name(*name)) {
    out = *kind;
    return;
  }
  std::string message = "expected " + expected + ", found " + describe(f.value);
  if (const std::optional<std::string_view> hint = closest_name(*name, kBalancerNames))
    message += "; did you mean " + quote(*hint) + "?";
  d.error(f.mark(), f.path, message);
}

void decode_hash_key(const Field& f, std::string& out, Diagnostics& d) {
  const std::optional<std::string> text = read_scalar(f, std::string(kExpectedHashKey), d);
  if (!text) return;
  if (is_hash_key(*text)) {
    out = *text;
    return;
  }
  std::string message = "expected " + std::string(kExpectedHashKey) + ", found " + describe(f.value);
  if (const std::optional<std::string> hint = hash_key_hint(*text))
    message += "; did you mean " + quote(*hint) + "?";
  d.error(f.mark(), f.path, message);
}

void decode_retries(const Field& f, uint32_t& out, Diagnostics& d) {
  assign(out, read_integer(f, 0, kMaxRetries, d));
}

}  // namespace ferry::config
