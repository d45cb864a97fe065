// build_request_head and build_response_head copy each run of kept field lines that sit side by
// side in the head's raw bytes, as written, in one piece (FieldLines in headers.cc). The bytes
// sent must be what writing each line as "Name: value" CRLF gives: lines in another shape
// ("Name:value", several spaces after the colon) written out anew, dropped lines leaving no
// trace, and the order kept.
#include "proxy/http1/headers.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace ferry::proxy {
namespace {

struct HeadSink final : HttpParser::Sink {
  int on_head(MessageHead&) override { return 0; }
  int on_body(const char*, std::size_t) override { return 0; }
  int on_message_end() override { return 0; }
};

std::string response_out(std::string_view raw, const ResponseRewrite& rw = {}) {
  HeadSink sink;
  HttpParser parser(HttpParser::Kind::Response, sink, 8192);
  std::size_t used = 0;
  EXPECT_EQ(parser.feed(raw.data(), raw.size(), &used), HttpParser::Status::MessageDone) << raw;
  std::string out;
  build_response_head(parser.head(), rw, out);
  return out;
}

std::string request_out(std::string_view raw) {
  HeadSink sink;
  HttpParser parser(HttpParser::Kind::Request, sink, 8192);
  std::size_t used = 0;
  EXPECT_EQ(parser.feed(raw.data(), raw.size(), &used), HttpParser::Status::MessageDone) << raw;
  RequestRewrite rw;
  rw.client_ip = "127.0.0.1";
  std::string out;
  build_request_head(parser.head(), rw, out);
  return out;
}

TEST(FieldLines, ResponseLinesAsWrittenAndRewritten) {
  const std::string out = response_out(
      "HTTP/1.1 200 OK\r\n"
      "Server: a\r\n"
      "Date: b\r\n"
      "Connection: keep-alive\r\n"  // hop-by-hop: dropped, ending the run before it
      "ETag: \"c\"\r\n"
      "Tight:d\r\n"                  // not as ferry writes it
      "Wide:  \te \t\r\n"            // OWS before the value dropped, after it kept (as llhttp)
      "Empty: \r\n"
      "Bare:\r\n"
      "Content-Length: 0\r\n"
      "Last: f\r\n"
      "\r\n");
  EXPECT_EQ(out,
            "HTTP/1.1 200 OK\r\n"
            "Server: a\r\n"
            "Date: b\r\n"
            "ETag: \"c\"\r\n"
            "Tight: d\r\n"
            "Wide: e \t\r\n"
            "Empty: \r\n"
            "Bare: \r\n"
            "Last: f\r\n"
            "Content-Length: 0\r\n"
            "\r\n");
}

TEST(FieldLines, ListedInConnectionIsDroppedFromTheMiddleOfARun) {
  const std::string out = response_out(
      "HTTP/1.1 200 OK\r\nA: 1\r\nConnection: x-hop\r\nB: 2\r\nX-Hop: 3\r\nC: 4\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(out, "HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 4\r\nContent-Length: 0\r\n\r\n");
}

TEST(FieldLines, RequestKeepsOrderAroundWhatFerryWrites) {
  const std::string out = request_out(
      "GET /p HTTP/1.1\r\nHost: h\r\nAccept: */*\r\nX-Forwarded-For: 10.0.0.1\r\nUser-Agent:ua\r\n"
      "Under_Score: no\r\nCookie: k=v\r\n\r\n");
  EXPECT_EQ(out,
            "GET /p HTTP/1.1\r\n"
            "Host: h\r\n"
            "Accept: */*\r\n"
            "User-Agent: ua\r\n"
            "Cookie: k=v\r\n"
            "X-Forwarded-For: 10.0.0.1, 127.0.0.1\r\n"
            "X-Forwarded-Proto: http\r\n"
            "X-Forwarded-Host: h\r\n"
            "\r\n");
}

// RFC 9110 7.6.1: every header a Connection list names is hop-by-hop, one ferry knows by name
// (Cookie) as much as any other, and several Connection lines are one list. Host stays: the
// backend needs it. X-Forwarded-For stays a chain ferry appends to.
TEST(FieldLines, RequestDropsEveryHeaderItsConnectionLinesNameButHost) {
  const std::string out = request_out(
      "GET /p HTTP/1.1\r\nHost: h\r\nConnection: cookie, host\r\nCookie: k=v\r\nA: 1\r\n"
      "Connection: X-Second\r\nX-Second: 2\r\nB: 2\r\n\r\n");
  EXPECT_EQ(out,
            "GET /p HTTP/1.1\r\n"
            "Host: h\r\n"
            "A: 1\r\n"
            "B: 2\r\n"
            "X-Forwarded-For: 127.0.0.1\r\n"
            "X-Forwarded-Proto: http\r\n"
            "X-Forwarded-Host: h\r\n"
            "\r\n");
}

TEST(FieldLines, ResponseDropsEveryHeaderItsConnectionLinesName) {
  const std::string out = response_out(
      "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nSet-Cookie: s=1\r\nCookie: c\r\nA: 1\r\n"
      "Connection: cookie, set-cookie\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(out, "HTTP/1.1 200 OK\r\nA: 1\r\nContent-Length: 0\r\n\r\n");
}

}  // namespace
}  // namespace ferry::proxy
