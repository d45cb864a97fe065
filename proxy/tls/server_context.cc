#include "proxy/tls/server_context.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <algorithm>

#include "proxy/tls/alpn.h"
#include "proxy/tls/client_hello.h"
#include "proxy/tls/pem_file.h"

namespace ferry::proxy::tls {
namespace {

// Without tickets there is no resumption; the lifetime then only bounds OpenSSL's bookkeeping.
constexpr long kSessionLifetimeWithoutTickets = 300;

// The CAs of a client_ca bundle: a store to verify against (shared by every SSL_CTX) and
// their subjects to send in the CertificateRequest.
struct ClientCa {
  X509StorePtr store;
  X509NameStackPtr names;
  std::string pem;  // the bundle's bytes, for the session id context
};

bool load_client_ca(const std::string& path, ClientCa& out, std::vector<std::string>& errors) {
  std::string error = read_pem_file(path, out.pem);
  if (!error.empty()) {
    errors.push_back(std::move(error));
    return false;
  }
  ERR_clear_error();
  out.store.reset(X509_STORE_new());
  out.names.reset(sk_X509_NAME_new_null());
  BioPtr bio(BIO_new_mem_buf(out.pem.data(), static_cast<int>(out.pem.size())));
  if (!out.store || !out.names || !bio) {
    errors.push_back(path + ": " + take_openssl_errors("out of memory"));
    return false;
  }
  int count = 0;
  while (X509* raw = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    const X509Ptr cert(raw);
    ++count;
    X509_NAME* name = X509_NAME_dup(X509_get_subject_name(cert.get()));
    if (X509_STORE_add_cert(out.store.get(), cert.get()) != 1 || name == nullptr ||
        sk_X509_NAME_push(out.names.get(), name) == 0) {
      X509_NAME_free(name);
      errors.push_back(path + ": " + take_openssl_errors());
      return false;
    }
  }
  const unsigned long last = ERR_peek_last_error();
  if (last != 0 &&
      !(ERR_GET_LIB(last) == ERR_LIB_PEM && ERR_GET_REASON(last) == PEM_R_NO_START_LINE)) {
    errors.push_back(path + ": bad certificate PEM: " + take_openssl_errors());
    return false;
  }
  ERR_clear_error();
  if (count == 0) {
    errors.push_back(path + ": no CA certificate found");
    return false;
  }
  return true;
}

// Sessions resume only where they were made under the same client-certificate rules: a
// ticket from a listener without client_ca (or with another bundle) must not skip the
// client certificate check here. OpenSSL compares this id and refuses the ticket when it
// differs (a full handshake follows). The ring is process-wide, so this is what keeps
// listeners apart.
std::string session_id_context(Policy policy, const std::string& client_ca_pem) {
  std::string input = "ferry-tls-session/1|";
  input += policy_name(policy);
  input += '|';
  input += client_ca_pem;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(input.data(), input.size(), digest, &length, EVP_sha256(), nullptr) != 1) {
    return {};
  }
  return std::string(reinterpret_cast<const char*>(digest),
                     std::min<std::size_t>(length, SSL_MAX_SID_CTX_LENGTH));
}

}  // namespace

ServerContext::ServerContext(std::shared_ptr<const CertificateSet> certificates,
                             ServerOptions options)
    : certificates_(std::move(certificates)),
      options_(std::move(options)),
      choice_(*certificates_) {}

ServerContext::Built ServerContext::build(std::shared_ptr<const CertificateSet> certificates,
                                          ServerOptions options) {
  if (!certificates || certificates->certificates().empty()) {
    Built built;
    built.errors.emplace_back("no certificates");
    return built;
  }
  return build_any(std::move(certificates), std::move(options));
}

ServerContext::Built ServerContext::refusing(ServerOptions options) {
  return build_any(CertificateSet::none(), std::move(options));
}

