#include "proxy/acme/jws.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <array>
#include <ctime>
#include <memory>

namespace ferry::proxy::acme {

namespace {

template <auto Free>
struct Freer {
  template <typename T>
  void operator()(T* p) const { Free(p); }
};
using EvpMdCtxPtr = std::unique_ptr<EVP_MD_CTX, Freer<EVP_MD_CTX_free>>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, Freer<ECDSA_SIG_free>>;
using BignumPtr = std::unique_ptr<BIGNUM, Freer<BN_free>>;
using X509ReqPtr = std::unique_ptr<X509_REQ, Freer<X509_REQ_free>>;
void free_extensions(STACK_OF(X509_EXTENSION) * s) { sk_X509_EXTENSION_pop_free(s, X509_EXTENSION_free); }
using ExtensionStackPtr = std::unique_ptr<STACK_OF(X509_EXTENSION), Freer<free_extensions>>;

constexpr std::size_t kCoordinateBytes = 32;  // P-256

std::string fixed_width(const BIGNUM* n) {
  std::string out(kCoordinateBytes, '\0');
  if (BN_bn2binpad(n, reinterpret_cast<unsigned char*>(out.data()), kCoordinateBytes) != kCoordinateBytes) return {};
  return out;
}

bool is_p256(EVP_PKEY* key) {
  if (key == nullptr || EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) return false;
  char group[64] = {};
  std::size_t length = 0;
  if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &length) != 1)
    return false;
  return std::string_view(group, length) == "prime256v1" || std::string_view(group, length) == "P-256";
}

int64_t unix_time(const ASN1_TIME* t) {
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return static_cast<int64_t>(timegm(&tm));
}

}  // namespace

std::string base64url(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  const auto at = [&](std::size_t k) { return static_cast<uint32_t>(static_cast<unsigned char>(bytes[k])); };
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v = at(i) << 16 | at(i + 1) << 8 | at(i + 2);
    for (int shift = 18; shift >= 0; shift -= 6) out.push_back(kAlphabet[(v >> shift) & 63]);
  }
  if (bytes.size() - i == 1) {
    const uint32_t v = at(i) << 16;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
  } else if (bytes.size() - i == 2) {
    const uint32_t v = at(i) << 16 | at(i + 1) << 8;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
  }
  return out;
}

std::string json_quote(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(c));
      out += escaped;
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
  return out;
}

tls::EvpPkeyPtr new_p256_key() { return tls::EvpPkeyPtr(EVP_EC_gen("P-256")); }

std::string private_key_pem(EVP_PKEY* key) {
  tls::BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) return {};
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(length));
}

tls::EvpPkeyPtr read_private_key(std::string_view pem) {
  tls::BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return nullptr;
  tls::EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!is_p256(key.get())) return nullptr;
  return key;
}

std::string jwk(EVP_PKEY* key) {
  BIGNUM* x = nullptr;
  BIGNUM* y = nullptr;
  EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, &x);
  EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, &y);
  const BignumPtr hold_x(x);
  const BignumPtr hold_y(y);
  if (x == nullptr || y == nullptr) return {};
  const std::string xs = fixed_width(x);
  const std::string ys = fixed_width(y);
  if (xs.empty() || ys.empty()) return {};
  return R"({"crv":"P-256","kty":"EC","x":")" + base64url(xs) + R"(","y":")" + base64url(ys) + "\"}";
}

std::string jwk_thumbprint(EVP_PKEY* key) {
  const std::string text = jwk(key);
  if (text.empty()) return {};
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  if (EVP_Digest(text.data(), text.size(), digest.data(), &length, EVP_sha256(), nullptr) != 1) return {};
  return base64url(std::string_view(reinterpret_cast<const char*>(digest.data()), length));
}

std::string es256_sign(EVP_PKEY* key, std::string_view input) {
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) != 1) return {};
  std::size_t length = 0;
  const auto* data = reinterpret_cast<const unsigned char*>(input.data());
  if (EVP_DigestSign(ctx.get(), nullptr, &length, data, input.size()) != 1) return {};
  std::string der(length, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(der.data()), &length, data, input.size()) != 1)
    return {};
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  const EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(length)));
  if (!sig) return {};
  const std::string r = fixed_width(ECDSA_SIG_get0_r(sig.get()));
  const std::string s = fixed_width(ECDSA_SIG_get0_s(sig.get()));
  if (r.empty() || s.empty()) return {};
  return r + s;
}

