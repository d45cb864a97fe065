// Everything a client connection needs only while a request is under way: the parser, the
// write queue, the timer, the request and response state. A worker keeps a pool of them, so a
// connection waiting between requests holds none (its socket and a few bytes), and a request
// allocates nothing in the steady state.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "balancer/balancer.h"
#include "balancer/routing/route_table.h"
#include "proxy/admin/metrics.h"
#include "proxy/core/buffer.h"
#include "proxy/core/deadline.h"
#include "proxy/core/local_snapshot.h"
#include "proxy/http1/http_parser.h"

namespace ferry::proxy {

class ClientConn;
class UpstreamConn;

// The request parser's sink: hands each parser event to the ClientConn the exchange serves
// (defined in client_conn.cc). It lives here rather than as a base of ClientConn so that a
// connection between requests, which holds no exchange, carries no vtable pointer for it.
struct RequestEvents final : HttpParser::Sink {
  int on_head(MessageHead& head) override;
  int on_body(const char* data, std::size_t len) override;
  int on_message_end() override;
  ClientConn* conn = nullptr;
};

struct Exchange {
  // `events.conn` and the owners are set when attached to a connection.
  Exchange(uv_loop_t* loop, BlockPool& blocks, WriteBatch* writes, OutQueue::DrainedFn on_written,
           Deadline::Callback on_expired)
      : parser(HttpParser::Kind::Request, &events, 0), out(blocks, nullptr, on_written, writes) {
    deadline.init(loop, nullptr, on_expired);
  }

  // Back to the state of a new request; buffers keep their capacity unless unusually large.
  void reset_request();

  Deadline deadline;
  uv_shutdown_t shutdown_req{};
  RequestEvents events;
  HttpParser parser;  // reports to `events`
  OutQueue out;      // to the client: plaintext (over TLS it is encrypted into tls_out)
  // TLS connections: ciphertext for the socket. Made when a TLS connection first takes this
  // exchange, then kept with it in the pool; an exchange only plain connections used has none
  // (an OutQueue is 296 bytes, and a worker pools as many exchanges as it ever had requests in
  // flight at once).
  std::unique_ptr<OutQueue> tls_out;
  std::string request_head;   // the head for the backend, rebuilt per attempt
  std::string request_body;   // the body read before the backend was engaged (framed)
  std::string pending_input;  // bytes read past the current request (pipelining, tunnel)
  std::string scratch;        // response head being built
  std::string request_id;     // X-Request-Id: the client's own, or one ferry made
  std::string set_cookie;     // a sticky pool's Set-Cookie line for the response; empty: none
  char client_ip[24] = {};    // the client's IPv4 address as text (ClientConn::client_ip)
  UpstreamConn* upstream = nullptr;
  LocalSnapshot* snapshot = nullptr;
  // Into the routing `snapshot` holds; set at first engage, kept through retries.
  const balancer::routing::Route* route = nullptr;
  uint32_t route_slot = 0;  // ferry_route_requests_total's counters; 0 = no route
  uint32_t pool = 0;        // the forward route's pool for this request
  std::string_view pool_name;  // into the routing, for the access log; empty: none
  std::size_t backend_index = 0;  // into the snapshot's whole backend list
  balancer::TriedSet tried;
  uint32_t attempts = 0;
  uint64_t body_received = 0;
  int response_status = 0;
  uint64_t response_bytes = 0;
  uint64_t request_start_ns = 0;
  uint64_t engage_ns = 0;
  uint32_t backend_slot = kNoBackendSlot;  // metrics slot of the backend last picked
  std::string_view backend_name;           // into snapshot, which outlives the request
  bool picked = false;
  bool request_chunked = false;
  bool request_has_body = false;
  bool request_complete = false;  // the whole request was read from the client
  bool streaming = false;         // body bytes past request_body go straight to the backend
  bool request_is_head = false;
  bool request_idempotent = false;
  bool request_upgrade = false;
  bool backend_malformed = false;  // the last backend failure was a malformed response (gRPC: INTERNAL)
  bool client_keep_alive = false;
  bool http10 = false;
  bool response_started = false;  // a response byte was queued to the client
  // A final response head is built in `scratch` but not queued: until a body byte (or the
  // end) follows, a backend failure can still be retried as if no response had begun.
  bool head_held = false;
  bool held_keep_alive = false;   // the client keep-alive decision the held head carries
  bool response_chunked = false;
  bool upstream_paused = false;
  bool in_input = false;          // inside handle_input: finishing an exchange waits for it
  bool finish_pending = false;
  bool body_streamed = false;     // body bytes went straight to a backend: no retry
  bool stale_retried = false;     // one free retry after a stale pooled connection was used
  bool request_started = false;   // a byte of the current request arrived
  bool logged = false;            // the current request was counted
  bool head_complete = false;
  bool linger_started = false;
  bool handshake_timed = false;      // TLS: the handshake's client_header deadline is armed
  bool plain_http_to_tls = false;    // TLS: the first bytes were a request line, not a ClientHello
};

// A worker's spare exchanges. Loop thread only.
class ExchangePool {
 public:
  // `keep_unused`: spares free_unused() leaves even when a period took none (see BlockPool).
  ExchangePool(uv_loop_t* loop, BlockPool& blocks, WriteBatch* writes, OutQueue::DrainedFn on_written,
               Deadline::Callback on_expired, std::size_t keep_unused = 16)
      : loop_(loop), blocks_(blocks), writes_(writes), on_written_(on_written), on_expired_(on_expired),
        keep_unused_(keep_unused) {}
  ~ExchangePool();

  // `tls`: the owner is a TLS connection, so the exchange gets a tls_out.
  Exchange* acquire(ClientConn* owner, std::size_t max_head_bytes, bool tls);
  // `ex` must have no write in flight.
  void release(Exchange* ex);
  // Frees the spare exchanges no acquire() needed since the last call, beyond `keep_unused`
  // (their timers close first), and returns how many; see BlockPool::free_unused.
  std::size_t free_unused();
  std::size_t spare() const { return free_.size(); }
  // Shutdown: frees the spare ones (their timers close); later releases free at once.
  void close();

 private:
  static void free_on_close(uv_handle_t* h);
  static void close_and_free(Exchange* ex);

  uv_loop_t* loop_;
  BlockPool& blocks_;
  WriteBatch* writes_;
  OutQueue::DrainedFn on_written_;
  Deadline::Callback on_expired_;
  std::size_t keep_unused_;
  std::vector<Exchange*> free_;
  std::size_t least_free_ = 0;  // the fewest spares there were since the last free_unused
  bool closed_ = false;
};

}  // namespace ferry::proxy
