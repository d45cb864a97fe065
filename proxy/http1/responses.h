// ferry's own responses: short plain-text bodies, Connection: close where the connection
// cannot continue. Static strings, so sending one allocates nothing.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ferry::proxy {

// `close` selects the variant with Connection: close.
std::string_view canned_response(int status, bool close);

// "Not Found" for 404; "" for a code without a well-known phrase (allowed by RFC 9112).
std::string_view reason_phrase(int status);

// A response ferry makes from configuration: a route's redirect or fixed response, or a rate
// limit's 429.
struct OwnResponse {
  int status = 200;
  std::string_view location;      // non-empty: a Location header
  std::string_view content_type;  // sent when non-empty or with a body
  std::string_view body;
  uint32_t retry_after_s = 0;     // non-zero: Retry-After in seconds (429, 503)
  bool close = false;             // Connection: close
  bool head_request = false;      // HEAD: Content-Length of the body, but no body
};

// Appends the whole response (head and body) to `out`.
void build_own_response(const OwnResponse& response, std::string& out);

// ferry's own answer to a gRPC request in place of the HTTP error `status`: 200 and no body,
// the gRPC status and message as header fields (a "trailers-only" response): 14 UNAVAILABLE
// for 502 and 503, 4 DEADLINE_EXCEEDED for 504 and 408, 8 RESOURCE_EXHAUSTED for 429, 413 and
// 431, 12 UNIMPLEMENTED for 404, and 13 INTERNAL otherwise or when the backend's response was
// `malformed`.
std::string grpc_error_response(int status, bool malformed, bool close);

inline constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

// Whether a whole response written out as a literal says its body's length right: the
// Content-Length value equals the bytes after the head. For static_assert beside each canned
// answer, whose length is spelled out by hand.
constexpr bool content_length_fits(std::string_view response) {
  constexpr std::string_view kField = "\r\nContent-Length: ";
  const std::size_t field = response.find(kField);
  const std::size_t head_end = response.find("\r\n\r\n");
  if (field == std::string_view::npos || head_end == std::string_view::npos || field > head_end) return false;
  std::size_t declared = 0;
  for (std::size_t i = field + kField.size(); i < response.size() && response[i] != '\r'; ++i) {
    if (response[i] < '0' || response[i] > '9') return false;
    declared = declared * 10 + static_cast<std::size_t>(response[i] - '0');
  }
  return declared == response.size() - head_end - 4;
}

}  // namespace ferry::proxy
