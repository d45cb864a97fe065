// One TLS connection, either role, over a byte stream the caller moves: ciphertext from the
// socket goes in through feed(), plaintext comes out of read(), plaintext goes in through
// write(), and ciphertext for the socket comes out of output() (or an output sink). No
// socket, no loop, no thread inside, so libuv connections and tests drive it alike.
//
// Why a BIO of ferry's own rather than OpenSSL's memory BIOs or the socket: libuv hands
// over bytes, not readiness, so an fd BIO does not fit (nginx's design needs its own event
// loop; h2o, also on libuv, buffers the same way as here). Memory BIOs would work, but keep
// their high-water allocation until freed (BIO_reset even zeroes it all), and every byte
// out would be copied once more on its way to the write queue. This BIO frees its input as
// soon as OpenSSL has taken it and its output as soon as the caller has, and with a sink
// hands each record straight to the write queue.
//
// Records OpenSSL sends on its own (TLS 1.3 NewSessionTickets after the handshake, KeyUpdate
// replies and alerts during read(), the alert of a failed handshake) go to the output like
// any other: drain the output after EVERY call that can produce some (handshake, read,
// write, shutdown), whatever it returned, or use a sink.
//
// Memory: while idle (nothing buffered) a Session holds no byte buffer of its own, and
// OpenSSL none either (SSL_MODE_RELEASE_BUFFERS on every context of ferry's).
//
// One thread at a time (the connection's loop). Never throws.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/tls/client_context.h"
#include "proxy/tls/client_session_cache.h"
#include "proxy/tls/openssl_handles.h"
#include "proxy/tls/server_context.h"

namespace ferry::proxy::tls {

class Session {
 public:
  enum class Status : uint8_t {
    Ok,        // done; `bytes` says how many were read or written
    WantMore,  // needs more input from the peer: feed() and call again
    Closed,    // the peer sent close_notify: no more plaintext will come
    Error,     // the connection is over; error() says why. Drain the output (it may hold
               // an alert for the peer), then close the socket
  };
  struct Result {
    Status status;
    std::size_t bytes;
  };
  // Receives ciphertext for the socket as OpenSSL produces it (see set_output_sink).
  using OutputFn = void (*)(void* owner, const char* data, std::size_t length);

  // A server session on `context`'s default certificate (the ClientHello may move it to
  // another). Holds `context` until destroyed. Null only when OpenSSL is out of memory.
  static std::unique_ptr<Session> server(std::shared_ptr<const ServerContext> context);
  // A client session. `server_name`: SNI and the name the certificate must carry (an IP
  // address is checked against the certificate's IP names and not sent as SNI; "" sends no
  // SNI and checks no name). With a cache, the latest session stored under `cache_key`
  // (the backend) is offered for resumption, and new ones are stored there; the cache must
  // outlive the session.
  static std::unique_ptr<Session> client(std::shared_ptr<const ClientContext> context,
                                         std::string_view server_name,
                                         ClientSessionCache* cache = nullptr,
                                         std::string_view cache_key = {});
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Ciphertext from the peer, copied in. Ignored once the session has failed or closed.
  void feed(const char* data, std::size_t length);
  void feed(std::string_view bytes) { feed(bytes.data(), bytes.size()); }
  // The peer closed its side (TCP FIN): a read that needs more input now ends in Error
  // ("peer closed ...") instead of WantMore.
  void feed_eof();
  std::size_t pending_input() const { return in_.size() - in_consumed_; }

