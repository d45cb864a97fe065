// Which certificate of a set a ClientHello gets: by SNI name (exact, then wildcard), then by
// key type (ECDSA when the client can use it, else RSA). Built once per ServerContext, read
// by every handshake; immutable, so any thread may read it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "proxy/tls/certificates.h"
#include "proxy/tls/client_hello.h"

namespace ferry::proxy::tls {

class CertificateChoice {
 public:
  explicit CertificateChoice(const CertificateSet& set);

  // The index (into set.certificates()) for this offer:
  //  1. the certificates whose names cover the canonical SNI name: exact names if any match,
  //     else wildcards; when none do (or there is no SNI), those sharing the default
  //     (first) certificate's first name, so a default with RSA and ECDSA twins still gets
  //     the better of the two;
  //  2. among them, the first ECDSA one the client can use, else the first RSA one it can
  //     use, else the first of them (the handshake then fails as it would anyway, but with
  //     the name the client asked for).
  // ECDSA first, whatever the client's own order: it is the smaller, faster handshake, and
  // AWS ALB chooses the same way. OpenSSL's built-in choice between two keys on one SSL_CTX
  // follows the client's order instead (its cipher list in TLS 1.2, its signature
  // algorithms in TLS 1.3), which is why each certificate gets its own SSL_CTX.
  std::size_t choose(const ClientOffer& offer) const;

  // The certificates covering a canonical host (step 1 above, without the default). Empty
  // when none.
  std::span<const uint32_t> matching(std::string_view host) const;

 private:
  struct KeyOf {
    KeyType type;
    int curve_nid;
  };
  struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using NameIndex =
      std::unordered_map<std::string, std::vector<uint32_t>, NameHash, std::equal_to<>>;

  std::vector<KeyOf> keys_;
  NameIndex exact_;     // "www.example.com" -> certificates naming it
  NameIndex wildcard_;  // "example.com" -> certificates naming "*.example.com"
  std::vector<uint32_t> default_group_;
};

}  // namespace ferry::proxy::tls
