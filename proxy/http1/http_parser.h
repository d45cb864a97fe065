// A strict llhttp wrapper for one side of a connection (requests from clients, responses from
// backends). It runs HeadScanner over head bytes first, gathers the head's raw bytes (which may
// arrive split across reads) into a reusable arena and splits them into fields once the head is
// whole, streams body bytes to its sink, and pauses after every message so the next one waits
// its turn. No lenient flag is ever set.
#pragma once

#include <llhttp.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/http1/head_scan.h"
#include "proxy/http1/header_names.h"

namespace ferry::proxy {

struct Span {
  uint32_t offset = 0;
  uint32_t length = 0;
};

struct HeaderField {
  Span name;
  Span value;
  HeaderName kind = HeaderName::Other;
  bool underscore = false;  // the name has a '_' (never forwarded: see headers.cc)
};

// The head of one message. `arena` holds its raw bytes, start line to blank line; the spans
// point into it.
struct MessageHead {
  std::string arena;
  std::vector<HeaderField> fields;
  Span url;     // requests
  Span reason;  // responses
  uint8_t method = 0;  // llhttp_method_t
  uint16_t status = 0;
  uint8_t http_major = 1;
  uint8_t http_minor = 1;
  bool keep_alive = false;  // llhttp's verdict from version and Connection
  bool upgrade = false;
  bool chunked = false;
  bool has_transfer_encoding = false;  // any Transfer-Encoding line, empty ones included
  bool has_content_length = false;
  uint64_t content_length = 0;

  std::string_view view(Span s) const { return {arena.data() + s.offset, s.length}; }
  std::string_view name(const HeaderField& f) const { return view(f.name); }
  std::string_view value(const HeaderField& f) const { return view(f.value); }
  // First value of a header (case-insensitive name), or empty.
  std::string_view find(std::string_view name) const;
  std::string_view find(HeaderName kind) const;
  int count(HeaderName kind) const;
  void clear();
  // Gives memory back after an unusually large head, so idle connections stay small.
  void trim();
};

class HttpParser {
 public:
  enum class Kind : uint8_t { Request, Response };

  // Implemented by the connection that owns the parser. Return 0 to go on; a non-zero return
  // stops parsing with an error the owner has already handled.
  class Sink {
   public:
    virtual int on_head(MessageHead& head) = 0;
    virtual int on_body(const char* data, std::size_t len) = 0;
    virtual int on_message_end() = 0;

   protected:
    ~Sink() = default;
  };

  enum class Status : uint8_t {
    Ok,           // every byte consumed; the message goes on
    MessageDone,  // a message ended; *consumed bytes were used, the rest is the next message's
    Upgrade,      // a message ended in an upgrade; the rest are tunnel bytes
    HeadTooLarge,
    Invalid,      // malformed: error() says why
    Aborted,      // the sink returned non-zero
  };

  HttpParser(Kind kind, Sink* sink, std::size_t max_head_bytes);
  HttpParser(Kind kind, Sink& sink, std::size_t max_head_bytes)
      : HttpParser(kind, &sink, max_head_bytes) {}
  HttpParser(const HttpParser&) = delete;
  HttpParser& operator=(const HttpParser&) = delete;

  Status feed(const char* data, std::size_t len, std::size_t* consumed);
  // Signals EOF; a response without framing ends here. Ok if the message ended cleanly (or no
  // message was under way), Invalid otherwise.
  Status finish();
  // Prepares for the next message after MessageDone.
  void next_message();
  // Back to a fresh state, for a new connection (parsers are recycled with their buffers).
  void reset();

  // For responses: the request was HEAD, so the response has no body whatever it says.
  void set_head_request(bool is_head) { head_request_ = is_head; }
  void set_max_head_bytes(std::size_t n) { max_head_bytes_ = n; }
  // Keeps a chunked message's trailer fields as "name: value\r\n" lines (else dropped).
  void set_keep_trailers(bool keep) { keep_trailers_ = keep; }
  // The last message's trailer lines, until the next message begins.
  const std::string& trailers() const { return trailers_; }

  // A message framed by Content-Length whose head is parsed: the body bytes still due, which
  // may be moved past the parser (spliced) with skip_body. 0 for any other message.
  uint64_t body_remaining() const;
  // `n` (at most body_remaining()) bytes of the body went by without being fed: Ok while more
  // is due, MessageDone when those were the last (the parser is then ready for the next message).
  Status skip_body(uint64_t n);

  bool in_head() const { return in_head_; }
  bool message_started() const { return started_; }
  const char* error() const { return error_; }
  MessageHead& head() { return head_; }
  const MessageHead& head() const { return head_; }

 private:
  static int on_message_begin(llhttp_t* p);
  static int on_trailer_field(llhttp_t* p, const char* at, std::size_t len);
  static int on_trailer_value(llhttp_t* p, const char* at, std::size_t len);
  static int on_trailer_value_complete(llhttp_t* p);
  static int on_headers_complete(llhttp_t* p);
  static int on_body(llhttp_t* p, const char* at, std::size_t len);
  static int on_message_complete(llhttp_t* p);
  static int on_chunk_header(llhttp_t* p);
  static int on_chunk_extension_name(llhttp_t* p, const char* at, std::size_t len);
  static int on_chunk_extension_name_complete(llhttp_t* p);
  static int on_chunk_extension_value(llhttp_t* p, const char* at, std::size_t len);
  static int on_chunk_extension_value_complete(llhttp_t* p);
  static const llhttp_settings_t& head_settings();
  static const llhttp_settings_t& trailer_settings();

  // Fills the head's target or reason and its fields from the raw bytes in its arena.
  void split_head();

  Status run_llhttp(const char* data, std::size_t len, std::size_t* used);
  // For a callback that finds what llhttp let through: stops parsing with `why` as the error.
  int reject(const char* why) {
    callback_error_ = why;
    return -1;
  }

  llhttp_t parser_{};
  Sink* sink_;
  Kind kind_;
  HeadScanner scanner_;
  MessageHead head_;
  std::size_t max_head_bytes_;
  bool in_head_ = true;
  bool in_trailers_ = false;  // the scanner is on a chunked message's trailer section
  bool started_ = false;
  bool head_request_ = false;
  bool sink_aborted_ = false;
  bool head_done_ = false;          // the head is parsed and split (on_headers_complete)
  bool keep_trailers_ = false;
  uint8_t trailer_part_ = 0;        // of the trailer line under way: 0 none, 1 name, 2 value
  std::string trailers_;
  bool trailer_pause_ = false;      // llhttp paused at the last chunk so trailers get scanned
  bool chunk_ext_quoted_ = false;   // the chunk extension value under way began with a quote
  uint32_t chunk_ext_bytes_ = 0;    // of the chunk extension name or value under way
  const char* exec_end_ = nullptr;  // the end of the bytes llhttp is running over
  const char* callback_error_ = nullptr;
  const char* error_ = nullptr;
};

}  // namespace ferry::proxy