ServerContext::Built ServerContext::build_any(std::shared_ptr<const CertificateSet> certificates,
                                              ServerOptions options) {
  Built built;
  std::shared_ptr<ServerContext> self(
      new ServerContext(std::move(certificates), std::move(options)));
  const ServerOptions& opts = self->options_;

  if (!alpn_wire(opts.alpn, self->alpn_wire_)) {
    built.errors.emplace_back("alpn: every protocol name must be 1 to 255 bytes");
  }
  ClientCa client_ca;
  if (!opts.client_ca.empty()) load_client_ca(opts.client_ca, client_ca, built.errors);
  if (!built.errors.empty()) return built;
  const std::string sid_context = session_id_context(opts.policy, client_ca.pem);
  if (sid_context.empty()) {
    built.errors.push_back("session id context: " + take_openssl_errors());
    return built;
  }

  // One context per certificate; a set with none (refusing()) still gets one, without one.
  const std::vector<Certificate>& served = self->certificates_->certificates();
  for (std::size_t i = 0; i < std::max<std::size_t>(served.size(), 1); ++i) {
    const Certificate* cert = i < served.size() ? &served[i] : nullptr;
    const std::string source = cert != nullptr ? cert->cert_source : "(no certificate yet)";
    ERR_clear_error();
    SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
    if (!ctx) {
      built.errors.push_back(source + ": " + take_openssl_errors("out of memory"));
      return built;
    }
    if (std::string error = apply_server_policy(ctx.get(), opts.policy); !error.empty()) {
      built.errors.push_back("policy " + std::string(policy_name(opts.policy)) + ": " + error);
      return built;
    }
    // Idle connections hold no record buffers: OpenSSL frees them whenever they are empty.
    SSL_CTX_set_mode(ctx.get(), SSL_MODE_RELEASE_BUFFERS);
    // Pull whole records (and more) per read from the session's input, not 5 bytes then
    // the rest: fewer calls into the BIO per record.
    SSL_CTX_set_read_ahead(ctx.get(), 1);
    // No stateful session cache: tickets carry the session (see ServerOptions).
    SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
    SSL_CTX_set_session_id_context(ctx.get(),
                                   reinterpret_cast<const unsigned char*>(sid_context.data()),
                                   static_cast<unsigned int>(sid_context.size()));
    if (opts.ticket_keys) {
      // The lifetime hint tells clients to drop a ticket before the ring drops its key.
      SSL_CTX_set_timeout(ctx.get(), static_cast<long>(opts.ticket_keys->period()));
      opts.ticket_keys->install(ctx.get());
      // A ticket resumes only under the name it was issued for (RFC 6066 3, RFC 8446 4.6.1).
      SSL_CTX_set_session_ticket_cb(ctx.get(), nullptr, &ServerContext::on_ticket_decrypted,
                                    nullptr);
    } else {
      SSL_CTX_set_options(ctx.get(), SSL_OP_NO_TICKET);
      SSL_CTX_set_timeout(ctx.get(), kSessionLifetimeWithoutTickets);
    }
    if (cert != nullptr &&
        SSL_CTX_use_cert_and_key(ctx.get(), cert->leaf.get(), cert->key.get(), cert->chain.get(), 1) != 1) {
      built.errors.push_back(source + ": cannot serve this certificate: " + take_openssl_errors());
      continue;
    }
    SSL_CTX_set_client_hello_cb(ctx.get(), &ServerContext::on_client_hello, self.get());
    // Accepting the SNI name is what makes OpenSSL keep it in the session: without this
    // callback a resumed TLS 1.2 connection reported no server_name() at all.
    // (SSL_CTX_set_tlsext_servername_callback spelled out: its C cast trips -Wold-style-cast.)
    SSL_CTX_callback_ctrl(ctx.get(), SSL_CTRL_SET_TLSEXT_SERVERNAME_CB,
                          reinterpret_cast<void (*)()>(&ServerContext::on_server_name));
    if (!self->alpn_wire_.empty()) {
      SSL_CTX_set_alpn_select_cb(ctx.get(), &ServerContext::on_alpn, self.get());
    }
    if (client_ca.store) {
      SSL_CTX_set1_cert_store(ctx.get(), client_ca.store.get());
      X509NameStackPtr names(SSL_dup_CA_list(client_ca.names.get()));
      if (!names) {
        built.errors.push_back(opts.client_ca + ": " + take_openssl_errors("out of memory"));
        return built;
      }
      SSL_CTX_set_client_CA_list(ctx.get(), names.release());
      SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    }
    self->contexts_.push_back(std::move(ctx));
  }
  if (built.errors.empty()) built.context = std::move(self);
  return built;
}

