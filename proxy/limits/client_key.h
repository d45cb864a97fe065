// The key a client's buckets are found by: a 64-bit hash of its TCP peer address (never a
// header such as X-Forwarded-For, which the client writes itself). The port is left out, so
// every connection of an address shares its buckets.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string_view>

namespace ferry::proxy::limits {

// The key of `peer`'s address; an IPv4-mapped IPv6 address (a dual-stack listener's view of an
// IPv4 client) is the IPv4 address. Never 0, except for a peer that is neither IPv4 nor IPv6,
// which has no key (0) and is not limited.
uint64_t client_key(const sockaddr_storage& peer);
// The same key from the address as text, as a connection keeps it (dotted IPv4, or IPv6 as
// inet_ntop writes it): connections do not hold the key, only the text. 0 if it is neither.
uint64_t client_key(const char* address);

// What sets a route's buckets apart from the global ones and from other routes': a hash of the
// route's name (names are unique), so a route keeps its buckets when a reload moves it. Never 0.
uint64_t route_salt(std::string_view route_name);

// The key of client `client` in the buckets salted with `salt` (0: the global limit, the client
// key itself). Never 0 for a client key that is not 0.
uint64_t salted_key(uint64_t client, uint64_t salt);

}  // namespace ferry::proxy::limits
