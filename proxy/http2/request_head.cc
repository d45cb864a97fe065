#include "proxy/http2/request_head.h"

#include <llhttp.h>

namespace ferry::proxy::http2 {

namespace {

// RFC 9110 5.6.2 tchar.
bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

// The methods ferry's HTTP/1 side reads: llhttp's, in HTTP mode (case-sensitive). The head
// built here goes through that parser, which refuses any other token ("FOO", "get", "PRI").
// Refusing those here answers an HTTP/2 client with the 400 an HTTP/1 client gets for them,
// before a stream is opened toward a backend.
bool is_http1_method(std::string_view method) {
#define FERRY_IS_METHOD(num, name, string) \
  if (method == #string) return true;
  HTTP_METHOD_MAP(FERRY_IS_METHOD)
#undef FERRY_IS_METHOD
  return false;
}

// A request-target ferry writes into a request line: visible ASCII only, so neither a space
// nor a line end can split it.
bool is_visible(std::string_view s) {
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

// A field value ferry writes after "name: ": no line end, no NUL (nghttp2 checks these too;
// this keeps the function safe on its own).
bool is_field_value(std::string_view s) {
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '\r' || c == '\n' || c == 0) return false;
  }
  return true;
}

bool iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// RFC 9113 8.2.2: connection-specific fields make a request malformed (`te` is allowed with
// "trailers" only, and HTTP/1 backends get none: ferry reads trailers itself).
bool connection_specific(std::string_view name) {
  return name == "connection" || name == "keep-alive" || name == "proxy-connection" ||
         name == "transfer-encoding" || name == "upgrade";
}

}  // namespace

bool RequestFields::add(std::string_view name, std::string_view value, uint64_t max_bytes) {
  bytes_ += name.size() + value.size() + 32;
  if (bytes_ > max_bytes) return false;
  if (!is_field_value(value)) bad_value_ = true;
  if (!name.empty() && name.front() == ':') {
    if (seen_regular_) pseudo_after_regular_ = true;
    std::string* slot = nullptr;
    if (name == ":method") {
      slot = &method_;
    } else if (name == ":scheme") {
      slot = &scheme_;
    } else if (name == ":authority") {
      slot = &authority_;
    } else if (name == ":path") {
      slot = &path_;
    } else {
      unknown_pseudo_ = true;
      return true;
    }
    if (!slot->empty()) pseudo_twice_ = true;
    slot->assign(value);
    return true;
  }
  seen_regular_ = true;
  if (!is_token(name)) bad_value_ = true;
  if (connection_specific(name)) {
    connection_specific_ = true;
    return true;
  }
  if (name == "te") {
    if (value != "trailers") connection_specific_ = true;
    return true;
  }
  if (name == "cookie") {
    if (!cookie_.empty()) cookie_.append("; ");
    cookie_.append(value);
    return true;
  }
  if (name == "host") {
    if (!host_.empty()) repeated_ = true;
    host_.assign(value);
    return true;
  }
  if (name == "content-length") {
    if (!content_length_.empty() && content_length_ != value) repeated_ = true;  // two lengths: malformed
    content_length_.assign(value);
    return true;
  }
  // ferry reads the whole body before it answers, so an expectation is ferry's to meet: the
  // backend never sees one (as for HTTP/1.1 clients, which get ferry's own 100 Continue).
  if (name == "expect") return true;
  fields_.append(name);
  fields_.append(": ");
  fields_.append(value);
  fields_.append("\r\n");
  return true;
}

const char* RequestFields::build_head(bool end_stream, std::string& out) const {
  if (pseudo_twice_ || unknown_pseudo_ || pseudo_after_regular_) return "malformed pseudo-header fields";
  if (connection_specific_) return "a connection-specific header field";
  if (repeated_) return "a repeated Host or Content-Length";
  if (method_.empty() || !is_token(method_)) return "a missing or malformed :method";
  if (!is_http1_method(method_)) return "a :method ferry does not proxy";
  if (method_ == "CONNECT") return "CONNECT is not proxied";
  if (scheme_.empty() || path_.empty()) return "a missing :scheme or :path";
  if (!is_visible(path_) || !(path_.front() == '/' || (path_ == "*" && method_ == "OPTIONS")))
    return "a malformed :path";
  std::string_view host = authority_;
  if (host.empty()) host = host_;
  // RFC 9113 8.3.1: with both, they must name the same origin, or a backend routing by Host
  // and ferry routing by :authority would disagree.
  if (!authority_.empty() && !host_.empty() && !iequal(authority_, host_)) return ":authority and Host differ";
  if (host.empty() || !is_visible(host)) return "a missing or malformed :authority";
  if (!content_length_.empty() && content_length_.find_first_not_of("0123456789") != std::string::npos)
    return "a malformed content-length";
  if (bad_value_) return "a malformed field value";
  out.append(method_);
  out.push_back(' ');
  out.append(path_);
  out.append(" HTTP/1.1\r\nHost: ");
  out.append(host);
  out.append("\r\n");
  if (!cookie_.empty()) {
    out.append("Cookie: ");
    out.append(cookie_);
    out.append("\r\n");
  }
  out.append(fields_);
  if (!content_length_.empty()) {
    out.append("Content-Length: ");
    out.append(content_length_);
    out.append("\r\n");
  } else if (!end_stream) {
    out.append("Transfer-Encoding: chunked\r\n");
  }
  // One request per stream: the exchange ends with its response.
  out.append("Connection: close\r\n\r\n");
  return nullptr;
}

void RequestFields::clear() { *this = RequestFields(); }

}  // namespace ferry::proxy::http2
