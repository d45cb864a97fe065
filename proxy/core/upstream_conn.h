// One connection to a backend: connect, send a request, parse the response and hand it to the
// client connection it serves, then go back to the pool. While pooled it keeps reading, so a
// backend's close (or stray bytes) is noticed at once and the connection leaves the pool.
//
// To a pool with `tls:` the connection speaks HTTPS: a client tls::Session sits between the
// socket and the rest, as on a TLS listener's ClientConn. Connecting includes the handshake
// (under the same timeouts.connect); request bytes go through the session into a ciphertext
// queue, and what is read is decrypted before the parser sees it. A failed handshake is a
// backend failure (UpstreamError::Tls) like a refused connect.
#pragma once

#include <sys/types.h>
#include <uv.h>

#include <cstdint>
#include <memory>
#include <string>

#include "balancer/backend.h"
#include "proxy/core/buffer.h"
#include "proxy/core/deadline.h"
#include "proxy/core/settings.h"
#include "proxy/core/upstream_error.h"
#include "proxy/http1/http_parser.h"

namespace ferry::proxy {

class ClientConn;
class Worker;

class UpstreamConn final : private HttpParser::Sink {
 public:
  using PoolKey = const void*;

  // Starts a connect to `backend` of `pool` (its pool key is the backend's Load), over TLS
  // when the pool has tls. The owner hears back through ClientConn callbacks:
  // upstream_connected once the connection (and handshake) is up, else upstream_failed.
  // Null when the connect could not even start; `error` (if given) then says how to count it.
  static UpstreamConn* connect(Worker& worker, const balancer::Backend& backend, const PoolSettings& pool,
                               ClientConn* client, UpstreamError* error = nullptr);
  // An idle pooled connection to `backend`, taken out of the worker's pool, made under `pool`'s
  // current TLS settings; ones made under others (a reload changed them) are closed on the way.
  // Null when there is none.
  static UpstreamConn* take_pooled(Worker& worker, const balancer::Backend& backend, const PoolSettings& pool);

  // A pooled connection starts serving `client`.
  void attach(ClientConn* client);
  PoolKey pool_key() const { return key_; }

  // Queue request bytes. `borrowed` bytes stay owned by the caller until the request ends.
  void send(const char* data, std::size_t len) { out_.append(data, len); }
  void send_borrowed(const char* data, std::size_t len) { out_.append_borrowed(data, len); }
  void flush();
  // Request bytes not yet written (plaintext and, over TLS, ciphertext).
  std::size_t queued() const;
  // The request (head and whole body) has been queued; the response timer starts.
  void request_queued(bool is_head_request);

  void pause_reading();
  void resume_reading();

  // The trailer lines of the response just ended (h2c pools: gRPC's status), until the next.
  std::string_view trailers() const { return parser_.trailers(); }

  // The client is done with this connection. If the exchange ended cleanly the connection goes
  // back to the pool, else it closes. Loop thread only; the client must not touch it again.
  void detach(bool reusable);
  // Tunnel mode (after 101): every byte read goes to the client raw.
  void start_tunnel();
  void close();

 private:
  enum class State : uint8_t { Connecting, Active, Idle, Tunnel, Closing };
  struct TlsLink;  // the session and its ciphertext queue (TLS pools only)
  struct H2cLink;  // the HTTP/2 session and its frame queue (h2c pools only)

  UpstreamConn(Worker& worker, PoolKey key);
  ~UpstreamConn();

  int on_head(MessageHead& head) override;
  int on_body(const char* data, std::size_t len) override;
  int on_message_end() override;

  static void on_connect(uv_connect_t* req, int status);
  static void on_alloc(uv_handle_t* h, std::size_t suggested, uv_buf_t* buf);
  static void on_read(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf);
  static void on_written(void* self, int status);
  static void on_timer(void* owner);
  static void on_closed(uv_handle_t* h);
  static void on_tls_output(void* owner, const char* data, std::size_t len);

