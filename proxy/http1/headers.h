// Header rewriting between the two sides: hop-by-hop headers (RFC 9110 7.6.1) and those named
// in Connection are dropped, X-Forwarded-* are set, and message framing is written by ferry
// itself rather than copied, so what a backend or client reads is exactly what ferry parsed.
#pragma once

#include <string>
#include <string_view>

#include "proxy/http1/http_parser.h"

namespace ferry::proxy {

struct RequestRewrite {
  std::string_view client_ip;     // appended to X-Forwarded-For
  std::string_view backend_name;  // Host for HTTP/1.0 requests that sent none
  bool upgrade = false;           // keep Upgrade and send Connection: upgrade
  bool body_chunked = false;      // the body will be sent chunked (else by Content-Length)
  uint64_t content_length = 0;    // when !body_chunked; 0 and no CL header for bodiless requests
  bool has_body = false;
  bool tls = false;               // the client came over TLS: X-Forwarded-Proto: https
  // The verified client certificate's subject (mutual TLS), sent as X-Client-Cert-Subject;
  // empty: none. A client's own X-Client-Cert-Subject is always dropped, so a backend can
  // trust the header when it comes from ferry.
  std::string_view client_subject;
  // The request's id, sent as the one X-Request-Id (the client's own lines are dropped); empty:
  // the client's lines pass as they are.
  std::string_view request_id;
  // The request-target to send instead of the client's (a route's strip_prefix); empty: as sent.
  std::string_view target;
};

// Appends the head to send the backend (always HTTP/1.1, keep-alive).
void build_request_head(const MessageHead& request, const RequestRewrite& rewrite, std::string& out);

enum class BodyFraming : uint8_t {
  None,           // 1xx, 204, 304, or a response to HEAD
  ContentLength,  // as the backend said
  Chunked,        // re-chunked by ferry (backend sent chunked or close-delimited; client is 1.1)
  UntilClose,     // HTTP/1.0 client and no length known: the body ends when ferry closes
};

struct ResponseRewrite {
  BodyFraming framing = BodyFraming::ContentLength;
  bool keep_alive = true;     // the client connection stays open after this response
  bool http10_client = false;
  bool upgrade = false;       // a 101 switching protocols
  // A whole header line (CRLF included) ferry adds, replacing the backend's own header of
  // that name: the listener's Strict-Transport-Security. Empty: none.
  std::string_view hsts_line;
  // The request's id, returned as the one X-Request-Id (the backend's own lines are dropped,
  // so an echo is not doubled); empty: none added.
  std::string_view request_id;
  // Whole header lines (CRLF included) ferry adds as they are: a sticky pool's Set-Cookie.
  std::string_view extra_lines;
};

// Appends the head to send the client.
void build_response_head(const MessageHead& response, const ResponseRewrite& rewrite,
                         std::string& out);

}  // namespace ferry::proxy
