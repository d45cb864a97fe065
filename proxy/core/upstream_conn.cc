#include "proxy/core/upstream_conn.h"

#include <utility>

#include "proxy/admin/log.h"
#include "proxy/core/client_conn.h"
#include "proxy/core/worker.h"

namespace ferry::proxy {

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
  ++open_handles_;
  deadline_.init(worker.loop(), this, &UpstreamConn::on_timer);
  ++open_handles_;
  connect_req_.data = this;
  adjust(worker.metrics().backend_connections, 1);
}

UpstreamConn::~UpstreamConn() = default;

UpstreamConn* UpstreamConn::connect(Worker& worker, PoolKey key, const sockaddr_storage& address,
                                    ClientConn* client) {
  auto* u = new UpstreamConn(worker, key);
  u->client_ = client;
  const int rc = uv_tcp_connect(&u->connect_req_, &u->tcp_,
                                reinterpret_cast<const sockaddr*>(&address),
                                &UpstreamConn::on_connect);
  if (rc != 0) {
    log_debug("connect: %s", uv_err_name(rc));
    u->client_ = nullptr;
    u->close();
    return nullptr;
  }
  u->arm_timer(worker.settings().connect_ms);
  return u;
}

void UpstreamConn::on_connect(uv_connect_t* req, int status) {
  auto* u = static_cast<UpstreamConn*>(req->data);
  if (u->state_ == State::Closing) return;
  if (status < 0) {
    u->fail(UpstreamError::Refused);
    return;
  }
  u->state_ = State::Active;
  u->deadline_.clear();
  uv_tcp_nodelay(&u->tcp_, 1);
  u->start_reading();
  if (u->client_ != nullptr) u->client_->upstream_connected();
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
}

void UpstreamConn::flush() {
  if (state_ == State::Connecting || state_ == State::Closing) return;
  if (const int rc = out_.flush(as_stream(&tcp_)); rc != 0) {
    fail(UpstreamError::Reset);
    return;
  }
  // Whether the socket took everything at once or on_written flushed the last of it, the
  // request is out once nothing is left queued.
  if (out_.pending() == 0 && request_queued_) request_sent_ = true;
}

void UpstreamConn::request_queued(bool is_head_request) {
  request_queued_ = true;
  parser_.set_head_request(is_head_request);
  if (out_.pending() == 0) request_sent_ = true;
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

void UpstreamConn::on_alloc(uv_handle_t* h, std::size_t, uv_buf_t* buf) {
  UpstreamConn* u = self_of(h);
  *buf = uv_buf_init(u->worker_.blocks().get(), BlockPool::kBlockSize);
}

void UpstreamConn::on_read(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
  UpstreamConn* u = self_of(as_handle(s));
  Worker& worker = u->worker_;  // u may be closing by the end (its memory stays until on_closed)
  if (nread > 0) {
    u->handle_input(buf->base, buf->base, static_cast<std::size_t>(nread));
  } else if (nread < 0) {
    switch (u->state_) {
      case State::Idle:
        u->close();  // the backend closed a pooled connection: normal, it just leaves the pool
        break;
      case State::Tunnel:
        if (ClientConn* c = std::exchange(u->client_, nullptr)) c->tunnel_closed();
        u->close();
        break;
      case State::Active:
        if (nread == UV_EOF && u->response_started_ && !u->interim_ &&
            u->parser_.finish() == HttpParser::Status::MessageDone && u->client_ != nullptr) {
          // A response delimited by the close of the connection ended cleanly.
          ++u->requests_;
          u->client_->response_end(false);
        } else {
          u->fail(UpstreamError::Reset);
        }
        break;
      default:
        break;
    }
  }
  if (buf->base != nullptr) worker.blocks().put(buf->base);
  if (WriteBatch::ends_read_burst(nread, buf->len)) worker.writes().run();
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
        ++requests_;
        // Pool only a connection whose exchange ended exactly: the whole request written and
        // not one byte past the response.
        const bool reusable = response_keep_alive_ && request_sent_ && off == len;
        client_->response_end(reusable);  // detaches (pools or closes) this connection
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
  response_keep_alive_ = head.keep_alive;
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
    if (u->state_ == State::Active || u->state_ == State::Tunnel) {
      u->fail(UpstreamError::Reset);
    } else {
      u->close();
    }
    return;
  }
  u->flush();  // what was queued meanwhile, if anything; marks the request sent when all is out
  if (u->state_ == State::Closing) return;
  if (u->client_ != nullptr) u->client_->upstream_written();
}

void UpstreamConn::detach(bool reusable) {
  client_ = nullptr;
  if (!reusable || state_ != State::Active || worker_.draining() || out_.pending() > 0) {
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
  out_.write_held(as_stream(&tcp_));  // e.g. a tunnel's last bytes from a client that just left
  out_.clear();
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
