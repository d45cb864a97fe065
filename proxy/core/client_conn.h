// One client connection: read and check a request, pick a backend, forward it, relay the
// response, then wait for the next request on the same connection. One request at a time:
// a pipelined request waits, unparsed, until the response before it is queued, so responses
// go out in request order. Answers 400/408/413/431/502/503/504 itself.
//
// HTTP/2: a connection that negotiates h2 (ALPN, or the preface on a plain listener with h2)
// carries an http2::ServerSession instead, and each of its streams is served by a ClientConn
// of its own in stream mode: no socket, its request bytes come from the session and its
// response bytes go back to it (server_session.h). Everything below then works per stream.
#pragma once

#include <netinet/in.h>
#include <uv.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "balancer/balancer.h"
#include "balancer/request.h"
#include "proxy/admin/metrics.h"
#include "proxy/core/settings.h"
#include "proxy/tls/session.h"
#include "proxy/core/buffer.h"
#include "proxy/core/deadline.h"
#include "proxy/core/exchange.h"
#include "proxy/core/local_snapshot.h"
#include "proxy/core/upstream_error.h"
#include "proxy/http1/http_parser.h"
#include "proxy/http1/responses.h"
#include "proxy/http2/server_session.h"
#include "proxy/limits/token_bucket.h"

namespace ferry::proxy {

class UpstreamConn;
class Worker;

class ClientConn final {
 public:
  // Accepts a pending connection from `server`, the worker's listener number `listener`
  // (an index into Settings::listeners); closes it at once past max_connections. `peer` is
  // the client's address when the accept gave it, or null to ask the socket.
  static void accept_from(Worker& worker, uv_stream_t* server, uint32_t listener, const sockaddr_storage* peer);

  // Idempotent; any callback on this loop may call it. Memory goes in the close callback.
  void close();
  // Shutdown: close now if between requests, else after the current response.
  void drain();
  // The worker's idle sweep found this connection past its deadline (no exchange attached).
  void idle_expired() { close(); }
  // The backend connection this client's request is using (its pool key), or null.
  const void* backend_in_use() const;

  // ---- called by the UpstreamConn serving this client (loop thread) ----
  void upstream_connected();
  // `reused`: the connection came from the pool (a stale one fails through no fault of the backend).
  void upstream_failed(UpstreamError error, bool reused = false);
  int response_head(MessageHead& head);
  // `block`: the pool block `data` lies in, or null; large pieces are queued without a copy.
  int response_body(char* block, const char* data, std::size_t len);
  void response_end(bool backend_reusable);
  void upstream_written();  // the upstream's write queue drained: more request body may flow
  // Large response bodies spliced past ferry's memory (splice_pipe.h). Whether this client
  // could take a body that way: a plain HTTP/1.x connection (no TLS, not an HTTP/2 stream).
  bool may_splice() const { return !stream_mode_ && tls() == nullptr && h2() == nullptr && !closing_; }
  // The client's socket, once everything queued ahead of the body (the head) is written, when
  // a body may be spliced into it now: relayed as it is (not re-chunked) and not held back.
  // -1 otherwise; the body then goes the ordinary way.
  int splice_target();
  // `n` body bytes went into the client's socket by splice.
  void response_spliced(std::size_t n);
  // A splice into the client's socket failed with `status` (a libuv error): as a failed write.
  void splice_failed(int status) { on_written(this, status); }
  void tunnel_begin();
  void tunnel_data(char* block, const char* data, std::size_t len);
  void tunnel_closed();
  void flush();

  // Callbacks of a pooled Exchange; `owner` is the ClientConn it serves.
  static void on_written(void* owner, int status);
  static void on_timer(void* owner);

  // The worker's list this connection is in (see list_): one of the idle lists, or the list of
  // those with an exchange. One pair of links serves both, as a connection is in one at a time.
  ClientConn* prev_ = nullptr;
  ClientConn* next_ = nullptr;
  // Loop time at which an idle connection is closed, modulo 2^32 ms (Worker::ms_until compares
  // it; timeouts are at most 24 hours). 32 bits with client_ipv4_ beside them keep ClientConn
  // at 296 bytes, in glibc's 304-byte chunks rather than 320: 16 bytes less per idle connection.
  uint32_t idle_deadline_ = 0;

 private:
  // The peer's IPv4 address (network order, IPv4-mapped ones too), or 0: an IPv6 one is text
  // in the Edge.
  uint32_t client_ipv4_ = 0;

 private:
  explicit ClientConn(Worker& worker);
  ~ClientConn();

  enum class Phase : uint8_t {
    Idle,        // between requests
    Head,        // reading a request head
    Body,        // reading a body before a backend is engaged
    Forwarding,  // a backend is engaged
    Tunnel,      // after 101 Switching Protocols
    Linger,      // response sent, write side shut: reading and dropping what the client still sends
    Http2,       // an HTTP/2 connection: the session reads and writes, streams do the rest
  };

  // The request parser's events, through the exchange's RequestEvents.
  friend struct RequestEvents;
  int on_head(MessageHead& head);
  int on_body(const char* data, std::size_t len);
  int on_message_end();

