// HttpParser, the strict llhttp wrapper with the scanner in front: every hole llhttp 8.1 leaves
// in RFC 9110/9112's grammar (llhttp_strict_test.cc) is closed here, for requests and
// responses, whatever the read boundaries; and the heads that are valid still parse, with the
// bytes ferry forwards unchanged.
#include "proxy/http1/http_parser.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::proxy {
namespace {

using Kind = HttpParser::Kind;
using Status = HttpParser::Status;

struct RecordingSink final : HttpParser::Sink {
  int heads = 0;
  int ends = 0;
  std::string body;
  int on_head(MessageHead&) override {
    ++heads;
    return 0;
  }
  int on_body(const char* data, std::size_t len) override {
    body.append(data, len);
    return 0;
  }
  int on_message_end() override {
    ++ends;
    return 0;
  }
};

struct Outcome {
  Status status = Status::Ok;
  std::string error;
  int heads = 0;  // heads the sink was given: what ferry would have acted on
  int ends = 0;
  std::string body;
};

// Feeds `bytes` in pieces of `piece` bytes (0: all at once) until a message ends or fails.
Outcome parse(Kind kind, std::string_view bytes, std::size_t piece = 0) {
  RecordingSink sink;
  HttpParser parser(kind, sink, 64 * 1024);
  Outcome out;
  std::size_t pos = 0;
  while (pos < bytes.size()) {
    const std::size_t n = piece == 0 ? bytes.size() - pos : std::min(piece, bytes.size() - pos);
    std::size_t used = 0;
    out.status = parser.feed(bytes.data() + pos, n, &used);
    pos += used;
    if (out.status != Status::Ok) break;
  }
  out.error = parser.error() != nullptr ? parser.error() : "";
  out.heads = sink.heads;
  out.ends = sink.ends;
  out.body = sink.body;
  return out;
}

// Invalid whole and a byte at a time.
void expect_invalid(Kind kind, std::string_view bytes) {
  for (const std::size_t piece : {std::size_t{0}, std::size_t{1}, std::size_t{7}}) {
    const Outcome o = parse(kind, bytes, piece);
    EXPECT_EQ(o.status, Status::Invalid) << "pieces of " << piece << ": " << bytes;
    EXPECT_EQ(o.ends, 0) << bytes;
  }
}
void expect_head_refused(Kind kind, std::string_view bytes) {
  expect_invalid(kind, bytes);
  EXPECT_EQ(parse(kind, bytes).heads, 0) << "the head reached the sink: " << bytes;
  EXPECT_EQ(parse(kind, bytes, 1).heads, 0) << "the head reached the sink: " << bytes;
}
void expect_complete(Kind kind, std::string_view bytes) {
  for (const std::size_t piece : {std::size_t{0}, std::size_t{1}, std::size_t{7}}) {
    const Outcome o = parse(kind, bytes, piece);
    EXPECT_EQ(o.status, Status::MessageDone) << "pieces of " << piece << ": " << bytes << " (" << o.error << ")";
  }
}

const std::string kHost = "Host: x\r\n";
const std::string kChunked = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
const std::string kChunkedResponse = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";

TEST(HttpParserRequest, HeadsLlhttpTakesAreRefusedBeforeAnyCallback) {
  for (const std::string& head : {
           "GET / HTTP/1.1\r\n" + kHost + ": v\r\n\r\n",
           "GET / HTTP/1.1\r\n" + kHost + ":\r\n\r\n",
           "GET  / HTTP/1.1\r\n" + kHost + "\r\n",
           "GET /  HTTP/1.1\r\n" + kHost + "\r\n",
           "GET / RTSP/1.0\r\n" + kHost + "\r\n",
           "SOURCE / ICE/1.0\r\n" + kHost + "\r\n",
           "GET / HTTP/2.0\r\n" + kHost + "\r\n",
           "GET / HTTP/0.9\r\n" + kHost + "\r\n",
           std::string("GET /\r\n\r\n"),
           "GET /a#b HTTP/1.1\r\n" + kHost + "\r\n",
           "GET * HTTP/1.1\r\n" + kHost + "\r\n",
           "OPTIONS *x HTTP/1.1\r\n" + kHost + "\r\n",
           "OPTIONS */ HTTP/1.1\r\n" + kHost + "\r\n",
           "GET / HTTP/1.1\r\n" + kHost + "X-A: b\r\n c\r\n\r\n",
       }) {
    expect_head_refused(Kind::Request, head);
  }
}

TEST(HttpParserResponse, HeadsLlhttpTakesAreRefusedBeforeAnyCallback) {
  for (const std::string& head : {
           std::string("HTTP/1.1 200 OK\r\n: v\r\nContent-Length: 0\r\n\r\n"),
           std::string("HTTP/1.1  200 OK\r\nContent-Length: 0\r\n\r\n"),
           std::string("HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n"),
           std::string("HTTP/1.1 000 OK\r\nContent-Length: 0\r\n\r\n"),
           std::string("HTTP/1.1 099 OK\r\nContent-Length: 0\r\n\r\n"),
           std::string("HTTP/1.1 600 OK\r\nContent-Length: 0\r\n\r\n"),
           std::string("HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n"),
           std::string("HTTP/0.9 200 OK\r\nContent-Length: 0\r\n\r\n"),
           std::string("HTTP/1.1 200 O\x01K\r\nContent-Length: 0\r\n\r\n"),
       }) {
    expect_head_refused(Kind::Response, head);
  }
}

TEST(HttpParserRequest, ValidHeadsStillParse) {
  expect_complete(Kind::Request, "GET / HTTP/1.1\r\n" + kHost + "\r\n");
  expect_complete(Kind::Request, "\r\nGET / HTTP/1.0\r\n\r\n");
  expect_complete(Kind::Request, "OPTIONS * HTTP/1.1\r\n" + kHost + "\r\n");
  expect_complete(Kind::Request, "GET http://a/b?c HTTP/1.1\r\nHost: a\r\n\r\n");
  expect_complete(Kind::Request, "GET / HTTP/1.1\r\n" + kHost + "!#$%&'*+-.^_`|~09azAZ: v\r\n\r\n");
  expect_complete(Kind::Request, "GET / HTTP/1.1\r\n" + kHost + "X-A: \t\r\n\r\n");
  expect_complete(Kind::Request, "GET / HTTP/1.1\r\n" + kHost + "X-A:\r\n\r\n");
}

TEST(HttpParserResponse, ValidHeadsStillParse) {
  expect_complete(Kind::Response, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  expect_complete(Kind::Response, "HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok");
  expect_complete(Kind::Response, "HTTP/1.0 599 \t weird\x80 reason\r\nContent-Length: 0\r\n\r\n");
}

// RFC 9110 5.5: obs-text in a value is kept (and forwarded) as it came.
TEST(HttpParserRequest, ObsTextInAValueIsKeptAsItCame) {
  RecordingSink sink;
  HttpParser parser(Kind::Request, sink, 64 * 1024);
  const std::string head = "GET / HTTP/1.1\r\nHost: x\r\nX-Name: caf\xc3\xa9 \xff\r\n\r\n";
  std::size_t used = 0;
  ASSERT_EQ(parser.feed(head.data(), head.size(), &used), Status::MessageDone);
  EXPECT_EQ(parser.head().find("x-name"), "caf\xc3\xa9 \xff");
}

TEST(HttpParserChunked, ExtensionsLlhttpTakesAreRefused) {
  for (const char* chunk : {"5;=b\r\nhello\r\n0\r\n\r\n",         // no name
                            "5;a=\r\nhello\r\n0\r\n\r\n",          // no value
                            "5;a=b\"c\"\r\nhello\r\n0\r\n\r\n",    // a quote inside a token
                            "5;a=b\"c;d\"\r\nhello\r\n0\r\n\r\n",
                            "5;a=\"b\x7f\"\r\nhello\r\n0\r\n\r\n",  // DEL in a quoted string
                            "5;a=b;\r\nhello\r\n0\r\n\r\n",         // a ';' and no extension
                            "5;a=b;;c=d\r\nhello\r\n0\r\n\r\n",
                            "5\r\nhello\r\n0;=b\r\n\r\n",           // on the last chunk
                            "5\r\nhello\r\n0;a=\r\n\r\n",
                            "5\r\nhello\r\n0;a=b;\r\n\r\n"}) {
    expect_invalid(Kind::Request, kChunked + chunk);
    expect_invalid(Kind::Response, kChunkedResponse + chunk);
  }
}

TEST(HttpParserChunked, ValidExtensionsAreDroppedAndTheBodyKept) {
  for (const char* chunk : {"5;a=b\r\nhello\r\n0\r\n\r\n", "5;a\r\nhello\r\n0\r\n\r\n",
                            "5;a=\"\"\r\nhello\r\n0\r\n\r\n",
                            "5;a=\"x;y=z \t\x80\"\r\nhello\r\n0\r\n\r\n", "5;a=\"x\";b=c\r\nhello\r\n0;e=f\r\n\r\n",
                            "5;a;b\r\nhello\r\n0\r\n\r\n"}) {
    for (const std::size_t piece : {std::size_t{0}, std::size_t{1}, std::size_t{3}}) {
      const Outcome o = parse(Kind::Request, kChunked + chunk, piece);
      EXPECT_EQ(o.status, Status::MessageDone) << chunk << " in pieces of " << piece << ": " << o.error;
      EXPECT_EQ(o.body, "hello") << chunk;
    }
  }
}

TEST(HttpParserChunked, TrailersFollowTheFieldRules) {
  expect_complete(Kind::Request, kChunked + "5\r\nhello\r\n0\r\nX-T: v\r\n\r\n");
  for (const char* trailers : {": v\r\n\r\n", "X@T: v\r\n\r\n", "X\x80T: v\r\n\r\n", "X-T : v\r\n\r\n",
                               "X-T: v\r\n w\r\n\r\n", "X-T: a\x01" "b\r\n\r\n", "X-T\r\n\r\n"}) {
    expect_invalid(Kind::Request, kChunked + "5\r\nhello\r\n0\r\n" + trailers);
    expect_invalid(Kind::Response, kChunkedResponse + "5\r\nhello\r\n0\r\n" + trailers);
  }
}

TEST(HttpParserRequest, TheErrorSaysWhatWasWrong) {
  EXPECT_EQ(parse(Kind::Request, "GET / HTTP/1.1\r\n: v\r\n\r\n").error, "empty field name");
  EXPECT_EQ(parse(Kind::Request, kChunked + "5;=b\r\nhello\r\n0\r\n\r\n").error, "empty chunk extension name");
  EXPECT_EQ(parse(Kind::Request, kChunked + "5;a=\r\nhello\r\n0\r\n\r\n").error, "empty chunk extension value");
}

// A parser is recycled across connections: an error on one leaves nothing for the next.
TEST(HttpParserRequest, ResetClearsAChunkExtensionError) {
  RecordingSink sink;
  HttpParser parser(Kind::Request, sink, 64 * 1024);
  const std::string bad = kChunked + "5;=b\r\nhello\r\n0\r\n\r\n";
  std::size_t used = 0;
  ASSERT_EQ(parser.feed(bad.data(), bad.size(), &used), Status::Invalid);
  parser.reset();
  const std::string good = "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n";
  EXPECT_EQ(parser.feed(good.data(), good.size(), &used), Status::Ok);
  const std::string body = "x";
  EXPECT_EQ(parser.feed(body.data(), body.size(), &used), Status::MessageDone);
  EXPECT_EQ(parser.error(), nullptr);
}

}  // namespace
}  // namespace ferry::proxy

