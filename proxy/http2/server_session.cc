#include "proxy/http2/server_session.h"

#include <sys/types.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <utility>

namespace ferry::proxy::http2 {

namespace {

// RFC 9113 6.9.2's default stream window, and the edge guidance's 1 MiB for the connection
// (edge notes §4.1): enough to keep an upload moving, little enough to bound memory.
constexpr int32_t kStreamWindow = 64 * 1024;
constexpr int32_t kConnectionWindow = 1024 * 1024;
// A response head ferry built: far below this, whatever the backend sent (ferry bounds those).
constexpr std::size_t kMaxResponseHead = 256 * 1024;
// Compacts a stream's response buffer once this much of its front went out.
constexpr std::size_t kCompactAt = 64 * 1024;

ServerSession& of(void* self) { return *static_cast<ServerSession*>(self); }

void erase_one(std::vector<Stream*>& v, Stream* s) {
  const auto it = std::find(v.begin(), v.end(), s);
  if (it != v.end()) {
    *it = v.back();
    v.pop_back();
  }
}

}  // namespace

// ---- ServerSession ----

ServerSession::ServerSession(Host& host, const SessionLimits& limits)
    : host_(host), limits_(limits), guard_(limits.max_concurrent_streams) {
  nghttp2_session_callbacks* cb = nullptr;
  nghttp2_session_callbacks_new(&cb);
  nghttp2_session_callbacks_set_on_begin_headers_callback(cb, &ServerSession::on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(cb, &ServerSession::on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cb, &ServerSession::on_frame_recv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, &ServerSession::on_data_chunk_recv);
  nghttp2_session_callbacks_set_on_frame_send_callback(cb, &ServerSession::on_frame_send);
  nghttp2_session_callbacks_set_on_stream_close_callback(cb, &ServerSession::on_stream_close);
  nghttp2_option* opt = nullptr;
  nghttp2_option_new(&opt);
  // Request bodies are acknowledged as the peer takes them (backpressure), not on arrival.
  nghttp2_option_set_no_auto_window_update(opt, 1);
  nghttp2_session_server_new2(&session_, cb, this, opt);
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cb);
  if (session_ == nullptr) {
    failed_ = true;
    error_ = "out of memory";
    return;
  }
  const nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, limits_.max_concurrent_streams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, static_cast<uint32_t>(kStreamWindow)},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, static_cast<uint32_t>(std::min<uint64_t>(limits_.max_header_bytes, UINT32_MAX))},
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
  };
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, sizeof settings / sizeof settings[0]);
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, kConnectionWindow);
}

ServerSession::~ServerSession() {
  abandon_all();
  if (session_ != nullptr) nghttp2_session_del(session_);  // its stream-close callbacks find no streams
}

void ServerSession::abandon_all() {
  if (std::exchange(abandoned_, true)) return;
  std::vector<Stream*> all;
  all.swap(streams_);
  resumed_.clear();
  drained_.clear();
  for (Stream* s : all) {
    if (session_ != nullptr) nghttp2_session_set_stream_user_data(session_, s->id_, nullptr);
    if (StreamPeer* p = std::exchange(s->peer_, nullptr)) p->stream_abandoned();
    delete s;
  }
  buffered_ = 0;
}

Stream* ServerSession::stream(int32_t id) const {
  return static_cast<Stream*>(nghttp2_session_get_stream_user_data(session_, id));
}

bool ServerSession::feed(const char* data, std::size_t len) {
  if (failed_ || abandoned_) return false;
  opened_this_feed_ = 0;
  const ssize_t rv = nghttp2_session_mem_recv(session_, reinterpret_cast<const uint8_t*>(data), len);
  if (rv < 0 && !failed_) {
    failed_ = true;
    error_ = nghttp2_strerror(static_cast<int>(rv));
    // A GOAWAY tells the client why; once it is out the session wants nothing more (finished()).
    nghttp2_session_terminate_session(session_, rv == NGHTTP2_ERR_FLOODED ? NGHTTP2_ENHANCE_YOUR_CALM
                                                                          : NGHTTP2_PROTOCOL_ERROR);
  }
  host_.want_write();
  return !failed_;
}

