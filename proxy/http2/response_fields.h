// The HTTP/1.1 response head ferry built for a stream, as the field list of an HTTP/2 HEADERS
// frame: `:status` first, names lowercased (RFC 9113 8.2.1), and the fields that only mean
// something to an HTTP/1.1 connection (Connection, Keep-Alive, Transfer-Encoding, Upgrade,
// Proxy-Connection: 8.2.2) dropped. Pure.
#pragma once

#include <nghttp2/nghttp2.h>

#include <string>
#include <vector>

#include "proxy/http1/http_parser.h"

namespace ferry::proxy::http2 {

struct ResponseFields {
  // Replaces the list with `head`'s; `nva` points into `arena` until the next build.
  void build(const MessageHead& head);
  // Replaces the list with trailer lines ("name: value\r\n" each, as HttpParser keeps them).
  void build_lines(std::string_view lines);

  std::string arena;
  std::vector<nghttp2_nv> nva;
};

// Whether a response field is dropped on the way to an HTTP/2 client.
bool hop_by_hop_response_field(std::string_view lowercase_name);

}  // namespace ferry::proxy::http2