namespace ferry::proxy {
namespace {

// Body bytes moved past the parser (spliced): it counts them off the Content-Length, ends the
// message on the last, and parses the next message from scratch.
TEST(HttpParserSkipBody, CountsSkippedBytesOffTheLengthAndEndsTheMessage) {
  RecordingSink sink;
  HttpParser p(HttpParser::Kind::Response, sink, 64 * 1024);
  EXPECT_EQ(p.body_remaining(), 0u) << "no message yet";
  const std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789";
  std::size_t used = 0;
  ASSERT_EQ(p.feed(head.data(), head.size(), &used), HttpParser::Status::Ok);
  EXPECT_EQ(p.body_remaining(), 90u);
  EXPECT_EQ(p.skip_body(50), HttpParser::Status::Ok);
  EXPECT_EQ(p.body_remaining(), 40u);
  EXPECT_EQ(p.skip_body(40), HttpParser::Status::MessageDone);
  EXPECT_EQ(p.body_remaining(), 0u);
  const std::string next = "HTTP/1.1 204 No Content\r\n\r\n";
  EXPECT_EQ(p.feed(next.data(), next.size(), &used), HttpParser::Status::MessageDone);
  EXPECT_EQ(used, next.size());
  EXPECT_EQ(sink.heads, 2);
  EXPECT_EQ(sink.body, "0123456789") << "skipped bytes must never reach the sink";
}

TEST(HttpParserSkipBody, OnlyALengthFramedBodyCanBeSkipped) {
  const char* heads[] = {
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",  // re-framed: never spliced
      "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n",            // read until close
  };
  for (const char* h : heads) {
    RecordingSink sink;
    HttpParser p(HttpParser::Kind::Response, sink, 64 * 1024);
    std::size_t used = 0;
    ASSERT_EQ(p.feed(h, std::strlen(h), &used), HttpParser::Status::Ok) << h;
    EXPECT_EQ(p.body_remaining(), 0u) << h;
  }
  RecordingSink sink;
  HttpParser p(HttpParser::Kind::Response, sink, 64 * 1024);
  p.set_head_request(true);
  const std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n";
  std::size_t used = 0;
  EXPECT_EQ(p.feed(head.data(), head.size(), &used), HttpParser::Status::MessageDone);
  EXPECT_EQ(p.body_remaining(), 0u) << "a response to HEAD has no body";
}

}  // namespace
}  // namespace ferry::proxy