// Runs inside the handshake on the connection's thread, before OpenSSL has looked at the
// certificate, session or ALPN, so moving the SSL to another context here is safe.
int ServerContext::on_client_hello(SSL* ssl, int* alert, void* arg) {
  const auto* self = static_cast<const ServerContext*>(arg);
  if (self->certificates_->certificates().empty()) {  // refusing(): nothing to serve yet
    *alert = SSL_AD_HANDSHAKE_FAILURE;
    return SSL_CLIENT_HELLO_ERROR;
  }
  const std::size_t chosen = self->choice_.choose(read_client_offer(ssl));
  SSL_CTX* target = self->contexts_[chosen].get();
  if (SSL_get_SSL_CTX(ssl) != target && SSL_set_SSL_CTX(ssl, target) == nullptr) {
    *alert = SSL_AD_INTERNAL_ERROR;
    return SSL_CLIENT_HELLO_ERROR;
  }
  return SSL_CLIENT_HELLO_SUCCESS;
}

// The name was used already (on_client_hello chose the certificate by it); saying so acks
// it in the ServerHello (RFC 6066 3) and stores it in the session for TLS 1.2 resumption.
int ServerContext::on_server_name(SSL*, int*, void*) { return SSL_TLSEXT_ERR_OK; }

namespace {

// Host names compare without regard to ASCII case (RFC 4343). Not strncasecmp: an absent
// name is a view with no data pointer, which it must not be given.
bool same_host_name(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c | 0x20) : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

}  // namespace

// OpenSSL 3.0 resumes a session (TLS 1.2 and 1.3 alike) whatever name the client asks for now: a ticket
// issued on one certificate's name would skip the choice of certificate (and what the name
// stands for) on another. A session whose name differs is ignored, so a full handshake
// follows and a new ticket is issued. Every other outcome is OpenSSL's default.
SSL_TICKET_RETURN ServerContext::on_ticket_decrypted(SSL* ssl, SSL_SESSION* session,
                                                     const unsigned char*, std::size_t,
                                                     SSL_TICKET_STATUS status, void*) {
  switch (status) {
    case SSL_TICKET_SUCCESS:
    case SSL_TICKET_SUCCESS_RENEW: {
      // OpenSSL has not parsed server_name yet when it decrypts a ticket (SSL_get_servername
      // is still empty), but the ClientHello is still at hand: read the name from it.
      const char* issued_for = SSL_SESSION_get0_hostname(session);
      const unsigned char* extension = nullptr;
      std::size_t length = 0;
      const std::string_view b =
          SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &extension, &length) == 1
              ? parse_server_name({extension, length})
              : std::string_view();
      const std::string_view a = issued_for != nullptr ? issued_for : "";
      if (!same_host_name(a, b)) {
        return SSL_TICKET_RETURN_IGNORE_RENEW;
      }
      return status == SSL_TICKET_SUCCESS ? SSL_TICKET_RETURN_USE : SSL_TICKET_RETURN_USE_RENEW;
    }
    case SSL_TICKET_FATAL_ERR_MALLOC:
    case SSL_TICKET_FATAL_ERR_OTHER:
      return SSL_TICKET_RETURN_ABORT;
    default:  // no ticket, an empty one, or one no key of the ring decrypts
      return SSL_TICKET_RETURN_IGNORE_RENEW;
  }
}

int ServerContext::on_alpn(SSL*, const unsigned char** out, unsigned char* out_length,
                           const unsigned char* in, unsigned int in_length, void* arg) {
  const auto* self = static_cast<const ServerContext*>(arg);
  const std::string_view chosen =
      select_alpn(self->alpn_wire_, std::string_view(reinterpret_cast<const char*>(in), in_length));
  if (chosen.empty()) return SSL_TLSEXT_ERR_ALERT_FATAL;  // no_application_protocol
  // A view into `in`, which OpenSSL keeps until it has copied the choice.
  *out = reinterpret_cast<const unsigned char*>(chosen.data());
  *out_length = static_cast<unsigned char>(chosen.size());
  return SSL_TLSEXT_ERR_OK;
}

}  // namespace ferry::proxy::tls
