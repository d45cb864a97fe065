// HTTP/2 without TLS (h2c) to one backend connection, for pools with `protocol: h2c` (gRPC):
// the HTTP/1.1 request ferry wrote for the backend is parsed and sent as one stream, and the
// stream's response comes back as HTTP/1.1 bytes (chunked, its trailers in the chunked trailer
// section) for the connection's ordinary response parser. So the backend connection keeps its
// one code path, and only the bytes on the wire change. One stream at a time: a connection
// serves its requests one after another, and goes back to the pool between them.
// Pure: no sockets; the connection moves the bytes. Loop thread only.
#pragma once

#include <nghttp2/nghttp2.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "proxy/http1/http_parser.h"

namespace ferry::proxy::http2 {

class ClientSession final : private HttpParser::Sink {
 public:
  ClientSession();
  ~ClientSession();
  ClientSession(const ClientSession&) = delete;
  ClientSession& operator=(const ClientSession&) = delete;

  // HTTP/1.1 request bytes, in any pieces. False: they do not make a request (error()).
  bool request_bytes(const char* data, std::size_t len);
  // Frames for the backend (the preface and SETTINGS first), appended to `out`.
  bool take_output(std::string& out);
  // Bytes from the backend; the response so far, as HTTP/1.1, is appended to `response`.
  // False: the connection is broken (a protocol error, the stream reset, GOAWAY mid-stream).
  bool feed(const char* data, std::size_t len, std::string& response);
  // Whether another request may follow on this connection (no GOAWAY, no error).
  bool reusable() const { return !failed_ && !goaway_; }
  const char* error() const { return error_; }

 private:
  int on_head(MessageHead& head) override;
  int on_body(const char* data, std::size_t len) override;
  int on_message_end() override;

  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name, std::size_t name_len,
                       const uint8_t* value, std::size_t value_len, uint8_t flags, void* self);
  static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* self);
  static int on_data_chunk_recv(nghttp2_session*, uint8_t flags, int32_t stream_id, const uint8_t* data,
                                std::size_t len, void* self);
  static int on_stream_close(nghttp2_session*, int32_t stream_id, uint32_t error_code, void* self);
  static ssize_t read_body(nghttp2_session*, int32_t stream_id, uint8_t* buf, std::size_t length,
                           uint32_t* data_flags, nghttp2_data_source* source, void* self);
  bool fail(const char* why);

  nghttp2_session* session_ = nullptr;
  HttpParser request_;
  int32_t stream_ = -1;          // the stream under way; -1 between requests
  std::string body_;             // request body bytes not yet framed
  bool body_ended_ = false;
  std::string fields_;           // the response's (or trailers') "name: value\r\n" lines so far
  std::string status_;
  std::string* response_ = nullptr;  // feed()'s output, while it runs
  bool trailers_ = false;        // the HEADERS under way are trailers
  bool failed_ = false;
  bool goaway_ = false;
  const char* error_ = nullptr;
};

}  // namespace ferry::proxy::http2
