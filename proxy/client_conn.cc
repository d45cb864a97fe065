#include "proxy/client_conn.h"

#include <arpa/inet.h>

#include <chrono>
#include <cstdio>
#include <utility>

#include "balancer/pick_key.h"

#include "proxy/headers.h"
#include "proxy/log.h"
#include "proxy/responses.h"
#include "proxy/upstream_conn.h"
#include "proxy/worker.h"

namespace ferry::proxy {

namespace {

// Queued request bytes for a backend past which the client is no longer read.
constexpr std::size_t kUpstreamHighWater = 256 * 1024;
constexpr std::size_t kUpstreamLowWater = 64 * 1024;
// How long a closing connection keeps draining what the client still sends (nginx: 5s).
constexpr uint64_t kLingerMs = 2000;

ClientConn* self_of(uv_handle_t* h) { return static_cast<ClientConn*>(h->data); }
uv_handle_t* as_handle(void* h) { return static_cast<uv_handle_t*>(h); }
uv_stream_t* as_stream(uv_tcp_t* t) { return reinterpret_cast<uv_stream_t*>(t); }

bool is_idempotent(uint8_t method) {
  switch (static_cast<llhttp_method_t>(method)) {
    case HTTP_GET:
    case HTTP_HEAD:
    case HTTP_PUT:
    case HTTP_DELETE:
    case HTTP_OPTIONS:
    case HTTP_TRACE:
      return true;
    default:
      return false;
  }
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

void format_peer(const sockaddr_storage& ss, char* out, std::size_t len) {
  if (ss.ss_family == AF_INET) {
    uv_ip4_name(reinterpret_cast<const sockaddr_in*>(&ss), out, len);
  } else if (ss.ss_family == AF_INET6) {
    uv_ip6_name(reinterpret_cast<const sockaddr_in6*>(&ss), out, len);
  } else {
    std::snprintf(out, len, "unknown");
  }
}

}  // namespace

ClientConn::ClientConn(Worker& worker)
    : worker_(worker),
      parser_(HttpParser::Kind::Request, *this, worker.settings().max_header_bytes),
      out_(worker.blocks(), this, &ClientConn::on_written) {
  uv_tcp_init(worker.loop(), &tcp_);
  tcp_.data = this;
  ++open_handles_;
  deadline_.init(worker.loop(), this, &ClientConn::on_timer);
  ++open_handles_;
}

ClientConn::~ClientConn() = default;

void ClientConn::accept_from(Worker& worker, uv_stream_t* server) {
  auto* c = new ClientConn(worker);
  if (const int rc = uv_accept(server, as_stream(&c->tcp_)); rc != 0) {
    log_error("accept: %s", uv_err_name(rc));
    c->close();
    return;
  }
  const uint32_t open = worker.shared().connections.fetch_add(1, std::memory_order_relaxed) + 1;
  c->counted_ = true;
  if (open > worker.settings().max_connections || worker.draining()) {
    // Past max_connections: accepted and closed at once, so the backlog never fills up with
    // connections nobody will serve and other workers keep accepting.
    c->close();
    return;
  }
  worker.client_opened(c);
  c->listed_ = true;
  adjust(worker.metrics().client_connections, 1);
  uv_tcp_nodelay(&c->tcp_, 1);
  sockaddr_storage peer{};
  int peer_len = sizeof peer;
  if (uv_tcp_getpeername(&c->tcp_, reinterpret_cast<sockaddr*>(&peer), &peer_len) == 0) {
    format_peer(peer, c->client_ip_, sizeof c->client_ip_);
  }
  c->phase_ = Phase::Idle;
  c->arm_timer(worker.settings().client_header_ms);
  c->start_reading();
}

void ClientConn::close() {
  if (std::exchange(closing_, true)) return;
  deadline_.clear();
  if (response_started_) log_request();  // a response cut short still counts
  if (upstream_ != nullptr) std::exchange(upstream_, nullptr)->detach(false);
  release_backend(balancer::Outcome::Success);
  if (snapshot_ != nullptr) worker_.release_snapshot(std::exchange(snapshot_, nullptr));
  if (listed_) {
    adjust(worker_.metrics().client_connections, -1);
    worker_.client_closed(this);
  }
  if (counted_) worker_.shared().connections.fetch_sub(1, std::memory_order_relaxed);
  uv_close(as_handle(&tcp_), &ClientConn::on_closed);
  uv_close(deadline_.handle(), &ClientConn::on_closed);
}

void ClientConn::on_closed(uv_handle_t* h) {
  ClientConn* c = self_of(h);
  if (--c->open_handles_ == 0) delete c;
}

void ClientConn::drain() {
  if (closing_) return;
  client_keep_alive_ = false;
  close_after_write_ = true;
  if (phase_ == Phase::Idle && out_.pending() == 0) close();
}

void ClientConn::start_reading() {
  if (reading_ || closing_ || eof_) return;
  if (const int rc = uv_read_start(as_stream(&tcp_), &ClientConn::on_alloc, &ClientConn::on_read);
      rc != 0) {
    close();
    return;
  }
  reading_ = true;
}

void ClientConn::stop_reading() {
  if (!reading_) return;
  uv_read_stop(as_stream(&tcp_));
  reading_ = false;
}

void ClientConn::on_alloc(uv_handle_t* h, std::size_t, uv_buf_t* buf) {
  ClientConn* c = self_of(h);
  *buf = uv_buf_init(c->worker_.blocks().get(), BlockPool::kBlockSize);
}

void ClientConn::on_read(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
  ClientConn* c = self_of(as_handle(s));
  if (nread > 0) {
    c->handle_input(buf->base, static_cast<std::size_t>(nread));
  } else if (nread < 0) {
    c->on_eof();
  }
  if (buf->base != nullptr) c->worker_.blocks().put(buf->base);
}

void ClientConn::on_eof() {
  stop_reading();
  if (phase_ == Phase::Linger) {
    close();
    return;
  }
  // A client that half-closes after a whole request still gets its response, then the close.
  if (phase_ == Phase::Forwarding && request_complete_) {
    eof_ = true;
    client_keep_alive_ = false;
    close_after_write_ = true;
    return;
  }
  close();
}

void ClientConn::handle_input(const char* data, std::size_t len) {
  if (phase_ == Phase::Linger) return;  // the response is out; what the client sends is dropped
  if (phase_ == Phase::Tunnel) {
    if (upstream_ == nullptr) return close();
    upstream_->send(data, len);
    upstream_->flush();
    if (upstream_->queued() > kUpstreamHighWater) stop_reading();
    return;
  }
  in_input_ = true;
  feed(data, len);
  while (!closing_ && finish_pending_) {
    finish_pending_ = false;
    if (!finish_exchange_now()) break;
    std::string input;
    input.swap(pending_input_);
    feed(input.data(), input.size());
    if (pending_input_.empty()) {
      input.clear();
      pending_input_.swap(input);  // keep the capacity
    }
  }
  in_input_ = false;
  if (closing_) return;
  if (streaming_ && upstream_ != nullptr) {
    upstream_->flush();
    if (upstream_->queued() > kUpstreamHighWater) stop_reading();
  }
  update_timer();
}

void ClientConn::feed(const char* data, std::size_t len) {
  if (len == 0) return;
  if (phase_ == Phase::Idle) {
    phase_ = Phase::Head;
    request_started_ = true;
    request_start_ns_ = uv_hrtime();
    arm_timer(worker_.settings().client_header_ms);
  }
  std::size_t used = 0;
  switch (parser_.feed(data, len, &used)) {
    case HttpParser::Status::Ok:
      break;
    case HttpParser::Status::MessageDone:
    case HttpParser::Status::Upgrade:
      // Bytes past this request wait their turn (a pipelined request, or tunnel bytes).
      if (used < len) pending_input_.append(data + used, len - used);
      stop_reading();
      break;
    case HttpParser::Status::HeadTooLarge:
      send_error(431, true);
      break;
    case HttpParser::Status::Invalid:
      log_debug("client %s: bad request: %s", client_ip_, parser_.error());
      send_error(400, true);
      break;
    case HttpParser::Status::Aborted:
      break;
  }
}

int ClientConn::on_head(MessageHead& head) {
  head_complete_ = true;
  if (head.http_major != 1 || head.http_minor > 1) {
    send_error(400, true);
    return -1;
  }
  http10_ = head.http_minor == 0;
  if (head.method == HTTP_CONNECT) {
    send_error(400, true);
    return -1;
  }
  int hosts = 0;
  int transfer_encodings = 0;
  std::string_view transfer_encoding;
  std::string_view expect;
  for (const HeaderField& f : head.fields) {
    switch (f.kind) {
      case HeaderName::Host:
        ++hosts;
        break;
      case HeaderName::TransferEncoding:
        ++transfer_encodings;
        transfer_encoding = head.value(f);
        break;
      case HeaderName::Expect:
        expect = head.value(f);
        break;
      default:
        break;
    }
  }
  // RFC 9112 3.2: a 1.1 request needs exactly one Host; more than one is a smuggling vector.
  if (hosts > 1 || (hosts == 0 && !http10_)) {
    send_error(400, true);
    return -1;
  }
  // Only "chunked", alone, is a framing ferry forwards; anything else would be read one way by
  // ferry and another by some backend.
  if (transfer_encodings > 1 ||
      (transfer_encodings == 1 && !iequals(trim(transfer_encoding), "chunked"))) {
    send_error(400, true);
    return -1;
  }
  request_chunked_ = head.chunked;
  request_has_body_ = head.chunked || head.content_length > 0;
  const uint64_t max_body = worker_.settings().max_body_bytes;
  if (max_body != 0 && head.has_content_length && head.content_length > max_body) {
    send_error(413, true);
    return -1;
  }
  request_is_head_ = head.method == HTTP_HEAD;
  request_idempotent_ = is_idempotent(head.method);
  request_upgrade_ = head.upgrade;
  client_keep_alive_ = head.keep_alive && !worker_.draining() && !close_after_write_;
  if (request_has_body_ && !http10_ && iequals(trim(expect), "100-continue")) {
    // The body is read (and buffered) by ferry, so ferry answers the expectation itself.
    out_.append_borrowed(kContinue.data(), kContinue.size());
    flush();
  }
  phase_ = Phase::Body;
  // The head arrived in time; from here the client has client_idle between body reads.
  arm_timer(worker_.settings().client_idle_ms);
  return 0;
}

void ClientConn::append_body(std::string& to, const char* data, std::size_t len, bool chunked) {
  if (chunked) {
    char size_line[24];
    const int n = std::snprintf(size_line, sizeof size_line, "%zx\r\n", len);
    to.append(size_line, static_cast<std::size_t>(n));
    to.append(data, len);
    to.append("\r\n", 2);
  } else {
    to.append(data, len);
  }
}

int ClientConn::on_body(const char* data, std::size_t len) {
  body_received_ += len;
  const uint64_t max_body = worker_.settings().max_body_bytes;
  if (max_body != 0 && body_received_ > max_body) {
    send_error(413, true);
    return -1;
  }
  if (streaming_ && upstream_ != nullptr) {
    body_streamed_ = true;
    if (request_chunked_) {
      char size_line[24];
      const int n = std::snprintf(size_line, sizeof size_line, "%zx\r\n", len);
      upstream_->send(size_line, static_cast<std::size_t>(n));
      upstream_->send(data, len);
      upstream_->send("\r\n", 2);
    } else {
      upstream_->send(data, len);
    }
    return 0;
  }
  append_body(request_body_, data, len, request_chunked_);
  // Small bodies are read whole before a backend is engaged, so a slow client never ties up a
  // backend worker; a larger one is streamed once the backend is connected.
  if (phase_ == Phase::Body && request_body_.size() >= worker_.settings().request_buffer) {
    engage_backend();
  }
  return 0;
}

int ClientConn::on_message_end() {
  request_complete_ = true;
  if (request_chunked_) {
    if (streaming_ && upstream_ != nullptr) {
      upstream_->send("0\r\n\r\n", 5);
    } else {
      request_body_.append("0\r\n\r\n", 5);
    }
  }
  if (phase_ == Phase::Body || phase_ == Phase::Head) {
    engage_backend();
  } else if (streaming_ && upstream_ != nullptr) {
    upstream_->request_queued(request_is_head_);
    upstream_->flush();
  }
  return 0;
}

void ClientConn::engage_backend() {
  phase_ = Phase::Forwarding;
  if (!request_complete_) stop_reading();
  if (snapshot_ == nullptr) snapshot_ = worker_.acquire_snapshot();
  const balancer::Snapshot& snap = snapshot_->get();
  if (engage_ns_ == 0) engage_ns_ = uv_hrtime();
  const std::optional<std::size_t> pick = worker_.balancer().pick(snap, hash_key(), tried_);
  if (!pick) {
    // Nothing left to try: 503 when nothing was eligible at all, else the last failure's 502.
    send_error(tried_.size() == 0 ? 503 : 502, !request_complete_);
    return;
  }
  backend_index_ = *pick;
  picked_ = true;
  tried_.add(backend_index_);
  ++attempts_;
  const balancer::Backend& backend = snap.backends[backend_index_];
  backend.load->outstanding.fetch_add(1, std::memory_order_relaxed);
  backend_slot_ = backend.metrics_slot;
  backend_name_ = backend.name;
  const void* key = backend.load.get();
  if (UpstreamConn* pooled = worker_.pool().take(key); pooled != nullptr) {
    upstream_ = pooled;
    upstream_->attach(this);
    start_request_on_upstream();
    return;
  }
  upstream_ = UpstreamConn::connect(worker_, key, backend.address, this);
  if (upstream_ == nullptr) upstream_failed(UpstreamError::Refused);
}

void ClientConn::start_request_on_upstream() {
  const balancer::Snapshot& snap = snapshot_->get();
  RequestRewrite rw;
  rw.client_ip = client_ip_;
  rw.backend_name = snap.backends[backend_index_].name;
  rw.upgrade = request_upgrade_;
  rw.body_chunked = request_chunked_;
  rw.content_length = parser_.head().content_length;
  rw.has_body = request_has_body_;
  request_head_.clear();
  build_request_head(parser_.head(), rw, request_head_);
  upstream_->send_borrowed(request_head_.data(), request_head_.size());
  upstream_->send_borrowed(request_body_.data(), request_body_.size());
  if (request_complete_) {
    upstream_->request_queued(request_is_head_);
  } else {
    streaming_ = true;
    start_reading();
  }
  upstream_->flush();
}

void ClientConn::upstream_connected() { start_request_on_upstream(); }

bool ClientConn::can_retry(UpstreamError error) const {
  if (response_started_ || body_streamed_ || closing_) return false;
  if (attempts_ > worker_.settings().retries) return false;
  if (!info(error).retry_before_first_byte) return false;
  // Once a request may have reached a backend, only an idempotent one is sent again.
  if (error == UpstreamError::Reset && !request_idempotent_) return false;
  return true;
}

void ClientConn::upstream_failed(UpstreamError error, bool reused) {
  upstream_ = nullptr;
  if (closing_) {
    release_backend(balancer::Outcome::Success);
    return;
  }
  // A pooled connection the backend had closed just as the request went out is no failure of
  // the backend: try once more on a fresh connection to the same backend, free of `retries`
  // (nginx does the same for its cached connections).
  if (reused && error == UpstreamError::Reset && !stale_retried_ && request_idempotent_ &&
      !response_started_ && !body_streamed_ && picked_) {
    stale_retried_ = true;
    streaming_ = false;
    const balancer::Backend& backend = snapshot_->get().backends[backend_index_];
    upstream_ = UpstreamConn::connect(worker_, backend.load.get(), backend.address, this);
    if (upstream_ != nullptr) return;
    error = UpstreamError::Refused;
  }
  const bool refused = error == UpstreamError::Refused;
  if (picked_) {
    const balancer::Snapshot& snap = snapshot_->get();
    log_debug("backend %s: %s", snap.backends[backend_index_].name.c_str(),
              std::string(info(error).text).c_str());
    if (refused && worker_.settings().health_checks && worker_.shared().on_refused) {
      worker_.shared().on_refused(snap.backend_set, backend_index_);
    }
  }
  if (BackendCounters* counters = backend_counters()) counters->record_error(error);
  release_backend(refused ? balancer::Outcome::Refused : balancer::Outcome::Failure);
  if (can_retry(error)) {
    streaming_ = false;
    engage_backend();
    return;
  }
  if (response_started_) {
    close();
    return;
  }
  send_error(info(error).status, !request_complete_);
}

int ClientConn::response_head(MessageHead& head) {
  if (head.status >= 100 && head.status < 200 && head.status != 101) {
    // Interim responses (103 Early Hints...) go to 1.1 clients as they are.
    if (!http10_ && head.status != 100) {
      scratch_.clear();
      ResponseRewrite rw;
      rw.framing = BodyFraming::None;
      build_response_head(head, rw, scratch_);
      out_.append(scratch_);
      flush();
    }
    return 0;
  }
  if (head.status == 101 && !request_upgrade_) return -1;  // switching without being asked
  response_started_ = true;
  BodyFraming framing;
  if (request_is_head_ || head.status == 204 || head.status == 304 || head.status == 101) {
    framing = BodyFraming::None;
  } else if (head.has_content_length) {
    framing = BodyFraming::ContentLength;
  } else if (!http10_) {
    framing = BodyFraming::Chunked;
  } else {
    framing = BodyFraming::UntilClose;
  }
  const bool keep = client_keep_alive_ && request_complete_ && framing != BodyFraming::UntilClose &&
                    !worker_.draining() && !(request_upgrade_ && head.status != 101);
  client_keep_alive_ = keep;
  if (!keep && head.status != 101) close_after_write_ = true;
  ResponseRewrite rw;
  rw.framing = framing;
  rw.keep_alive = keep;
  rw.http10_client = http10_;
  rw.upgrade = head.status == 101;
  response_chunked_ = framing == BodyFraming::Chunked;
  response_status_ = head.status;
  scratch_.clear();
  build_response_head(head, rw, scratch_);
  out_.append(scratch_);
  response_bytes_ += scratch_.size();
  return 0;
}

int ClientConn::response_body(const char* data, std::size_t len) {
  if (closing_) return -1;
  if (response_chunked_) {
    char size_line[24];
    const int n = std::snprintf(size_line, sizeof size_line, "%zx\r\n", len);
    out_.append(size_line, static_cast<std::size_t>(n));
    out_.append(data, len);
    out_.append("\r\n", 2);
    response_bytes_ += static_cast<std::size_t>(n) + 2;
  } else {
    out_.append(data, len);
  }
  response_bytes_ += len;
  flush();
  // Read ahead of a slow client up to buffers.response, then hold the backend back.
  if (!upstream_paused_ && upstream_ != nullptr &&
      out_.pending() > worker_.settings().response_buffer) {
    upstream_->pause_reading();
    upstream_paused_ = true;
  }
  update_timer();
  return 0;
}

void ClientConn::response_end(bool backend_reusable) {
  if (response_chunked_) {
    out_.append("0\r\n\r\n", 5);
    response_bytes_ += 5;
  }
  // Counted before the last bytes go out, so whoever reads the response then the metrics
  // sees it counted.
  log_request();
  if (upstream_ != nullptr) {
    std::exchange(upstream_, nullptr)->detach(backend_reusable && request_complete_);
  }
  release_backend(balancer::Outcome::Success);
  worker_.count_request();
  flush();
  finish_exchange();
}

void ClientConn::upstream_written() {
  if (streaming_ && !request_complete_ && upstream_ != nullptr &&
      upstream_->queued() < kUpstreamLowWater) {
    start_reading();
  }
  if (phase_ == Phase::Tunnel && upstream_ != nullptr && upstream_->queued() < kUpstreamLowWater) {
    start_reading();
  }
}

void ClientConn::tunnel_begin() {
  phase_ = Phase::Tunnel;
  deadline_.clear();
  flush();
  if (!pending_input_.empty() && upstream_ != nullptr) {
    upstream_->send(pending_input_.data(), pending_input_.size());
    pending_input_.clear();
    upstream_->flush();
  }
  upstream_->start_tunnel();
  start_reading();
}

void ClientConn::tunnel_data(const char* data, std::size_t len) {
  out_.append(data, len);
  flush();
  if (!upstream_paused_ && upstream_ != nullptr &&
      out_.pending() > worker_.settings().response_buffer) {
    upstream_->pause_reading();
    upstream_paused_ = true;
  }
}

void ClientConn::tunnel_closed() {
  upstream_ = nullptr;
  close_after_write_ = true;
  phase_ = Phase::Idle;
  close_when_written();
}

void ClientConn::close_when_written() {
  close_after_write_ = true;
  if (out_.pending() == 0) linger();
  // else on_written lingers once the queue is empty
}

void ClientConn::linger() {
  if (closing_ || phase_ == Phase::Linger) return;
  if (eof_) {
    close();
    return;
  }
  phase_ = Phase::Linger;
  if (uv_shutdown(&shutdown_req_, as_stream(&tcp_), &ClientConn::on_shutdown) != 0) {
    close();
    return;
  }
  arm_timer(kLingerMs);
  start_reading();
}

void ClientConn::on_shutdown(uv_shutdown_t* req, int status) {
  auto* c = static_cast<ClientConn*>(req->handle->data);
  if (status < 0 && !c->closing_) c->close();
}

void ClientConn::send_error(int status, bool close_after) {
  if (closing_) return;
  if (response_started_) {
    close();
    return;
  }
  close_after = close_after || !request_complete_ || !client_keep_alive_ || close_after_write_;
  const std::string_view response = canned_response(status, close_after);
  out_.append_borrowed(response.data(), response.size());
  response_started_ = true;
  response_status_ = status;
  response_bytes_ = response.size();
  log_request();
  flush();
  if (close_after) {
    close_after_write_ = true;
    stop_reading();
    if (upstream_ != nullptr) std::exchange(upstream_, nullptr)->detach(false);
    release_backend(balancer::Outcome::Success);
    phase_ = Phase::Idle;
    deadline_.clear();
    close_when_written();
    return;
  }
  finish_exchange();
}

void ClientConn::finish_exchange() {
  if (in_input_) {
    finish_pending_ = true;
    return;
  }
  if (!finish_exchange_now()) return;
  std::string input;
  input.swap(pending_input_);
  handle_input(input.data(), input.size());
  if (pending_input_.empty()) {
    input.clear();
    pending_input_.swap(input);
  }
}

bool ClientConn::finish_exchange_now() {
  reset_request_state();
  parser_.next_message();
  phase_ = Phase::Idle;
  if (close_after_write_ || worker_.draining()) {
    close_after_write_ = true;
    deadline_.clear();
    close_when_written();
    return false;
  }
  parser_.head().trim();
  arm_timer(worker_.settings().client_idle_ms);
  start_reading();
  return !pending_input_.empty();
}

void ClientConn::reset_request_state() {
  release_backend(balancer::Outcome::Success);
  if (snapshot_ != nullptr) worker_.release_snapshot(std::exchange(snapshot_, nullptr));
  tried_.clear();
  attempts_ = 0;
  stale_retried_ = false;
  request_started_ = false;
  logged_ = false;
  head_complete_ = false;
  response_status_ = 0;
  response_bytes_ = 0;
  engage_ns_ = 0;
  backend_slot_ = kNoBackendSlot;
  backend_name_ = {};
  body_received_ = 0;
  request_chunked_ = false;
  request_has_body_ = false;
  request_complete_ = false;
  streaming_ = false;
  body_streamed_ = false;
  request_is_head_ = false;
  request_idempotent_ = false;
  request_upgrade_ = false;
  response_started_ = false;
  response_chunked_ = false;
  upstream_paused_ = false;
  // Large buffers go back; small ones are kept for the next request.
  constexpr std::size_t kKeep = 4096;
  if (request_body_.capacity() > kKeep) std::string().swap(request_body_);
  request_body_.clear();
  if (request_head_.capacity() > kKeep) std::string().swap(request_head_);
  if (scratch_.capacity() > kKeep) std::string().swap(scratch_);
}

void ClientConn::release_backend(balancer::Outcome outcome) {
  if (!std::exchange(picked_, false)) return;
  const balancer::Backend& backend = snapshot_->get().backends[backend_index_];
  backend.load->outstanding.fetch_sub(1, std::memory_order_relaxed);
  worker_.balancer().release(backend_index_, outcome);
}

BackendCounters* ClientConn::backend_counters() {
  return worker_.metrics().backend(backend_slot_);
}

std::string_view ClientConn::hash_key() const {
  const Settings& s = worker_.settings();
  const std::string_view ip(client_ip_);
  if (s.balancer != config::BalancerKind::ConsistentHash) return ip;
  const MessageHead& head = parser_.head();
  switch (s.hash_key.source) {
    case balancer::KeySource::ClientIp:
      return ip;
    case balancer::KeySource::Header: {
      const std::string_view v = trim(head.find(s.hash_key.name));
      return v.empty() ? ip : v;
    }
    case balancer::KeySource::Cookie:
      for (const HeaderField& f : head.fields) {
        if (f.kind != HeaderName::Cookie) continue;
        if (auto v = balancer::cookie_value(head.value(f), s.hash_key.name); v && !v->empty()) {
          return *v;
        }
      }
      return ip;
  }
  return ip;
}

void ClientConn::log_request() {
  if (logged_ || !request_started_) return;
  logged_ = true;
  const uint64_t now = uv_hrtime();
  const uint64_t total_ns = now - request_start_ns_;
  if (BackendCounters* counters = backend_counters()) counters->record_response(response_status_, total_ns);
  AccessLogBuffer* log = worker_.access_log();
  if (log == nullptr) return;
  const MessageHead& head = parser_.head();
  AccessRecord r;
  r.time = std::chrono::system_clock::now() -
           std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::nanoseconds(total_ns));
  r.client = client_ip_;
  r.method = head_complete_ ? std::string_view(llhttp_method_name(static_cast<llhttp_method_t>(head.method)))
                            : std::string_view("-");
  r.target = head_complete_ ? head.view(head.url) : std::string_view("-");
  r.status = response_status_;
  r.bytes_sent = response_bytes_;
  r.backend = backend_name_.empty() ? std::string_view("-") : backend_name_;
  r.upstream_seconds = engage_ns_ != 0 && !backend_name_.empty() ? static_cast<double>(now - engage_ns_) / 1e9 : -1;
  r.total_seconds = static_cast<double>(total_ns) / 1e9;
  log->record(r);
}

void ClientConn::flush() {
  if (closing_) return;
  if (const int rc = out_.flush(as_stream(&tcp_)); rc != 0) close();
}

void ClientConn::on_written(void* self, int status) {
  auto* c = static_cast<ClientConn*>(self);
  if (c->closing_) return;
  if (status < 0) {
    c->close();
    return;
  }
  if (c->out_.pending() > 0) {
    c->flush();
  } else if (c->close_after_write_ && c->upstream_ == nullptr && c->phase_ == Phase::Idle) {
    c->linger();
    return;
  }
  if (c->upstream_paused_ && c->upstream_ != nullptr &&
      c->out_.pending() <= c->worker_.settings().response_buffer / 2) {
    c->upstream_paused_ = false;
    c->upstream_->resume_reading();
  }
  c->update_timer();
}

void ClientConn::update_timer() {
  if (closing_ || phase_ != Phase::Forwarding) return;
  // While a backend is engaged its own timers govern, unless ferry waits on the client: for
  // more request body, or for it to read the response.
  const bool waiting_on_client = (streaming_ && !request_complete_) || out_.pending() > 0;
  if (waiting_on_client) {
    arm_timer(worker_.settings().client_idle_ms);
  } else {
    deadline_.clear();
  }
}

void ClientConn::arm_timer(uint64_t ms) {
  deadline_.set(ms);
}

void ClientConn::on_timer(void* owner) {
  auto* c = static_cast<ClientConn*>(owner);
  switch (c->phase_) {
    case Phase::Head:
    case Phase::Body:
      c->send_error(408, true);
      break;
    default:
      c->close();
      break;
  }
}

}  // namespace ferry::proxy
