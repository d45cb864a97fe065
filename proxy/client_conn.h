// One client connection: read and check a request, pick a backend, forward it, relay the
// response, then wait for the next request on the same connection. One request at a time:
// a pipelined request waits, unparsed, until the response before it is queued, so responses
// go out in request order. Answers 400/408/413/431/502/503/504 itself.
#pragma once

#include <netinet/in.h>
#include <uv.h>

#include <cstdint>
#include <string>

#include "balancer/balancer.h"
#include "proxy/buffer.h"
#include "proxy/deadline.h"
#include "proxy/error.h"
#include "proxy/http_parser.h"
#include "proxy/local_snapshot.h"
#include "proxy/metrics.h"

namespace ferry::proxy {

class UpstreamConn;
class Worker;

class ClientConn final : private HttpParser::Sink {
 public:
  // Accepts a pending connection from `server`; closes it at once past max_connections.
  static void accept_from(Worker& worker, uv_stream_t* server);

  // Idempotent; any callback on this loop may call it. Memory goes in the close callback.
  void close();
  // Shutdown: close now if between requests, else after the current response.
  void drain();

  // ---- called by the UpstreamConn serving this client (loop thread) ----
  void upstream_connected();
  // `reused`: the connection came from the pool (a stale one fails through no fault of the backend).
  void upstream_failed(UpstreamError error, bool reused = false);
  int response_head(MessageHead& head);
  int response_body(const char* data, std::size_t len);
  void response_end(bool backend_reusable);
  void upstream_written();  // the upstream's write queue drained: more request body may flow
  void tunnel_begin();
  void tunnel_data(const char* data, std::size_t len);
  void tunnel_closed();
  void flush();

  ClientConn* prev_ = nullptr;  // Worker's intrusive list
  ClientConn* next_ = nullptr;

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
  };

  int on_head(MessageHead& head) override;
  int on_body(const char* data, std::size_t len) override;
  int on_message_end() override;

  static void on_alloc(uv_handle_t* h, std::size_t suggested, uv_buf_t* buf);
  static void on_read(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf);
  static void on_written(void* self, int status);
  static void on_timer(void* owner);
  static void on_closed(uv_handle_t* h);

  void start_reading();
  void stop_reading();
  // Closes once everything queued is written: first the write side, then, after the client
  // stops sending (or a short linger), the socket. Closing with unread bytes in the receive
  // buffer would send a RST that can destroy the response before the client reads it.
  void close_when_written();
  void linger();
  static void on_shutdown(uv_shutdown_t* req, int status);
  void handle_input(const char* data, std::size_t len);
  void feed(const char* data, std::size_t len);
  void on_eof();
  void engage_backend();
  void start_request_on_upstream();
  void send_error(int status, bool close_after);
  void finish_exchange();
  bool finish_exchange_now();
  void update_timer();
  void release_backend(balancer::Outcome outcome);
  void reset_request_state();
  void arm_timer(uint64_t ms);
  void append_body(std::string& to, const char* data, std::size_t len, bool chunked);
  bool can_retry(UpstreamError error) const;
  std::string_view hash_key() const;
  // Counts the request in the metrics and writes its access log line. Once per request.
  void log_request();
  BackendCounters* backend_counters();

  Worker& worker_;
  uv_tcp_t tcp_{};
  Deadline deadline_;
  uv_shutdown_t shutdown_req_{};
  int open_handles_ = 0;
  bool closing_ = false;
  bool reading_ = false;
  Phase phase_ = Phase::Idle;
  HttpParser parser_;
  OutQueue out_;
  char client_ip_[INET6_ADDRSTRLEN] = {};

  // The current request.
  std::string request_head_;     // the head for the backend, rebuilt per attempt
  std::string request_body_;     // the body read before the backend was engaged (framed)
  std::string pending_input_;    // bytes read past the current request (pipelining, tunnel)
  std::string scratch_;          // response head being built
  UpstreamConn* upstream_ = nullptr;
  LocalSnapshot* snapshot_ = nullptr;
  std::size_t backend_index_ = 0;
  bool picked_ = false;
  balancer::TriedSet tried_;
  uint32_t attempts_ = 0;
  uint64_t body_received_ = 0;
  bool request_chunked_ = false;
  bool request_has_body_ = false;
  bool request_complete_ = false;   // the whole request was read from the client
  bool streaming_ = false;          // body bytes past request_body_ go straight to the backend
  bool request_is_head_ = false;
  bool request_idempotent_ = false;
  bool request_upgrade_ = false;
  bool client_keep_alive_ = false;
  bool http10_ = false;
  bool response_started_ = false;   // a response byte was queued to the client
  bool response_chunked_ = false;
  bool close_after_write_ = false;
  bool upstream_paused_ = false;
  bool counted_ = false;            // holds one of WorkerShared::connections
  bool listed_ = false;             // in the worker's client list
  bool in_input_ = false;           // inside handle_input: finishing an exchange waits for it
  bool finish_pending_ = false;
  bool eof_ = false;                // the client half-closed after a complete request
  bool body_streamed_ = false;      // body bytes went straight to a backend: no retry
  bool stale_retried_ = false;      // one free retry after a stale pooled connection was used
  bool request_started_ = false;    // a byte of the current request arrived
  bool logged_ = false;             // the current request was counted
  int response_status_ = 0;
  uint64_t response_bytes_ = 0;
  uint64_t request_start_ns_ = 0;
  uint64_t engage_ns_ = 0;
  uint32_t backend_slot_ = kNoBackendSlot;  // metrics slot of the backend last picked
  std::string_view backend_name_;           // into snapshot_, which outlives the request
  bool head_complete_ = false;
};

}  // namespace ferry::proxy
