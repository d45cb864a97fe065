#include "proxy/http1/http_parser.h"

#include <cstring>
#include <utility>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace ferry::proxy {

namespace {

HttpParser& self(llhttp_t* p) { return *static_cast<HttpParser*>(p->data); }

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
  has_transfer_encoding = false;
  has_content_length = false;
  content_length = 0;
}

void MessageHead::trim() {
  constexpr std::size_t kKeepArena = 2048;
  constexpr std::size_t kKeepFields = 32;
  if (arena.capacity() > kKeepArena) std::string().swap(arena);
  if (fields.capacity() > kKeepFields) std::vector<HeaderField>().swap(fields);
}

// The head's fields, target and reason are read from its raw bytes once it is whole (see
// split_head), so llhttp runs over a head without a callback per name, value and piece of
// either: those calls and the copying behind them were a tenth of a keep-alive request's
// instructions. A chunked message's trailer section has no raw copy, so its fields still come
// through llhttp's callbacks: the parser switches to trailer_settings() at the end of such a
// head, and back at the next message.
namespace {

llhttp_settings_t base_settings() {
  llhttp_settings_t st;
  llhttp_settings_init(&st);
  return st;
}

}  // namespace

const llhttp_settings_t& HttpParser::head_settings() {
  static const llhttp_settings_t s = [] {
    llhttp_settings_t st = base_settings();
    st.on_message_begin = &HttpParser::on_message_begin;
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

const llhttp_settings_t& HttpParser::trailer_settings() {
  static const llhttp_settings_t s = [] {
    llhttp_settings_t st = head_settings();
    st.on_header_field = &HttpParser::on_trailer_field;
    st.on_header_value = &HttpParser::on_trailer_value;
    st.on_header_value_complete = &HttpParser::on_trailer_value_complete;
    return st;
  }();
  return s;
}

HttpParser::HttpParser(Kind kind, Sink* sink, std::size_t max_head_bytes)
    : sink_(sink),
      kind_(kind),
      scanner_(kind == Kind::Request ? HeadScanner::StartLine::Request : HeadScanner::StartLine::Response),
      max_head_bytes_(max_head_bytes) {
  llhttp_init(&parser_, kind == Kind::Request ? HTTP_REQUEST : HTTP_RESPONSE, &head_settings());
  parser_.data = this;
}

int HttpParser::on_message_begin(llhttp_t* p) {
  HttpParser& s = self(p);
  // The head itself was cleared when its first byte was scanned (feed): its raw bytes are in
  // the arena by now.
  p->settings = const_cast<llhttp_settings_t*>(&head_settings());
  s.started_ = true;
  s.head_done_ = false;
  s.trailers_.clear();
  s.trailer_part_ = 0;
  return 0;
}

// Trailer fields are dropped, never merged into the head ("Host: evil" in a trailer must not
// reach the backend as a header), or kept apart as lines when asked (gRPC's status travels in
// trailers).
int HttpParser::on_trailer_field(llhttp_t* p, const char* at, std::size_t len) {
  HttpParser& s = self(p);
  if (s.keep_trailers_) {
    s.trailers_.append(at, len);
    s.trailer_part_ = 1;
  }
  return 0;
}

int HttpParser::on_trailer_value(llhttp_t* p, const char* at, std::size_t len) {
  HttpParser& s = self(p);
  if (s.keep_trailers_) {
    if (s.trailer_part_ == 1) s.trailers_.append(": ");
    s.trailer_part_ = 2;
    s.trailers_.append(at, len);
  }
  return 0;
}

int HttpParser::on_trailer_value_complete(llhttp_t* p) {
  HttpParser& s = self(p);
  if (s.keep_trailers_) {
    if (s.trailer_part_ == 1) s.trailers_.append(": ");
    s.trailers_.append("\r\n");
    s.trailer_part_ = 0;
  }
  return 0;
}

namespace {

// Index of the first `c` in a[from, a.size()), which holds one (the scanner saw it), 16 bytes
// a step where SSE2 is there: a head line is a few dozen bytes, and memchr's call and set-up
// cost more than the search.
template <char c>
std::size_t find_in_head(const std::string& a, std::size_t from) {
  const char* p = a.data();
#if defined(__SSE2__)
  const __m128i wanted = _mm_set1_epi8(c);
  while (from + 16 <= a.size()) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + from));
    if (const int mask = _mm_movemask_epi8(_mm_cmpeq_epi8(x, wanted)); mask != 0)
      return from + static_cast<std::size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
    from += 16;
  }
#endif
  while (from < a.size() && p[from] != c) ++from;
  return from;
}

