// TLS glue (proxy/tls/session.h): a real client and server Session talk in memory while the
// input decides how each direction's ciphertext is cut into pieces, and whether a byte is
// flipped, junk or an alert is slipped in, or the stream is cut short with EOF mid-record.
// Or the raw input goes straight to a server (as a ClientHello and whatever follows) or to a
// client (as the server's answer to its ClientHello).
//
// Input, first byte: bits 0-1 the mode (0, 1: conversation; 2: raw to a server; 3: raw to a
// client). Raw modes: bit 2 feeds EOF at the end, bits 3-7 the piece size (0: all at once);
// the rest of the input is the bytes. Conversation: see Script::parse.
//
// Invariants:
//   - nothing crashes, leaks or trips a sanitizer, and every loop ends (bounded here);
//   - the plaintext a session reads is always a prefix of what its peer wrote, whatever was
//     done to the ciphertext (TLS authenticates every record), and all of it once the
//     session has read close_notify (which is authenticated too: no silent truncation);
//   - untouched ciphertext: both handshakes complete, every byte written arrives, a resumed
//     connection resumes, and close_notify or EOF end the connection the documented way;
//   - a failed session stays failed: no plaintext, no more input taken, an error() to show;
//   - once a session has acted on what it was fed and its output has been taken, it holds no
//     buffer (session.h: idle sessions hold no byte buffer), so memory stays bounded;
//   - raw bytes never complete a handshake nor yield plaintext (no key is known to them).
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "model.h"
#include "proxy/tls/certificates.h"
#include "proxy/tls/client_context.h"
#include "proxy/tls/client_session_cache.h"
#include "proxy/tls/server_context.h"
#include "proxy/tls/session.h"
#include "proxy/tls/ticket_keys.h"

namespace ferry::fuzz {
namespace {

using proxy::tls::ClientContext;
using proxy::tls::ClientSessionCache;
using proxy::tls::ServerContext;
using proxy::tls::Session;
using Status = Session::Status;

constexpr std::string_view kHostName = "example.com";
constexpr int kMaxRounds = 64;                    // exchanges before a conversation must go quiet
constexpr int kMaxReadsPerPump = 256;             // 256 x 16 KiB: more than any test writes
constexpr std::size_t kMaxRawOutput = 64 * 1024;  // a server's first flight, with room
// Past the 64 KiB of small records Session::write starts a connection with.
constexpr std::size_t kBigMessage = 64 * 1024 + 3000;

// ---- Contexts, made once per process (key generation is the slow part) ----

[[noreturn]] void setup_failed(const std::string& what) {
  std::fprintf(stderr, "fuzz_tls setup: %s: %s\n", what.c_str(),
               proxy::tls::take_openssl_errors("").c_str());
  std::abort();
}

proxy::tls::EvpPkeyPtr p256_key() {
  proxy::tls::EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) setup_failed("P-256 key");
  return key;
}

void add_extension(X509* cert, X509V3_CTX* ctx, int nid, const char* value) {
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, ctx, nid, value);
  if (ext == nullptr || X509_add_ext(cert, ext, -1) != 1) setup_failed("extension");
  X509_EXTENSION_free(ext);
}

// A CA when issuer is null (self-signed), else a leaf for kHostName signed by the issuer.
proxy::tls::X509Ptr make_certificate(const char* common_name, EVP_PKEY* key, X509* issuer,
                                     EVP_PKEY* issuer_key) {
  proxy::tls::X509Ptr cert(X509_new());
  if (!cert) setup_failed("X509_new");
  const time_t now = std::time(nullptr);
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), issuer == nullptr ? 1 : 2);
  ASN1_TIME_set(X509_getm_notBefore(cert.get()), now - 24 * 3600);
  ASN1_TIME_set(X509_getm_notAfter(cert.get()), now + 3650L * 24 * 3600);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(common_name), -1, -1, 0);
  X509_set_issuer_name(cert.get(), issuer != nullptr ? X509_get_subject_name(issuer) : name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer != nullptr ? issuer : cert.get(), cert.get(), nullptr, nullptr, 0);
  if (issuer == nullptr) {
    add_extension(cert.get(), &ctx, NID_basic_constraints, "critical,CA:TRUE");
    add_extension(cert.get(), &ctx, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add_extension(cert.get(), &ctx, NID_basic_constraints, "CA:FALSE");
    add_extension(cert.get(), &ctx, NID_subject_alt_name, "DNS:example.com");
  }
  if (X509_sign(cert.get(), issuer_key != nullptr ? issuer_key : key, EVP_sha256()) <= 0) {
    setup_failed("sign");
  }
  return cert;
}

