// The hash key for consistent_hash, taken from a request as `hash_key` says: the client's IP,
// one header's value, or one cookie's value. Algorithms then only see bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "balancer/request.h"

namespace ferry::balancer {

enum class KeySource : uint8_t { ClientIp, Header, Cookie };

struct KeySpec {
  KeySource source = KeySource::ClientIp;
  std::string name;  // header or cookie name; empty for ClientIp
};

// Parses `client_ip`, `header:NAME` or `cookie:NAME`. On failure returns nullopt and sets
// *error (when given) to a sentence saying what was expected. Header names must be HTTP tokens;
// cookie names likewise (RFC 6265 cookie-name is a token).
std::optional<KeySpec> parse_key_spec(std::string_view text, std::string* error);

// The key for one request, as a view into its client address or one of its header values: no
// copies, no allocation. The first header of that name wins, its value trimmed of spaces and
// tabs; for a cookie, every Cookie header is searched. When the header or cookie is missing or
// empty the client's IP is the key, so clients without a session cookie still stick to one
// backend each instead of all landing on the one backend the empty key maps to.
std::string_view pick_key(const KeySpec& spec, const Request& request);

// The value of cookie `name` in one Cookie header ("a=1; b=2"), or nullopt. Names are
// case-sensitive (RFC 6265); a quoted value is returned without its quotes.
std::optional<std::string_view> cookie_value(std::string_view cookie_header,
                                             std::string_view name);

}  // namespace ferry::balancer
