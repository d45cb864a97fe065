#include "proxy/http2/client_session.h"

#include <sys/types.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "proxy/http2/response_fields.h"

namespace ferry::proxy::http2 {

namespace {

ClientSession& of(void* self) { return *static_cast<ClientSession*>(self); }

nghttp2_nv nv(std::string_view name, std::string_view value) {
  return nghttp2_nv{reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
                    reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
                    NGHTTP2_NV_FLAG_NONE};
}

// Request fields that mean something only to one HTTP/1.1 connection (RFC 9113 8.2.2); `te`
// goes too, and comes back as "trailers", the one value HTTP/2 allows (gRPC needs it).
bool dropped_request_field(std::string_view lowercase) {
  return hop_by_hop_response_field(lowercase) || lowercase == "te" || lowercase == "host";
}

}  // namespace

ClientSession::ClientSession() : request_(HttpParser::Kind::Request, this, 64 * 1024) {
  nghttp2_session_callbacks* cb = nullptr;
  nghttp2_session_callbacks_new(&cb);
  nghttp2_session_callbacks_set_on_header_callback(cb, &ClientSession::on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cb, &ClientSession::on_frame_recv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, &ClientSession::on_data_chunk_recv);
  nghttp2_session_callbacks_set_on_stream_close_callback(cb, &ClientSession::on_stream_close);
  nghttp2_session_client_new(&session_, cb, this);
  nghttp2_session_callbacks_del(cb);
  if (session_ == nullptr) {
    fail("out of memory");
    return;
  }
  const nghttp2_settings_entry settings[] = {{NGHTTP2_SETTINGS_ENABLE_PUSH, 0}};
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, 1);
}

ClientSession::~ClientSession() {
  if (session_ != nullptr) nghttp2_session_del(session_);
}

bool ClientSession::fail(const char* why) {
  if (!failed_) error_ = why;
  failed_ = true;
  return false;
}

bool ClientSession::request_bytes(const char* data, std::size_t len) {
  while (len > 0 && !failed_) {
    std::size_t used = 0;
    const HttpParser::Status st = request_.feed(data, len, &used);
    if (st == HttpParser::Status::Ok) return true;
    if (st != HttpParser::Status::MessageDone) return fail("the request did not parse");
    request_.next_message();
    data += used;
    len -= used;
  }
  return !failed_;
}

int ClientSession::on_head(MessageHead& head) {
  if (stream_ != -1) return fail("a request while another is under way") ? 0 : -1;
  std::vector<nghttp2_nv> fields;
  std::string names;  // lowercased names, one after another
  names.reserve(head.arena.size());
  std::vector<std::pair<std::size_t, std::size_t>> name_at;
  for (const HeaderField& f : head.fields) {
    const std::size_t at = names.size();
    for (const char ch : head.name(f)) names.push_back(ch >= 'A' && ch <= 'Z' ? static_cast<char>(ch - 'A' + 'a') : ch);
    name_at.emplace_back(at, names.size() - at);
  }
  const std::string_view method = llhttp_method_name(static_cast<llhttp_method_t>(head.method));
  fields.push_back(nv(":method", method));
  fields.push_back(nv(":scheme", "http"));
  fields.push_back(nv(":authority", head.find(HeaderName::Host)));
  fields.push_back(nv(":path", head.view(head.url)));
  for (std::size_t i = 0; i < head.fields.size(); ++i) {
    const std::string_view name(names.data() + name_at[i].first, name_at[i].second);
    if (dropped_request_field(name)) continue;
    fields.push_back(nv(name, head.value(head.fields[i])));
  }
  fields.push_back(nv("te", "trailers"));
  const bool has_body = head.chunked || head.content_length > 0;
  body_.clear();
  body_ended_ = false;
  status_.clear();
  fields_.clear();
  trailers_ = false;
  nghttp2_data_provider provider{};
  provider.source.ptr = this;
  provider.read_callback = &ClientSession::read_body;
  stream_ = nghttp2_submit_request(session_, nullptr, fields.data(), fields.size(), has_body ? &provider : nullptr,
                                   nullptr);
  if (stream_ < 0) return fail("the backend connection takes no more streams") ? 0 : -1;
  return 0;
}

int ClientSession::on_body(const char* data, std::size_t len) {
  body_.append(data, len);
  if (stream_ > 0) nghttp2_session_resume_data(session_, stream_);
  return 0;
}

int ClientSession::on_message_end() {
  body_ended_ = true;
  if (stream_ > 0) nghttp2_session_resume_data(session_, stream_);
  return 0;
}

ssize_t ClientSession::read_body(nghttp2_session*, int32_t, uint8_t* buf, std::size_t length, uint32_t* data_flags,
                                 nghttp2_data_source*, void* self) {
  ClientSession& s = of(self);
  if (s.body_.empty()) {
    if (!s.body_ended_) return NGHTTP2_ERR_DEFERRED;
    *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    return 0;
  }
  const std::size_t n = std::min(length, s.body_.size());
  std::memcpy(buf, s.body_.data(), n);
  s.body_.erase(0, n);
  if (s.body_.empty() && s.body_ended_) *data_flags |= NGHTTP2_DATA_FLAG_EOF;
  return static_cast<ssize_t>(n);
}

