// Which check enforces each rule of RFC 9110/9112's message grammar. "scanner" is this file,
// run over every head and trailer section before llhttp sees a byte of it; "wrapper" is
// http_parser.cc; "llhttp" is Debian's llhttp 8.1.0 in strict mode. What llhttp does alone is
// pinned by tests/proxy/http1/llhttp_strict_test.cc (so an llhttp upgrade that changes it
// fails there), and every rule below by head_scan_test.cc and http_parser_test.cc.
//
//   rule                                        enforced by
//   ------------------------------------------  ---------------------------------------------
//   lines end in CRLF (no bare CR, bare LF,     scanner
//     no "\r\n\rX" head end)
//   request-line = method SP request-target     scanner: the version's SP is the 9th byte from
//     SP HTTP-version                             the end, no SP beside either SP (llhttp skips
//                                                 runs of SP), no HTAB; llhttp: a SP inside
//                                                 the target ends it ("Expected HTTP/")
//   method = token                              llhttp: only the methods it knows
//   request-target: no whitespace, CTL, DEL     scanner (CTL, DEL, HTAB); llhttp (SP ends it,
//                                                 0x80-0xFF refused in strict mode)
//   origin-form = absolute-path [ "?" query ]   llhttp ("x", "?a" refused)
//   no fragment ("#") in any form               scanner (llhttp takes "/a#b")
//   absolute-form = scheme "://" authority ...  llhttp ("http:/x" refused)
//   asterisk-form: a lone "*", OPTIONS only     scanner (llhttp takes "GET *", "OPTIONS *x")
//   authority-form (CONNECT only)               llhttp refuses it for other methods; CONNECT
//                                                 itself is 400 in client_conn.cc
//   HTTP-version = "HTTP/" DIGIT "." DIGIT,     scanner (llhttp takes "RTSP/1.0", "ICE/1.0",
//     and only 1.0 or 1.1                         "HTTP/2.0", "HTTP/0.9" and "GET /" alone)
//   status-line = HTTP-version SP 3DIGIT SP     scanner (llhttp reads "HTTP/1.1  200" as status
//     reason-phrase                               0 and takes "HTTP/1.1 20"); a line ending
//                                                 after the code is taken: ferry writes its own
//   status-code 100..599 (RFC 9110 15)          scanner (llhttp takes 000..999)
//   reason-phrase = *( HTAB / SP / VCHAR /      scanner (CTLs but HTAB, DEL)
//     obs-text )
//   field-line = field-name ":" OWS field-value scanner
//   field-name = token (1*tchar)                scanner (llhttp takes an empty name, ": x")
//   no whitespace between name and colon        scanner; llhttp
//   no obs-fold                                 scanner (llhttp 8.1 takes it)
//   field-value: no CTL but HTAB, no DEL;       scanner. obs-text (0x80-0xFF) is allowed, as
//     obs-text allowed                            RFC 9110 5.5 allows it and browsers send it
//   Content-Length = 1*DIGIT, one value         llhttp; client_conn.cc
//   Transfer-Encoding: chunked, alone, last     llhttp; client_conn.cc
//   chunk-size = 1*HEXDIG, no overflow          llhttp
//   chunk-ext = *( BWS ";" BWS ext-name         llhttp, which refuses BWS, quoted-pair and a
//     [ BWS "=" BWS ext-val ] )                   second extension after a token value: stricter
//                                                 than the RFC, never looser
//   chunk-ext-name = token                      llhttp (each byte); wrapper: not empty
//                                                 (llhttp takes "5;=x")
//   chunk-ext-val = token / quoted-string       llhttp (each byte); wrapper: not empty, a quote
//                                                 only around the whole value, no DEL inside
//                                                 quotes, no ';' right after a token value
//                                                 (llhttp takes "5;a=b;" and "5;a=b;;c=d")
//   chunk-data CRLF; last-chunk = 1*"0" CRLF    llhttp
//   trailer-section = *( field-line CRLF )      scanner, as header fields; the wrapper drops
//                                                 the fields
#include "proxy/http1/head_scan.h"

