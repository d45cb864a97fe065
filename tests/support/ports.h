// Loopback ports picked ahead of time: for a server the test must name a port for up front (a child
// process, a config file), or for a backend address that refuses connections.
#pragma once

#include <cstdint>
#include <string>

namespace ferry::testing {

// A 127.0.0.1 port that was free a moment ago (bound to port 0, read back, closed), for servers
// the test must name a port for up front; nothing listens on it on return.
uint16_t free_port();

// "127.0.0.1:PORT" with nothing listening on it, so a connect there is refused.
std::string refused_address();

}  // namespace ferry::testing
