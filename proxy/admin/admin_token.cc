#include "proxy/admin/admin_token.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <cctype>

namespace ferry::proxy {

namespace {

constexpr std::string_view kScheme = "bearer ";

void digest(std::string_view text, unsigned char out[SHA256_DIGEST_LENGTH]) {
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), out);
}

}  // namespace

bool bearer_token_matches(std::string_view authorization, std::string_view token) {
  if (token.empty() || authorization.size() < kScheme.size()) return false;
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(authorization[i])) != kScheme[i]) return false;
  }
  std::string_view offered = authorization.substr(kScheme.size());
  while (!offered.empty() && offered.front() == ' ') offered.remove_prefix(1);
  unsigned char want[SHA256_DIGEST_LENGTH];
  unsigned char got[SHA256_DIGEST_LENGTH];
  digest(token, want);
  digest(offered, got);
  return CRYPTO_memcmp(want, got, sizeof want) == 0;
}

}  // namespace ferry::proxy
