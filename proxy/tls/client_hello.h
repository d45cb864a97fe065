// What the certificate choice needs from a ClientHello, read from its raw extensions inside
// OpenSSL's client-hello callback (before OpenSSL has parsed them itself), and the checks
// that say whether a client can be served with an ECDSA or an RSA certificate. The parsers
// take bytes, so they are tested without OpenSSL.
#pragma once

#include <openssl/ssl.h>

#include <cstdint>
#include <span>
#include <string_view>

#include "proxy/tls/certificates.h"

namespace ferry::proxy::tls {

// Views into the ClientHello; valid only inside the callback that read them.
struct ClientOffer {
  std::string_view server_name;  // the host_name entry of server_name, as sent ("" if none)
  bool tls13 = false;            // supported_versions lists TLS 1.3
  bool signature_schemes_sent = false;
  std::span<const uint8_t> signature_schemes;  // big-endian uint16 pairs
  bool groups_sent = false;
  std::span<const uint8_t> groups;         // big-endian uint16 pairs
  std::span<const uint8_t> cipher_suites;  // big-endian uint16 pairs
};

// Reads the offer from `ssl` inside SSL_CTX_set_client_hello_cb's callback. Malformed
// extensions read as absent: OpenSSL rejects them right after, with the proper alert.
ClientOffer read_client_offer(SSL* ssl);

// Raw extension bodies, as in the ClientHello:
// server_name: list length, then entries of (type, length, name); the first host_name wins.
std::string_view parse_server_name(std::span<const uint8_t> extension);
// supported_versions: a one-byte length, then uint16 versions.
bool lists_tls13(std::span<const uint8_t> extension);
// signature_algorithms, supported_groups: a two-byte length, then uint16 values. Returns the
// values, or an empty span when malformed.
std::span<const uint8_t> parse_u16_list(std::span<const uint8_t> extension);

bool contains_u16(std::span<const uint8_t> list, uint16_t value);

// Whether the client can complete a handshake with a certificate of this key type (and,
// for ECDSA, curve) under ferry's policies: TLS 1.3 needs a signature scheme for the key
// (ecdsa_secp256r1_sha256 for a P-256 key, rsa_pss_rsae_* for RSA); TLS 1.2 needs one of the
// policy's ECDHE cipher suites for that key type and, when the client sent them, a SHA-2
// signature algorithm for it (and for ECDSA, the key's curve among its groups).
bool can_use(const ClientOffer& offer, KeyType key_type, int curve_nid);

}  // namespace ferry::proxy::tls