bool ServerSession::send_pending(Sink sink, void* context, std::size_t budget) {
  if (abandoned_) return false;
  // Input first: a stream that resumed may answer at once, and its frames go in this round.
  while (!resumed_.empty()) {
    Stream* s = resumed_.back();
    resumed_.pop_back();
    s->in_resumed_ = false;
    s->deliver_held();
    if (abandoned_) return false;
  }
  std::size_t sent = 0;
  while (sent < budget) {
    const uint8_t* data = nullptr;
    const ssize_t n = nghttp2_session_mem_send(session_, &data);
    if (n < 0) {
      failed_ = true;
      if (error_ == nullptr) error_ = nghttp2_strerror(static_cast<int>(n));
      return false;
    }
    if (n == 0) break;
    sink(context, reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
    sent += static_cast<std::size_t>(n);
  }
  // Peers hear of room only now, outside nghttp2: one may answer (or close) at once.
  const bool was_over = over_budget_;
  over_budget_ = buffered_ > 2 * limits_.response_buffer;
  std::vector<Stream*> tell;
  if (was_over && !over_budget_) {
    tell = streams_;
    for (Stream* s : drained_) s->in_drained_ = false;
    drained_.clear();
  } else {
    tell.swap(drained_);
    for (Stream* s : tell) s->in_drained_ = false;
  }
  for (Stream* s : tell) {
    // A peer told earlier in this loop may have closed its stream's exchange: the stream
    // stays (nghttp2 frees it only in mem_send), so its peer_ is simply null by now.
    if (std::find(streams_.begin(), streams_.end(), s) == streams_.end()) continue;
    if (s->peer_ != nullptr) s->peer_->stream_drained();
    if (abandoned_) return false;
  }
  return !failed_;
}

void ServerSession::shutdown() {
  if (failed_ || abandoned_) return;
  nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(session_),
                        NGHTTP2_NO_ERROR, nullptr, 0);
  host_.want_write();
}

bool ServerSession::finished() const {
  if (abandoned_ || session_ == nullptr) return true;
  return nghttp2_session_want_read(session_) == 0 && nghttp2_session_want_write(session_) == 0;
}

void ServerSession::abuse(const char* why) {
  if (failed_) return;
  failed_ = true;
  error_ = why;
  nghttp2_session_terminate_session(session_, NGHTTP2_ENHANCE_YOUR_CALM);
}

void ServerSession::forget(Stream* s) {
  erase_one(streams_, s);
  if (s->in_resumed_) erase_one(resumed_, s);
  if (s->in_drained_) erase_one(drained_, s);
  buffered_ -= s->body_.size() - s->body_sent_;
}

int ServerSession::on_begin_headers(nghttp2_session* session, const nghttp2_frame* frame, void* self) {
  ServerSession& ss = of(self);
  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
  // nginx's answer to rapid reset: past twice the stream limit in one read, new streams are
  // refused, and a client that keeps at it loses the connection.
  if (++ss.opened_this_feed_ > 2 * ss.limits_.max_concurrent_streams) {
    nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, frame->hd.stream_id, NGHTTP2_REFUSED_STREAM);
    if (!ss.guard_.stream_refused()) ss.abuse(ss.guard_.reason());
    return 0;
  }
  auto* s = new Stream(ss, frame->hd.stream_id);
  nghttp2_session_set_stream_user_data(session, frame->hd.stream_id, s);
  ss.streams_.push_back(s);
  ss.guard_.stream_opened();
  return 0;
}