  // Large bodies (splice_pipe.h). A response's first read takes kFirstReadBytes, so what is
  // left of a large Content-Length body is still in the socket; when kSpliceMinBytes or more
  // are due, on_alloc offers no buffer (libuv then reports UV_ENOBUFS instead of reading) and
  // on_read moves them with relay_spliced.
  // Half an ordinary block plus room for a head of up to 4 KiB: the body bytes of a full first
  // read still fill half the block, so the client's queue shares it rather than copying them.
  static constexpr std::size_t kFirstReadBytes = BlockPool::kBlockSize / 2 + 4096;
  // After a response whose body was spliced, the connection's next first read takes only this
  // (about a head, as nginx's proxy_buffer_size): a backend that served one large body tends to
  // serve more (downloads, images), and the 16 KiB of body a kFirstReadBytes read would carry
  // through user space twice (read, then write) are spliced too: 64 KiB responses cost 7% less
  // CPU. Not always: a 4-20 KiB response then needs a second read.
  static constexpr std::size_t kHeadReadBytes = 4096;
  static constexpr std::size_t kSpliceMinBytes = 16 * 1024;
  // A plain backend connection serving a client that could take a spliced body.
  bool plain_to_splicing_client() const;
  bool splice_ready();
  bool small_first_read() const;
  void relay_spliced();
  // The response ended (MessageDone): to the client, and this connection back to the pool
  // if `exact` (not one byte past the response) and the exchange allows.
  void response_done(bool exact);

  // `data` lies in `block`, the pool block just read into (relayed without copying).
  void handle_input(char* block, const char* data, std::size_t len);
  // The socket's end (UV_EOF, a TLS close_notify) or a read error, by state.
  void on_end(ssize_t status);
  // TLS: ciphertext in, plaintext to handle_input, one block at a time.
  void read_tls(const char* data, std::size_t len);
  void handshake_finished();
  void handshake_failed(const std::string& why);
  // TLS: what waits in out_ goes through the session into the ciphertext queue.
  void encrypt_queued();
  // TLS: writes the ciphertext queue (handshake records too).
  void flush_tls();
  uint64_t tls_id() const;
  // h2c: request bytes in out_ become frames for the socket; bytes read become the response.
  void frame_queued();
  void flush_h2c();
  void read_h2c(const char* data, std::size_t len);
  void fail(UpstreamError error);
  void arm_timer(uint64_t ms);
  void start_reading();

  Worker& worker_;
  PoolKey key_;
  uv_tcp_t tcp_{};
  Deadline deadline_;
  uv_connect_t connect_req_{};
  int open_handles_ = 0;
  State state_ = State::Connecting;
  ClientConn* client_ = nullptr;
  HttpParser parser_;
  OutQueue out_;                    // request bytes (plaintext; over TLS, encrypted on flush)
  std::unique_ptr<TlsLink> tls_;    // TLS pools only
  std::unique_ptr<H2cLink> h2c_;    // h2c pools only
  char* read_block_ = nullptr;     // the block handle_input is parsing, for on_body
  uint32_t requests_ = 0;          // requests completed on this connection
  bool reading_ = false;
  bool paused_ = false;            // backpressure from the client side
  bool response_started_ = false;  // a byte of the current response arrived
  bool response_done_ = false;
  bool request_sent_ = false;      // every queued request byte was written
  bool request_queued_ = false;
  bool response_keep_alive_ = false;
  bool interim_ = false;           // the current message is a 1xx before the real response
  bool splice_off_ = false;        // the current response's body goes the ordinary way
  bool splicing_ = false;          // on_alloc offered no buffer: the next read is a splice
  bool spliced_ = false;           // body bytes of the current response went by splice
  bool head_first_read_ = false;   // the last response spliced: first reads take kHeadReadBytes
};

}  // namespace ferry::proxy
