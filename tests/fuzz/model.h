// What the fuzz targets share: a failing check that aborts (so libFuzzer saves the input), a
// replica of the decisions ClientConn makes around the parser (which request heads it goes on
// with, how it frames bodies it forwards), and a driver that feeds a parser the way a
// connection does (arbitrary read boundaries, one message at a time, pausing after each).
//
// The replicas mirror proxy/core/client_conn.cc by hand, because those decisions live in private
// members of a connection object that needs a loop and sockets. If client_conn.cc changes its
// policy, change it here too (the fuzz targets then keep checking what ferry really does).
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/http1/headers.h"
#include "proxy/http1/http_parser.h"

namespace ferry::fuzz {

// Printable form of bytes for failure messages.
inline std::string escape(std::string_view s, std::size_t max = 600) {
  std::string out;
  for (std::size_t i = 0; i < s.size() && i < max; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '\r') {
      out += "\\r";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c < 0x20 || c >= 0x7f || c == '\\') {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  if (s.size() > max) out += "...";
  return out;
}

[[noreturn]] inline void fail(const char* file, int line, const char* what, const std::string& detail) {
  std::fprintf(stderr, "\n==== ferry fuzz invariant broken at %s:%d: %s\n%s\n", file, line, what,
               detail.c_str());
  std::fflush(stderr);
  std::abort();
}

#define FUZZ_CHECK(cond, detail)                                          \
  do {                                                                    \
    if (!(cond)) ::ferry::fuzz::fail(__FILE__, __LINE__, #cond, (detail)); \
  } while (0)

// How many header fields of `h` are called `name` (any case).
inline int count_named(const proxy::MessageHead& h, std::string_view name) {
  int n = 0;
  for (const proxy::HeaderField& f : h.fields)
    if (proxy::iequals(h.name(f), name)) ++n;
  return n;
}

inline std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// RFC 9110's grammar for what the parser hands on, written out again here rather than taken
// from proxy/http1 (so a wrong table there shows): a field name is 1*tchar, a value holds no
// control byte but HTAB and no DEL (obs-text is allowed), and the version is 1.0 or 1.1.
inline bool rfc_tchar(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}
inline std::string rfc_head_violation(const proxy::MessageHead& h) {
  if (h.http_major != 1 || h.http_minor > 1) {
    return "version " + std::to_string(h.http_major) + "." + std::to_string(h.http_minor);
  }
  for (const proxy::HeaderField& f : h.fields) {
    const std::string_view name = h.name(f);
    if (name.empty()) return "empty field name";
    for (const char c : name)
      if (!rfc_tchar(static_cast<unsigned char>(c))) return "field name " + escape(name);
    for (const char c : h.value(f)) {
      const auto u = static_cast<unsigned char>(c);
      if ((u < 0x20 && u != '\t') || u == 0x7f) return "field value " + escape(h.value(f));
    }
  }
  return "";
}

// Mirrors ClientConn::on_head: true if ferry goes on with a request with this head (false: it
// answers 400 or 413 and forwards nothing). max_body_bytes is left at its default, 0.
inline bool ferry_accepts_request_head(const proxy::MessageHead& head) {
  using proxy::iequals;
  if (head.http_major != 1 || head.http_minor > 1) return false;
  if (head.method == HTTP_CONNECT) return false;
  const bool http10 = head.http_minor == 0;
  int hosts = 0;
  int upgrades = 0;
  int transfer_encodings = 0;
  std::string_view transfer_encoding;
  for (const proxy::HeaderField& f : head.fields) {
    if (iequals(head.name(f), "host")) ++hosts;
    if (iequals(head.name(f), "upgrade")) ++upgrades;
    if (iequals(head.name(f), "transfer-encoding")) {
      ++transfer_encodings;
      transfer_encoding = head.value(f);
    }
  }
  if (hosts > 1 || (hosts == 0 && !http10) || upgrades > 1) return false;
  if (transfer_encodings > 1 || (transfer_encodings == 1 && !iequals(trim(transfer_encoding), "chunked")))
    return false;
  return true;
}

// Mirrors ClientConn::append_body and the streaming branch of ClientConn::on_body (and
// ClientConn::response_body for responses): each piece the parser hands over becomes one chunk.
inline void frame_piece(std::string& to, std::string_view piece, bool chunked) {
  if (!chunked) {
    to.append(piece);
    return;
  }
  char size_line[24];
  const int n = std::snprintf(size_line, sizeof size_line, "%zx\r\n", piece.size());
  to.append(size_line, static_cast<std::size_t>(n));
  to.append(piece);
  to.append("\r\n", 2);
}
inline void frame_end(std::string& to, bool chunked) {
  if (chunked) to.append("0\r\n\r\n", 5);
}

// Read sizes for a connection: all at once, or pseudo-random pieces of 1..max bytes.
class ReadPlan {
 public:
  explicit ReadPlan(uint32_t seed, std::size_t max_piece) : state_(seed | 1), max_(max_piece) {}
  static ReadPlan whole() { return ReadPlan(0, 0); }
  std::size_t next(std::size_t left) {
    if (max_ == 0) return left;
    state_ ^= state_ << 13;
    state_ ^= state_ >> 17;
    state_ ^= state_ << 5;
    const std::size_t n = 1 + state_ % max_;
    return n < left ? n : left;
  }

 private:
  uint32_t state_;
  std::size_t max_;
};

// One message as a sink saw it.
struct Seen {
  proxy::MessageHead head;         // as at on_head (the header section)
  proxy::MessageHead head_at_end;  // as at on_message_end (what ferry builds from when the
                                   // whole request was read before a backend was engaged)
  std::vector<std::string> pieces;  // body pieces, as handed to on_body
  std::string body;
  bool policy_rejected = false;
  bool complete = false;
};

// How a run over one connection's bytes ended.
enum class End : uint8_t { Clean, Incomplete, Rejected, Upgrade };

inline const char* end_name(End e) {
  switch (e) {
    case End::Clean: return "clean";
    case End::Incomplete: return "incomplete";
    case End::Rejected: return "rejected";
    case End::Upgrade: return "upgrade";
  }
  return "?";
}

// Records every message; `accept` decides whether on_head lets the message go on.
class RecordingSink final : public proxy::HttpParser::Sink {
 public:
  using Accept = bool (*)(const proxy::MessageHead&);
  explicit RecordingSink(Accept accept) : accept_(accept) {}
  void attach(proxy::HttpParser* p) { parser_ = p; }

  std::vector<Seen> messages;

  int on_head(proxy::MessageHead& head) override {
    const std::string violation = rfc_head_violation(head);
    FUZZ_CHECK(violation.empty(), "the parser handed on a head RFC 9110 refuses: " + violation);
    const std::string_view target = head.view(head.url);
    FUZZ_CHECK(target.find('#') == std::string_view::npos && target.find(' ') == std::string_view::npos &&
                   (target.empty() || target.front() != '*' || (target == "*" && head.method == HTTP_OPTIONS)),
               "the parser handed on a request-target RFC 9112 refuses: " + escape(target));
    messages.emplace_back();
    messages.back().head = head;
    if (accept_ != nullptr && !accept_(head)) {
      messages.back().policy_rejected = true;
      return -1;
    }
    return 0;
  }
  int on_body(const char* data, std::size_t len) override {
    FUZZ_CHECK(!messages.empty(), "body before any head");
    FUZZ_CHECK(len > 0, "empty body piece");
    messages.back().pieces.emplace_back(data, len);
    messages.back().body.append(data, len);
    return 0;
  }
  int on_message_end() override {
    FUZZ_CHECK(!messages.empty(), "message end before any head");
    messages.back().complete = true;
    messages.back().head_at_end = parser_->head();
    return 0;
  }

 private:
  Accept accept_;
  proxy::HttpParser* parser_ = nullptr;
};

// Feeds `data` through `parser` as a client connection does: pieces per `plan`, and after each
// finished message next_message() and on with the rest. Returns how it ended and, in *used, how
// many bytes the parser took.
inline End drive(proxy::HttpParser& parser, std::string_view data, ReadPlan plan, std::size_t* used) {
  using Status = proxy::HttpParser::Status;
  std::size_t pos = 0;
  while (pos < data.size()) {
    const std::size_t piece = plan.next(data.size() - pos);
    std::size_t consumed = 0;
    const Status s = parser.feed(data.data() + pos, piece, &consumed);
    FUZZ_CHECK(consumed <= piece, "parser consumed more than it was given");
    pos += consumed;
    switch (s) {
      case Status::Ok:
        FUZZ_CHECK(consumed == piece, "Ok without consuming every byte");
        break;
      case Status::MessageDone:
        parser.next_message();
        break;
      case Status::Upgrade:
        *used = pos;
        return End::Upgrade;
      case Status::HeadTooLarge:
      case Status::Invalid:
      case Status::Aborted:
        *used = pos;
        return End::Rejected;
    }
  }
  *used = pos;
  return parser.message_started() ? End::Incomplete : End::Clean;
}

}  // namespace ferry::fuzz