int ServerSession::on_header(nghttp2_session* session, const nghttp2_frame* frame, const uint8_t* name,
                             std::size_t name_len, const uint8_t* value, std::size_t value_len, uint8_t,
                             void* self) {
  ServerSession& ss = of(self);
  Stream* s = static_cast<Stream*>(nghttp2_session_get_stream_user_data(session, frame->hd.stream_id));
  if (s == nullptr || s->header_overflow_) return 0;  // refused, or already too large: decoded, dropped
  if (frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;  // trailers: HTTP/1 backends get none
  const std::string_view n(reinterpret_cast<const char*>(name), name_len);
  const std::string_view v(reinterpret_cast<const char*>(value), value_len);
  // nghttp2 keeps but does not enforce SETTINGS_MAX_HEADER_LIST_SIZE: an HPACK bomb decodes
  // into as many bytes as it likes unless counted here.
  if (!s->fields_.add(n, v, ss.limits_.max_header_bytes)) s->header_overflow_ = true;
  return 0;
}

int ServerSession::on_frame_recv(nghttp2_session* session, const nghttp2_frame* frame, void* self) {
  ServerSession& ss = of(self);
  const bool end_stream = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
  switch (frame->hd.type) {
    case NGHTTP2_HEADERS: {
      Stream* s = static_cast<Stream*>(nghttp2_session_get_stream_user_data(session, frame->hd.stream_id));
      if (s == nullptr) return 0;
      if (frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
        ss.request_headers_done(*s, end_stream);
      } else if (end_stream) {
        s->input_end();  // trailers end the request
      }
      return 0;
    }
    case NGHTTP2_DATA: {
      if (!ss.guard_.data_frame(frame->hd.length == 0, end_stream)) ss.abuse(ss.guard_.reason());
      if (end_stream)
        if (Stream* s = ss.stream(frame->hd.stream_id)) s->input_end();
      return 0;
    }
    case NGHTTP2_RST_STREAM:
      if (Stream* s = ss.stream(frame->hd.stream_id)) s->reset_by_client_ = true;
      return 0;
    case NGHTTP2_PING:
    case NGHTTP2_SETTINGS:
      if ((frame->hd.flags & NGHTTP2_FLAG_ACK) != 0) return 0;
      [[fallthrough]];
    case NGHTTP2_PRIORITY:
    case NGHTTP2_WINDOW_UPDATE:
      if (!ss.guard_.control_frame()) ss.abuse(ss.guard_.reason());
      return 0;
    default:
      return 0;
  }
}

void ServerSession::request_headers_done(Stream& s, bool end_stream) {
  if (s.header_overflow_) {
    s.respond(431, "request header fields too large\n");
    return;
  }
  std::string head;
  if (const char* why = s.fields_.build_head(end_stream, head); why != nullptr) {
    error_ = why;  // for the connection's debug log; the stream alone is answered
    s.respond(400, "bad request\n");
    return;
  }
  s.request_chunked_ = s.fields_.chunked_body(end_stream);
  s.request_ended_ = end_stream;
  const std::string_view method = s.fields_.method();
  s.response_.set_head_request(method == "HEAD");
  s.fields_.clear();  // the head is built: the list's memory goes
  s.peer_ = host_.open_stream(s);
  if (s.peer_ == nullptr) {
    nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, s.id_, NGHTTP2_REFUSED_STREAM);
    return;
  }
  s.input(head.data(), head.size(), 0);
}

int ServerSession::on_data_chunk_recv(nghttp2_session* session, uint8_t, int32_t stream_id, const uint8_t* data,
                                      std::size_t len, void* self) {
  Stream* s = of(self).stream(stream_id);
  if (s == nullptr) {
    nghttp2_session_consume(session, stream_id, len);  // a refused or answered stream: dropped
    return 0;
  }
  const char* bytes = reinterpret_cast<const char*>(data);
  if (s->request_chunked_) {
    char size_line[24];
    const int n = std::snprintf(size_line, sizeof size_line, "%zx\r\n", len);
    s->input(size_line, static_cast<std::size_t>(n), 0);
    s->input(bytes, len, len);
    s->input("\r\n", 2, 0);
  } else {
    s->input(bytes, len, len);
  }
  return 0;
}

int ServerSession::on_frame_send(nghttp2_session*, const nghttp2_frame* frame, void* self) {
  if (frame->hd.type == NGHTTP2_DATA) of(self).guard_.data_frame_sent();
  return 0;
}

