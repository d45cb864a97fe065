// An HTTP/2 request's header list as the HTTP/1.1 head ferry's data path reads (RFC 9113 8.3.1):
// pseudo-headers become the request line and Host, `cookie` fields are joined again (8.2.3),
// and the body's framing is said by Content-Length or, when the client gave none, by chunked
// (the session frames DATA then). Everything the head carries is checked here, before the
// HTTP/1 parser sees it, so no byte can make a backend read the line two ways. Pure.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ferry::proxy::http2 {

// One stream's request fields as they arrive, gathered into one arena.
class RequestFields {
 public:
  // Adds a field (nghttp2 has checked the name's case and the value's characters). Returns
  // false when the decoded list passes `max_bytes` (RFC 9113 counts 32 bytes per field).
  bool add(std::string_view name, std::string_view value, uint64_t max_bytes);
  // The request's HTTP/1.1 head, appended to `out`. `end_stream`: no body follows. Returns the
  // reason it cannot be one, or null.
  const char* build_head(bool end_stream, std::string& out) const;
  // Whether build_head framed the body as chunked (the session then frames DATA).
  bool chunked_body(bool end_stream) const { return !end_stream && content_length_.empty(); }
  std::string_view method() const { return method_; }
  void clear();

 private:
  std::string method_, scheme_, authority_, path_, content_length_;
  std::string cookie_;  // every `cookie` field, joined with "; "
  std::string fields_;  // "name: value\r\n" lines of the regular fields kept
  uint64_t bytes_ = 0;  // the decoded list's size as RFC 9113 6.5.2 counts it
  bool pseudo_twice_ = false;
  bool pseudo_after_regular_ = false;
  bool unknown_pseudo_ = false;
  bool connection_specific_ = false;
  bool repeated_ = false;      // two Host fields, or two different Content-Lengths
  bool bad_value_ = false;     // a value with a line end or NUL
  bool seen_regular_ = false;
  std::string host_;
};

}  // namespace ferry::proxy::http2
