// The server side of one HTTP/2 connection, on nghttp2's callbacks: frames in from the bytes the
// connection reads, frames out into whatever the connection writes. Each stream becomes one
// HTTP/1.1 exchange: its request head and body are handed to a StreamPeer as HTTP/1.1 bytes
// (request_head.h), and the HTTP/1.1 response the peer produces is parsed back into HEADERS and
// DATA frames (response_fields.h). The peer is ferry's ordinary client-side exchange, so routing,
// balancing, retries, timeouts, health, metrics and the access log apply per stream unchanged.
//
// Memory: request DATA is acknowledged (WINDOW_UPDATE) only once the peer has taken it, so a
// stream holds at most its 64 KiB window of unread input; response bytes wait here for the
// client's window, and a stream whose backlog passes the response buffer holds its backend back
// as an HTTP/1.1 connection does (backlog()). Abuse limits: abuse_guard.h.
//
// Re-entrancy: frames are produced only from send_pending, which the connection calls from the
// top of an event (never from inside a peer's call), so no stream is freed under a caller.
// Loop thread only.
#pragma once

#include <nghttp2/nghttp2.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/http1/http_parser.h"
#include "proxy/http2/abuse_guard.h"
#include "proxy/http2/request_head.h"
#include "proxy/http2/response_fields.h"

namespace ferry::proxy::http2 {

class Stream;

// Who serves a stream's request.
class StreamPeer {
 public:
  // HTTP/1.1 request bytes: the head, then the body (chunked when the head says so).
  virtual void stream_input(const char* data, std::size_t len) = 0;
  // The stream is gone (the client reset it, or the connection is closing): drop the link and
  // stop; the Stream must not be touched again.
  virtual void stream_abandoned() = 0;
  // Response bytes held for the client went out: the peer may produce more.
  virtual void stream_drained() = 0;

 protected:
  ~StreamPeer() = default;
};

struct SessionLimits {
  uint32_t max_concurrent_streams = 128;
  uint64_t max_header_bytes = 32768;    // the decoded header list of one request
  uint64_t response_buffer = 256 * 1024;  // a stream's response backlog before its backend waits
};

class ServerSession {
 public:
  class Host {
   public:
    // A stream's request head is complete: who serves it (null refuses the stream).
    virtual StreamPeer* open_stream(Stream& stream) = 0;
    // Frames or stream input wait: call send_pending soon, from the top of an event.
    virtual void want_write() = 0;

   protected:
    ~Host() = default;
  };
  using Sink = void (*)(void* context, const char* data, std::size_t len);

  ServerSession(Host& host, const SessionLimits& limits);
  ~ServerSession();
  ServerSession(const ServerSession&) = delete;
  ServerSession& operator=(const ServerSession&) = delete;

  // Bytes from the client. False: the connection must end once what is pending is sent
  // (error() says why).
  bool feed(const char* data, std::size_t len);
  // Hands frames to `sink` until about `budget` bytes went or nothing is left, after giving
  // resumed streams their input; then tells peers whose backlog drained. False: fatal.
  bool send_pending(Sink sink, void* context, std::size_t budget);
  // Graceful end: GOAWAY (NO_ERROR) naming the last stream taken; those streams finish.
  void shutdown();
  // The connection is closing: every stream's peer is told, no frame goes out any more.
  void abandon_all();
  // Nothing more to read or write: the connection may close.
  bool finished() const;
  std::size_t open_streams() const { return streams_.size(); }
  const char* error() const { return error_; }

 private:
  friend class Stream;

  static int on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* self);
  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name, std::size_t name_len,
                       const uint8_t* value, std::size_t value_len, uint8_t flags, void* self);
  static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* self);
  static int on_data_chunk_recv(nghttp2_session*, uint8_t flags, int32_t stream_id, const uint8_t* data,
                                std::size_t len, void* self);
  static int on_frame_send(nghttp2_session*, const nghttp2_frame* frame, void* self);
  static int on_stream_close(nghttp2_session*, int32_t stream_id, uint32_t error_code, void* self);

  void request_headers_done(Stream& s, bool end_stream);
  // Gives up on the connection: GOAWAY with ENHANCE_YOUR_CALM, then close.
  void abuse(const char* why);
  void forget(Stream* s);
  Stream* stream(int32_t id) const;

  Host& host_;
  SessionLimits limits_;
  AbuseGuard guard_;
  nghttp2_session* session_ = nullptr;
  std::vector<Stream*> streams_;   // open, in no order
  std::vector<Stream*> resumed_;   // input to hand over at the next send_pending
  std::vector<Stream*> drained_;   // peers to tell after the frames went
  std::size_t buffered_ = 0;       // response bytes held across streams
  uint32_t opened_this_feed_ = 0;  // nginx's cap: 2 x max_concurrent_streams per read
  bool over_budget_ = false;       // buffered_ passed twice the response buffer
  bool failed_ = false;
  bool abandoned_ = false;
  const char* error_ = nullptr;
};

// One request and its response on a ServerSession.
class Stream final : private HttpParser::Sink {
 public:
  // ---- for the peer ----
  // The HTTP/1.1 response ferry produced for this request, in any pieces.
  void response_bytes(const char* data, std::size_t len);
  // The peer is done; a response not complete by now is reset (RST_STREAM INTERNAL_ERROR).
  void peer_closed();
  // Backpressure on the request body: a paused stream's input waits, unacknowledged.
  void pause_input(bool paused);
  // Response bytes waiting for the client; over the response buffer the peer holds its backend.
  std::size_t backlog() const;
  int32_t id() const { return id_; }

 private:
  friend class ServerSession;
  Stream(ServerSession& session, int32_t id);
  ~Stream() = default;

  int on_head(MessageHead& head) override;
  int on_body(const char* data, std::size_t len) override;
  int on_message_end() override;
  static ssize_t read_body(nghttp2_session*, int32_t stream_id, uint8_t* buf, std::size_t length,
                           uint32_t* data_flags, nghttp2_data_source* source, void* self);

  // Request bytes toward the peer (or held while it is paused, or dropped once it is gone).
  void input(const char* data, std::size_t len, std::size_t window_bytes);
  void input_end();
  void deliver_held();
  // Answers the stream itself (no peer): a malformed head, one too large, a refused stream.
  void respond(int status, std::string_view text);
  void submit_response();

  ServerSession& session_;
  int32_t id_;
  StreamPeer* peer_ = nullptr;
  RequestFields fields_;
  std::string held_;              // request bytes the paused peer has not taken
  std::size_t held_window_ = 0;   // of which DATA payload bytes, to acknowledge once taken
  HttpParser response_;
  ResponseFields head_fields_;
  std::string body_;              // response body bytes waiting for the client's window
  std::string trailer_lines_;     // the response's trailers ("name: value\r\n"), sent after body_
  std::size_t body_sent_ = 0;     // body_[0, body_sent_) went out
  bool header_overflow_ = false;  // the decoded list passed max_header_bytes: 431
  bool request_chunked_ = false;
  bool request_ended_ = false;
  bool input_paused_ = false;
  bool interim_ = false;          // the response message being parsed is a 1xx
  bool head_ready_ = false;       // a final response head is parsed
  bool submitted_ = false;        // its HEADERS are submitted
  bool response_ended_ = false;
  bool reset_by_client_ = false;
  bool in_drained_ = false;
  bool in_resumed_ = false;
};

}  // namespace ferry::proxy::http2