int ServerSession::on_stream_close(nghttp2_session* session, int32_t stream_id, uint32_t, void* self) {
  ServerSession& ss = of(self);
  Stream* s = static_cast<Stream*>(nghttp2_session_get_stream_user_data(session, stream_id));
  if (s == nullptr) return 0;
  nghttp2_session_set_stream_user_data(session, stream_id, nullptr);
  ss.forget(s);
  if (s->reset_by_client_ && !s->response_ended_ && !ss.guard_.stream_reset_early()) ss.abuse(ss.guard_.reason());
  if (StreamPeer* p = std::exchange(s->peer_, nullptr)) p->stream_abandoned();
  delete s;
  return 0;
}

// ---- Stream ----

Stream::Stream(ServerSession& session, int32_t id)
    : session_(session), id_(id), response_(HttpParser::Kind::Response, this, kMaxResponseHead) {
  response_.set_keep_trailers(true);  // an h2c pool's trailers (gRPC's status) go on as trailers
}

std::size_t Stream::backlog() const {
  const std::size_t own = body_.size() - body_sent_;
  // Past the connection's budget every stream counts as full, so no one adds to it.
  return session_.over_budget_ ? own + session_.limits_.response_buffer + 1 : own;
}

void Stream::input(const char* data, std::size_t len, std::size_t window_bytes) {
  if (peer_ == nullptr) {
    if (window_bytes != 0) nghttp2_session_consume(session_.session_, id_, window_bytes);
    return;
  }
  if (input_paused_ || !held_.empty()) {
    held_.append(data, len);
    held_window_ += window_bytes;
    return;
  }
  peer_->stream_input(data, len);
  // Acknowledged only once taken: a paused peer's bytes stay within the stream's window.
  if (window_bytes != 0) nghttp2_session_consume(session_.session_, id_, window_bytes);
}

void Stream::input_end() {
  if (request_ended_) return;
  request_ended_ = true;
  if (request_chunked_) input("0\r\n\r\n", 5, 0);
}

void Stream::pause_input(bool paused) {
  input_paused_ = paused;
  if (!paused && !held_.empty() && !in_resumed_) {
    in_resumed_ = true;
    session_.resumed_.push_back(this);
    session_.host_.want_write();
  }
}

void Stream::deliver_held() {
  if (held_.empty()) return;
  if (peer_ == nullptr) {
    nghttp2_session_consume(session_.session_, id_, held_window_);
    held_.clear();
    held_window_ = 0;
    return;
  }
  if (input_paused_) return;
  std::string bytes;
  bytes.swap(held_);
  const std::size_t window = std::exchange(held_window_, 0);
  peer_->stream_input(bytes.data(), bytes.size());
  nghttp2_session_consume(session_.session_, id_, window);
}

void Stream::response_bytes(const char* data, std::size_t len) {
  while (len > 0 && !response_ended_) {
    std::size_t used = 0;
    const HttpParser::Status status = response_.feed(data, len, &used);
    if (status == HttpParser::Status::Ok) break;
    if (status != HttpParser::Status::MessageDone) {
      // ferry's own HTTP/1.1 did not parse: nothing sensible can reach the client.
      nghttp2_submit_rst_stream(session_.session_, NGHTTP2_FLAG_NONE, id_, NGHTTP2_INTERNAL_ERROR);
      response_ended_ = true;
      break;
    }
    data += used;
    len -= used;
    if (std::exchange(interim_, false)) response_.next_message();  // a 1xx went by
  }
  submit_response();
}

int Stream::on_head(MessageHead& head) {
  if (head.status < 200) {
    interim_ = true;  // 100 and 103 are not relayed over HTTP/2
    return 0;
  }
  head_fields_.build(head);
  head_ready_ = true;
  return 0;
}

int Stream::on_body(const char* data, std::size_t len) {
  if (body_sent_ >= kCompactAt && body_sent_ * 2 >= body_.size()) {
    body_.erase(0, body_sent_);
    body_sent_ = 0;
  }
  body_.append(data, len);
  session_.buffered_ += len;
  return 0;
}