  // Advances the handshake with the input fed so far. Ok once it is complete (at once if
  // it already was). A client calls it first to produce its ClientHello; read() and write()
  // call it themselves.
  Result handshake();
  // Up to `max` plaintext bytes into `out` (the handshake first, if it is not done). Ok with
  // bytes > 0, or WantMore, Closed or Error with bytes == 0. Reads as much as fits, across
  // records, so one call per input burst usually drains it.
  Result read(char* out, std::size_t max);
  // Encrypts `length` bytes into the output. Ok with every byte taken; WantMore when the
  // handshake is not done yet (bytes says how many were taken: call again with the rest
  // after the next feed); Error. The first 64 KiB of a connection (and of each restart_
  // small_records()) go out in records of at most 1400 bytes, so the client can decrypt the
  // first bytes as soon as the first TCP segment lands; larger records after that cost less
  // CPU (the h2o/HAProxy practice; see the edge anchors, 2.6).
  Result write(const char* data, std::size_t length);
  Result write(std::string_view bytes) { return write(bytes.data(), bytes.size()); }
  // After an idle spell (the congestion window may have shrunk): small records again.
  void restart_small_records() { plain_written_ = 0; }
  // Queues close_notify (once; nothing before the handshake is done or after a failure).
  void shutdown();

  // Ciphertext waiting for the socket. Copy it into the write queue, then consume_output()
  // what was taken; the view is invalidated by any other call.
  std::string_view output() const {
    return {out_.data() + out_consumed_, out_.size() - out_consumed_};
  }
  void consume_output(std::size_t length);
  // From now on ciphertext goes straight to `fn` (what is buffered first), and output()
  // stays empty. `fn` runs inside handshake/read/write/shutdown: it must only queue the
  // bytes, never destroy this session. Null `fn` goes back to buffering.
  void set_output_sink(OutputFn fn, void* owner);

  bool handshake_done() const { return handshake_done_; }
  bool failed() const { return failed_; }
  bool resumed() const;                  // the handshake resumed a session (ticket or PSK)
  std::string_view version() const;      // "TLSv1.3", "TLSv1.2"; "" before the handshake
  std::string_view cipher() const;       // "TLS_AES_128_GCM_SHA256"; "" before the handshake
  std::string_view alpn() const;         // the protocol ALPN chose; "" when none
  std::string_view server_name() const;  // the SNI name the client sent; "" when none
  // The peer certificate's subject as a one-line RFC 2253 string ("CN=client-1,O=Example"),
  // when the peer presented one and it verified; "" otherwise. Non-ASCII and control bytes
  // come out escaped (\XX), so it is safe in a header. Computed on each call.
  std::string peer_subject() const;
  const std::string& error() const { return error_; }  // why the session failed
  // Heap bytes this Session holds in its own buffers (not OpenSSL's); 0 when idle.
  std::size_t buffered_bytes() const { return in_.capacity() + out_.capacity(); }
  // For metrics and tests (SSL_get_*), never for I/O: that goes through this class.
  SSL* native() const { return ssl_.get(); }

 private:
  Session(SslPtr ssl, std::shared_ptr<const void> context);
  bool attach_bio();
  Result fail(int ssl_error);
  void note_handshake();
  void on_handshake_done();

  static const BIO_METHOD* bio_method();
  static int bio_write(BIO* bio, const char* data, std::size_t length, std::size_t* written);
  static int bio_read(BIO* bio, char* out, std::size_t length, std::size_t* read);
  static long bio_ctrl(BIO* bio, int command, long number, void* pointer);

  SslPtr ssl_;
  std::shared_ptr<const void> context_;  // the ServerContext or ClientContext behind ssl_
  std::vector<char> in_;                 // fed, not yet taken by OpenSSL
  std::size_t in_consumed_ = 0;
  std::vector<char> out_;  // made, not yet consumed by the caller
  std::size_t out_consumed_ = 0;
  OutputFn sink_ = nullptr;
  void* sink_owner_ = nullptr;
  uint64_t plain_written_ = 0;
  std::unique_ptr<ClientSessionCache::Destination> destination_;  // client with a cache
  std::string error_;
  bool eof_ = false;
  bool handshake_done_ = false;
  bool closed_ = false;  // close_notify received
  bool failed_ = false;
  bool shutdown_sent_ = false;
};

std::string_view status_name(Session::Status status);  // "ok", "want-more", ...

}  // namespace ferry::proxy::tls
