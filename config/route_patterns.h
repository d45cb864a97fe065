// Checks of the strings a route's conditions are written in. Pure, so the rules can be tested as
// tables; decode_routes.cc turns a false into a positioned message. The limits are an ALB's
// (128 characters a pattern, its character sets), so rules carry over both ways.
#pragma once

#include <cstddef>
#include <string_view>

namespace ferry::config {

inline constexpr std::size_t kMaxPatternLength = 128;

// match.host: 1 to 128 of A-Za-z0-9 '-' '.' and the wildcards '*' (any run) and '?' (one
// character). No port: the request's port is ignored when matching.
bool is_host_pattern(std::string_view text);

// match.path: 1 to 128 visible ASCII characters starting with '/' or '*' (a path pattern never
// sees the query, so '?' is the one-character wildcard there).
bool is_path_pattern(std::string_view text);

// A value of match.header or match.query: 1 to 128 printable ASCII characters (spaces allowed
// inside a header value, as in "Mozilla/5.0 (X11; Linux)"), with wildcards. Query values take no
// spaces, '&' or '#': a query string carries them percent-encoded.
bool is_header_value_pattern(std::string_view text);
bool is_query_value_pattern(std::string_view text);

// A query parameter name of match.query: 1 to 128 visible ASCII characters without '&', '=',
// '#' or the wildcards '*' and '?' (names are matched exactly, without case).
bool is_query_name(std::string_view text);

// strip_prefix: "" (nothing stripped), or '/' then visible ASCII, without '?' (the prefix is of
// the path, never the query) and not ending in '/' ("/api" strips "/api/users" to "/users";
// "/api/" would leave "users").
bool is_strip_prefix(std::string_view text);

}  // namespace ferry::config
