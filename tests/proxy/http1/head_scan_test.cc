// HeadScanner against RFC 9110/9112's grammar, byte by byte: every byte value in every position
// of a head, the request-line and status-line forms, and the same verdicts whatever the reads.
// The expected sets are spelled out from the RFC here, not taken from the scanner's table.
#include "proxy/http1/head_scan.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace ferry::proxy {
namespace {

using Result = HeadScanner::Result;
using StartLine = HeadScanner::StartLine;

// RFC 9110 5.6.2.
bool rfc_tchar(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}
// RFC 9110 5.5: field-vchar = VCHAR / obs-text, and SP / HTAB between them.
bool rfc_field_value_byte(unsigned char c) { return c == '\t' || (c >= 0x20 && c != 0x7f); }

std::string byte_name(unsigned char c) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02x", c);
  return buf;
}

struct Verdict {
  Result result;
  std::size_t consumed;
  std::string error;
};

Verdict scan_whole(StartLine kind, std::string_view head) {
  HeadScanner s(kind);
  std::size_t consumed = 0;
  const Result r = s.scan(head.data(), head.size(), &consumed);
  return {r, consumed, s.error() != nullptr ? s.error() : ""};
}

// The same bytes fed one at a time, as the slowest client sends them.
Verdict scan_bytewise(StartLine kind, std::string_view head) {
  HeadScanner s(kind);
  for (std::size_t i = 0; i < head.size(); ++i) {
    std::size_t consumed = 0;
    const Result r = s.scan(head.data() + i, 1, &consumed);
    if (r != Result::NeedMore) return {r, i + consumed, s.error() != nullptr ? s.error() : ""};
  }
  return {Result::NeedMore, head.size(), ""};
}

// The verdict on a complete head, checked to be the same for every way of reading it: whole,
// a byte at a time, and split in two at every point.
Result verdict(StartLine kind, std::string_view head) {
  const Verdict whole = scan_whole(kind, head);
  const Verdict bytewise = scan_bytewise(kind, head);
  EXPECT_EQ(whole.result, bytewise.result) << head << " whole: " << whole.error << " bytewise: " << bytewise.error;
  for (std::size_t cut = 1; cut < head.size(); ++cut) {
    HeadScanner s(kind);
    std::size_t consumed = 0;
    Result r = s.scan(head.data(), cut, &consumed);
    if (r == Result::NeedMore) r = s.scan(head.data() + cut, head.size() - cut, &consumed);
    EXPECT_EQ(r, whole.result) << "split at " << cut << ": " << head;
  }
  return whole.result;
}

bool accepted(StartLine kind, std::string_view head) {
  const Result r = verdict(kind, head);
  EXPECT_NE(r, Result::NeedMore) << "the head never ended: " << head;
  return r == Result::Complete;
}
bool request_ok(std::string_view head) { return accepted(StartLine::Request, head); }
bool response_ok(std::string_view head) { return accepted(StartLine::Response, head); }

std::string request_with_field(std::string_view line) {
  return "GET / HTTP/1.1\r\nHost: x\r\n" + std::string(line) + "\r\n\r\n";
}

TEST(HeadScanner, FieldNameBytesAreExactlyTheTchars) {
  for (int b = 0; b < 256; ++b) {
    const auto c = static_cast<unsigned char>(b);
    if (c == ':' || c == '\r') continue;  // they end the name: tested on their own
    const std::string mid = request_with_field(std::string("X") + static_cast<char>(c) + "Y: v");
    EXPECT_EQ(request_ok(mid), rfc_tchar(c)) << "inside a name: " << byte_name(c);
    const std::string first = request_with_field(std::string(1, static_cast<char>(c)) + "Y: v");
    EXPECT_EQ(request_ok(first), rfc_tchar(c)) << "first in a name: " << byte_name(c);
    const std::string trailer_like = "HTTP/1.1 200 OK\r\nX" + std::string(1, static_cast<char>(c)) + "Y: v\r\n\r\n";
    EXPECT_EQ(response_ok(trailer_like), rfc_tchar(c)) << "inside a response field name: " << byte_name(c);
  }
}

TEST(HeadScanner, AnEmptyFieldNameIsRefused) {
  EXPECT_FALSE(request_ok(request_with_field(": v")));
  EXPECT_FALSE(request_ok(request_with_field(":")));
  EXPECT_FALSE(request_ok(request_with_field("::v")));
  EXPECT_FALSE(response_ok("HTTP/1.1 200 OK\r\n: v\r\n\r\n"));
  EXPECT_EQ(scan_whole(StartLine::Request, request_with_field(": v")).error, "empty field name");
}