  // ---- HTTP/2 (the connection's side) ----
  // Whether this connection's first bytes are an HTTP/2 preface it may take (plain, h2 listed).
  bool wants_http2_preface(const char* data, std::size_t len) const;
  void start_http2();
  // Frames out as far as the socket keeps up; closes once the session is done.
  void pump_http2();
  static void append_frames(void* self, const char* data, std::size_t len);
  http2::StreamPeer* open_stream(http2::Stream& stream);
  void want_write();
  // ---- HTTP/2 (a stream's side) ----
  void stream_input(const char* data, std::size_t len);
  void stream_abandoned();
  void stream_drained();
  // The response bytes queued so far go to the stream (or wait for the write batch).
  void flush_to_stream();
  bool stream_mode() const { return stream_mode_; }
  // The request says it is gRPC (content-type application/grpc...): ferry's errors are gRPC's.
  bool grpc_request() const;

  static void on_alloc(uv_handle_t* h, std::size_t suggested, uv_buf_t* buf);
  static void on_read(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf);
  static void on_closed(uv_handle_t* h);
  static void on_shutdown(uv_shutdown_t* req, int status);

  // Takes an exchange from the worker's pool for a request that is starting.
  void attach_exchange();
  // Gives the exchange back once nothing is in flight between requests.
  void maybe_go_idle();
  void start_reading();
  // The first read, at accept, before the socket goes into epoll (see client_conn.cc).
  void read_first();
  void first_read_done(ssize_t nread);
  // Whether input after what the first read brought can matter (see read_first).
  bool wants_more_input() const;
  // Closes the socket itself when libuv never put it in epoll, so closing the handle costs no
  // epoll_ctl (see client_conn.cc).
  void close_unpolled_socket();
  // Whether the socket is shut as soon as what is queued is out (see OutQueue::flush).
  bool fin_follows() const;
  void stop_reading();
  // Closes once everything queued is written: first the write side, then, after the client
  // stops sending (or a short linger), the socket. Closing with unread bytes in the receive
  // buffer would send a RST that can destroy the response before the client reads it.
  void close_when_written();
  void linger();
  void handle_input(const char* data, std::size_t len);
  // TLS listeners: ciphertext from the socket in, plaintext to handle_input.
  void read_tls(const char* data, std::size_t len);
  void handshake_finished();
  void tls_failed();
  // TLS: what waits in `out` goes through the session into `tls_out`.
  void encrypt_queued();
  static void on_tls_output(void* owner, const char* data, std::size_t len);
  // Bytes on their way to the client: plaintext not yet encrypted and ciphertext not yet written.
  std::size_t queued_to_client() const {
    return ex_->out.pending() + (ex_->tls_out != nullptr ? ex_->tls_out->pending() : 0) +
           (stream() != nullptr ? stream()->backlog() : 0);
  }
  const ListenerSettings* listener() const;
  // "Strict-Transport-Security: ...\r\n" for a TLS listener with hsts, else empty.
  std::string_view hsts_line() const;
  // Queues bytes relayed from the backend for the client, sharing `block` when that pays.
  void queue_relayed(char* block, const char* data, std::size_t len);
  // Queues the held response head (see Exchange::head_held); the response has begun.
  void commit_head();
  void feed(const char* data, std::size_t len);
  void on_eof();
  void engage_backend();
  void start_request_on_upstream();
  void send_error(int status, bool close_after);
  // Sends `response` (a whole response ferry made, status `status`): the shared tail of
  // send_error and a route's redirect or fixed response.
  void send_own(int status, std::string_view response, bool close_after, bool static_text);
  // A route's redirect or fixed response, built in the exchange's request_head (unused then).
  void send_route_response(const balancer::Request& request);
  // Builds `response` in the exchange's request_head and sends it; the connection goes on
  // after it only when the request was read whole and the client keeps it alive.
  void send_built(OwnResponse& response);
  // Whether this client (rate-limit key `client`) may make the request under `rate` (its buckets keyed with `salt`: 0
  // for limits.per_client, a route's salt for its rate_limit). If not, answers 429 with
  // Retry-After, counts it in ferry_rate_limited_total, and the request goes no further.
  bool within_rate_limit(uint64_t client, const limits::Rate& rate, uint64_t salt);
  // The forward route's pick among its pool's eligible backends, or nullopt.
  std::optional<std::size_t> pick_backend(const balancer::Request& request);
  void finish_exchange();
  bool finish_exchange_now();
  void reset_request_state();
  void update_timer();
  void release_backend(balancer::Outcome outcome);
  void arm_timer(uint64_t ms);
  void append_body(std::string& to, const char* data, std::size_t len, bool chunked);
  bool can_retry(UpstreamError error) const;
  // The request as balancing and routing see it; views into the parsed head.
  balancer::Request request_view(const balancer::RequestHeaders& headers) const;
  // Counts the request in the metrics and writes its access log line. Once per request.
  void log_request();
  BackendCounters* backend_counters();

