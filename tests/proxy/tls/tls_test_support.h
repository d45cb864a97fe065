// Shared by the TLS tests: a private PKI made at test time with the OpenSSL API (a CA, RSA
// and ECDSA leaves with several names and a wildcard, an expired one, a CN-only one, client
// certificates from the CA and from a stranger CA), contexts over it, and a pump that moves
// bytes between two in-memory Sessions in whatever pieces a test chooses.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/tls/certificates.h"
#include "proxy/tls/client_context.h"
#include "proxy/tls/server_context.h"
#include "proxy/tls/session.h"
#include "proxy/tls/ticket_keys.h"
#include "support/temp_dir.h"

namespace ferry::proxy::tls::testing {

int64_t unix_now();

// Files of one certificate and its key in the PKI's directory.
struct Issued {
  std::string cert;  // leaf then the issuing CA
  std::string key;
  int64_t not_after = 0;
};

// Made once per test binary (key generation is the slow part); read-only afterwards.
struct Pki {
  static const Pki& get();

  ferry::testing::TempDir dir{"ferry-tls-test"};
  std::string ca;        // the CA's certificate (trust anchor for servers and clients)
  std::string other_ca;  // a CA nobody trusts
  Issued site_rsa;       // CN site-rsa; example.com, www.example.com; RSA 2048
  Issued site_ecdsa;     // CN site-ecdsa; the same names; ECDSA P-256
  Issued wildcard;       // CN wildcard; *.apps.example.com; ECDSA P-384
  Issued other;          // CN other; other.test, alias.other.test; ECDSA P-256
  Issued legacy;         // CN legacy.example.net, no SAN; ECDSA P-256
  Issued expired;        // CN expired; expired.example.com; not after 2025-01-01; ECDSA
  Issued mismatched;     // site_rsa's certificate with site_ecdsa's key
  Issued client;         // CN client-1, O Ferry Tests, from the CA
  Issued stranger;       // CN stranger, from other_ca
  std::string path(std::string_view name) const { return dir.path() + "/" + std::string(name); }
};

// The usual listener: site (RSA then ECDSA), wildcard, other, legacy. site_rsa is default.
std::vector<CertificateFiles> standard_files();
std::shared_ptr<const CertificateSet> load_set(const std::vector<CertificateFiles>& files);
std::shared_ptr<const ServerContext> server_context(
    ServerOptions options = {}, const std::vector<CertificateFiles>& files = standard_files());
// A client context; verify off unless options say otherwise.
std::shared_ptr<const ClientContext> client_context(ClientOptions options = {});
ClientOptions no_verify();
ClientOptions verify_with_ca();

// One end of a connection under test: the session and the plaintext it has read.
struct Peer {
  std::unique_ptr<Session> session;
  std::string received;
  Session::Status last = Session::Status::WantMore;

  // Lets the session act on what it was fed: the handshake, then reads into `received`.
  void pump();
  bool failed() const { return last == Session::Status::Error; }
  bool closed() const { return last == Session::Status::Closed; }
  std::string_view error() const { return session->error(); }
};

// Cuts a run of bytes into the pieces delivered to the peer (sizes, summing to `total`).
using Splitter = std::function<std::vector<std::size_t>(std::size_t total)>;
Splitter whole();
Splitter bytewise();
Splitter random_pieces(uint32_t seed);

// Moves each side's output to the other (in pieces, pumping after each) until neither has
// any left. Returns the number of bytes moved.
std::size_t exchange(Peer& client, Peer& server, const Splitter& split = whole());
// Starts the client (its ClientHello) and exchanges until quiet. True when both handshakes
// are done and neither side failed.
bool connect(Peer& client, Peer& server, const Splitter& split = whole());

// The CN of the certificate the server presented, as the client saw it.
std::string served_common_name(const Session& client);

// A client + server pair on these contexts, connected. `sni` "" sends none.
struct Connection {
  Peer client;
  Peer server;
  bool connected = false;
};
Connection open_connection(std::shared_ptr<const ClientContext> client_ctx,
                           std::shared_ptr<const ServerContext> server_ctx,
                           std::string_view sni = "example.com",
                           ClientSessionCache* cache = nullptr,
                           std::string_view cache_key = "backend");

}  // namespace ferry::proxy::tls::testing
