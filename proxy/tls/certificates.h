// The certificates a TLS listener serves, read into memory at load and reload. A load either
// yields a whole set or a list of errors and no set, so a failed reload keeps the old set.
//
// Expired (or not yet valid) certificates are loaded with a warning, not refused: refusing
// would turn a missed renewal into a listener that serves nothing at restart, and an expired
// certificate still lets monitoring, `curl -k` and health checks through while the operator
// replaces it. The warning is logged, and ferry_tls_certificate_expiry_timestamp_seconds
// (not_after below) lets an alert fire long before.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/tls/openssl_handles.h"

namespace ferry::proxy::tls {

enum class KeyType : uint8_t { Rsa, Ecdsa };
std::string_view key_type_name(KeyType type);  // "RSA", "ECDSA"

// One certificate with its chain and key. Immutable once loaded; the OpenSSL objects are
// shared by reference with every SSL_CTX built from it.
struct Certificate {
  std::string cert_source;  // the file (or label) the certificate came from, for messages
  std::string key_source;
  X509Ptr leaf;
  X509StackPtr chain;  // the certificates after the leaf, in file order; never null
  EvpPkeyPtr key;
  KeyType key_type = KeyType::Rsa;
  int curve_nid = 0;  // ECDSA: the key's curve (NID_X9_62_prime256v1, NID_secp384r1, ...)
  // The subject alternative names of type DNS, else the subject's common name; lower-cased,
  // wildcards as written ("*.example.com"). In certificate order.
  std::vector<std::string> names;
  int64_t not_before = 0;  // unix seconds
  int64_t not_after = 0;   // unix seconds

  // The metric's `name` label: the first name, or the source file for a nameless one.
  std::string_view first_name() const;
};

// Where one certificate and its key are: a PEM file with the leaf then its chain, and a PEM
// private key (RSA or ECDSA, unencrypted). Both may be the same file.
struct CertificateFiles {
  std::string cert;
  std::string key;
};

// The same, already in memory (ACME hands certificates over this way). The sources name
// them in messages.
struct CertificatePem {
  std::string cert_source;
  std::string cert_pem;
  std::string key_source;
  std::string key_pem;  // wiped once parsed
};

class CertificateSet;

struct CertificateLoad {
  std::shared_ptr<const CertificateSet> set;  // null when there is any error
  // Every problem found, one line each, naming the file: "/etc/x.key: key does not match the
  // certificate in /etc/x.pem", "/etc/y.pem: cannot read: No such file or directory".
  std::vector<std::string> errors;
  // Loaded anyway: "/etc/z.pem: certificate expired on 2025-01-01".
  std::vector<std::string> warnings;
};

class CertificateSet {
 public:
  // Reads and checks every pair (at least one); `now` is unix seconds, for the expiry
  // warnings. Blocks on file reads: main thread, at load and reload. Never throws.
  static CertificateLoad load(const std::vector<CertificateFiles>& files, int64_t now);
  static CertificateLoad from_pem(std::vector<CertificatePem> pems, int64_t now);
  // A set with no certificate (ServerContext::refusing).
  static std::shared_ptr<const CertificateSet> none();

  // In the order given; the first is the default for unknown or absent SNI names.
  const std::vector<Certificate>& certificates() const { return certificates_; }

 private:
  explicit CertificateSet(std::vector<Certificate> certificates)
      : certificates_(std::move(certificates)) {}

  std::vector<Certificate> certificates_;
};

// "2025-01-01" for a unix time (UTC).
std::string utc_date(int64_t unix_seconds);

}  // namespace ferry::proxy::tls
