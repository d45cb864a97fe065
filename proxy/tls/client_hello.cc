#include "proxy/tls/client_hello.h"

#include <openssl/obj_mac.h>
#include <openssl/tls1.h>

#include <array>

namespace ferry::proxy::tls {
namespace {

uint16_t u16_at(std::span<const uint8_t> bytes, std::size_t at) {
  return static_cast<uint16_t>((bytes[at] << 8) | bytes[at + 1]);
}

// The policy's TLS 1.2 suites (see policy.h), by the key type they need.
constexpr std::array<uint16_t, 3> kEcdsaSuites = {0xC02B, 0xC02C, 0xCCA9};
constexpr std::array<uint16_t, 3> kRsaSuites = {0xC02F, 0xC030, 0xCCA8};

// Signature schemes (RFC 8446 4.2.3; TLS 1.2 pairs read the same way).
constexpr std::array<uint16_t, 3> kEcdsaSha2 = {0x0403, 0x0503, 0x0603};
constexpr std::array<uint16_t, 3> kRsaPssRsae = {0x0804, 0x0805, 0x0806};
constexpr std::array<uint16_t, 3> kRsaPkcs1Sha2 = {0x0401, 0x0501, 0x0601};

template <std::size_t N>
bool contains_any(std::span<const uint8_t> list, const std::array<uint16_t, N>& values) {
  for (const uint16_t v : values) {
    if (contains_u16(list, v)) return true;
  }
  return false;
}

// The TLS 1.3 scheme that signs with an ECDSA key on this curve, and the curve's group id.
uint16_t tls13_scheme_for(int curve_nid) {
  switch (curve_nid) {
    case NID_X9_62_prime256v1:
      return 0x0403;
    case NID_secp384r1:
      return 0x0503;
    case NID_secp521r1:
      return 0x0603;
    default:
      return 0;
  }
}

uint16_t group_for(int curve_nid) {
  switch (curve_nid) {
    case NID_X9_62_prime256v1:
      return 23;
    case NID_secp384r1:
      return 24;
    case NID_secp521r1:
      return 25;
    default:
      return 0;
  }
}

std::span<const uint8_t> extension(SSL* ssl, unsigned int type, bool& sent) {
  const unsigned char* data = nullptr;
  std::size_t length = 0;
  sent = SSL_client_hello_get0_ext(ssl, type, &data, &length) == 1;
  return sent ? std::span<const uint8_t>(data, length) : std::span<const uint8_t>();
}

}  // namespace

bool contains_u16(std::span<const uint8_t> list, uint16_t value) {
  for (std::size_t i = 0; i + 1 < list.size(); i += 2) {
    if (u16_at(list, i) == value) return true;
  }
  return false;
}

std::string_view parse_server_name(std::span<const uint8_t> ext) {
  if (ext.size() < 2) return {};
  const std::size_t list_length = u16_at(ext, 0);
  if (list_length + 2 != ext.size()) return {};
  std::size_t at = 2;
  while (at + 3 <= ext.size()) {
    const uint8_t type = ext[at];
    const std::size_t length = u16_at(ext, at + 1);
    at += 3;
    if (at + length > ext.size()) return {};
    if (type == TLSEXT_NAMETYPE_host_name) {
      return {reinterpret_cast<const char*>(ext.data() + at), length};
    }
    at += length;
  }
  return {};
}

bool lists_tls13(std::span<const uint8_t> ext) {
  if (ext.empty() || ext[0] + 1u != ext.size() || (ext[0] % 2) != 0) return false;
  return contains_u16(ext.subspan(1), TLS1_3_VERSION);
}

std::span<const uint8_t> parse_u16_list(std::span<const uint8_t> ext) {
  if (ext.size() < 2) return {};
  const std::size_t length = u16_at(ext, 0);
  if (length + 2 != ext.size() || (length % 2) != 0) return {};
  return ext.subspan(2);
}

ClientOffer read_client_offer(SSL* ssl) {
  ClientOffer offer;
  bool sent = false;
  offer.server_name = parse_server_name(extension(ssl, TLSEXT_TYPE_server_name, sent));
  offer.tls13 = lists_tls13(extension(ssl, TLSEXT_TYPE_supported_versions, sent));
  offer.signature_schemes = parse_u16_list(
      extension(ssl, TLSEXT_TYPE_signature_algorithms, offer.signature_schemes_sent));
  offer.groups = parse_u16_list(extension(ssl, TLSEXT_TYPE_supported_groups, offer.groups_sent));
  const unsigned char* ciphers = nullptr;
  const std::size_t cipher_bytes = SSL_client_hello_get0_ciphers(ssl, &ciphers);
  offer.cipher_suites = std::span<const uint8_t>(ciphers, cipher_bytes);
  return offer;
}

bool can_use(const ClientOffer& offer, KeyType key_type, int curve_nid) {
  if (key_type == KeyType::Ecdsa) {
    if (offer.tls13) return contains_u16(offer.signature_schemes, tls13_scheme_for(curve_nid));
    if (!contains_any(offer.cipher_suites, kEcdsaSuites)) return false;
    if (offer.signature_schemes_sent && !contains_any(offer.signature_schemes, kEcdsaSha2)) {
      return false;
    }
    // RFC 8422 5.1: a TLS 1.2 client that lists groups can only verify ECDSA on those curves.
    return !offer.groups_sent || contains_u16(offer.groups, group_for(curve_nid));
  }
  if (offer.tls13) return contains_any(offer.signature_schemes, kRsaPssRsae);
  if (!contains_any(offer.cipher_suites, kRsaSuites)) return false;
  return !offer.signature_schemes_sent || contains_any(offer.signature_schemes, kRsaPkcs1Sha2) ||
         contains_any(offer.signature_schemes, kRsaPssRsae);
}

}  // namespace ferry::proxy::tls
