#include "proxy/tls/certificates.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include <ctime>

#include "proxy/tls/host_names.h"
#include "proxy/tls/pem_file.h"

namespace ferry::proxy::tls {
namespace {

// A PEM read stops at the first block it cannot find; only "no start line" means the file
// simply had no more. Anything else is a real parse error.
bool queue_says_no_more_pem() {
  const unsigned long code = ERR_peek_last_error();
  return code == 0 ||
         (ERR_GET_LIB(code) == ERR_LIB_PEM && ERR_GET_REASON(code) == PEM_R_NO_START_LINE);
}

// Never prompts: without this callback OpenSSL asks for a passphrase on the terminal.
int refuse_passphrase(char*, int, int, void* asked) {
  *static_cast<bool*>(asked) = true;
  return -1;
}

bool to_unix(const ASN1_TIME* time, int64_t& out) {
  std::tm tm{};
  if (time == nullptr || ASN1_TIME_to_tm(time, &tm) != 1) return false;
  out = static_cast<int64_t>(::timegm(&tm));
  return true;
}

std::vector<std::string> names_of(X509* leaf) {
  std::vector<std::string> names;
  GeneralNamesPtr sans(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(leaf, NID_subject_alt_name, nullptr, nullptr)));
  if (sans) {
    for (int i = 0; i < sk_GENERAL_NAME_num(sans.get()); ++i) {
      const GENERAL_NAME* name = sk_GENERAL_NAME_value(sans.get(), i);
      if (name->type != GEN_DNS) continue;
      const auto* data = reinterpret_cast<const char*>(ASN1_STRING_get0_data(name->d.dNSName));
      const std::string_view dns(data,
                                 static_cast<std::size_t>(ASN1_STRING_length(name->d.dNSName)));
      // An embedded NUL is the classic name-confusion trick; such a name matches nothing.
      if (dns.empty() || dns.find('\0') != std::string_view::npos) continue;
      names.push_back(canonical_certificate_name(dns));
    }
  }
  if (!names.empty()) return names;
  // No DNS names: the common name, as clients did before SANs (and some private CAs still do).
  const X509_NAME* subject = X509_get_subject_name(leaf);
  const int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (index < 0) return names;
  const ASN1_STRING* cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index));
  unsigned char* utf8 = nullptr;
  const int length = ASN1_STRING_to_UTF8(&utf8, cn);
  if (length > 0) {
    const std::string_view value(reinterpret_cast<const char*>(utf8),
                                 static_cast<std::size_t>(length));
    if (value.find('\0') == std::string_view::npos) {
      names.push_back(canonical_certificate_name(value));
    }
  }
  OPENSSL_free(utf8);
  return names;
}