int Stream::on_message_end() {
  if (interim_) return 0;
  response_ended_ = true;
  trailer_lines_ = response_.trailers();
  return 0;
}

void Stream::submit_response() {
  nghttp2_session* session = session_.session_;
  if (head_ready_ && !submitted_) {
    submitted_ = true;
    if (response_ended_ && body_.size() == body_sent_ && trailer_lines_.empty()) {
      nghttp2_submit_response(session, id_, head_fields_.nva.data(), head_fields_.nva.size(), nullptr);
    } else {
      nghttp2_data_provider provider{};
      provider.source.ptr = this;
      provider.read_callback = &Stream::read_body;
      nghttp2_submit_response(session, id_, head_fields_.nva.data(), head_fields_.nva.size(), &provider);
    }
    head_fields_ = ResponseFields();
  } else if (submitted_) {
    nghttp2_session_resume_data(session, id_);
  }
  session_.host_.want_write();
}

ssize_t Stream::read_body(nghttp2_session*, int32_t, uint8_t* buf, std::size_t length, uint32_t* data_flags,
                          nghttp2_data_source* source, void*) {
  auto* s = static_cast<Stream*>(source->ptr);
  const std::size_t available = s->body_.size() - s->body_sent_;
  if (available == 0 && !s->response_ended_) return NGHTTP2_ERR_DEFERRED;
  const std::size_t n = std::min(available, length);
  std::memcpy(buf, s->body_.data() + s->body_sent_, n);
  s->body_sent_ += n;
  s->session_.buffered_ -= n;
  if (s->body_sent_ == s->body_.size()) {
    s->body_.clear();
    s->body_sent_ = 0;
    if (s->response_ended_) {
      *data_flags |= NGHTTP2_DATA_FLAG_EOF;
      if (!s->trailer_lines_.empty()) {
        // The trailers end the stream instead of this DATA frame.
        *data_flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
        ResponseFields trailers;
        trailers.build_lines(s->trailer_lines_);
        nghttp2_submit_trailer(s->session_.session_, s->id_, trailers.nva.data(), trailers.nva.size());
        s->trailer_lines_.clear();
      }
    }
  }
  if (n != 0 && s->peer_ != nullptr && !s->in_drained_) {
    s->in_drained_ = true;
    s->session_.drained_.push_back(s);
  }
  return static_cast<ssize_t>(n);
}

void Stream::peer_closed() {
  peer_ = nullptr;
  if (!response_ended_) {
    // The exchange ended without a whole response (a backend cut it short, a timeout).
    nghttp2_submit_rst_stream(session_.session_, NGHTTP2_FLAG_NONE, id_, NGHTTP2_INTERNAL_ERROR);
    response_ended_ = true;
  }
  if (!held_.empty()) deliver_held();  // dropped and acknowledged
  session_.host_.want_write();
}

void Stream::respond(int status, std::string_view text) {
  char status_text[8];
  std::snprintf(status_text, sizeof status_text, "%d", status);
  char length[24];
  std::snprintf(length, sizeof length, "%zu", text.size());
  const auto nv = [](const char* name, const char* value) {
    return nghttp2_nv{reinterpret_cast<uint8_t*>(const_cast<char*>(name)),
                      reinterpret_cast<uint8_t*>(const_cast<char*>(value)), std::strlen(name), std::strlen(value),
                      NGHTTP2_NV_FLAG_NONE};
  };
  const nghttp2_nv fields[] = {nv(":status", status_text), nv("content-type", "text/plain"),
                               nv("content-length", length)};
  body_.assign(text);
  body_sent_ = 0;
  session_.buffered_ += text.size();
  response_ended_ = true;
  submitted_ = true;
  nghttp2_data_provider provider{};
  provider.source.ptr = this;
  provider.read_callback = &Stream::read_body;
  nghttp2_submit_response(session_.session_, id_, fields, sizeof fields / sizeof fields[0], &provider);
  session_.host_.want_write();
}

}  // namespace ferry::proxy::http2
