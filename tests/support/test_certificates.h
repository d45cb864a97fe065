// Certificates made at test time with the OpenSSL API (no openssl command, no files in the
// tree): keys, certificates signed by a test CA or by themselves, their PEM text, and a small
// CA that writes what it issues into a directory of its own. Throws std::runtime_error when
// OpenSSL fails (a test's setup, never the code under test).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "proxy/tls/openssl_handles.h"
#include "support/temp_dir.h"

namespace ferry::testing {

struct CertificateSpec {
  std::string common_name;
  std::string organization;            // "" for none
  std::vector<std::string> dns_names;  // subjectAltName DNS entries
  int64_t not_before = 0;              // unix seconds
  int64_t not_after = 0;
  bool ca = false;
  std::vector<std::string> ip_addresses{};  // subjectAltName IP entries ("127.0.0.1", "::1")
};

proxy::tls::EvpPkeyPtr rsa_key();  // 2048 bits
proxy::tls::EvpPkeyPtr ec_key(const char* curve);  // "P-256", "P-384"
// Signed by `issuer_key` as `issuer`, or self-signed when `issuer` is null.
proxy::tls::X509Ptr make_certificate(const CertificateSpec& spec, EVP_PKEY* key, X509* issuer,
                                     EVP_PKEY* issuer_key);
std::string pem_of(X509* cert);
std::string pem_of(EVP_PKEY* key);

// A private CA (ECDSA P-256) in a temporary directory, and the leaves it issues there.
class TestCa {
 public:
  TestCa();
  TestCa(const TestCa&) = delete;
  TestCa& operator=(const TestCa&) = delete;

  struct Files {
    std::string cert;  // the leaf, then the CA when the CA signed it
    std::string key;
  };
  // The CA's certificate: the trust anchor to give a client.
  const std::string& ca_file() const { return ca_file_; }
  // A leaf valid from yesterday for 30 days, for `names`: host names, or IP addresses
  // ("127.0.0.1"), which become IP entries. The first name is also its CN. Written as
  // <stem>.pem and <stem>.key; with `self_signed` it signs itself instead of the CA.
  Files issue(const std::string& stem, const std::vector<std::string>& names, bool self_signed = false);
  std::string path(const std::string& name) const { return dir_.path() + "/" + name; }

 private:
  TempDir dir_{"ferry-test-ca"};
  proxy::tls::EvpPkeyPtr key_;
  proxy::tls::X509Ptr cert_;
  std::string ca_file_;
};

}  // namespace ferry::testing