#include <array>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace ferry::proxy {

namespace {

// RFC 9110 5.6.2: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" /
// "_" / "`" / "|" / "~" / DIGIT / ALPHA. A table: one load per byte where a name is checked
// byte by byte (see skip_token).
constexpr std::array<bool, 256> kTchar = [] {
  std::array<bool, 256> t{};
  for (int c = '0'; c <= '9'; ++c) t[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) t[c] = true;
  for (const char c : std::string_view("!#$%&'*+-.^_`|~")) t[static_cast<unsigned char>(c)] = true;
  return t;
}();

bool is_tchar(char c) { return kTchar[static_cast<unsigned char>(c)]; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Index of the first byte at or after `i` that needs a look (a control byte, CR, LF, HTAB or
// DEL, or kAlso if it is not 0), or `len`. Most of a head is plain text: 16 bytes per step
// where SSE2 is there.
template <char kAlso = 0>
std::size_t skip_plain(const char* p, std::size_t i, std::size_t len) {
#if defined(__SSE2__)
  const __m128i last_ctl = _mm_set1_epi8(0x1f);
  const __m128i del = _mm_set1_epi8(0x7f);
  while (i + 16 <= len) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    const __m128i ctl = _mm_cmpeq_epi8(_mm_min_epu8(x, last_ctl), x);  // x <= 0x1f
    __m128i stop = _mm_or_si128(ctl, _mm_cmpeq_epi8(x, del));
    if constexpr (kAlso != 0) stop = _mm_or_si128(stop, _mm_cmpeq_epi8(x, _mm_set1_epi8(kAlso)));
    const int mask = _mm_movemask_epi8(stop);
    if (mask != 0) return i + static_cast<std::size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
    i += 16;
  }
#endif
  while (i < len) {
    const auto c = static_cast<unsigned char>(p[i]);
    if (c < 0x20 || c == 0x7f || (kAlso != 0 && c == static_cast<unsigned char>(kAlso))) return i;
    ++i;
  }
  return len;
}

#if defined(__SSE2__)
// Bytes of x within [lo, hi], as 0xff lanes.
__m128i in_range(__m128i x, char lo, char hi) {
  const __m128i offset = _mm_sub_epi8(x, _mm_set1_epi8(lo));
  return _mm_cmpeq_epi8(_mm_min_epu8(offset, _mm_set1_epi8(static_cast<char>(hi - lo))), offset);
}
#endif

// Index of the first byte at or after `i` that is not a tchar, or `len`. Nearly every field
// name is letters, digits and '-': where SSE2 is there, a 16-byte step passes over those, and
// the table takes the rest (the colon, or an unusual name) byte by byte.
std::size_t skip_token(const char* p, std::size_t i, std::size_t len) {
#if defined(__SSE2__)
  while (i + 16 <= len) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    const __m128i letter = in_range(_mm_or_si128(x, _mm_set1_epi8(0x20)), 'a', 'z');
    const __m128i common = _mm_or_si128(_mm_or_si128(letter, in_range(x, '0', '9')),
                                        _mm_cmpeq_epi8(x, _mm_set1_epi8('-')));
    const auto other = static_cast<unsigned>(~_mm_movemask_epi8(common)) & 0xffffu;
    if (other != 0) {
      i += static_cast<std::size_t>(__builtin_ctz(other));
      break;
    }
    i += 16;
  }
#endif
  while (i < len && is_tchar(p[i])) ++i;
  return i;
}

// Why byte c, where a field name or its colon should be, is wrong.
const char* name_error(char c, bool name_started) {
  if (!name_started && (c == ' ' || c == '\t')) return "obs-fold (a header line starting with whitespace)";
  if (c == ' ' || c == '\t') return "whitespace between a field name and its colon";
  if (c == '\r') return "field line without a colon";
  if (c == '\n') return "bare LF in message head";
  return "field name byte outside tchar";
}

constexpr std::size_t kVersionLength = 8;  // "HTTP/1.1"

// HTTP-version = "HTTP/" DIGIT "." DIGIT (RFC 9112 2.3), and one ferry speaks: 1.0 or 1.1.
// HTTP/1.2 would be read as 1.1 by the RFC's rule for higher minor versions, but no such
// version exists, and llhttp refuses it anyway.
bool is_http1x(std::string_view v) { return v == "HTTP/1.1" || v == "HTTP/1.0"; }

const char* version_error(std::string_view v) {
  if (is_http1x(v)) return nullptr;
  if (v.size() == kVersionLength && v.substr(0, 5) == "HTTP/" && is_digit(v[5]) && v[6] == '.' && is_digit(v[7])) {
    return "HTTP version other than 1.0 and 1.1";
  }
  return "HTTP-version is not HTTP/DIGIT.DIGIT";
}

// request-line = method SP request-target SP HTTP-version (RFC 9112 3). The scanner has
// already refused control bytes, DEL, HTAB and '#' in it. llhttp checks the method (it takes
// only the methods it knows) and ends the target at a SP; what it lets through is checked
// here: the version, a run of SPs around the target (llhttp skips it), and the forms of "*".
const char* request_line_error(std::string_view line) {
  if (line.size() < kVersionLength + 4) return "request line is not method SP request-target SP HTTP-version";
  const std::size_t version_sp = line.size() - kVersionLength - 1;
  if (line[version_sp] != ' ') return "request line does not end in SP HTTP-version";
  if (const std::string_view version = line.substr(version_sp + 1); !is_http1x(version)) {
    return version_error(version);
  }
  std::size_t method_end = 0;
  while (line[method_end] != ' ') ++method_end;  // stops at version_sp at the latest
  if (method_end == 0) return "whitespace before the start line";
  // A server splitting on single spaces would read another target than llhttp, or none.
  if (method_end == version_sp || line[method_end + 1] == ' ' || line[version_sp - 1] == ' ') {
    return "request line parts not separated by exactly one SP";
  }
  if (line[method_end + 1] != '*') return nullptr;
  if (method_end + 2 != version_sp) return "asterisk-form target is not a lone \"*\"";
  if (line.substr(0, method_end) != "OPTIONS") return "asterisk-form target with a method other than OPTIONS";
  return nullptr;
}

// status-line = HTTP-version SP status-code SP [ reason-phrase ] (RFC 9112 4). A status-line
// that ends right after the code is taken: servers send it, and ferry writes its own status
// line, so the missing SP never reaches a client.
const char* status_line_error(std::string_view line) {
  constexpr std::size_t kCodeEnd = kVersionLength + 4;  // "HTTP/1.1 200"
  if (line.size() < kCodeEnd) return "status line is not HTTP-version SP status-code SP reason";
  if (const std::string_view version = line.substr(0, kVersionLength); !is_http1x(version)) {
    return version_error(version);
  }
  const std::string_view code = line.substr(kVersionLength + 1, 3);
  if (line[kVersionLength] != ' ' || !is_digit(code[0]) || !is_digit(code[1]) || !is_digit(code[2])) {
    return "status line is not HTTP-version SP 3DIGIT";
  }
  if (line.size() > kCodeEnd && line[kCodeEnd] != ' ') return "status code not followed by SP";
  // RFC 9110 15: codes outside 100..599 are invalid; a client is to treat them as 5xx.
  if (code[0] < '1' || code[0] > '5') return "status code outside 100..599";
  return nullptr;
}

}  // namespace

