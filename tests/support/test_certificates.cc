#include "support/test_certificates.h"

#include <arpa/inet.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <fstream>
#include <stdexcept>

namespace ferry::testing {
namespace {

using proxy::tls::BioPtr;
using proxy::tls::EvpPkeyPtr;
using proxy::tls::X509Ptr;

constexpr int64_t kDay = 24 * 3600;

void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string(what) + ": " + proxy::tls::take_openssl_errors());
}

void add_extension(X509* cert, X509V3_CTX* ctx, int nid, const std::string& value) {
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, ctx, nid, value.c_str());
  check(ext != nullptr, "extension");
  check(X509_add_ext(cert, ext, -1) == 1, "add extension");
  X509_EXTENSION_free(ext);
}

bool is_ip_address(const std::string& name) {
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, name.c_str(), buf) == 1 || inet_pton(AF_INET6, name.c_str(), buf) == 1;
}

void write_pem(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  if (!out) throw std::runtime_error("cannot write " + path);
}

}  // namespace

EvpPkeyPtr rsa_key() {
  EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(2048)));
  check(key != nullptr, "RSA key");
  return key;
}

EvpPkeyPtr ec_key(const char* curve) {
  EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve));
  check(key != nullptr, "EC key");
  return key;
}

X509Ptr make_certificate(const CertificateSpec& spec, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key) {
  static long serial = 1000;
  X509Ptr cert(X509_new());
  check(cert != nullptr, "X509_new");
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), ++serial);
  check(ASN1_TIME_set(X509_getm_notBefore(cert.get()), static_cast<time_t>(spec.not_before)) != nullptr,
        "notBefore");
  check(ASN1_TIME_set(X509_getm_notAfter(cert.get()), static_cast<time_t>(spec.not_after)) != nullptr,
        "notAfter");
  check(X509_set_pubkey(cert.get(), key) == 1, "pubkey");
  X509_NAME* name = X509_get_subject_name(cert.get());
  const auto* cn = reinterpret_cast<const unsigned char*>(spec.common_name.c_str());
  check(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, cn, -1, -1, 0) == 1, "CN");
  if (!spec.organization.empty()) {
    const auto* o = reinterpret_cast<const unsigned char*>(spec.organization.c_str());
    check(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, o, -1, -1, 0) == 1, "O");
  }
  check(X509_set_issuer_name(cert.get(), issuer != nullptr ? X509_get_subject_name(issuer) : name) == 1,
        "issuer");
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer != nullptr ? issuer : cert.get(), cert.get(), nullptr, nullptr, 0);
  add_extension(cert.get(), &ctx, NID_basic_constraints, spec.ca ? "critical,CA:TRUE" : "CA:FALSE");
  add_extension(cert.get(), &ctx, NID_subject_key_identifier, "hash");
  if (spec.ca) {
    add_extension(cert.get(), &ctx, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add_extension(cert.get(), &ctx, NID_authority_key_identifier, "keyid:always");
  }
  std::string san;
  for (const std::string& dns : spec.dns_names) san += (san.empty() ? "DNS:" : ",DNS:") + dns;
  for (const std::string& ip : spec.ip_addresses) san += (san.empty() ? "IP:" : ",IP:") + ip;
  if (!san.empty()) add_extension(cert.get(), &ctx, NID_subject_alt_name, san);
  check(X509_sign(cert.get(), issuer_key != nullptr ? issuer_key : key, EVP_sha256()) > 0, "sign");
  return cert;
}

std::string pem_of(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  check(PEM_write_bio_X509(bio.get(), cert) == 1, "PEM cert");
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

std::string pem_of(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  check(PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) == 1, "PEM key");
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

TestCa::TestCa() {
  const auto now = static_cast<int64_t>(std::time(nullptr));
  key_ = ec_key("P-256");
  cert_ = make_certificate({"Ferry Test CA", "Ferry Tests", {}, now - kDay, now + 365 * kDay, true}, key_.get(),
                           nullptr, nullptr);
  ca_file_ = path("ca.pem");
  write_pem(ca_file_, pem_of(cert_.get()));
}

TestCa::Files TestCa::issue(const std::string& stem, const std::vector<std::string>& names, bool self_signed) {
  const auto now = static_cast<int64_t>(std::time(nullptr));
  CertificateSpec spec;
  spec.common_name = names.empty() ? stem : names.front();
  for (const std::string& n : names) (is_ip_address(n) ? spec.ip_addresses : spec.dns_names).push_back(n);
  spec.not_before = now - kDay;
  spec.not_after = now + 30 * kDay;
  const EvpPkeyPtr key = ec_key("P-256");
  const X509Ptr cert = self_signed ? make_certificate(spec, key.get(), nullptr, nullptr)
                                   : make_certificate(spec, key.get(), cert_.get(), key_.get());
  Files files{path(stem + ".pem"), path(stem + ".key")};
  write_pem(files.cert, pem_of(cert.get()) + (self_signed ? "" : pem_of(cert_.get())));
  write_pem(files.key, pem_of(key.get()));
  return files;
}

}  // namespace ferry::testing
