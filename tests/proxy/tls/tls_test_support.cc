#include "tls_test_support.h"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <cstdlib>
#include <ctime>
#include <fstream>
#include <random>
#include <stdexcept>

#include "support/test_certificates.h"

namespace ferry::proxy::tls::testing {
namespace {

using ferry::testing::CertificateSpec;
using ferry::testing::ec_key;
using ferry::testing::make_certificate;
using ferry::testing::pem_of;
using ferry::testing::rsa_key;

constexpr int64_t kDay = 24 * 3600;
constexpr int64_t kExpiredNotBefore = 1704067200;  // 2024-01-01T00:00:00Z
constexpr int64_t kExpiredNotAfter = 1735689600;   // 2025-01-01T00:00:00Z

void write_file(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  if (!out) throw std::runtime_error("cannot write " + path);
}

}  // namespace

int64_t unix_now() { return static_cast<int64_t>(std::time(nullptr)); }

const Pki& Pki::get() {
  static Pki* const pki = [] {
    auto* p = new Pki;
    const int64_t now = unix_now();
    auto issue = [&](const std::string& stem, const CertificateSpec& spec, EVP_PKEY* key, X509* issuer,
                     EVP_PKEY* issuer_key, Issued& out) {
      const X509Ptr cert = make_certificate(spec, key, issuer, issuer_key);
      out.cert = p->path(stem + ".pem");
      out.key = p->path(stem + ".key");
      out.not_after = spec.not_after;
      write_file(out.cert, pem_of(cert.get()) + (issuer != nullptr ? pem_of(issuer) : ""));
      write_file(out.key, pem_of(key));
    };
    const EvpPkeyPtr ca_key = rsa_key();
    const X509Ptr ca =
        make_certificate({"Ferry Test CA", "Ferry Tests", {}, now - kDay, now + 3650 * kDay, true},
                         ca_key.get(), nullptr, nullptr);
    p->ca = p->path("ca.pem");
    write_file(p->ca, pem_of(ca.get()));
    const EvpPkeyPtr other_ca_key = ec_key("P-256");
    const X509Ptr other_ca =
        make_certificate({"Stranger CA", "Elsewhere", {}, now - kDay, now + 3650 * kDay, true},
                         other_ca_key.get(), nullptr, nullptr);
    p->other_ca = p->path("other-ca.pem");
    write_file(p->other_ca, pem_of(other_ca.get()));

    const int64_t from = now - kDay;
    const int64_t until = now + 90 * kDay;
    const EvpPkeyPtr site_rsa = rsa_key();
    const EvpPkeyPtr site_ecdsa = ec_key("P-256");
    issue("site-rsa", {"site-rsa", "", {"example.com", "www.example.com"}, from, until},
          site_rsa.get(), ca.get(), ca_key.get(), p->site_rsa);
    issue("site-ecdsa", {"site-ecdsa", "", {"example.com", "www.example.com"}, from, until + kDay},
          site_ecdsa.get(), ca.get(), ca_key.get(), p->site_ecdsa);
    const EvpPkeyPtr wildcard = ec_key("P-384");
    issue("wildcard", {"wildcard", "", {"*.apps.example.com"}, from, until}, wildcard.get(),
          ca.get(), ca_key.get(), p->wildcard);
    const EvpPkeyPtr other = ec_key("P-256");
    issue("other", {"other", "", {"other.test", "alias.other.test"}, from, until}, other.get(),
          ca.get(), ca_key.get(), p->other);
    const EvpPkeyPtr legacy = ec_key("P-256");
    issue("legacy", {"legacy.example.net", "", {}, from, until}, legacy.get(), ca.get(),
          ca_key.get(), p->legacy);
    const EvpPkeyPtr expired = ec_key("P-256");
    issue("expired", {"expired", "", {"expired.example.com"}, kExpiredNotBefore, kExpiredNotAfter},
          expired.get(), ca.get(), ca_key.get(), p->expired);
    p->mismatched = {p->site_rsa.cert, p->site_ecdsa.key, p->site_rsa.not_after};
    const EvpPkeyPtr client = ec_key("P-256");
    issue("client", {"client-1", "Ferry Tests", {}, from, until}, client.get(), ca.get(),
          ca_key.get(), p->client);
    const EvpPkeyPtr stranger = ec_key("P-256");
    issue("stranger", {"stranger", "Elsewhere", {}, from, until}, stranger.get(), other_ca.get(),
          other_ca_key.get(), p->stranger);
    // The PKI itself lives to the end (no destruction order to reason about), but its files
    // go at exit: ctest runs each test in a process of its own, and each made a directory.
    static const std::string* dir_at_exit = &p->dir.path();
    std::atexit([] { ferry::testing::remove_tree(*dir_at_exit); });
    return p;
  }();
  return *pki;
}

std::vector<CertificateFiles> standard_files() {
  const Pki& pki = Pki::get();
  return {{pki.site_rsa.cert, pki.site_rsa.key},
          {pki.site_ecdsa.cert, pki.site_ecdsa.key},
          {pki.wildcard.cert, pki.wildcard.key},
          {pki.other.cert, pki.other.key},
          {pki.legacy.cert, pki.legacy.key}};
}

std::shared_ptr<const CertificateSet> load_set(const std::vector<CertificateFiles>& files) {
  CertificateLoad load = CertificateSet::load(files, unix_now());
  for (const std::string& e : load.errors) ADD_FAILURE() << e;
  return load.set;
}

std::shared_ptr<const ServerContext> server_context(ServerOptions options,
                                                    const std::vector<CertificateFiles>& files) {
  ServerContext::Built built = ServerContext::build(load_set(files), std::move(options));
  for (const std::string& e : built.errors) ADD_FAILURE() << e;
  return built.context;
}

std::shared_ptr<const ClientContext> client_context(ClientOptions options) {
  ClientContext::Built built = ClientContext::build(options);
  for (const std::string& e : built.errors) ADD_FAILURE() << e;
  return built.context;
}

ClientOptions no_verify() {
  ClientOptions options;
  options.verify = false;
  return options;
}

ClientOptions verify_with_ca() {
  ClientOptions options;
  options.verify = true;
  options.ca_file = Pki::get().ca;
  return options;
}

void Peer::pump() {
  if (!session->handshake_done()) {
    last = session->handshake().status;
    if (last != Session::Status::Ok) return;
  }
  char buf[4096];
  for (;;) {
    const Session::Result r = session->read(buf, sizeof buf);
    last = r.status;
    if (r.status != Session::Status::Ok) return;
    received.append(buf, r.bytes);
  }
}

Splitter whole() {
  return [](std::size_t total) { return std::vector<std::size_t>{total}; };
}

Splitter bytewise() {
  return [](std::size_t total) { return std::vector<std::size_t>(total, 1); };
}

Splitter random_pieces(uint32_t seed) {
  auto rng = std::make_shared<std::mt19937>(seed);
  return [rng](std::size_t total) {
    std::vector<std::size_t> pieces;
    std::size_t left = total;
    while (left > 0) {
      // Mostly small pieces (record headers split across reads), sometimes large ones.
      const std::size_t cap = ((*rng)() % 4 == 0) ? 5000 : 40;
      const std::size_t piece = std::min<std::size_t>(left, 1 + (*rng)() % cap);
      pieces.push_back(piece);
      left -= piece;
    }
    return pieces;
  };
}

namespace {

std::size_t move_output(Peer& from, Peer& to, const Splitter& split) {
  const std::string bytes(from.session->output());
  from.session->consume_output(bytes.size());
  if (bytes.empty()) return 0;
  std::size_t at = 0;
  for (const std::size_t piece : split(bytes.size())) {
    to.session->feed(bytes.data() + at, piece);
    at += piece;
    to.pump();
  }
  return bytes.size();
}

}  // namespace

std::size_t exchange(Peer& client, Peer& server, const Splitter& split) {
  std::size_t total = 0;
  for (int round = 0; round < 1000; ++round) {
    const std::size_t moved =
        move_output(client, server, split) + move_output(server, client, split);
    total += moved;
    if (moved == 0) break;
  }
  return total;
}

bool connect(Peer& client, Peer& server, const Splitter& split) {
  client.pump();
  exchange(client, server, split);
  return client.session->handshake_done() && server.session->handshake_done() && !client.failed() &&
         !server.failed();
}

std::string served_common_name(const Session& client) {
  const X509* peer = SSL_get0_peer_certificate(client.native());
  if (peer == nullptr) return "(none)";
  char cn[256] = {};
  if (X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, cn, sizeof cn) < 0) {
    return "(no CN)";
  }
  return cn;
}

Connection open_connection(std::shared_ptr<const ClientContext> client_ctx,
                           std::shared_ptr<const ServerContext> server_ctx, std::string_view sni,
                           ClientSessionCache* cache, std::string_view cache_key) {
  Connection c;
  c.client.session = Session::client(std::move(client_ctx), sni, cache, cache_key);
  c.server.session = Session::server(std::move(server_ctx));
  if (!c.client.session || !c.server.session) return c;
  c.connected = connect(c.client, c.server);
  return c;
}

}  // namespace ferry::proxy::tls::testing