// The colon ending the field name that starts at a[from], and whether the name has a '_': one
// search for both, as the name is scanned anyway.
std::size_t find_colon(const std::string& a, std::size_t from, bool* underscore) {
  const char* p = a.data();
#if defined(__SSE2__)
  const __m128i colon = _mm_set1_epi8(':');
  const __m128i under = _mm_set1_epi8('_');
  while (from + 16 <= a.size()) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + from));
    const auto at_colon = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(x, colon)));
    const auto at_under = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(x, under)));
    if (at_colon != 0) {
      const unsigned before = (at_colon & -at_colon) - 1;  // the lanes before the first colon
      *underscore = *underscore || (at_under & before) != 0;
      return from + static_cast<std::size_t>(__builtin_ctz(at_colon));
    }
    *underscore = *underscore || at_under != 0;
    from += 16;
  }
#endif
  for (; from < a.size() && p[from] != ':'; ++from)
    if (p[from] == '_') *underscore = true;
  return from;
}

bool is_ows(char c) { return c == ' ' || c == '\t'; }

}  // namespace

// The head's raw bytes, whole in the arena, already held to RFC 9112's grammar by the scanner:
// lines end in CRLF, a request line is method SP target SP version with single spaces, a status
// line is version SP 3DIGIT [SP reason], and each field line is a token, a colon and a value
// without control bytes but HTAB. So one search finds each line's colon and another its end.
// The spans match what llhttp's callbacks reported (tests/proxy/http1/head_split_test.cc holds
// the two side by side): the target between the spaces, the reason after the code's SP (its
// leading and trailing spaces kept), a value from its first byte past the colon's OWS to the
// CR (its trailing OWS kept).
void HttpParser::split_head() {
  MessageHead& h = head_;
  const std::string& a = h.arena;
  std::size_t i = 0;
  // RFC 9112 2.2: empty lines before a request line are ignored (the scanner allowed them).
  while (i + 1 < a.size() && a[i] == '\r') i += 2;
  const std::size_t first_end = find_in_head<'\r'>(a, i);
  if (kind_ == Kind::Request) {
    const std::size_t target = find_in_head<' '>(a, i) + 1;
    h.url = Span{static_cast<uint32_t>(target), static_cast<uint32_t>(first_end - 9 - target)};
  } else if (first_end - i > 12) {  // "HTTP/1.1 200" and a SP
    h.reason = Span{static_cast<uint32_t>(i + 13), static_cast<uint32_t>(first_end - i - 13)};
  }
  i = first_end + 2;
  h.has_transfer_encoding = false;
  while (i < a.size() && a[i] != '\r') {
    bool underscore = false;
    const std::size_t colon = find_colon(a, i, &underscore);
    const std::size_t end = find_in_head<'\r'>(a, colon);
    std::size_t value = colon + 1;
    while (value < end && is_ows(a[value])) ++value;
    HeaderField& f = h.fields.emplace_back();
    f.name = Span{static_cast<uint32_t>(i), static_cast<uint32_t>(colon - i)};
    f.value = Span{static_cast<uint32_t>(value), static_cast<uint32_t>(end - value)};
    f.kind = classify_header(h.name(f));
    h.has_transfer_encoding |= f.kind == HeaderName::TransferEncoding;
    f.underscore = underscore;
    i = end + 2;
  }
}

int HttpParser::on_headers_complete(llhttp_t* p) {
  HttpParser& s = self(p);
  MessageHead& h = s.head_;
  s.split_head();
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
  if (h.chunked) p->settings = const_cast<llhttp_settings_t*>(&trailer_settings());
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
    in_trailers_ = true;
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
      if (!in_trailers_) {
        // The head's raw bytes, for split_head once llhttp has seen the last of them. Its
        // first bytes start a new head; the last message's stays readable until then.
        if (scanner_.head_bytes() == n) head_.clear();
        head_.arena.append(data + off, n);
      }
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
  parser_.settings = const_cast<llhttp_settings_t*>(&head_settings());
  in_head_ = true;
  in_trailers_ = false;
  started_ = false;
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
  in_trailers_ = false;
  started_ = false;
  scanner_.reset();
}

}  // namespace ferry::proxy