template <class Write>
std::string pem(Write write) {
  proxy::tls::BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || write(bio.get()) != 1) setup_failed("PEM");
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(length));
}

struct Contexts {
  std::shared_ptr<const ServerContext> server;  // ECDSA leaf, tickets, ALPN http/1.1
  std::shared_ptr<const ClientContext> client;  // verifies against the CA, offers http/1.1
};

const Contexts& contexts() {
  static const Contexts* const made = [] {
    const int64_t now = static_cast<int64_t>(std::time(nullptr));
    const proxy::tls::EvpPkeyPtr ca_key = p256_key();
    const proxy::tls::X509Ptr ca = make_certificate("Fuzz CA", ca_key.get(), nullptr, nullptr);
    const proxy::tls::EvpPkeyPtr leaf_key = p256_key();
    const proxy::tls::X509Ptr leaf =
        make_certificate("fuzz-leaf", leaf_key.get(), ca.get(), ca_key.get());
    const std::string ca_pem = pem([&](BIO* b) { return PEM_write_bio_X509(b, ca.get()); });
    const std::string leaf_pem = pem([&](BIO* b) { return PEM_write_bio_X509(b, leaf.get()); });
    const std::string key_pem = pem([&](BIO* b) {
      return PEM_write_bio_PrivateKey(b, leaf_key.get(), nullptr, nullptr, 0, nullptr, nullptr);
    });

    auto load = proxy::tls::CertificateSet::from_pem(
        {{"fuzz-leaf.pem", leaf_pem + ca_pem, "fuzz-leaf.key", key_pem}}, now);
    if (!load.set) setup_failed("certificate set: " + load.errors.front());
    proxy::tls::ServerOptions server_options;
    server_options.alpn = {"http/1.1"};
    server_options.ticket_keys = proxy::tls::TicketKeys::create(now);
    auto server = ServerContext::build(load.set, server_options);
    if (!server.context) setup_failed("server context: " + server.errors.front());

    // ClientContext reads its CAs from a file: a temporary one, gone once read.
    char ca_path[] = "/tmp/ferry-fuzz-tls-ca-XXXXXX";
    const int fd = mkstemp(ca_path);
    if (fd < 0 || write(fd, ca_pem.data(), ca_pem.size()) != static_cast<ssize_t>(ca_pem.size())) {
      setup_failed("temporary CA file");
    }
    close(fd);
    proxy::tls::ClientOptions client_options;
    client_options.ca_file = ca_path;
    client_options.alpn = {"http/1.1"};
    auto client = ClientContext::build(client_options);
    unlink(ca_path);
    if (!client.context) setup_failed("client context: " + client.errors.front());
    return new Contexts{server.context, client.context};
  }();
  return *made;
}

// ---- The input ----

