// "host:port", "[v6]:port" parsing and resolution to socket addresses.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::config {

struct HostPort {
  std::string host;  // without brackets for IPv6
  uint16_t port = 0;
};

// Parses "host:port" / "[v6]:port". On failure returns nullopt and sets *error to a
// sentence saying what was expected.
std::optional<HostPort> parse_host_port(std::string_view text, std::string* error);

// parse_host_port for an address ferry binds (listen, admin): port 0 is allowed there and
// means any free port, which tests use.
std::optional<HostPort> parse_bind_address(std::string_view text, std::string* error);

// Numeric hosts resolve without DNS. A name yields every address it resolves to (TCP).
// On failure returns an empty vector and sets *error.
std::vector<sockaddr_storage> resolve(const HostPort& hp, std::string* error);

// "1.2.3.4:80" / "[::1]:80" for logs.
std::string to_string(const sockaddr_storage& addr);

// The port of an IPv4 or IPv6 address, in host order.
uint16_t port_of(const sockaddr_storage& addr);

// A canonical "host:port": numeric hosts in their standard form ("[::1]:80" for "[0::1]:80"),
// names lowercased. Two addresses that are the same backend give the same text.
std::string to_string(const HostPort& hp);

}  // namespace ferry::config
