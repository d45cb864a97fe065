// Stickiness (a pool's `stickiness: {cookie, duration}`): the cookie's value names a backend
// opaquely. It is an HMAC of the pool, the backend's name and its resolved address under a key
// made at start-up, so it reveals no address or port, a client cannot forge one for a backend
// it was never sent to, and a value from before a restart simply matches nothing (a new pick).
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace ferry::proxy {

using StickyKey = std::array<unsigned char, 32>;

// A fresh random key (the process's; every worker shares it, so any worker recognises a cookie
// another one set).
StickyKey make_sticky_key();

// The cookie value naming backend `name` at `address` in `pool`: 32 lowercase hex digits.
std::string sticky_id(const StickyKey& key, std::string_view pool, std::string_view name,
                      const sockaddr_storage& address);

// Appends the Set-Cookie line (CRLF included) that (re)sends the cookie: Max-Age `max_age_s`,
// Path=/, HttpOnly, and Secure when the client came over TLS.
void append_sticky_cookie(std::string& out, std::string_view cookie, std::string_view id,
                          uint64_t max_age_s, bool secure);

}  // namespace ferry::proxy
