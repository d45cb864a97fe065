// The cryptography of ACME (RFC 8555 6.2, 7.4, 8.1): ECDSA P-256 keys, JSON Web Keys and their
// thumbprints, ES256 flattened JWS, and the CSR sent to finalize an order. OpenSSL only; no
// JSON library: every string put into a header here is escaped by json_quote.
// Pure functions; any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/tls/openssl_handles.h"

namespace ferry::proxy::acme {

// RFC 4648 section 5, without padding.
std::string base64url(std::string_view bytes);
// `text` as a JSON string literal, quotes included.
std::string json_quote(std::string_view text);

// A new ECDSA P-256 key (account or certificate). Null on failure.
tls::EvpPkeyPtr new_p256_key();
std::string private_key_pem(EVP_PKEY* key);          // PKCS#8 PEM; "" on failure
tls::EvpPkeyPtr read_private_key(std::string_view pem);  // null unless an EC P-256 key

// The public key as a JWK with its members in the order RFC 7638 hashes them:
// {"crv":"P-256","kty":"EC","x":"...","y":"..."}. "" on failure.
std::string jwk(EVP_PKEY* key);
// base64url(SHA-256(jwk)): the account's part of every key authorization.
std::string jwk_thumbprint(EVP_PKEY* key);

// ES256 over `input`: the raw 64-byte r||s JWS wants (not OpenSSL's DER). "" on failure.
std::string es256_sign(EVP_PKEY* key, std::string_view input);

// A flattened JWS (RFC 7515 7.2.2) for an ACME POST to `url`. `kid`: the account URL, or ""
// to embed the public key (newAccount). `payload` "" is a POST-as-GET. "" on failure.
std::string jws(EVP_PKEY* key, std::string_view kid, std::string_view nonce, std::string_view url,
                std::string_view payload);

// A DER PKCS#10 request for `domains` (subjectAltName DNS entries, the first also the CN),
// signed with `key`. "" on failure.
std::string csr_der(EVP_PKEY* key, const std::vector<std::string>& domains);

// What the renewal logic needs of a certificate.
struct CertificateFacts {
  int64_t not_before = 0;  // unix seconds
  int64_t not_after = 0;
  std::vector<std::string> names;  // DNS subjectAltNames, lower-case
  // RFC 9773 4.1: base64url(authorityKeyIdentifier) "." base64url(serial); "" without an AKI.
  std::string ari_id;
  std::string serial_hex;
};
// The first certificate of a PEM chain; nullopt when it does not parse.
std::optional<CertificateFacts> certificate_facts(std::string_view chain_pem);

}  // namespace ferry::proxy::acme