TEST(HeadScanner, AFieldLineNeedsItsColonRightAfterTheName) {
  EXPECT_FALSE(request_ok(request_with_field("X-A")));
  EXPECT_FALSE(request_ok(request_with_field("X-A : v")));
  EXPECT_FALSE(request_ok(request_with_field("X-A\t: v")));
  EXPECT_FALSE(request_ok(request_with_field(" X-A: v")));   // obs-fold, or whitespace first
  EXPECT_FALSE(request_ok(request_with_field("\tX-A: v")));
  EXPECT_TRUE(request_ok(request_with_field("X-A:v")));
  EXPECT_TRUE(request_ok(request_with_field("X-A: a:b")));
  EXPECT_TRUE(request_ok(request_with_field("X-A::v")));     // a value may start with ':'
  EXPECT_TRUE(request_ok(request_with_field("!#$%&'*+-.^_`|~09azAZ: v")));
  EXPECT_TRUE(request_ok(request_with_field("X-A:")));
}

TEST(HeadScanner, FieldValueBytesAreVcharObsTextSpaceAndTab) {
  for (int b = 0; b < 256; ++b) {
    const auto c = static_cast<unsigned char>(b);
    if (c == '\r') continue;
    const std::string head = request_with_field(std::string("X-A: a") + static_cast<char>(c) + "b");
    EXPECT_EQ(request_ok(head), rfc_field_value_byte(c)) << "in a value: " << byte_name(c);
  }
}

TEST(HeadScanner, LineEndsAreExactlyCrlf) {
  EXPECT_FALSE(request_ok("GET / HTTP/1.1\nHost: x\r\n\r\n"));
  EXPECT_FALSE(request_ok("GET / HTTP/1.1\r\nHost: x\n\r\n"));
  EXPECT_FALSE(request_ok("GET / HTTP/1.1\r\nHost: x\rX-A: b\r\n\r\n"));
  EXPECT_FALSE(request_ok("GET / HTTP/1.1\r\nHost: x\r\n\rX\r\n"));
  EXPECT_FALSE(request_ok("GET / HTTP/1.1\r\nHost: x\r\n\r\r\n"));
  EXPECT_FALSE(request_ok("GET / HTTP/1.1\r\nHost: x\r\n\n"));
  EXPECT_FALSE(request_ok("GET / HTTP/1.1\r\nX-A: b\r\n c\r\n\r\n"));  // obs-fold
}