// Reads the input front to back; past its end every read is 0, so a short input is a plain
// conversation.
class Reader {
 public:
  Reader(const uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  uint8_t byte() { return pos_ < size_ ? data_[pos_++] : 0; }
  uint16_t u16() {
    const uint8_t high = byte();  // two statements: operands of | are unsequenced
    return static_cast<uint16_t>(high << 8 | byte());
  }
  std::string bytes(std::size_t n) {
    n = std::min(n, size_ - pos_);
    std::string out(reinterpret_cast<const char*>(data_ + pos_), n);
    pos_ += n;
    return out;
  }
  std::string rest() { return bytes(size_ - pos_); }

 private:
  const uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

// What happens to one direction's ciphertext on the way.
struct Wire {
  std::vector<std::size_t> pieces;  // feed sizes, used in turn; empty: all that is there
  bool flip = false;
  uint16_t flip_at = 0;  // stream offset of the byte to change
  uint8_t flip_mask = 1;
  bool cut = false;
  uint16_t cut_at = 0;  // deliver this many bytes, then EOF
  bool inject = false;
  uint16_t inject_at = 0;
  std::string junk;  // delivered before the byte at inject_at

  void parse(Reader& in) {
    const uint8_t flags = in.byte();
    for (int i = 0; i < (flags & 7); ++i) pieces.push_back(std::size_t{in.byte()} + 1);
    if ((flags & 8) != 0) {
      flip = true;
      flip_at = in.u16();
      flip_mask = in.byte();
      if (flip_mask == 0) flip_mask = 0x80;
    }
    if ((flags & 16) != 0) {
      cut = true;
      cut_at = in.u16();
    }
    if ((flags & 32) != 0) {
      inject = true;
      inject_at = in.u16();
      switch (flags >> 6) {
        case 0:
          junk = in.bytes(in.byte());
          break;
        case 1:  // a plaintext fatal alert (handshake_failure)
          junk = std::string("\x15\x03\x03\x00\x02\x02\x28", 7);
          break;
        case 2:  // a ChangeCipherSpec (TLS 1.3 tolerates one during the handshake)
          junk = std::string("\x14\x03\x03\x00\x01\x01", 6);
          break;
        default:  // plain HTTP where TLS is expected
          junk = "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n";
          break;
      }
    }
  }
};

// Conversation, after the mode byte: two option bytes, the client-to-server Wire, the
// server-to-client Wire, a 16-bit length and the client's message, then the server's reply.
struct Script {
  int max_version = 0;  // 0: any; TLS1_2_VERSION or TLS1_3_VERSION
  bool sni = true;
  bool resume = false;       // a first clean connection leaves a ticket to resume
  bool client_sink = false;  // else output() and consume_output()
  bool server_sink = false;
  bool client_writes_early = false;  // before its handshake is done
  bool key_update = false;           // TLS 1.3: the client asks for a KeyUpdate mid-way
  bool big_reply = false;            // past the small-record warm-up
  int shutdown = 0;                  // 0 none, 1 client then server, 2 server then client, 3 both
  bool eof_at_end = false;
  bool second_request = false;
  Wire to_server;
  Wire to_client;
  std::string request;
  std::string reply;

  void parse(Reader& in) {
    const uint8_t a = in.byte();
    const uint8_t b = in.byte();
    max_version = (a & 3) == 1 ? TLS1_2_VERSION : (a & 3) == 2 ? TLS1_3_VERSION : 0;
    sni = (a & 4) == 0;
    resume = (a & 8) != 0;
    client_sink = (a & 16) != 0;
    server_sink = (a & 32) != 0;
    client_writes_early = (a & 64) != 0;
    key_update = (a & 128) != 0;
    big_reply = (b & 1) != 0;
    shutdown = (b >> 1) & 3;
    eof_at_end = (b & 8) != 0;
    second_request = (b & 16) != 0;
    to_server.parse(in);
    to_client.parse(in);
    request = in.bytes(in.u16() % 4096);
    reply = in.rest();
  }
};

// ---- Two sessions and the wires between them ----

struct Endpoint;

// One direction: ciphertext the sender made, on its way to the receiver.
struct Channel {
  explicit Channel(const char* channel_name) : name(channel_name) {}
  const char* name;
  Wire wire;
  Endpoint* to = nullptr;
  std::string in_flight;
  std::size_t offset = 0;  // bytes of the sender's stream delivered (or dropped by the cut)
  std::size_t next_piece = 0;
  bool eof_sent = false;
  bool tampered = false;  // the receiver got something other than what the sender made

  static void sink(void* owner, const char* data, std::size_t length) {
    static_cast<Channel*>(owner)->in_flight.append(data, length);
  }
};

struct Endpoint {
  explicit Endpoint(const char* endpoint_name) : name(endpoint_name) {}
  const char* name;
  std::unique_ptr<Session> session;
  Channel* out = nullptr;
  const Endpoint* peer = nullptr;
  bool use_sink = false;
  std::string to_write;  // plaintext not yet taken by write()
  std::string written;   // plaintext write() took
  std::string received;  // plaintext read() gave
  bool saw_closed = false;
  bool saw_failure = false;

  std::string where() const { return std::string(name) + ": " + session->error(); }

  // What a failed session must do: nothing, loudly.
  void check_failed_state() {
    FUZZ_CHECK(session->failed(), std::string(name) + " recovered from a failure");
    FUZZ_CHECK(!session->error().empty(), std::string(name) + " failed without an error()");
    char c;
    const Session::Result r = session->read(&c, 1);
    FUZZ_CHECK(r.status == Status::Error && r.bytes == 0, where());
    const Session::Result w = session->write("x", 1);
    FUZZ_CHECK(w.status == Status::Error && w.bytes == 0, where());
    FUZZ_CHECK(session->handshake().status == Status::Error, where());
    session->feed("late", 4);
    FUZZ_CHECK(session->pending_input() == 0, std::string(name) + " took input after failing");
  }

  // Lets the session act on what it was fed: the handshake, reads, then pending writes.
  void pump() {
    static char buffer[16 * 1024];
    for (int i = 0; i < kMaxReadsPerPump; ++i) {
      const Session::Result r = session->read(buffer, sizeof buffer);
      if (r.status == Status::Ok) {
        FUZZ_CHECK(r.bytes > 0 && r.bytes <= sizeof buffer, std::string(name) + " read size");
        FUZZ_CHECK(!saw_failure && !saw_closed,
                   std::string(name) + " read plaintext after failing or closing");
        received.append(buffer, r.bytes);
        FUZZ_CHECK(peer->written.compare(0, received.size(), received) == 0,
                   std::string(name) + " read plaintext its peer never wrote: " + escape(received) +
                       " vs " + escape(peer->written));
        continue;
      }
      FUZZ_CHECK(r.bytes == 0, std::string(name) + " status without plaintext carries bytes");
      if (r.status == Status::Closed) {
        FUZZ_CHECK(!saw_failure, std::string(name) + " closed after failing");
        saw_closed = true;
        // close_notify is authenticated: nothing the peer wrote before it may be missing.
        FUZZ_CHECK(received == peer->written,
                   std::string(name) + " read close_notify but not all the peer wrote: " +
                       escape(received) + " vs " + escape(peer->written));
      } else if (r.status == Status::Error) {
        saw_failure = true;
      }
      break;
    }
    if (!to_write.empty()) {
      const Session::Result w = session->write(to_write);
      FUZZ_CHECK(w.bytes <= to_write.size(), std::string(name) + " wrote more than given");
      FUZZ_CHECK(w.status != Status::Ok || w.bytes == to_write.size(),
                 std::string(name) + " write Ok with bytes left");
      FUZZ_CHECK(w.status != Status::Closed, std::string(name) + " write said Closed");
      if (w.status == Status::Error) saw_failure = true;
      written.append(to_write, 0, w.bytes);
      to_write.erase(0, w.bytes);
    }
    drain();
    if (saw_failure) check_failed_state();
    // read_ahead: OpenSSL takes all it is given; once its output is taken, nothing is held.
    FUZZ_CHECK(session->pending_input() == 0, std::string(name) + " left input behind: " +
                                                  std::to_string(session->pending_input()));
    FUZZ_CHECK(session->buffered_bytes() == 0, std::string(name) + " holds buffers while idle: " +
                                                   std::to_string(session->buffered_bytes()));
  }

  void drain() {
    const std::string_view output = session->output();
    if (use_sink) FUZZ_CHECK(output.empty(), std::string(name) + " buffered despite its sink");
    out->in_flight.append(output);
    session->consume_output(output.size());
  }
};

// Moves what the channel holds to its receiver, in the wire's pieces, with its mischief,
// pumping the receiver after each piece.
void deliver(Channel& ch) {
  Wire& wire = ch.wire;
  // Every turn delivers at least one byte or ends the loop; the bound is only a backstop.
  for (int guard = 0; guard < 1 << 20 && !ch.in_flight.empty() && !ch.eof_sent; ++guard) {
    if (wire.cut && ch.offset >= wire.cut_at) {
      ch.to->session->feed_eof();
      ch.eof_sent = true;
      ch.tampered = true;  // bytes were withheld
      ch.to->pump();
      break;
    }
    if (wire.inject && ch.offset == wire.inject_at) {
      wire.inject = false;
      ch.to->session->feed(wire.junk);
      ch.tampered = ch.tampered || !wire.junk.empty();
      ch.to->pump();
      continue;
    }
    std::size_t n = ch.in_flight.size();
    if (!wire.pieces.empty()) n = std::min(n, wire.pieces[ch.next_piece++ % wire.pieces.size()]);
    // Stop short of the next event, so it happens at its exact offset.
    if (wire.cut && wire.cut_at > ch.offset) n = std::min<std::size_t>(n, wire.cut_at - ch.offset);
    if (wire.inject && wire.inject_at > ch.offset) {
      n = std::min<std::size_t>(n, wire.inject_at - ch.offset);
    }
    std::string piece = ch.in_flight.substr(0, n);
    if (wire.flip && wire.flip_at >= ch.offset && wire.flip_at < ch.offset + n) {
      piece[wire.flip_at - ch.offset] ^= static_cast<char>(wire.flip_mask);
      ch.tampered = true;
    }
    ch.in_flight.erase(0, n);
    ch.offset += n;
    ch.to->session->feed(piece);
    ch.to->pump();
  }
}

struct Connection {
  Channel to_server{"client->server"};
  Channel to_client{"server->client"};
  Endpoint client{"client"};
  Endpoint server{"server"};

  Connection(const Script& script, ClientSessionCache* cache, bool fuzzed_wires) {
    const Contexts& ctx = contexts();
    client.session = Session::client(ctx.client, script.sni ? kHostName : "", cache, "backend");
    server.session = Session::server(ctx.server);
    FUZZ_CHECK(client.session && server.session, "sessions not made");
    if (script.max_version != 0) {
      SSL_set_max_proto_version(client.session->native(), script.max_version);
    }
    if (fuzzed_wires) {
      to_server.wire = script.to_server;
      to_client.wire = script.to_client;
    }
    wire(client, server, to_server, script.client_sink);
    wire(server, client, to_client, script.server_sink);
  }

  static void wire(Endpoint& from, Endpoint& to, Channel& out, bool sink) {
    from.out = &out;
    from.peer = &to;
    out.to = &to;
    from.use_sink = sink;
    if (sink) from.session->set_output_sink(&Channel::sink, &out);
  }

  bool tampered() const { return to_server.tampered || to_client.tampered; }

  // Exchanges until nothing moves. Bounded: two sessions that never go quiet are a bug.
  void settle() {
    for (int round = 0; round < kMaxRounds; ++round) {
      client.pump();
      server.pump();
      const bool moving = (!to_server.in_flight.empty() && !to_server.eof_sent) ||
                          (!to_client.in_flight.empty() && !to_client.eof_sent);
      if (!moving) return;
      deliver(to_server);
      deliver(to_client);
    }
    FUZZ_CHECK(false, "the sessions never went quiet");
  }

  void check_clean(const Script& script) {
    if (tampered()) return;
    FUZZ_CHECK(client.session->handshake_done() && server.session->handshake_done() &&
                   !client.session->failed() && !server.session->failed(),
               "untouched handshake did not complete: " + client.where() + " / " + server.where());
    FUZZ_CHECK(client.to_write.empty() && server.to_write.empty(), "writes left over");
    FUZZ_CHECK(server.received == client.written, "server read " + escape(server.received) +
                                                      ", client wrote " + escape(client.written));
    FUZZ_CHECK(client.received == server.written, "client read " + escape(client.received) +
                                                      ", server wrote " + escape(server.written));
    FUZZ_CHECK(client.session->alpn() == "http/1.1" && server.session->alpn() == "http/1.1",
               "ALPN not agreed");
    FUZZ_CHECK(server.session->server_name() == (script.sni ? kHostName : ""), "SNI lost");
    if (script.max_version == TLS1_2_VERSION) {
      FUZZ_CHECK(server.session->version() == "TLSv1.2", "asked for TLS 1.2");
    }
  }
};

void converse(Reader& in) {
  Script script;
  script.parse(in);

  ClientSessionCache cache;
  if (script.resume) {
    Connection first(script, &cache, false);
    first.client.pump();
    first.settle();
    FUZZ_CHECK(first.client.session->handshake_done() && cache.size() == 1,
               "no session to resume: " + first.client.where());
  }

  Connection c(script, script.resume ? &cache : nullptr, true);
  if (script.client_writes_early) c.client.to_write = script.request;
  c.client.pump();  // the ClientHello
  c.settle();
  if (!script.client_writes_early) {
    c.client.to_write = script.request;
    c.settle();
  }
  c.server.to_write = script.reply;
  if (script.big_reply) {
    for (std::size_t i = 0; i < kBigMessage; ++i) c.server.to_write.push_back(static_cast<char>(i));
  }
  c.settle();
  if (script.key_update && !c.client.session->failed() &&
      c.client.session->version() == "TLSv1.3") {
    // Scheduled here, sent with the next write; the server answers with its own KeyUpdate
    // from inside read().
    SSL_key_update(c.client.session->native(), SSL_KEY_UPDATE_REQUESTED);
    c.client.to_write = "after key update";
    c.settle();
  }
  if (script.second_request) {
    c.client.to_write = script.request + "again";
    c.settle();
  }
  c.check_clean(script);
  if (script.resume && !c.tampered()) {
    FUZZ_CHECK(c.client.session->resumed() && c.server.session->resumed(), "did not resume");
  }

  Endpoint* const order[2][2] = {{&c.client, &c.server}, {&c.server, &c.client}};
  if (script.shutdown != 0) {
    for (Endpoint* e : order[script.shutdown == 2 ? 1 : 0]) {
      e->session->shutdown();
      e->drain();
      if (script.shutdown != 3) c.settle();
    }
    c.settle();
    if (!c.tampered()) {
      FUZZ_CHECK(c.client.saw_closed && c.server.saw_closed, "close_notify not seen");
    }
  }
  if (script.eof_at_end) {
    for (Channel* ch : {&c.to_server, &c.to_client}) {
      if (ch->eof_sent) continue;
      ch->to->session->feed_eof();
      ch->eof_sent = true;
      ch->to->pump();
    }
    if (!c.tampered()) {
      for (const Endpoint* e : {&c.client, &c.server}) {
        // Ended the documented way: close_notify first, or a plain-spoken error.
        FUZZ_CHECK(e->saw_closed ||
                       e->session->error() == "peer closed the connection without close_notify",
                   e->where());
      }
    }
  }
}

// ---- Raw bytes at one session ----

void raw(bool to_server, uint8_t mode, std::string_view bytes) {
  const Contexts& ctx = contexts();
  std::unique_ptr<Session> session =
      to_server ? Session::server(ctx.server) : Session::client(ctx.client, kHostName);
  FUZZ_CHECK(session != nullptr, "session not made");
  std::size_t output = 0;
  auto settle = [&] {
    char buffer[4096];
    const Session::Result r = session->read(buffer, sizeof buffer);
    FUZZ_CHECK(r.status != Status::Ok && r.bytes == 0, "raw bytes yielded plaintext");
    FUZZ_CHECK(!session->handshake_done(), "raw bytes completed a handshake");
    output += session->output().size();
    session->consume_output(session->output().size());
    FUZZ_CHECK(output <= kMaxRawOutput, "output grew to " + std::to_string(output));
    FUZZ_CHECK(session->buffered_bytes() == 0, "holds buffers while idle");
    if (session->failed()) {
      FUZZ_CHECK(session->error().rfind("handshake: ", 0) == 0, session->error());
      session->feed("more", 4);
      FUZZ_CHECK(session->pending_input() == 0, "took input after failing");
    }
  };
  settle();  // a client's ClientHello
  const std::size_t piece = mode >> 3;
  for (std::size_t at = 0; at < bytes.size();) {
    const std::size_t n = piece == 0 ? bytes.size() - at : std::min(piece, bytes.size() - at);
    session->feed(bytes.substr(at, n));
    at += n;
    settle();
  }
  if ((mode & 4) != 0) {
    session->feed_eof();
    settle();
    FUZZ_CHECK(session->failed(), "EOF mid-handshake did not fail the session");
  }
}

}  // namespace
}  // namespace ferry::fuzz

// OpenSSL (not instrumented) allocates and frees its 16 KiB record buffers around every
// record (SSL_MODE_RELEASE_BUFFERS), and ASan's default 256 MB quarantine and 4 KiB malloc
// fill turned each into fresh, filled pages: a third of the speed. ASAN_OPTIONS still wins.
extern "C" const char* __asan_default_options() {
  return "quarantine_size_mb=4:max_malloc_fill_size=0";
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  using namespace ferry::fuzz;
  Reader in(data, size);
  const uint8_t mode = in.byte();
  switch (mode & 3) {
    case 2:
      raw(true, mode, in.rest());
      break;
    case 3:
      raw(false, mode, in.rest());
      break;
    default:
      converse(in);
      break;
  }
  ERR_clear_error();  // OpenSSL's per-thread error queue, so one input leaves nothing behind
  return 0;
}
