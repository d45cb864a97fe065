#include "proxy/http1/http_parser.h"

#include <cstring>
#include <utility>

namespace ferry::proxy {

namespace {

HttpParser& self(llhttp_t* p) { return *static_cast<HttpParser*>(p->data); }

void append(std::string& arena, Span& span, const char* at, std::size_t len) {
  if (span.length == 0) span.offset = static_cast<uint32_t>(arena.size());
  arena.append(at, len);
  span.length += static_cast<uint32_t>(len);
}

}  // namespace

std::string_view MessageHead::find(std::string_view wanted) const {
  for (const HeaderField& f : fields)
    if (iequals(name(f), wanted)) return value(f);
  return {};
}

std::string_view MessageHead::find(HeaderName kind) const {
  for (const HeaderField& f : fields)
    if (f.kind == kind) return value(f);
  return {};
}

int MessageHead::count(HeaderName kind) const {
  int n = 0;
  for (const HeaderField& f : fields) n += f.kind == kind ? 1 : 0;
  return n;
}

void MessageHead::clear() {
  arena.clear();
  fields.clear();
  url = Span{};
  reason = Span{};
  method = 0;
  status = 0;
  http_major = 1;
  http_minor = 1;
  keep_alive = false;
  upgrade = false;
  chunked = false;
  has_content_length = false;
  content_length = 0;
}

void MessageHead::trim() {
  constexpr std::size_t kKeepArena = 2048;
  constexpr std::size_t kKeepFields = 32;
  if (arena.capacity() > kKeepArena) std::string().swap(arena);
  if (fields.capacity() > kKeepFields) std::vector<HeaderField>().swap(fields);
}

const llhttp_settings_t& HttpParser::settings() {
  static const llhttp_settings_t s = [] {
    llhttp_settings_t st;
    llhttp_settings_init(&st);
    st.on_message_begin = &HttpParser::on_message_begin;
    st.on_url = &HttpParser::on_url;
    st.on_status = &HttpParser::on_status;
    st.on_header_field = &HttpParser::on_header_field;
    st.on_header_value = &HttpParser::on_header_value;
    st.on_header_value_complete = &HttpParser::on_header_value_complete;
    st.on_headers_complete = &HttpParser::on_headers_complete;
    st.on_body = &HttpParser::on_body;
    st.on_message_complete = &HttpParser::on_message_complete;
    st.on_chunk_header = &HttpParser::on_chunk_header;
    st.on_chunk_extension_name = &HttpParser::on_chunk_extension_name;
    st.on_chunk_extension_name_complete = &HttpParser::on_chunk_extension_name_complete;
    st.on_chunk_extension_value = &HttpParser::on_chunk_extension_value;
    st.on_chunk_extension_value_complete = &HttpParser::on_chunk_extension_value_complete;
    return st;
  }();
  return s;
}

HttpParser::HttpParser(Kind kind, Sink* sink, std::size_t max_head_bytes)
    : sink_(sink),
      kind_(kind),
      scanner_(kind == Kind::Request ? HeadScanner::StartLine::Request : HeadScanner::StartLine::Response),
      max_head_bytes_(max_head_bytes) {
  llhttp_init(&parser_, kind == Kind::Request ? HTTP_REQUEST : HTTP_RESPONSE, &settings());
  parser_.data = this;
}

int HttpParser::on_message_begin(llhttp_t* p) {
  HttpParser& s = self(p);
  s.started_ = true;
  s.head_done_ = false;
  s.in_value_ = true;  // so the first header name opens a field
  s.head_.clear();
  s.trailers_.clear();
  s.trailer_part_ = 0;
  return 0;
}

int HttpParser::on_url(llhttp_t* p, const char* at, std::size_t len) {
  HttpParser& s = self(p);
  append(s.head_.arena, s.head_.url, at, len);
  return 0;
}

int HttpParser::on_status(llhttp_t* p, const char* at, std::size_t len) {
  HttpParser& s = self(p);
  append(s.head_.arena, s.head_.reason, at, len);
  return 0;
}

int HttpParser::on_header_field(llhttp_t* p, const char* at, std::size_t len) {
  HttpParser& s = self(p);
  // Trailer fields arrive through the same callbacks: they are dropped, never merged into the
  // head ("Host: evil" in a trailer must not reach the backend as a header), or kept apart as
  // lines when asked (gRPC's status travels in trailers).
  if (s.head_done_) {
    if (s.keep_trailers_) {
      s.trailers_.append(at, len);
      s.trailer_part_ = 1;
    }
    return 0;
  }
  if (s.in_value_) {
    s.head_.fields.push_back(HeaderField{});
    s.in_value_ = false;
  }
  append(s.head_.arena, s.head_.fields.back().name, at, len);
  return 0;
}

int HttpParser::on_header_value(llhttp_t* p, const char* at, std::size_t len) {
  HttpParser& s = self(p);
  if (s.head_done_) {
    if (s.keep_trailers_) {
      if (s.trailer_part_ == 1) s.trailers_.append(": ");
      s.trailer_part_ = 2;
      s.trailers_.append(at, len);
    }
    return 0;
  }
  append(s.head_.arena, s.head_.fields.back().value, at, len);
  return 0;
}

int HttpParser::on_header_value_complete(llhttp_t* p) {
  HttpParser& s = self(p);
  if (s.head_done_) {
    if (s.keep_trailers_) {
      if (s.trailer_part_ == 1) s.trailers_.append(": ");
      s.trailers_.append("\r\n");
      s.trailer_part_ = 0;
    }
    return 0;
  }
  HeaderField& f = s.head_.fields.back();
  // An empty value never called on_header_value: anchor its span anyway.
  if (f.value.length == 0) f.value.offset = static_cast<uint32_t>(s.head_.arena.size());
  const std::string_view name = s.head_.name(f);
  f.kind = classify_header(name);
  f.underscore = name.find('_') != std::string_view::npos;
  s.in_value_ = true;
  return 0;
}

int HttpParser::on_headers_complete(llhttp_t* p) {
  HttpParser& s = self(p);
  MessageHead& h = s.head_;
  h.method = p->method;
  h.status = p->status_code;
  h.http_major = p->http_major;
  h.http_minor = p->http_minor;
  h.keep_alive = llhttp_should_keep_alive(p) != 0;
  h.upgrade = p->upgrade != 0;
  h.chunked = (p->flags & F_CHUNKED) != 0;
  h.has_content_length = (p->flags & F_CONTENT_LENGTH) != 0;
  h.content_length = h.has_content_length ? p->content_length : 0;
  s.head_done_ = true;
  if (s.sink_->on_head(h) != 0) {
    s.sink_aborted_ = true;
    return -1;
  }
  // A response to HEAD, and any 1xx (101 included: what follows it is the tunnel), 204 or 304,
  // has no body whatever its framing headers say (RFC 9112 6.3); bytes after its head begin the
  // next message.
  if (s.kind_ == Kind::Response &&
      (s.head_request_ || (h.status >= 100 && h.status < 200) ||
       h.status == 204 || h.status == 304)) {
    return 1;
  }
  return 0;
}

int HttpParser::on_chunk_header(llhttp_t* p) {
  HttpParser& s = self(p);
  if (p->content_length != 0) return 0;
  // The last chunk: pause, so feed() runs the trailer section through the head scanner before
  // llhttp reads it (llhttp 8.1 accepts a bare LF ending it).
  s.trailer_pause_ = true;
  return HPE_PAUSED;
}

// chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] ) (RFC 9112 7.1.1).
// llhttp 8.1 checks each byte of a name or value, but takes an empty name ("5;=x"), an empty
// value ("5;x="), a quote in the middle of a token (x=a"b" reads on as a quoted string), DEL
// inside quotes, and a ';' ending a token value with no extension after it ("5;x=a;"). ferry
// drops extensions when it re-chunks, so no backend sees them; but a proxy in front of ferry
// may read such a line another way, and a malformed message is refused, not repaired. A name
// or value may come in several pieces (one read ends inside it).
int HttpParser::on_chunk_extension_name(llhttp_t* p, const char*, std::size_t len) {
  self(p).chunk_ext_bytes_ += static_cast<uint32_t>(len);
  return 0;
}

int HttpParser::on_chunk_extension_name_complete(llhttp_t* p) {
  HttpParser& s = self(p);
  if (std::exchange(s.chunk_ext_bytes_, 0) == 0) return s.reject("empty chunk extension name");
  return 0;
}

int HttpParser::on_chunk_extension_value(llhttp_t* p, const char* at, std::size_t len) {
  HttpParser& s = self(p);
  if (s.chunk_ext_bytes_ == 0) s.chunk_ext_quoted_ = len != 0 && at[0] == '"';
  s.chunk_ext_bytes_ += static_cast<uint32_t>(len);
  if (s.chunk_ext_quoted_) {
    if (std::memchr(at, 0x7f, len) != nullptr) return s.reject("DEL in a chunk extension value");
    return 0;
  }
  if (std::memchr(at, '"', len) != nullptr) return s.reject("quote inside a chunk extension token");
  // llhttp 8.1 ends a token value at ';' and then takes only a CR ("5;a=b;") or another ';'
  // ("5;a=b;;c=d"): an extension with no name either way (and "5;a=b;c=d", which the RFC
  // allows, it refuses). The byte that ended the value is in view when this read holds it;
  // when the read ended first, llhttp calls again from the next read (with no bytes, if that
  // byte begins it).
  if (at + len < s.exec_end_ && at[len] == ';') return s.reject("';' after a chunk extension token value");
  return 0;
}

int HttpParser::on_chunk_extension_value_complete(llhttp_t* p) {
  HttpParser& s = self(p);
  if (std::exchange(s.chunk_ext_bytes_, 0) == 0) return s.reject("empty chunk extension value");
  return 0;
}

int HttpParser::on_body(llhttp_t* p, const char* at, std::size_t len) {
  HttpParser& s = self(p);
  if (s.sink_->on_body(at, len) != 0) {
    s.sink_aborted_ = true;
    return -1;
  }
  return 0;
}

int HttpParser::on_message_complete(llhttp_t* p) {
  HttpParser& s = self(p);
  if (s.sink_->on_message_end() != 0) {
    s.sink_aborted_ = true;
    return -1;
  }
  return HPE_PAUSED;
}

HttpParser::Status HttpParser::run_llhttp(const char* data, std::size_t len, std::size_t* used) {
  exec_end_ = data + len;
  const llhttp_errno_t e = llhttp_execute(&parser_, data, len);
  if (e == HPE_OK) {
    *used = len;
    return Status::Ok;
  }
  const char* pos = llhttp_get_error_pos(&parser_);
  *used = pos != nullptr ? static_cast<std::size_t>(pos - data) : len;
  if (e == HPE_PAUSED && trailer_pause_) {
    trailer_pause_ = false;
    llhttp_resume(&parser_);
    in_head_ = true;
    scanner_.reset_for_trailers();
    return Status::Ok;
  }
  if (e == HPE_PAUSED) return parser_.upgrade ? Status::Upgrade : Status::MessageDone;
  if (e == HPE_PAUSED_UPGRADE) return Status::Upgrade;
  if (sink_aborted_) return Status::Aborted;
  error_ = callback_error_ != nullptr ? callback_error_ : llhttp_get_error_reason(&parser_);
  if (error_ == nullptr) error_ = llhttp_errno_name(e);
  return Status::Invalid;
}

HttpParser::Status HttpParser::feed(const char* data, std::size_t len, std::size_t* consumed) {
  std::size_t off = 0;
  while (off < len) {
    std::size_t piece = len - off;
    if (in_head_) {
      std::size_t n = 0;
      const HeadScanner::Result r = scanner_.scan(data + off, piece, &n);
      if (r == HeadScanner::Result::Invalid) {
        error_ = scanner_.error();
        *consumed = off + n;
        return Status::Invalid;
      }
      if (scanner_.head_bytes() > max_head_bytes_) {
        *consumed = off;
        return Status::HeadTooLarge;
      }
      piece = n;
      if (r == HeadScanner::Result::Complete) in_head_ = false;
    }
    std::size_t used = 0;
    const Status s = run_llhttp(data + off, piece, &used);
    off += used;
    if (s != Status::Ok) {
      *consumed = off;
      return s;
    }
    if (used < piece) continue;  // paused for the trailer section: scan it first
  }
  *consumed = off;
  return Status::Ok;
}

HttpParser::Status HttpParser::finish() {
  if (!started_) return Status::Ok;
  const llhttp_errno_t e = llhttp_finish(&parser_);
  if (e == HPE_OK || e == HPE_PAUSED) return Status::MessageDone;
  if (sink_aborted_) return Status::Aborted;
  error_ = llhttp_get_error_reason(&parser_);
  if (error_ == nullptr) error_ = llhttp_errno_name(e);
  return Status::Invalid;
}

void HttpParser::reset() {
  llhttp_reset(&parser_);
  parser_.data = this;
  in_head_ = true;
  started_ = false;
  in_value_ = false;
  head_request_ = false;
  sink_aborted_ = false;
  head_done_ = false;
  trailers_.clear();
  trailer_part_ = 0;
  trailer_pause_ = false;
  chunk_ext_quoted_ = false;
  chunk_ext_bytes_ = 0;
  callback_error_ = nullptr;
  error_ = nullptr;
  scanner_.reset();
  scanner_.trim();
  head_.clear();
  head_.trim();
}

uint64_t HttpParser::body_remaining() const {
  if (!head_done_ || !started_ || head_.chunked || !head_.has_content_length || head_request_) return 0;
  if (llhttp_get_errno(&parser_) != HPE_OK) return 0;  // paused at the message's end, or failed
  return parser_.content_length;
}

HttpParser::Status HttpParser::skip_body(uint64_t n) {
  parser_.content_length -= n;
  if (parser_.content_length > 0) return Status::Ok;
  // llhttp would end the message on its next byte; it starts the next one from scratch
  // instead (type, settings and data stay), as after a message it ended itself.
  llhttp_reset(&parser_);
  next_message();
  return Status::MessageDone;
}

void HttpParser::next_message() {
  if (llhttp_get_errno(&parser_) == HPE_PAUSED) llhttp_resume(&parser_);
  in_head_ = true;
  started_ = false;
  scanner_.reset();
}

}  // namespace ferry::proxy