// Parses one pair; appends to `errors` and returns false on any problem.
bool parse(CertificatePem& pem, int64_t now, Certificate& out, std::vector<std::string>& errors,
           std::vector<std::string>& warnings) {
  const std::string& cert_source = pem.cert_source;
  const std::string& key_source = pem.key_source;
  out.cert_source = cert_source;
  out.key_source = key_source;
  bool ok = true;

  ERR_clear_error();
  BioPtr cert_bio(BIO_new_mem_buf(pem.cert_pem.data(), static_cast<int>(pem.cert_pem.size())));
  out.chain.reset(sk_X509_new_null());
  if (!cert_bio || !out.chain) {
    errors.push_back(cert_source + ": " + take_openssl_errors("out of memory"));
    return false;
  }
  while (X509* x = PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr)) {
    if (!out.leaf) {
      out.leaf.reset(x);
    } else if (sk_X509_push(out.chain.get(), x) == 0) {
      X509_free(x);
      errors.push_back(cert_source + ": " + take_openssl_errors("out of memory"));
      return false;
    }
  }
  if (!queue_says_no_more_pem()) {
    errors.push_back(cert_source + ": bad certificate PEM: " + take_openssl_errors());
    ok = false;
  } else if (!out.leaf) {
    errors.push_back(cert_source + ": no certificate found");
    ok = false;
  }
  ERR_clear_error();

  BioPtr key_bio(BIO_new_mem_buf(pem.key_pem.data(), static_cast<int>(pem.key_pem.size())));
  bool passphrase_asked = false;
  if (key_bio) {
    out.key.reset(
        PEM_read_bio_PrivateKey(key_bio.get(), nullptr, &refuse_passphrase, &passphrase_asked));
  }
  key_bio.reset();
  if (!out.key) {
    if (passphrase_asked) {
      errors.push_back(key_source +
                       ": the key is protected by a passphrase (ferry reads "
                       "unencrypted keys only; keep the file mode 0600)");
    } else if (queue_says_no_more_pem() ||
               pem.key_pem.find("PRIVATE KEY-----") == std::string::npos) {
      // OpenSSL 3's decoder reports a file without any key block as "unsupported".
      errors.push_back(key_source + ": no private key found");
    } else {
      errors.push_back(key_source + ": bad private key: " + take_openssl_errors());
    }
    ERR_clear_error();
    return false;
  }
  ERR_clear_error();

  switch (EVP_PKEY_get_base_id(out.key.get())) {
    case EVP_PKEY_RSA:
      out.key_type = KeyType::Rsa;
      break;
    case EVP_PKEY_EC: {
      out.key_type = KeyType::Ecdsa;
      char group[64] = {};
      std::size_t group_length = 0;
      if (EVP_PKEY_get_group_name(out.key.get(), group, sizeof group, &group_length) == 1) {
        out.curve_nid = OBJ_txt2nid(group);
      }
      break;
    }
    default:
      errors.push_back(key_source + ": unsupported key type " +
                       std::string(EVP_PKEY_get0_type_name(out.key.get()) != nullptr
                                       ? EVP_PKEY_get0_type_name(out.key.get())
                                       : "?") +
                       " (RSA or ECDSA only)");
      return false;
  }
  if (!ok) return false;

  if (X509_check_private_key(out.leaf.get(), out.key.get()) != 1) {
    ERR_clear_error();
    errors.push_back(key_source + ": key does not match the certificate in " + cert_source);
    return false;
  }

  if (!to_unix(X509_get0_notBefore(out.leaf.get()), out.not_before) ||
      !to_unix(X509_get0_notAfter(out.leaf.get()), out.not_after)) {
    ERR_clear_error();
    errors.push_back(cert_source + ": unreadable validity dates");
    return false;
  }
  out.names = names_of(out.leaf.get());
  if (out.not_after < now) {
    warnings.push_back(cert_source + ": certificate expired on " + utc_date(out.not_after) +
                       " (loaded anyway; clients will refuse it until it is replaced)");
  } else if (out.not_before > now) {
    warnings.push_back(cert_source + ": certificate is not valid before " +
                       utc_date(out.not_before) + " (loaded anyway)");
  }
  if (out.names.empty()) {
    warnings.push_back(cert_source +
                       ": certificate has no DNS name (no subject alternative "
                       "name, no common name); it is only served as the default");
  }
  return true;
}

}  // namespace

std::string_view key_type_name(KeyType type) {
  switch (type) {
    case KeyType::Rsa:
      return "RSA";
    case KeyType::Ecdsa:
      return "ECDSA";
  }
  return "?";
}

std::string_view Certificate::first_name() const {
  return names.empty() ? std::string_view(cert_source) : std::string_view(names.front());
}

std::string utc_date(int64_t unix_seconds) {
  const auto t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  if (::gmtime_r(&t, &tm) == nullptr) return "?";
  char buf[32];
  const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return std::string(buf, n);
}

CertificateLoad CertificateSet::load(const std::vector<CertificateFiles>& files, int64_t now) {
  CertificateLoad result;
  if (files.empty()) {
    result.errors.emplace_back("no certificates given");
    return result;
  }
  std::vector<Certificate> certificates(files.size());
  for (std::size_t i = 0; i < files.size(); ++i) {
    CertificatePem pem{files[i].cert, {}, files[i].key, {}};
    std::string cert_error = read_pem_file(pem.cert_source, pem.cert_pem);
    std::string key_error = read_pem_file(pem.key_source, pem.key_pem);
    const bool readable = cert_error.empty() && key_error.empty();
    if (!cert_error.empty()) result.errors.push_back(std::move(cert_error));
    if (!key_error.empty()) result.errors.push_back(std::move(key_error));
    // The pairs that could be read are still checked, so one pass reports every problem.
    if (readable) parse(pem, now, certificates[i], result.errors, result.warnings);
    OPENSSL_cleanse(pem.key_pem.data(), pem.key_pem.size());
  }
  if (result.errors.empty()) result.set.reset(new CertificateSet(std::move(certificates)));
  return result;
}

std::shared_ptr<const CertificateSet> CertificateSet::none() {
  return std::shared_ptr<const CertificateSet>(new CertificateSet({}));
}

CertificateLoad CertificateSet::from_pem(std::vector<CertificatePem> pems, int64_t now) {
  CertificateLoad result;
  if (pems.empty()) {
    result.errors.emplace_back("no certificates given");
    return result;
  }
  std::vector<Certificate> certificates(pems.size());
  for (std::size_t i = 0; i < pems.size(); ++i) {
    parse(pems[i], now, certificates[i], result.errors, result.warnings);
    OPENSSL_cleanse(pems[i].key_pem.data(), pems[i].key_pem.size());
  }
  if (result.errors.empty()) result.set.reset(new CertificateSet(std::move(certificates)));
  return result;
}

}  // namespace ferry::proxy::tls