TEST(HeadScanner, EmptyLinesBeforeTheRequestLineAreSkipped) {
  EXPECT_TRUE(request_ok("\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_TRUE(request_ok("\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_FALSE(request_ok(" GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_FALSE(request_ok("\tGET / HTTP/1.1\r\nHost: x\r\n\r\n"));
}

std::string request_line(std::string_view line) { return std::string(line) + "\r\nHost: x\r\n\r\n"; }

TEST(HeadScanner, RequestLineIsMethodSpTargetSpVersion) {
  EXPECT_TRUE(request_ok(request_line("GET / HTTP/1.1")));
  EXPECT_TRUE(request_ok(request_line("GET / HTTP/1.0")));
  EXPECT_TRUE(request_ok(request_line("POST /a/b?c=d&e HTTP/1.1")));
  EXPECT_TRUE(request_ok(request_line("GET http://a.example/b?c HTTP/1.1")));
  EXPECT_TRUE(request_ok(request_line("M / HTTP/1.1")));  // the method's name is llhttp's to check
  // Not exactly one SP between the parts.
  EXPECT_FALSE(request_ok(request_line("GET  / HTTP/1.1")));
  EXPECT_FALSE(request_ok(request_line("GET /  HTTP/1.1")));
  EXPECT_FALSE(request_ok(request_line("GET   /   HTTP/1.1")));
  EXPECT_FALSE(request_ok(request_line("GET / HTTP/1.1 ")));
  EXPECT_FALSE(request_ok(request_line("GET  HTTP/1.1")));
  EXPECT_FALSE(request_ok(request_line("GET\t/ HTTP/1.1")));
  EXPECT_FALSE(request_ok(request_line("GET /\tHTTP/1.1")));
  EXPECT_FALSE(request_ok(request_line("GET /a\tb HTTP/1.1")));
  // Missing parts.
  EXPECT_FALSE(request_ok(request_line("GET /")));
  EXPECT_FALSE(request_ok(request_line("GET")));
  EXPECT_FALSE(request_ok(request_line("/ HTTP/1.1")));
  EXPECT_FALSE(request_ok(request_line("HTTP/1.1")));
}

TEST(HeadScanner, RequestVersionIsHttp10Or11) {
  for (const char* v : {"HTTP/1.2", "HTTP/1.9", "HTTP/2.0", "HTTP/3.0", "HTTP/0.9", "HTTP/0.0", "RTSP/1.0",
                        "ICE/1.0", "http/1.1", "HTTP/1.10", "HTTP/11.1", "HTTP/1", "HTTP/1.", "HTTP/1.x",
                        "HTTP/1.1x", "HTTP /1.1", "HTTP/1 .1", "XTTP/1.1"}) {
    EXPECT_FALSE(request_ok(request_line(std::string("GET / ") + v))) << v;
  }
}

TEST(HeadScanner, AsteriskFormIsALoneStarForOptions) {
  EXPECT_TRUE(request_ok(request_line("OPTIONS * HTTP/1.1")));
  EXPECT_FALSE(request_ok(request_line("GET * HTTP/1.1")));
  EXPECT_FALSE(request_ok(request_line("POST * HTTP/1.1")));
  EXPECT_FALSE(request_ok(request_line("OPTIONSX * HTTP/1.1")));
  EXPECT_FALSE(request_ok(request_line("OPTIONS *x HTTP/1.1")));
  EXPECT_FALSE(request_ok(request_line("OPTIONS */ HTTP/1.1")));
  EXPECT_FALSE(request_ok(request_line("OPTIONS ** HTTP/1.1")));
  EXPECT_TRUE(request_ok(request_line("OPTIONS /* HTTP/1.1")));
  EXPECT_TRUE(request_ok(request_line("GET /a*b HTTP/1.1")));
}

TEST(HeadScanner, ARequestTargetHasNoFragment) {
  EXPECT_FALSE(request_ok(request_line("GET /a#b HTTP/1.1")));
  EXPECT_FALSE(request_ok(request_line("GET /# HTTP/1.1")));
  EXPECT_FALSE(request_ok(request_line("GET /?a=b#c HTTP/1.1")));
  EXPECT_FALSE(request_ok(request_line("GET http://a/b#c HTTP/1.1")));
  EXPECT_TRUE(request_ok(request_line("GET /%23 HTTP/1.1")));
}

// The scanner's share of the target's rules: no control byte, DEL, HTAB or '#'. The rest (a
// SP inside it, 0x80-0xFF, the URI forms) is llhttp's, pinned in llhttp_strict_test.cc.
TEST(HeadScanner, RequestTargetBytes) {
  for (int b = 0; b < 256; ++b) {
    const auto c = static_cast<unsigned char>(b);
    if (c == '\r') continue;
    const bool scanner_refuses = c < 0x20 || c == 0x7f || c == '#';
    const std::string head = request_line(std::string("GET /a") + static_cast<char>(c) + "b HTTP/1.1");
    EXPECT_EQ(request_ok(head), !scanner_refuses) << "in a target: " << byte_name(c);
  }
}

std::string status_line(std::string_view line) { return std::string(line) + "\r\nContent-Length: 0\r\n\r\n"; }

TEST(HeadScanner, StatusLineIsVersionSpThreeDigitsSpReason) {
  EXPECT_TRUE(response_ok(status_line("HTTP/1.1 200 OK")));
  EXPECT_TRUE(response_ok(status_line("HTTP/1.0 404 Not Found")));
  EXPECT_TRUE(response_ok(status_line("HTTP/1.1 200 ")));
  EXPECT_TRUE(response_ok(status_line("HTTP/1.1 200")));  // taken: ferry writes its own line
  EXPECT_TRUE(response_ok(status_line("HTTP/1.1 200  OK")));
  EXPECT_TRUE(response_ok(status_line("HTTP/1.1 100 Continue")));
  EXPECT_TRUE(response_ok(status_line("HTTP/1.1 599 x")));
  EXPECT_FALSE(response_ok(status_line("HTTP/1.1  200 OK")));
  EXPECT_FALSE(response_ok(status_line("HTTP/1.1\t200 OK")));
  EXPECT_FALSE(response_ok(status_line("HTTP/1.1 200\tOK")));
  EXPECT_FALSE(response_ok(status_line("HTTP/1.1 20 OK")));
  EXPECT_FALSE(response_ok(status_line("HTTP/1.1 20")));
  EXPECT_FALSE(response_ok(status_line("HTTP/1.1 2000 OK")));
  EXPECT_FALSE(response_ok(status_line("HTTP/1.1 2x0 OK")));
  EXPECT_FALSE(response_ok(status_line("HTTP/1.1 +20 OK")));
  EXPECT_FALSE(response_ok(status_line(" HTTP/1.1 200 OK")));
  EXPECT_FALSE(response_ok(status_line("HTTP/1.1")));
}

TEST(HeadScanner, StatusCodesOutside100To599AreRefused) {
  for (const char* code : {"000", "001", "099", "600", "700", "999"})
    EXPECT_FALSE(response_ok(status_line(std::string("HTTP/1.1 ") + code + " X"))) << code;
  for (const char* code : {"100", "101", "199", "200", "304", "499", "500", "599"})
    EXPECT_TRUE(response_ok(status_line(std::string("HTTP/1.1 ") + code + " X"))) << code;
}

TEST(HeadScanner, ResponseVersionIsHttp10Or11) {
  for (const char* v : {"HTTP/1.2", "HTTP/2.0", "HTTP/2", "HTTP/0.9", "HTTP/3.0", "RTSP/1.0", "ICE/1.0", "http/1.1",
                        "HTTP/1.1x", "HTTP/11.1"}) {
    EXPECT_FALSE(response_ok(status_line(std::string(v) + " 200 OK"))) << v;
  }
}

// reason-phrase = *( HTAB / SP / VCHAR / obs-text )
TEST(HeadScanner, ReasonPhraseBytes) {
  for (int b = 0; b < 256; ++b) {
    const auto c = static_cast<unsigned char>(b);
    if (c == '\r') continue;
    const std::string head = status_line(std::string("HTTP/1.1 200 O") + static_cast<char>(c) + "K");
    EXPECT_EQ(response_ok(head), rfc_field_value_byte(c)) << "in a reason: " << byte_name(c);
  }
}

TEST(HeadScanner, TrailerSectionsFollowTheFieldRules) {
  const auto trailers_ok = [](std::string_view section) {
    HeadScanner s(StartLine::Request);
    s.reset_for_trailers();
    std::size_t consumed = 0;
    return s.scan(section.data(), section.size(), &consumed) == Result::Complete;
  };
  EXPECT_TRUE(trailers_ok("\r\n"));
  EXPECT_TRUE(trailers_ok("X-T: v\r\n\r\n"));
  EXPECT_FALSE(trailers_ok(": v\r\n\r\n"));
  EXPECT_FALSE(trailers_ok("X@T: v\r\n\r\n"));
  EXPECT_FALSE(trailers_ok("X\x80T: v\r\n\r\n"));
  EXPECT_FALSE(trailers_ok("X-T : v\r\n\r\n"));
  EXPECT_FALSE(trailers_ok("X-T: v\r\n w\r\n\r\n"));
  EXPECT_FALSE(trailers_ok("X-T: a\x01" "b\r\n\r\n"));
  EXPECT_FALSE(trailers_ok("X-T: v\n\r\n"));
  // A trailer section has no start line: a request line there is a field line without a colon.
  EXPECT_FALSE(trailers_ok("GET / HTTP/1.1\r\n\r\n"));
}

TEST(HeadScanner, CompleteStopsRightAfterTheBlankLine) {
  const std::string head = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  const std::string bytes = head + "body bytes \x01\x02 are never looked at";
  HeadScanner s(StartLine::Request);
  std::size_t consumed = 0;
  EXPECT_EQ(s.scan(bytes.data(), bytes.size(), &consumed), Result::Complete);
  EXPECT_EQ(consumed, head.size());
  EXPECT_EQ(s.head_bytes(), head.size());
}

TEST(HeadScanner, ALongStartLineSplitAcrossReadsIsCheckedWhole) {
  const std::string target = "/" + std::string(5000, 'a');
  for (const std::string& line : {"GET " + target + " HTTP/1.1", "GET " + target + "  HTTP/1.1",
                                  "GET " + target + "#x HTTP/1.1", "GET " + target + " HTTP/2.0"}) {
    const bool good = line == "GET " + target + " HTTP/1.1";
    EXPECT_EQ(scan_bytewise(StartLine::Request, request_line(line)).result == Result::Complete, good);
    // And the scanner is reusable afterwards: the carried start line does not leak into the next.
    HeadScanner s(StartLine::Request);
    std::size_t consumed = 0;
    const std::string head = request_line(line);
    s.scan(head.data(), 100, &consumed);
    s.reset();
    const std::string next = request_line("GET / HTTP/1.1");
    EXPECT_EQ(s.scan(next.data(), next.size(), &consumed), Result::Complete);
  }
}

}  // namespace
}  // namespace ferry::proxy
