#include "proxy/tls/policy.h"

#include <openssl/err.h>

#include "proxy/tls/openssl_handles.h"

namespace ferry::proxy::tls {
namespace {

// Security level 2 (RSA and DH of 2048 bits or more, ECC of 224 or more, no SHA-1
// signatures) set here rather than inherited from the system's openssl.cnf, so a host's
// configuration cannot quietly weaken or break what the policy promises.
constexpr int kSecurityLevel = 2;

// Options both roles share. Renegotiation is off both ways (it has been a DoS and
// injection vector, and HTTP/2 forbids it); compression is off (CRIME).
constexpr uint64_t kSharedOptions = SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION;

}  // namespace

std::optional<Policy> policy_from_name(std::string_view name) {
  if (name == "intermediate") return Policy::Intermediate;
  if (name == "modern") return Policy::Modern;
  return std::nullopt;
}

std::string_view policy_name(Policy policy) {
  return policy == Policy::Modern ? "modern" : "intermediate";
}

std::string apply_server_policy(SSL_CTX* ctx, Policy policy) {
  ERR_clear_error();
  const int min_version = policy == Policy::Modern ? TLS1_3_VERSION : TLS1_2_VERSION;
  if (SSL_CTX_set_min_proto_version(ctx, min_version) != 1 ||
      SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1) {
    return "protocol versions: " + take_openssl_errors();
  }
  SSL_CTX_set_security_level(ctx, kSecurityLevel);
  // Under `modern` no TLS 1.2 suite can be negotiated; the list is set anyway so the
  // context never carries OpenSSL's defaults.
  if (SSL_CTX_set_cipher_list(ctx, kIntermediateTls12Ciphers) != 1) {
    return "TLS 1.2 ciphers: " + take_openssl_errors();
  }
  if (SSL_CTX_set_ciphersuites(ctx, kTls13Ciphersuites) != 1) {
    return "TLS 1.3 cipher suites: " + take_openssl_errors();
  }
  if (SSL_CTX_set1_groups_list(ctx, kGroups) != 1) return "groups: " + take_openssl_errors();
  SSL_CTX_set_options(ctx, kSharedOptions | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_PRIORITIZE_CHACHA);
  return {};
}

std::string apply_client_policy(SSL_CTX* ctx) {
  ERR_clear_error();
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
    return "protocol versions: " + take_openssl_errors();
  }
  SSL_CTX_set_security_level(ctx, kSecurityLevel);
  SSL_CTX_set_options(ctx, kSharedOptions);
  return {};
}

}  // namespace ferry::proxy::tls