bool ClientSession::take_output(std::string& out) {
  if (session_ == nullptr) return false;
  for (;;) {
    const uint8_t* data = nullptr;
    const ssize_t n = nghttp2_session_mem_send(session_, &data);
    if (n < 0) return fail(nghttp2_strerror(static_cast<int>(n)));
    if (n == 0) return true;
    out.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
  }
}

bool ClientSession::feed(const char* data, std::size_t len, std::string& response) {
  if (failed_) return false;
  response_ = &response;
  const ssize_t rv = nghttp2_session_mem_recv(session_, reinterpret_cast<const uint8_t*>(data), len);
  response_ = nullptr;
  if (rv < 0) return fail(nghttp2_strerror(static_cast<int>(rv)));
  return !failed_;
}

int ClientSession::on_header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name, std::size_t name_len,
                             const uint8_t* value, std::size_t value_len, uint8_t, void* self) {
  ClientSession& s = of(self);
  if (frame->hd.stream_id != s.stream_) return 0;
  const std::string_view n(reinterpret_cast<const char*>(name), name_len);
  const std::string_view v(reinterpret_cast<const char*>(value), value_len);
  if (n == ":status") {
    s.status_.assign(v);
    return 0;
  }
  if (!n.empty() && n.front() == ':') return 0;
  if (hop_by_hop_response_field(n) || n == "content-length" || n == "trailer") {
    // HTTP/1 framing is ferry's to write; a trailers' Content-Length means nothing.
    if (n != "content-length" || s.trailers_) return 0;
  }
  s.fields_.append(n);
  s.fields_.append(": ");
  s.fields_.append(v);
  s.fields_.append("\r\n");
  return 0;
}

int ClientSession::on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* self) {
  ClientSession& s = of(self);
  if (frame->hd.type == NGHTTP2_GOAWAY) {
    s.goaway_ = true;
    if (s.stream_ > frame->goaway.last_stream_id) s.fail("the backend sent GOAWAY before the stream");
    return 0;
  }
  if (frame->hd.stream_id != s.stream_ || s.response_ == nullptr) return 0;
  const bool end = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
  std::string& out = *s.response_;
  if (frame->hd.type == NGHTTP2_HEADERS) {
    if (!s.trailers_) {
      if (s.status_.size() == 3 && s.status_[0] == '1') {  // interim: not relayed
        s.status_.clear();
        s.fields_.clear();
        return 0;
      }
      out.append("HTTP/1.1 ");
      out.append(s.status_.empty() ? "502" : s.status_);
      out.append(" -\r\n");
      out.append(s.fields_);
      const bool no_body = s.status_ == "204" || s.status_ == "304";
      if (end) {
        if (!no_body && s.fields_.find("content-length: ") == std::string::npos) out.append("Content-Length: 0\r\n");
      } else if (!no_body) {
        // Chunked whatever the backend said: the end and the trailers then have their place.
        std::string kept;
        std::size_t at = 0;
        while (at < s.fields_.size()) {
          const std::size_t eol = s.fields_.find("\r\n", at) + 2;
          if (s.fields_.compare(at, 16, "content-length: ") != 0) kept.append(s.fields_, at, eol - at);
          at = eol;
        }
        out.resize(out.size() - s.fields_.size());
        out.append(kept);
        out.append("Transfer-Encoding: chunked\r\n");
      }
      out.append("\r\n");
      s.fields_.clear();
      s.trailers_ = !end;
      return 0;
    }
    // Trailers: the chunked trailer section.
    out.append("0\r\n");
    out.append(s.fields_);
    out.append("\r\n");
    s.fields_.clear();
    s.trailers_ = false;
    return 0;
  }
  if (frame->hd.type == NGHTTP2_DATA && end) {
    out.append("0\r\n\r\n");
    s.trailers_ = false;
  }
  return 0;
}

int ClientSession::on_data_chunk_recv(nghttp2_session*, uint8_t, int32_t stream_id, const uint8_t* data,
                                      std::size_t len, void* self) {
  ClientSession& s = of(self);
  if (stream_id != s.stream_ || s.response_ == nullptr || len == 0) return 0;
  char size_line[24];
  const int n = std::snprintf(size_line, sizeof size_line, "%zx\r\n", len);
  s.response_->append(size_line, static_cast<std::size_t>(n));
  s.response_->append(reinterpret_cast<const char*>(data), len);
  s.response_->append("\r\n");
  return 0;
}

int ClientSession::on_stream_close(nghttp2_session*, int32_t stream_id, uint32_t error_code, void* self) {
  ClientSession& s = of(self);
  if (stream_id != s.stream_) return 0;
  s.stream_ = -1;
  if (error_code != NGHTTP2_NO_ERROR) s.fail("the backend reset the stream");
  return 0;
}

}  // namespace ferry::proxy::http2
