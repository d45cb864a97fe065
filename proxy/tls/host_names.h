// Host names as SNI and certificates carry them: how a name is made comparable, and how a
// certificate name (possibly a wildcard) covers a host. Pure functions, no OpenSSL.
#pragma once

#include <string>
#include <string_view>

namespace ferry::proxy::tls {

// `name` lower-cased (ASCII), without one trailing dot, or "" when it is not a DNS host name:
// empty, longer than 253 bytes, an empty label, a label over 63 bytes, or a byte other than a
// letter, digit, '-' or '_'. A server name from a ClientHello goes through this before any
// lookup, so odd bytes from the wire never reach a comparison.
std::string canonical_host(std::string_view name);

// A certificate's name for lookups: lower-cased (ASCII). Kept as given otherwise, so a name
// ferry cannot match (a partial wildcard such as "w*.example.com") simply never matches.
std::string canonical_certificate_name(std::string_view name);

// For "*.example.com", the part the wildcard's one label stands before ("example.com");
// "" for a name that is not a leftmost-label wildcard.
std::string_view wildcard_base(std::string_view certificate_name);

// For a canonical host "a.example.com", the name a wildcard would have to cover it
// ("example.com"); "" when the host has a single label.
std::string_view parent_of(std::string_view host);

// Whether a canonical certificate name covers a canonical host: equal, or "*.<parent>" where
// <parent> is the host without its first label. A wildcard stands for exactly one label, so
// "*.example.com" covers "a.example.com" but neither "example.com" nor "a.b.example.com".
bool covers(std::string_view certificate_name, std::string_view host);

}  // namespace ferry::proxy::tls