std::string jws(EVP_PKEY* key, std::string_view kid, std::string_view nonce, std::string_view url,
                std::string_view payload) {
  std::string header = R"({"alg":"ES256",)";
  if (kid.empty()) {
    const std::string key_json = jwk(key);
    if (key_json.empty()) return {};
    header += "\"jwk\":" + key_json;
  } else {
    header += "\"kid\":" + json_quote(kid);
  }
  header += ",\"nonce\":" + json_quote(nonce) + ",\"url\":" + json_quote(url) + "}";
  const std::string protected_b64 = base64url(header);
  const std::string payload_b64 = base64url(payload);
  const std::string signature = es256_sign(key, protected_b64 + "." + payload_b64);
  if (signature.empty()) return {};
  return R"({"protected":")" + protected_b64 + R"(","payload":")" + payload_b64 + R"(","signature":")" +
         base64url(signature) + "\"}";
}

std::string csr_der(EVP_PKEY* key, const std::vector<std::string>& domains) {
  if (domains.empty()) return {};
  X509ReqPtr req(X509_REQ_new());
  if (!req || X509_REQ_set_version(req.get(), 0) != 1) return {};
  X509_NAME* subject = X509_REQ_get_subject_name(req.get());
  if (X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(domains.front().c_str()), -1, -1, 0) != 1)
    return {};
  std::string san;
  for (const std::string& d : domains) san += (san.empty() ? "DNS:" : ",DNS:") + d;
  ExtensionStackPtr extensions(sk_X509_EXTENSION_new_null());
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, san.c_str());
  if (!extensions || ext == nullptr || sk_X509_EXTENSION_push(extensions.get(), ext) == 0) {
    X509_EXTENSION_free(ext);
    return {};
  }
  if (X509_REQ_add_extensions(req.get(), extensions.get()) != 1 || X509_REQ_set_pubkey(req.get(), key) != 1 ||
      X509_REQ_sign(req.get(), key, EVP_sha256()) <= 0)
    return {};
  const int length = i2d_X509_REQ(req.get(), nullptr);
  if (length <= 0) return {};
  std::string der(static_cast<std::size_t>(length), '\0');
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_X509_REQ(req.get(), &out) != length) return {};
  return der;
}

std::optional<CertificateFacts> certificate_facts(std::string_view chain_pem) {
  tls::BioPtr bio(BIO_new_mem_buf(chain_pem.data(), static_cast<int>(chain_pem.size())));
  if (!bio) return std::nullopt;
  const tls::X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) return std::nullopt;
  CertificateFacts facts;
  facts.not_before = unix_time(X509_get0_notBefore(cert.get()));
  facts.not_after = unix_time(X509_get0_notAfter(cert.get()));
  const tls::GeneralNamesPtr names(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert.get(), NID_subject_alt_name, nullptr, nullptr)));
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    if (name->type != GEN_DNS) continue;
    const ASN1_IA5STRING* dns = name->d.dNSName;
    std::string text(reinterpret_cast<const char*>(ASN1_STRING_get0_data(dns)),
                     static_cast<std::size_t>(ASN1_STRING_length(dns)));
    for (char& c : text)
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c | 0x20);
    facts.names.push_back(std::move(text));
  }
  const ASN1_INTEGER* serial = X509_get0_serialNumber(cert.get());
  // The serial's DER content octets (two's complement, a leading 0 kept), as RFC 9773 wants.
  const BignumPtr serial_bn(ASN1_INTEGER_to_BN(serial, nullptr));
  if (serial_bn) {
    char* hex = BN_bn2hex(serial_bn.get());
    if (hex != nullptr) facts.serial_hex = hex;
    OPENSSL_free(hex);
  }
  const ASN1_OCTET_STRING* aki = X509_get0_authority_key_id(cert.get());
  if (aki != nullptr && serial != nullptr) {
    unsigned char* der = nullptr;
    const int length = i2d_ASN1_INTEGER(serial, &der);
    if (length > 2) {
      // Skip the tag and the length (serials are at most 20 octets: one length byte).
      facts.ari_id = base64url(std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(aki)),
                                                static_cast<std::size_t>(ASN1_STRING_length(aki)))) +
                     "." + base64url(std::string_view(reinterpret_cast<const char*>(der) + 2,
                                                      static_cast<std::size_t>(length - 2)));
    }
    OPENSSL_free(der);
  }
  return facts;
}

}  // namespace ferry::proxy::acme