  // The two interfaces the HTTP/2 session calls: the connection's (Host) and a stream's
  // (StreamPeer). They live in the Edge, not among ClientConn's bases, so that a plain
  // connection does not carry their two vtable pointers.
  struct Http2Link final : http2::StreamPeer, http2::ServerSession::Host {
    explicit Http2Link(ClientConn& c) : conn(c) {}
    http2::StreamPeer* open_stream(http2::Stream& stream) override { return conn.open_stream(stream); }
    void want_write() override { conn.want_write(); }
    void stream_input(const char* data, std::size_t len) override { conn.stream_input(data, len); }
    void stream_abandoned() override { conn.stream_abandoned(); }
    void stream_drained() override { conn.stream_drained(); }
    ClientConn& conn;
  };
  // What only TLS connections, HTTP/2 connections and their streams, and client addresses
  // longer than any IPv4 one need. Kept out of line so that a plain HTTP/1 connection, idle
  // most of its life, stays small: at 10,000 idle connections each byte of ClientConn is 10 kB.
  struct Edge {
    explicit Edge(ClientConn& c) : http2_link(c) {}
    Http2Link http2_link;  // first: it outlives the session below, which holds it
    std::unique_ptr<tls::Session> tls;          // TLS listeners only
    std::unique_ptr<http2::ServerSession> h2;   // an HTTP/2 connection: its session
    http2::Stream* stream = nullptr;  // stream mode: the stream served, until either side ends
    uv_tcp_t* peer_tcp = nullptr;     // stream mode: the connection's socket
    std::string client_subject;       // mutual TLS: the verified client certificate's subject
    char client_ip[INET6_ADDRSTRLEN] = {};  // an address that is not IPv4 (see client_ipv4_)
  };
  Edge& edge() {
    if (edge_ == nullptr) edge_ = std::make_unique<Edge>(*this);
    return *edge_;
  }
  tls::Session* tls() const { return edge_ != nullptr ? edge_->tls.get() : nullptr; }
  http2::ServerSession* h2() const { return edge_ != nullptr ? edge_->h2.get() : nullptr; }
  http2::Stream* stream() const { return edge_ != nullptr ? edge_->stream : nullptr; }
  uv_tcp_t* peer_tcp() { return edge_ != nullptr && edge_->peer_tcp != nullptr ? edge_->peer_tcp : &tcp_; }
  std::string_view client_subject() const {
    return edge_ != nullptr ? std::string_view(edge_->client_subject) : std::string_view();
  }
  // The peer's address as text ("" if unknown). An IPv4 one is kept as its four bytes and
  // written out once per request, into the exchange; without an exchange (a log line between
  // requests) the text is this thread's, good until the next call.
  const char* client_ip() const;
  void set_client_ip(const sockaddr_storage& peer);
  // The text of client_ipv4_: "255.255.255.255", or "::ffff:" and that, and a NUL.
  static constexpr std::size_t kIpv4TextBytes = 24;
  void write_client_ipv4(char (&out)[kIpv4TextBytes]) const;

  // The worker whose loop this connection is on (the loop's data; every ClientConn, stream
  // ones too, has its handle initialised on that loop). Not a member: at 10,000 idle
  // connections each byte of ClientConn is 10 kB.
  Worker& worker() const { return *static_cast<Worker*>(tcp_.loop->data); }

  uv_tcp_t tcp_{};
  std::unique_ptr<Edge> edge_;  // null for a plain HTTP/1 connection
  Exchange* ex_ = nullptr;  // while a request is under way (and until its response is written)
  // Fields of one or two bytes from here on, together, so they pack without padding. The
  // rate-limit key of the client's address is not kept: it is computed from client_ip() by
  // the requests that need it.
  Phase phase_ = Phase::Idle;
  bool closing_ = false;
  bool reading_ = false;
  // Two bytes of rarely written flags.
  bool close_after_write_ : 1 = false;   // sticky: the connection ends after the current response
  bool counted_ : 1 = false;             // holds one of WorkerShared::connections
  bool listed_ : 1 = false;              // in the worker's lists (counted in client_connections)
  bool eof_ : 1 = false;                 // the client half-closed after a complete request
  bool clean_end_ : 1 = false;           // the last request was read whole with nothing after it
  bool secure_ : 1 = false;              // the client came over TLS (in stream mode too)
  bool any_request_ : 1 = false;         // a request began on this connection (no HTTP/2 preface now)
  bool stream_mode_ : 1 = false;         // serves one HTTP/2 stream: no socket of its own
  bool http2_idle_closing_ : 1 = false;  // an idle HTTP/2 connection was sent GOAWAY
  bool in_epoll_ : 1 = false;            // libuv may have put the socket in epoll (a read, a queued write, a shutdown)
  bool client_ip_mapped_ : 1 = false;    // client_ipv4_ came IPv4-mapped, on an IPv6 socket ("::ffff:a.b.c.d")

 public:
  // Which of the worker's lists it is in: a Worker::IdleKind, Worker::kActiveList, or 0 for none
  // (not yet accepted, closing, or an HTTP/2 stream).
  uint8_t list_ = 0;

 private:
  uint16_t listener_ = 0;  // index into Settings::listeners
};

}  // namespace ferry::proxy
