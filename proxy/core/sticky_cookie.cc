#include "proxy/core/sticky_cookie.h"

#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstdio>
#include <cstdlib>

namespace ferry::proxy {

StickyKey make_sticky_key() {
  StickyKey key{};
  if (RAND_bytes(key.data(), static_cast<int>(key.size())) != 1) {
    // Without randomness the cookie would be forgeable; OpenSSL failing here means the
    // system's entropy source is gone, which nothing in ferry can work around.
    std::fputs("ferry: could not get random bytes for the stickiness key\n", stderr);
    std::abort();
  }
  return key;
}

std::string sticky_id(const StickyKey& key, std::string_view pool, std::string_view name,
                      const sockaddr_storage& address) {
  std::string message(pool);
  message.push_back('\0');
  message += name;
  message.push_back('\0');
  const auto* bytes = reinterpret_cast<const char*>(&address);
  if (address.ss_family == AF_INET) message.append(bytes, sizeof(sockaddr_in));
  if (address.ss_family == AF_INET6) message.append(bytes, sizeof(sockaddr_in6));
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &mac_len);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id;
  for (unsigned int i = 0; i < 16 && i < mac_len; ++i) {
    id.push_back(kHex[mac[i] >> 4]);
    id.push_back(kHex[mac[i] & 15]);
  }
  return id;
}

void append_sticky_cookie(std::string& out, std::string_view cookie, std::string_view id,
                          uint64_t max_age_s, bool secure) {
  out.append("Set-Cookie: ");
  out.append(cookie);
  out.push_back('=');
  out.append(id);
  out.append("; Max-Age=");
  out.append(std::to_string(max_age_s));
  out.append("; Path=/; HttpOnly");
  if (secure) out.append("; Secure");
  out.append("\r\n");
}

}  // namespace ferry::proxy
