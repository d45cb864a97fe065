// Whether a Host field value is a host and an optional port, as RFC 9112 3.2 requires of it
// (uri-host [":" port], RFC 3986 3.2.2): a request with any other Host gets 400 (a MUST of
// RFC 9112 3.2). The value reaches routing, X-Forwarded-Host and redirects, where "a/b",
// "a b" or "user@a" would be read as something other than a host.
#pragma once

#include <string_view>

namespace ferry::proxy {

// True for "", "example.com", "example.com:8080", "10.0.0.1:80", "[::1]:8888", "[v1.x]" and
// any reg-name of unreserved characters, sub-delims and %XX escapes; false for anything else.
bool is_valid_host_field(std::string_view value);

}  // namespace ferry::proxy
