#include "proxy/core/upstream_conn.h"

#include <algorithm>
#include <cerrno>
#include <utility>

#include "proxy/admin/log.h"
#include "proxy/core/client_conn.h"
#include "proxy/core/pool_tls.h"
#include "proxy/core/worker.h"
#include "proxy/http2/client_session.h"
#include "proxy/tls/session.h"

namespace ferry::proxy {

struct UpstreamConn::TlsLink {
  TlsLink(Worker& worker, UpstreamConn* owner, uint64_t tls_id, std::string backend_name)
      : out(worker.blocks(), owner, &UpstreamConn::on_written, &worker.writes()),
        id(tls_id),
        backend(std::move(backend_name)) {}

  std::unique_ptr<tls::Session> session;
  OutQueue out;         // ciphertext for the socket: handshake records, then encrypted requests
  uint64_t id;          // PoolSettings::tls_id it was made under
  std::string backend;  // its name, for log lines
  bool tcp_up = false;  // the TCP connect is done; the handshake is under way (or done)
};

struct UpstreamConn::H2cLink {
  H2cLink(Worker& worker, UpstreamConn* owner) : out(worker.blocks(), owner, &UpstreamConn::on_written, &worker.writes()) {}

  http2::ClientSession session;
  OutQueue out;          // frames for the socket
  std::string scratch;   // frames, then the response as HTTP/1.1, on their way through
};

namespace {

UpstreamConn* self_of(uv_handle_t* h) { return static_cast<UpstreamConn*>(h->data); }
uv_handle_t* as_handle(void* h) { return static_cast<uv_handle_t*>(h); }
uv_stream_t* as_stream(uv_tcp_t* t) { return reinterpret_cast<uv_stream_t*>(t); }

}  // namespace

UpstreamConn::UpstreamConn(Worker& worker, PoolKey key)
    : worker_(worker),
      key_(key),
      // A backend's response head gets the same generous bound nginx gives it by default.
      parser_(HttpParser::Kind::Response, this, 64 * 1024),
      out_(worker.blocks(), this, &UpstreamConn::on_written, &worker.writes()) {
  uv_tcp_init(worker.loop(), &tcp_);
  tcp_.data = this;
  worker.read_through_ring(as_stream(&tcp_));
  ++open_handles_;
  deadline_.init(worker.loop(), this, &UpstreamConn::on_timer);
  ++open_handles_;
  connect_req_.data = this;
  adjust(worker.metrics().backend_connections, 1);
}

UpstreamConn::~UpstreamConn() = default;

UpstreamConn* UpstreamConn::connect(Worker& worker, const balancer::Backend& backend, const PoolSettings& pool,
                                    ClientConn* client, UpstreamError* error) {
  auto* u = new UpstreamConn(worker, backend.load.get());
  u->client_ = client;
  if (pool.tls != nullptr) {
    u->tls_ = std::make_unique<TlsLink>(worker, u, pool.tls_id, backend.name);
    u->tls_->session = tls::Session::client(pool.tls, backend_server_name(pool, backend),
                                            &worker.backend_sessions(), backend_session_key(pool, backend));
    if (u->tls_->session == nullptr) {
      log_error("backend %s: cannot start a TLS session (out of memory)", backend.name.c_str());
      if (error != nullptr) *error = UpstreamError::Tls;
      u->client_ = nullptr;
      u->close();
      return nullptr;
    }
    u->tls_->session->set_output_sink(&UpstreamConn::on_tls_output, u);
  } else if (pool.h2c) {
    u->h2c_ = std::make_unique<H2cLink>(worker, u);
    u->parser_.set_keep_trailers(true);
  }
  const int rc = uv_tcp_connect(&u->connect_req_, &u->tcp_,
                                reinterpret_cast<const sockaddr*>(&backend.address),
                                &UpstreamConn::on_connect);
  if (rc != 0) {
    log_debug("connect: %s", uv_err_name(rc));
    if (error != nullptr) *error = UpstreamError::Refused;
    u->client_ = nullptr;
    u->close();
    return nullptr;
  }
  // Over TLS this bounds the handshake too: connecting ends when the handshake does.
  u->arm_timer(worker.settings().connect_ms);
  return u;
}

UpstreamConn* UpstreamConn::take_pooled(Worker& worker, const balancer::Backend& backend, const PoolSettings& pool) {
  while (UpstreamConn* c = worker.pool().take(backend.load.get())) {
    if (c->tls_id() == pool.tls_id && (c->h2c_ != nullptr) == pool.h2c) return c;
    c->close();  // verified under a trust or name the pool no longer has (or plain, or TLS)
  }
  return nullptr;
}

uint64_t UpstreamConn::tls_id() const { return tls_ != nullptr ? tls_->id : 0; }

std::size_t UpstreamConn::queued() const {
  return out_.pending() + (tls_ != nullptr ? tls_->out.pending() : 0) + (h2c_ != nullptr ? h2c_->out.pending() : 0);
}

void UpstreamConn::on_connect(uv_connect_t* req, int status) {
  auto* u = static_cast<UpstreamConn*>(req->data);
  if (u->state_ == State::Closing) return;
  if (status < 0) {
    u->fail(UpstreamError::Refused);
    return;
  }
  uv_tcp_nodelay(&u->tcp_, 1);
  if (u->tls_ != nullptr) {
    u->tls_->tcp_up = true;
    u->start_reading();
    if (u->state_ == State::Closing) return;
    // The ClientHello; the connect timer keeps running until the handshake is done.
    if (u->tls_->session->handshake().status == tls::Session::Status::Error) {
      u->handshake_failed(u->tls_->session->error());
      return;
    }
    u->flush_tls();
    return;
  }
  u->state_ = State::Active;
  u->deadline_.clear();
  u->start_reading();
  if (u->client_ != nullptr) u->client_->upstream_connected();
}

void UpstreamConn::handshake_finished() {
  state_ = State::Active;
  deadline_.clear();
  if (client_ != nullptr) client_->upstream_connected();
}

void UpstreamConn::handshake_failed(const std::string& why) {
  log_debug("backend %s: TLS handshake failed: %s", tls_->backend.c_str(), why.c_str());
  fail(UpstreamError::Tls);  // close() gives the alert, if any, its try at the socket
}

void UpstreamConn::on_tls_output(void* owner, const char* data, std::size_t len) {
  static_cast<UpstreamConn*>(owner)->tls_->out.append(data, len);
}

void UpstreamConn::flush_tls() {
  if (state_ == State::Closing) return;
  if (const int rc = tls_->out.flush(as_stream(&tcp_)); rc != 0) {
    if (state_ == State::Connecting) {
      handshake_failed(uv_err_name(rc));
    } else {
      fail(UpstreamError::Reset);
    }
  }
}

void UpstreamConn::encrypt_queued() {
  if (out_.pending() == 0) return;
  tls::Session& session = *tls_->session;
  bool failed = false;
  out_.drain_to([&](const char* data, std::size_t len) {
    if (!failed && session.write(data, len).status != tls::Session::Status::Ok) failed = true;
  });
  if (failed) {
    log_debug("backend %s: TLS write: %s", tls_->backend.c_str(), session.error().c_str());
    fail(UpstreamError::Reset);
  }
}

void UpstreamConn::read_tls(const char* data, std::size_t len) {
  tls::Session& session = *tls_->session;
  session.feed(data, len);
  // Everything fed is decrypted now, even past a pause_reading (backpressure): bytes left in
  // the session would wait for a socket read that may never come. One read's worth of
  // ciphertext is at most one block of plaintext, so the client's queue overshoots its mark
  // by no more than a plain read would. Each piece gets a block of its own, since the client
  // may keep (share) the block it was given.
  while (state_ != State::Closing) {
    char* block = worker_.blocks().get();
    if (block == nullptr) {
      on_end(UV_ENOBUFS);
      return;
    }
    const bool was_done = session.handshake_done();
    const tls::Session::Result r = session.read(block, BlockPool::kBlockSize);
    if (!was_done && session.handshake_done()) handshake_finished();
    if (r.status == tls::Session::Status::Ok && state_ != State::Closing) {
      handle_input(block, block, r.bytes);
      worker_.blocks().put(block);
      continue;
    }
    worker_.blocks().put(block);
    if (state_ == State::Closing || r.status == tls::Session::Status::WantMore) break;
    if (r.status == tls::Session::Status::Closed) {  // close_notify: the backend's end of stream
      on_end(UV_EOF);
      return;
    }
    if (!session.handshake_done()) {
      handshake_failed(session.error());
      return;
    }
    log_debug("backend %s: TLS: %s", tls_->backend.c_str(), session.error().c_str());
    on_end(UV_EPROTO);
    return;
  }
  flush_tls();  // handshake records, the request once the handshake finished
}

void UpstreamConn::frame_queued() {
  http2::ClientSession& session = h2c_->session;
  bool ok = true;
  out_.drain_to([&](const char* data, std::size_t len) { ok = ok && session.request_bytes(data, len); });
  std::string& frames = h2c_->scratch;
  frames.clear();
  ok = ok && session.take_output(frames);
  if (!frames.empty()) h2c_->out.append(frames);
  if (!ok) {
    log_debug("backend h2c: %s", session.error() != nullptr ? session.error() : "error");
    fail(UpstreamError::Reset);
  }
}

void UpstreamConn::flush_h2c() {
  if (const int rc = h2c_->out.flush(as_stream(&tcp_)); rc != 0) fail(UpstreamError::Reset);
}

void UpstreamConn::read_h2c(const char* data, std::size_t len) {
  std::string& response = h2c_->scratch;
  response.clear();
  const bool ok = h2c_->session.feed(data, len, response);
  // Control frames alone (SETTINGS, PING, WINDOW_UPDATE) make no response bytes: an idle pooled
  // connection stays idle through them.
  if (!response.empty()) {
    std::string bytes;
    bytes.swap(response);
    handle_input(nullptr, bytes.data(), bytes.size());
  }
  if (state_ == State::Closing) return;
  if (!ok) {
    log_debug("backend h2c: %s", h2c_->session.error() != nullptr ? h2c_->session.error() : "error");
    if (state_ == State::Active) {
      fail(UpstreamError::Reset);
    } else {
      close();
    }
    return;
  }
  frame_queued();  // acknowledgements, window updates
  if (state_ != State::Closing) flush_h2c();
}

void UpstreamConn::attach(ClientConn* client) {
  client_ = client;
  state_ = State::Active;
  deadline_.clear();
  response_started_ = false;
  response_done_ = false;
  request_sent_ = false;
  request_queued_ = false;
  interim_ = false;
  splice_off_ = false;
  head_first_read_ = std::exchange(spliced_, false);
}

void UpstreamConn::flush() {
  if (state_ == State::Connecting || state_ == State::Closing) return;
  if (tls_ != nullptr) {
    // Plaintext waits for the batch as plain bytes do (out_ joins it, and never writes), so
    // what one burst queues becomes one run of records; when the batch runs (or there is
    // none) it is encrypted, then written.
    if (worker_.writes().holding()) {
      out_.flush(as_stream(&tcp_));
    } else {
      encrypt_queued();
    }
    flush_tls();
    if (state_ == State::Closing) return;
  } else if (h2c_ != nullptr) {
    // As for TLS: the request joins the batch as bytes, and becomes frames when it runs.
    if (worker_.writes().holding()) {
      out_.flush(as_stream(&tcp_));
    } else {
      frame_queued();
    }
    if (state_ == State::Closing) return;
    flush_h2c();
    if (state_ == State::Closing) return;
  } else if (const int rc = out_.flush(as_stream(&tcp_)); rc != 0) {
    fail(UpstreamError::Reset);
    return;
  }
  // Whether the socket took everything at once or on_written flushed the last of it, the
  // request is out once nothing is left queued.
  if (queued() == 0 && request_queued_) request_sent_ = true;
}

void UpstreamConn::request_queued(bool is_head_request) {
  request_queued_ = true;
  parser_.set_head_request(is_head_request);
  if (queued() == 0) request_sent_ = true;
  // A connect still under way keeps its connect timer; the response timer starts after it.
  if (state_ == State::Active) arm_timer(worker_.settings().backend_response_ms);
}

void UpstreamConn::start_reading() {
  if (reading_ || state_ == State::Closing) return;
  if (const int rc = uv_read_start(as_stream(&tcp_), &UpstreamConn::on_alloc, &UpstreamConn::on_read);
      rc != 0) {
    fail(UpstreamError::Reset);
    return;
  }
  reading_ = true;
  worker_.reading_resumed(as_stream(&tcp_));
}

void UpstreamConn::pause_reading() {
  paused_ = true;
  if (reading_) {
    uv_read_stop(as_stream(&tcp_));
    reading_ = false;
  }
}

void UpstreamConn::resume_reading() {
  paused_ = false;
  start_reading();
}

bool UpstreamConn::plain_to_splicing_client() const {
  return state_ == State::Active && tls_ == nullptr && h2c_ == nullptr && client_ != nullptr && client_->may_splice();
}

bool UpstreamConn::small_first_read() const { return !response_started_ && plain_to_splicing_client(); }

bool UpstreamConn::splice_ready() {
  return !splice_off_ && parser_.body_remaining() >= kSpliceMinBytes && plain_to_splicing_client() &&
         worker_.splice_pipe().ready();
}

void UpstreamConn::on_alloc(uv_handle_t* h, std::size_t, uv_buf_t* buf) {
  UpstreamConn* u = self_of(h);
  if (u->splice_ready()) {
    u->splicing_ = true;
    *buf = uv_buf_init(nullptr, 0);
    return;
  }
  // A first read goes into an ordinary block (see kFirstReadBytes and kHeadReadBytes).
  if (u->small_first_read()) {
    *buf = uv_buf_init(u->worker_.blocks().get(), u->head_first_read_ ? kHeadReadBytes : kFirstReadBytes);
  } else {
    *buf = uv_buf_init(u->worker_.blocks().get_large(), BlockPool::kLargeBlockSize);
  }
}

void UpstreamConn::relay_spliced() {
  SplicePipe& pipe = worker_.splice_pipe();
  const int to = client_->splice_target();
  if (state_ != State::Active || client_ == nullptr) return;
  if (to < 0) {
    // Something waits ahead of the body, or the client is held back: the rest goes the
    // ordinary way, from the next read (the socket is still readable).
    splice_off_ = true;
    return;
  }
  uv_os_fd_t from = -1;
  uv_fileno(as_handle(&tcp_), &from);
  // At most a few pipes' worth per event, so one large body does not hold the loop.
  for (int round = 0; round < 8; ++round) {
    const uint64_t due = parser_.body_remaining();
    const ssize_t in = pipe.fill(from, static_cast<std::size_t>(std::min<uint64_t>(due, BlockPool::kLargeBlockSize)));
    if (in == -EAGAIN) return;  // the rest is not here yet: the next readable event
    if (in <= 0) {
      on_end(in == 0 ? static_cast<ssize_t>(UV_EOF) : in);
      return;
    }
    response_started_ = true;
    spliced_ = true;
    arm_timer(worker_.settings().backend_response_ms);
    const ssize_t out = pipe.drain_to(to);
    if (out < 0) {
      pipe.discard();
      client_->splice_failed(static_cast<int>(out));  // closes the client, and with it this connection
      return;
    }
    if (out > 0) client_->response_spliced(static_cast<std::size_t>(out));
    if (pipe.held() > 0) {
      // The client's socket is full: what it did not take goes into a block and the client's
      // queue, under the usual buffers.response limit, and so does the rest of the body.
      splice_off_ = true;
      char* block = worker_.blocks().get_large();
      const std::size_t rest = pipe.read_rest(block, BlockPool::kLargeBlockSize);
      const int rc = client_->response_body(block, block, rest);
      worker_.blocks().put(block);
      if (rc != 0 || state_ != State::Active || client_ == nullptr) return;
    }
    if (parser_.skip_body(static_cast<uint64_t>(in)) == HttpParser::Status::MessageDone) {
      response_done(true);
      return;
    }
    if (splice_off_ || state_ != State::Active || client_ == nullptr) return;
  }
}

void UpstreamConn::response_done(bool exact) {
  ++requests_;
  // Pool only a connection whose exchange ended exactly: the whole request written and not one
  // byte past the response.
  const bool reusable = response_keep_alive_ && request_sent_ && exact;
  client_->response_end(reusable);  // detaches (pools or closes) this connection
}

void UpstreamConn::on_read(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
  UpstreamConn* u = self_of(as_handle(s));
  Worker& worker = u->worker_;  // u may be closing by the end (its memory stays until on_closed)
  if (nread == UV_ENOBUFS && std::exchange(u->splicing_, false)) {
    u->relay_spliced();
  } else if (nread > 0) {
    if (u->tls_ != nullptr) {
      u->read_tls(buf->base, static_cast<std::size_t>(nread));
    } else if (u->h2c_ != nullptr) {
      u->read_h2c(buf->base, static_cast<std::size_t>(nread));
    } else {
      u->handle_input(buf->base, buf->base, static_cast<std::size_t>(nread));
    }
  } else if (nread < 0) {
    u->on_end(nread);
  }
  if (buf->base != nullptr) worker.blocks().put(buf->base);
  if (WriteBatch::ends_read_burst(nread, buf->len)) worker.writes().burst_ended();
}

void UpstreamConn::on_end(ssize_t status) {
  switch (state_) {
    case State::Connecting:  // reading during a TLS handshake
      if (tls_ != nullptr)
        handshake_failed(status == UV_EOF ? "the backend closed the connection during the handshake"
                                          : uv_err_name(static_cast<int>(status)));
      break;
    case State::Idle:
      close();  // the backend closed a pooled connection: normal, it just leaves the pool
      break;
    case State::Tunnel:
      if (ClientConn* c = std::exchange(client_, nullptr)) c->tunnel_closed();
      close();
      break;
    case State::Active:
      if (status == UV_EOF && response_started_ && !interim_ &&
          parser_.finish() == HttpParser::Status::MessageDone && client_ != nullptr) {
        // A response delimited by the close of the connection ended cleanly.
        ++requests_;
        client_->response_end(false);
      } else {
        fail(UpstreamError::Reset);
      }
      break;
    default:
      break;
  }
}

void UpstreamConn::handle_input(char* block, const char* data, std::size_t len) {
  if (state_ == State::Tunnel) {
    if (client_ != nullptr) client_->tunnel_data(block, data, len);
    return;
  }
  if (state_ != State::Active || client_ == nullptr) {
    // Bytes nobody asked for (on a pooled connection): it can't be trusted for another request.
    close();
    return;
  }
  response_started_ = true;
  // backend_response bounds the wait for the first byte, then each gap between reads.
  arm_timer(worker_.settings().backend_response_ms);
  std::size_t off = 0;
  while (off < len && state_ == State::Active && client_ != nullptr) {
    std::size_t used = 0;
    read_block_ = block;
    const HttpParser::Status status = parser_.feed(data + off, len - off, &used);
    read_block_ = nullptr;
    off += used;
    switch (status) {
      case HttpParser::Status::Ok:
        break;
      case HttpParser::Status::MessageDone: {
        parser_.next_message();
        if (interim_) {
          interim_ = false;
          continue;  // a 1xx was relayed; the real response follows
        }
        response_done(off == len);
        if (off < len && state_ != State::Closing) close();
        return;
      }
      case HttpParser::Status::Upgrade: {
        state_ = State::Tunnel;
        deadline_.clear();
        client_->tunnel_begin();
        if (off < len && client_ != nullptr) client_->tunnel_data(block, data + off, len - off);
        return;
      }
      case HttpParser::Status::HeadTooLarge:
      case HttpParser::Status::Invalid:
      case HttpParser::Status::Aborted:
        log_debug("backend response malformed: %s",
                  parser_.error() != nullptr ? parser_.error() : "rejected");
        fail(UpstreamError::Malformed);
        return;
    }
  }
}

int UpstreamConn::on_head(MessageHead& head) {
  interim_ = head.status >= 100 && head.status < 200 && head.status != 101;
  // Not pooled after a response whose framing may be faulty (RFC 9112 6.1: Transfer-Encoding
  // in HTTP/1.0), nor after a 204 that announced a body: the body it must not have may still
  // arrive, and the next request on the connection, maybe another client's, would read it as
  // its response.
  response_keep_alive_ = head.keep_alive &&
                         !(head.http_minor == 0 && head.has_transfer_encoding) &&
                         !(head.status == 204 && (head.chunked || head.content_length > 0));
  if (client_ == nullptr) return -1;
  return client_->response_head(head);
}

int UpstreamConn::on_body(const char* data, std::size_t len) {
  if (client_ == nullptr) return -1;
  return client_->response_body(read_block_, data, len);
}

int UpstreamConn::on_message_end() { return 0; }

void UpstreamConn::on_written(void* self, int status) {
  auto* u = static_cast<UpstreamConn*>(self);
  if (u->state_ == State::Closing) return;
  if (status < 0) {
    if (u->state_ == State::Connecting && u->tls_ != nullptr) {
      u->handshake_failed(uv_err_name(status));
    } else if (u->state_ == State::Active || u->state_ == State::Tunnel) {
      u->fail(UpstreamError::Reset);
    } else {
      u->close();
    }
    return;
  }
  if (u->state_ == State::Connecting) {  // a TLS handshake: records queued meanwhile
    if (u->tls_ != nullptr) u->flush_tls();
    return;
  }
  u->flush();  // what was queued meanwhile, if anything; marks the request sent when all is out
  if (u->state_ == State::Closing) return;
  if (u->client_ != nullptr) u->client_->upstream_written();
}

void UpstreamConn::detach(bool reusable) {
  client_ = nullptr;
  if (h2c_ != nullptr && !h2c_->session.reusable()) reusable = false;
  if (!reusable || state_ != State::Active || worker_.draining() || queued() > 0) {
    close();
    return;
  }
  state_ = State::Idle;
  response_started_ = false;
  request_sent_ = false;
  request_queued_ = false;
  // A pooled connection keeps reading so the backend's close is seen at once.
  paused_ = false;
  start_reading();
  arm_timer(worker_.settings().backend_idle_ms);
  worker_.pool().put(key_, this);
}

void UpstreamConn::start_tunnel() {
  state_ = State::Tunnel;
  deadline_.clear();
}

void UpstreamConn::fail(UpstreamError error) {
  ClientConn* c = std::exchange(client_, nullptr);
  close();
  if (c != nullptr) c->upstream_failed(error, requests_ > 0);
}

void UpstreamConn::close() {
  if (state_ == State::Closing) return;
  adjust(worker_.metrics().backend_connections, -1);
  if (state_ == State::Idle) worker_.pool().remove(key_, this);
  state_ = State::Closing;
  client_ = nullptr;
  deadline_.clear();
  if (tls_ != nullptr) {
    // The last bytes (a tunnel's from a client that just left), then close_notify on a healthy
    // session, or the alert of a failed one, get the one try at the socket they would have had
    // without the batch.
    tls::Session* session = tls_->session.get();
    if (session != nullptr && session->handshake_done() && !session->failed()) {
      encrypt_queued();
      session->shutdown();
    }
    tls_->out.write_now(as_stream(&tcp_));
    tls_->out.clear();
  } else if (h2c_ != nullptr) {
    h2c_->out.write_now(as_stream(&tcp_));
    h2c_->out.clear();
  } else {
    out_.write_held(as_stream(&tcp_));  // e.g. a tunnel's last bytes from a client that just left
  }
  out_.clear();
  worker_.reading_ends(as_stream(&tcp_));
  uv_close(as_handle(&tcp_), &UpstreamConn::on_closed);
  uv_close(deadline_.handle(), &UpstreamConn::on_closed);
}

void UpstreamConn::on_closed(uv_handle_t* h) {
  UpstreamConn* u = self_of(h);
  if (--u->open_handles_ == 0) delete u;
}

void UpstreamConn::arm_timer(uint64_t ms) {
  deadline_.set(ms);
}

void UpstreamConn::on_timer(void* owner) {
  auto* u = static_cast<UpstreamConn*>(owner);
  switch (u->state_) {
    case State::Connecting:
      if (u->tls_ != nullptr && u->tls_->tcp_up)
        log_debug("backend %s: TLS handshake timed out", u->tls_->backend.c_str());
      u->fail(UpstreamError::ConnectTimeout);
      break;
    case State::Active:
      u->fail(UpstreamError::FirstByteTimeout);
      break;
    default:
      u->close();
      break;
  }
}

}  // namespace ferry::proxy
