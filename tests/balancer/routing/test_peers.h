// Peers as the kernel hands them to the proxy, for routing tests and benchmarks.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>
#include <string>

namespace ferry::balancer::routing {

inline sockaddr_storage ipv4_peer(const std::string& address, uint16_t port = 40000) {
  sockaddr_in v4{};
  v4.sin_family = AF_INET;
  v4.sin_port = htons(port);
  inet_pton(AF_INET, address.c_str(), &v4.sin_addr);
  sockaddr_storage storage{};
  std::memcpy(&storage, &v4, sizeof v4);
  return storage;
}

inline sockaddr_storage ipv6_peer(const std::string& address, uint16_t port = 40000) {
  sockaddr_in6 v6{};
  v6.sin6_family = AF_INET6;
  v6.sin6_port = htons(port);
  inet_pton(AF_INET6, address.c_str(), &v6.sin6_addr);
  sockaddr_storage storage{};
  std::memcpy(&storage, &v6, sizeof v6);
  return storage;
}

}  // namespace ferry::balancer::routing
