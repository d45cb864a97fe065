#include "proxy/limits/client_key.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

#include "balancer/hash.h"
#include "balancer/random.h"

namespace ferry::proxy::limits {

namespace {

// Different seeds keep a client key from ever equalling a route salt by construction.
constexpr uint64_t kClientSeed = 0x6c696d6974732d63;  // "limits-c"
constexpr uint64_t kRouteSeed = 0x6c696d6974732d72;   // "limits-r"

uint64_t nonzero(uint64_t h) { return h == 0 ? 1 : h; }

uint64_t hash_of(const void* bytes, std::size_t len) {
  return nonzero(balancer::hash_bytes(std::string_view(static_cast<const char*>(bytes), len), kClientSeed));
}

}  // namespace

uint64_t client_key(const sockaddr_storage& peer) {
  if (peer.ss_family == AF_INET) {
    const auto& v4 = reinterpret_cast<const sockaddr_in&>(peer);
    return hash_of(&v4.sin_addr, sizeof v4.sin_addr);
  }
  if (peer.ss_family == AF_INET6) {
    const auto& v6 = reinterpret_cast<const sockaddr_in6&>(peer);
    // ::ffff:a.b.c.d: the last four bytes are the IPv4 address; hashed alone, as an IPv4 peer's.
    if (IN6_IS_ADDR_V4MAPPED(&v6.sin6_addr)) return hash_of(&v6.sin6_addr.s6_addr[12], 4);
    return hash_of(&v6.sin6_addr, sizeof v6.sin6_addr);
  }
  return 0;
}

uint64_t client_key(const char* address) {
  sockaddr_storage peer{};
  if (inet_pton(AF_INET, address, &reinterpret_cast<sockaddr_in&>(peer).sin_addr) == 1) {
    peer.ss_family = AF_INET;
  } else if (inet_pton(AF_INET6, address, &reinterpret_cast<sockaddr_in6&>(peer).sin6_addr) == 1) {
    peer.ss_family = AF_INET6;
  }
  return client_key(peer);
}

uint64_t route_salt(std::string_view route_name) {
  return nonzero(balancer::hash_bytes(route_name, kRouteSeed));
}

uint64_t salted_key(uint64_t client, uint64_t salt) {
  if (salt == 0) return client;
  // SplitMix64's mix: every bit of both inputs reaches every bit of the key, so one client's
  // route keys land in unrelated buckets of the table.
  return nonzero(balancer::SplitMix64(client ^ salt).next());
}

}  // namespace ferry::proxy::limits
