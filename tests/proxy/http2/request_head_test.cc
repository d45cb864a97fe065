// The HTTP/2 request fields as the HTTP/1.1 head the data path reads: what passes, what is
// joined, and every shape that must never become a request line.
#include "proxy/http2/request_head.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace ferry::proxy::http2 {
namespace {

using Fields = std::vector<std::pair<std::string, std::string>>;

Fields basic(const Fields& extra = {}) {
  Fields f{{":method", "GET"}, {":scheme", "https"}, {":authority", "example.com"}, {":path", "/a?b=1"}};
  f.insert(f.end(), extra.begin(), extra.end());
  return f;
}

// The head, or "error: WHY".
std::string head_of(const Fields& fields, bool end_stream = true, uint64_t max_bytes = 32768) {
  RequestFields r;
  for (const auto& [name, value] : fields)
    if (!r.add(name, value, max_bytes)) return "error: too large";
  std::string out;
  if (const char* why = r.build_head(end_stream, out)) return std::string("error: ") + why;
  return out;
}

TEST(Http2RequestHead, PseudoHeadersBecomeTheRequestLineAndHost) {
  EXPECT_EQ(head_of(basic({{"accept", "*/*"}})),
            "GET /a?b=1 HTTP/1.1\r\nHost: example.com\r\naccept: */*\r\nConnection: close\r\n\r\n");
}

TEST(Http2RequestHead, CookiesAreJoinedIntoOneField) {
  EXPECT_EQ(head_of(basic({{"cookie", "a=1"}, {"x", "y"}, {"cookie", "b=2"}})),
            "GET /a?b=1 HTTP/1.1\r\nHost: example.com\r\nCookie: a=1; b=2\r\nx: y\r\nConnection: close\r\n\r\n");
}

TEST(Http2RequestHead, TheBodyIsFramedByItsLengthOrChunked) {
  EXPECT_EQ(head_of(basic({{"content-length", "5"}}), false),
            "GET /a?b=1 HTTP/1.1\r\nHost: example.com\r\nContent-Length: 5\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(head_of(basic(), false),
            "GET /a?b=1 HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
  RequestFields r;
  EXPECT_TRUE(r.chunked_body(false));
  EXPECT_FALSE(r.chunked_body(true));
}

TEST(Http2RequestHead, HostAloneServesAsTheAuthorityAndAMatchingOneIsNotRepeated) {
  EXPECT_EQ(head_of({{":method", "GET"}, {":scheme", "http"}, {":path", "/"}, {"host", "h.example"}}),
            "GET / HTTP/1.1\r\nHost: h.example\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(head_of(basic({{"host", "EXAMPLE.com"}})),
            "GET /a?b=1 HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n");
}

TEST(Http2RequestHead, ExpectAndTeTrailersAreFerrysToHandle) {
  EXPECT_EQ(head_of(basic({{"expect", "100-continue"}, {"te", "trailers"}})),
            "GET /a?b=1 HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n");
}

TEST(Http2RequestHead, RefusesEveryShapeABackendCouldReadTwoWays) {
  const std::vector<std::pair<Fields, std::string>> cases = {
      {basic({{"host", "other.example"}}), ":authority and Host differ"},
      {basic({{"host", "a"}, {"host", "a"}}), "a repeated Host or Content-Length"},
      {basic({{"content-length", "1"}, {"content-length", "2"}}), "a repeated Host or Content-Length"},
      {basic({{"content-length", "1x"}}), "a malformed content-length"},
      {basic({{"connection", "close"}}), "a connection-specific header field"},
      {basic({{"transfer-encoding", "chunked"}}), "a connection-specific header field"},
      {basic({{"upgrade", "websocket"}}), "a connection-specific header field"},
      {basic({{"keep-alive", "1"}}), "a connection-specific header field"},
      {basic({{"te", "gzip"}}), "a connection-specific header field"},
      {basic({{"x", "a\r\nInjected: 1"}}), "a malformed field value"},
      {basic({{"x", std::string("a\0b", 3)}}), "a malformed field value"},
      {basic({{"bad name", "v"}}), "a malformed field value"},
      {{{":method", "GET /x HTTP/1.1\r\n"}, {":scheme", "http"}, {":authority", "a"}, {":path", "/"}},
       "a missing or malformed :method"},
      {{{":method", "CONNECT"}, {":authority", "a:443"}}, "CONNECT is not proxied"},
      // tokens the HTTP/1 parser behind the stream refuses (fuzz_h2 found "exao%Me.com")
      {{{":method", "exao%Me.com"}, {":scheme", "http"}, {":authority", "a"}, {":path", "/"}},
       "a :method ferry does not proxy"},
      {{{":method", "get"}, {":scheme", "http"}, {":authority", "a"}, {":path", "/"}},
       "a :method ferry does not proxy"},
      {{{":method", "PRI"}, {":scheme", "http"}, {":authority", "a"}, {":path", "/"}},
       "a :method ferry does not proxy"},
      {{{":method", "GET"}, {":scheme", "http"}, {":authority", "a"}, {":path", "/a b"}}, "a malformed :path"},
      {{{":method", "GET"}, {":scheme", "http"}, {":authority", "a"}, {":path", "x"}}, "a malformed :path"},
      {{{":method", "GET"}, {":scheme", "http"}, {":authority", "a\r\n"}, {":path", "/"}},
       "a missing or malformed :authority"},
      {{{":method", "GET"}, {":scheme", "http"}, {":path", "/"}}, "a missing or malformed :authority"},
      {{{":method", "GET"}, {":authority", "a"}, {":path", "/"}}, "a missing :scheme or :path"},
      {basic({{":path", "/again"}}), "malformed pseudo-header fields"},
      {{{":method", "GET"}, {"x", "1"}, {":scheme", "http"}, {":authority", "a"}, {":path", "/"}},
       "malformed pseudo-header fields"},
      {basic({{":protocol", "websocket"}}), "malformed pseudo-header fields"},
  };
  for (const auto& [fields, why] : cases) EXPECT_EQ(head_of(fields), "error: " + why) << fields.back().first;
}

TEST(Http2RequestHead, OptionsStarIsTheOneTargetWithoutASlash) {
  EXPECT_EQ(head_of({{":method", "OPTIONS"}, {":scheme", "http"}, {":authority", "a"}, {":path", "*"}}),
            "OPTIONS * HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
}

TEST(Http2RequestHead, TheDecodedListIsCountedAsRfc9113Says) {
  // 32 bytes per field plus name and value: the four pseudo-headers of basic() take 182.
  EXPECT_EQ(head_of(basic(), true, 182).rfind("GET", 0), 0u);
  EXPECT_EQ(head_of(basic(), true, 181), "error: too large");
}

}  // namespace
}  // namespace ferry::proxy::http2