void HeadScanner::reset() {
  part_ = Part::StartLine;
  after_line_feed_ = Part::Name;
  name_started_ = false;
  head_ends_ = false;
  head_bytes_ = 0;
  error_ = nullptr;
  start_line_carry_.clear();
}

void HeadScanner::trim() {
  constexpr std::size_t kKeepCarry = 256;
  if (start_line_carry_.capacity() > kKeepCarry) std::string().swap(start_line_carry_);
}

void HeadScanner::reset_for_trailers() {
  reset();
  part_ = Part::Name;
}

std::string_view HeadScanner::carry_start_line(std::string_view bytes) {
  start_line_carry_.append(bytes);
  return start_line_carry_;
}

bool HeadScanner::scan_start_line(const char* data, std::size_t len, std::size_t& i, Part& part,
                                  std::size_t* consumed) {
  const std::size_t begin = i;
  std::size_t end;
  if (start_line_ == StartLine::Request) {
    // No form of request-target has a fragment (RFC 9112 3.2), and a '#' is nowhere else in a
    // request line: ferry would route "/a#b" on one path, a backend that drops the fragment
    // would serve another.
    end = skip_plain<'#'>(data, i, len);
    if (end < len && data[end] == '#') {
      fail("fragment ('#') in the request target", end, consumed);
      return false;
    }
  } else {
    end = skip_plain(data, i, len);
    while (end < len && data[end] == '\t') end = skip_plain(data, end + 1, len);  // a reason-phrase may hold HTAB
  }
  if (end == len) {
    carry_start_line(std::string_view(data + begin, len - begin));
    i = len;
    return true;
  }
  const auto c = static_cast<unsigned char>(data[end]);
  if (c != '\r') {
    fail(c == '\n'   ? "bare LF in message head"
         : c == '\t' ? "HTAB in the request line"
                     : "control byte in message head",
         end, consumed);
    return false;
  }
  std::string_view line(data + begin, end - begin);
  const bool carried = !start_line_carry_.empty();
  if (carried) line = carry_start_line(line);
  i = end + 1;
  part = Part::LineFeed;
  // RFC 9112 2.2: an empty line before a request line is ignored.
  if (line.empty()) {
    after_line_feed_ = Part::StartLine;
    return true;
  }
  // (Whitespace before the start line is refused on the way: a request line's method would be
  // empty, a status line would not begin with its version.)
  if (const char* why = start_line_ == StartLine::Request ? request_line_error(line) : status_line_error(line)) {
    fail(why, begin, consumed);
    return false;
  }
  if (carried) start_line_carry_.clear();
  after_line_feed_ = Part::Name;
  return true;
}

