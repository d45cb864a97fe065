// Chunked decoding: the input is the body of a request sent with Transfer-Encoding: chunked.
// Invariants:
//   - nothing crashes, and read boundaries change nothing;
//   - when ferry accepts the body, a reference decoder written straight from RFC 9112 7.1
//     accepts it too, with the same decoded bytes and the same end (so ferry and any strict
//     peer agree where this request stops and the next begins);
//   - the decoded body, re-chunked the way ferry forwards it, re-parses to the same bytes and
//     ends exactly at the end of the forwarded bytes;
//   - whatever follows the body is read as the next request, never as more of this body.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "model.h"

namespace ferry::fuzz {
namespace {

constexpr std::string_view kHead =
    "POST /upload HTTP/1.1\r\nHost: fuzz\r\nTransfer-Encoding: chunked\r\n\r\n";

bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool is_tchar(char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}
bool is_vchar_or_obs(unsigned char c) { return (c >= 0x21 && c <= 0x7e) || c >= 0x80; }

struct Decoded {
  std::string body;
  std::size_t end = 0;  // bytes of the chunked body, trailer section and final CRLF included
};

// RFC 9112 7.1, to the letter:
//   chunked-body = *chunk last-chunk trailer-section CRLF
//   chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
//   chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
//   chunk-ext-val = token / quoted-string ; trailer-section = *( field-line CRLF )
// nullopt: invalid or incomplete.
std::optional<Decoded> reference_decode(std::string_view s) {
  Decoded d;
  std::size_t i = 0;
  auto crlf = [&]() {
    if (i + 1 < s.size() && s[i] == '\r' && s[i + 1] == '\n') {
      i += 2;
      return true;
    }
    return false;
  };
  auto bws = [&]() {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  };
  auto token = [&]() {
    const std::size_t start = i;
    while (i < s.size() && is_tchar(s[i])) ++i;
    return i > start;
  };
  while (true) {
    const std::size_t start = i;
    uint64_t size = 0;
    while (i < s.size() && is_hex(s[i])) {
      if (size > (UINT64_MAX >> 4)) return std::nullopt;
      const char c = s[i];
      size = size * 16 + static_cast<uint64_t>(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
      ++i;
    }
    if (i == start) return std::nullopt;
    // chunk-ext, to the letter. llhttp 8.1 alone takes some extensions RFC 9112 does not (an
    // empty name, "0;;=x", an empty value, a quote inside a token); http_parser.cc refuses
    // those, so ferry is held to the RFC here. llhttp refuses some the RFC allows
    // ("5;a=b;flag", BWS before ';'): stricter is fine, the check is one way.
    while (true) {
      const std::size_t save = i;
      bws();
      if (i < s.size() && s[i] == ';') {
        ++i;
        bws();
        if (!token()) return std::nullopt;
        const std::size_t before_eq = i;
        bws();
        if (i < s.size() && s[i] == '=') {
          ++i;
          bws();
          if (i < s.size() && s[i] == '"') {
            ++i;
            bool closed = false;
            while (i < s.size()) {
              const auto c = static_cast<unsigned char>(s[i]);
              if (c == '"') {
                ++i;
                closed = true;
                break;
              }
              if (c == '\\') {
                if (i + 1 >= s.size()) return std::nullopt;
                const auto q = static_cast<unsigned char>(s[i + 1]);
                if (!(q == '\t' || q == ' ' || is_vchar_or_obs(q))) return std::nullopt;
                i += 2;
                continue;
              }
              if (!(c == '\t' || c == ' ' || c == 0x21 || (c >= 0x23 && c <= 0x5b) || (c >= 0x5d && c <= 0x7e) ||
                    c >= 0x80))
                return std::nullopt;
              ++i;
            }
            if (!closed) return std::nullopt;
          } else if (!token()) {
            return std::nullopt;
          }
        } else {
          i = before_eq;
        }
        continue;
      }
      i = save;
      break;
    }
    if (!crlf()) return std::nullopt;
    if (size == 0) break;
    if (s.size() - i < size) return std::nullopt;
    d.body.append(s.substr(i, size));
    i += size;
    if (!crlf()) return std::nullopt;
  }
  // trailer-section = *( field-line CRLF ), field-line = field-name ":" OWS field-value OWS:
  // ferry drops trailer fields, but holds them to the header grammar all the same (a token
  // name, no fold, no control byte), so a peer that reads them sees what ferry saw.
  while (true) {
    if (crlf()) {
      d.end = i;
      return d;
    }
    if (!token() || i >= s.size() || s[i] != ':') return std::nullopt;
    ++i;
    while (i < s.size()) {
      const auto c = static_cast<unsigned char>(s[i]);
      if (c == '\r') break;
      if (!(c == ' ' || c == '\t' || is_vchar_or_obs(c))) return std::nullopt;
      ++i;
    }
    if (!crlf()) return std::nullopt;
  }
}

struct Parsed {
  bool accepted = false;  // the first message (ours) completed
  std::string body;
  std::vector<std::string> pieces;
  std::size_t end = 0;  // input bytes (after kHead) the first message took
  std::size_t next_messages = 0;
};

Parsed parse(std::string_view whole_input, ReadPlan plan) {
  RecordingSink sink(&ferry_accepts_request_head);
  proxy::HttpParser parser(proxy::HttpParser::Kind::Request, sink, 8192);
  sink.attach(&parser);
  // Feed the first message alone first, so its end is known exactly.
  std::size_t pos = 0;
  Parsed p;
  while (pos < whole_input.size()) {
    const std::size_t piece = plan.next(whole_input.size() - pos);
    std::size_t used = 0;
    const auto s = parser.feed(whole_input.data() + pos, piece, &used);
    pos += used;
    if (s == proxy::HttpParser::Status::Ok) continue;
    if (s == proxy::HttpParser::Status::MessageDone) {
      p.accepted = true;
      p.end = pos - kHead.size();
    }
    break;
  }
  if (!sink.messages.empty()) {
    p.body = sink.messages.front().body;
    p.pieces = sink.messages.front().pieces;
  }
  return p;
}

}  // namespace
}  // namespace ferry::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  using namespace ferry::fuzz;
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  std::string input(kHead);
  input.append(body);

