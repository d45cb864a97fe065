// The server side of a TLS listener: immutable SSL_CTXs built from a certificate set and the
// listener's options. One SSL_CTX per certificate, all configured alike; every connection
// starts on the first (the default) and the client-hello callback moves it to the one
// CertificateChoice picks (SSL_set_SSL_CTX, as HAProxy does), before OpenSSL looks at the
// certificate, the session or ALPN.
//
// A reload builds a new ServerContext and swaps the pointer new connections take;
// connections already open keep theirs (each Session holds a reference), so a certificate
// swap drops nothing. Building one per worker is cheap (certificates and keys are shared by
// reference) and keeps SSL_new's reference counting off the other cores; sharing one is also
// safe, SSL_CTX being thread-safe for SSL_new.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "proxy/tls/certificate_choice.h"
#include "proxy/tls/certificates.h"
#include "proxy/tls/openssl_handles.h"
#include "proxy/tls/policy.h"
#include "proxy/tls/ticket_keys.h"

namespace ferry::proxy::tls {

struct ServerOptions {
  Policy policy = Policy::Intermediate;
  // ALPN protocols in the server's order of preference ({"http/1.1"}, later {"h2",
  // "http/1.1"}). Empty: no ALPN. A client that offers ALPN but none of these is refused
  // with no_application_protocol (RFC 7301 3.2, as nginx does since 1.21.4).
  std::vector<std::string> alpn;
  // The process-wide ring (session_tickets: true). Null: no tickets and no session cache,
  // so no resumption at all; a per-worker cache would resume only on the worker that made
  // the session, which behaves like randomness to a client.
  std::shared_ptr<const TicketKeys> ticket_keys;
  // A PEM bundle of CAs (client_ca): clients must present a certificate that chains to one
  // of them, or the handshake fails. Their names are sent in the CertificateRequest.
  std::string client_ca;
};

class ServerContext {
 public:
  struct Built {
    std::shared_ptr<const ServerContext> context;  // null when errors is not empty
    std::vector<std::string> errors;               // naming the file where there is one
  };
  // Main thread (reads client_ca). Never throws.
  static Built build(std::shared_ptr<const CertificateSet> certificates, ServerOptions options);
  // A context with no certificate whose every handshake fails with a handshake_failure alert:
  // what a listener serving ACME's certificate answers until the first one is in hand.
  static Built refusing(ServerOptions options);

  ServerContext(const ServerContext&) = delete;
  ServerContext& operator=(const ServerContext&) = delete;

  // The context new server SSLs are made from (the default certificate's).
  SSL_CTX* initial_ctx() const { return contexts_.front().get(); }
  // The context serving certificates()[index].
  SSL_CTX* ctx_for(std::size_t index) const { return contexts_.at(index).get(); }

  const CertificateSet& certificates() const { return *certificates_; }
  const ServerOptions& options() const { return options_; }
  const CertificateChoice& choice() const { return choice_; }

 private:
  ServerContext(std::shared_ptr<const CertificateSet> certificates, ServerOptions options);
  static Built build_any(std::shared_ptr<const CertificateSet> certificates, ServerOptions options);

  static int on_client_hello(SSL* ssl, int* alert, void* arg);
  static int on_server_name(SSL* ssl, int* alert, void* arg);
  static SSL_TICKET_RETURN on_ticket_decrypted(SSL* ssl, SSL_SESSION* session,
                                               const unsigned char* key_name, std::size_t key_name_length,
                                               SSL_TICKET_STATUS status, void* arg);
  static int on_alpn(SSL* ssl, const unsigned char** out, unsigned char* out_length,
                     const unsigned char* in, unsigned int in_length, void* arg);

  std::shared_ptr<const CertificateSet> certificates_;
  ServerOptions options_;
  CertificateChoice choice_;
  std::string alpn_wire_;
  std::vector<SslCtxPtr> contexts_;  // one per certificate, same order
};

}  // namespace ferry::proxy::tls