// One pass per line in the common case: each part falls through to the next, and the state
// lives in locals until the bytes run out.
HeadScanner::Result HeadScanner::scan(const char* data, std::size_t len, std::size_t* consumed) {
  std::size_t i = 0;
  Part part = part_;
  bool name_started = name_started_;
  while (i < len) {
    switch (part) {
      case Part::StartLine:
        if (!scan_start_line(data, len, i, part, consumed)) return Result::Invalid;
        break;
      case Part::Name: {
        const std::size_t begin = i;
        i = skip_token(data, i, len);
        name_started = name_started || i != begin;
        if (i == len) break;
        const char c = data[i];
        if (c != ':') {
          if (!name_started && c == '\r') {  // the blank line
            ++i;
            part = Part::LineFeed;
            head_ends_ = true;
            break;
          }
          return fail(name_error(c, name_started), i, consumed);
        }
        if (!name_started) return fail("empty field name", i, consumed);
        ++i;
        part = Part::Value;
        [[fallthrough]];
      }
      case Part::Value: {
        i = skip_plain(data, i, len);
        if (i == len) break;
        const auto c = static_cast<unsigned char>(data[i]);
        if (c == '\t') {
          ++i;
          break;
        }
        if (c != '\r') return fail(c == '\n' ? "bare LF in message head" : "control byte in message head", i, consumed);
        ++i;
        part = Part::LineFeed;
        if (i == len) break;
        [[fallthrough]];
      }
      case Part::LineFeed:
        if (data[i] != '\n') return fail("bare CR in message head", i, consumed);
        ++i;
        if (head_ends_) {
          head_bytes_ += i;
          *consumed = i;
          return Result::Complete;
        }
        part = after_line_feed_;
        name_started = false;
        break;
    }
  }
  part_ = part;
  name_started_ = name_started;
  head_bytes_ += len;
  *consumed = len;
  return Result::NeedMore;
}

}  // namespace ferry::proxy
