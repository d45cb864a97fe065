// Listening sockets for the workers: one per worker per address, each with SO_REUSEPORT so the
// kernel spreads connections across workers. libuv 1.44 has no flag for SO_REUSEPORT, so the
// socket is made here, the option set before bind, and the worker adopts it with uv_tcp_open.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <vector>

namespace ferry::proxy {

// Binds `count` sockets to `address`. Port 0 binds the first to a free port and the rest to the
// same one. Returns the fds (listening) and sets *port, or an empty vector and *error.
std::vector<int> bind_listeners(const sockaddr_storage& address, unsigned count, uint16_t* port,
                                std::string* error);

// Sets TCP_NODELAY on a listening socket: accepted sockets inherit it on Linux, so one call
// here spares one per connection. For sockets bound elsewhere too (systemd's have Nagle on
// unless the unit says NoDelay=true). Errors are ignored: a socket without it still serves.
void set_no_delay(int fd);

}  // namespace ferry::proxy