  const Parsed whole = parse(input, ReadPlan::whole());
  const Parsed split = parse(input, ReadPlan(static_cast<uint32_t>(size) * 2654435761u + 3, 4));
  FUZZ_CHECK(whole.accepted == split.accepted && whole.body == split.body && whole.end == split.end,
             "read boundaries changed the chunked body: " + escape(body));
  if (!whole.accepted) return 0;

  const std::optional<Decoded> ref = reference_decode(body);
  FUZZ_CHECK(ref.has_value(), "ferry accepted a chunked body RFC 9112 rejects: " + escape(body.substr(0, whole.end)));
  FUZZ_CHECK(ref->end == whole.end, "ferry and RFC 9112 disagree where the body ends: ferry " +
                                        std::to_string(whole.end) + ", RFC " + std::to_string(ref->end) + ": " +
                                        escape(body));
  FUZZ_CHECK(ref->body == whole.body, "decoded bytes differ from RFC 9112's: " + escape(body));

  // Re-chunked as ferry forwards it, the body reads back the same and ends where it should.
  std::string forwarded(kHead);
  for (const std::string& piece : whole.pieces) frame_piece(forwarded, piece, true);
  frame_end(forwarded, true);
  const std::string forwarded_body = forwarded.substr(kHead.size());
  const Parsed again = parse(forwarded + "GET /next HTTP/1.1\r\nHost: fuzz\r\n\r\n", ReadPlan::whole());
  FUZZ_CHECK(again.accepted && again.body == whole.body && again.end == forwarded_body.size(),
             "re-chunked body does not read back: " + escape(forwarded_body));
  return 0;
}
