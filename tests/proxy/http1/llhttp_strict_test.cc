// What llhttp 8.1.0 (Debian's, strict mode, no lenient flag) does on its own, with no ferry code
// in front of it. head_scan.cc's table says which grammar rules are llhttp's to enforce and
// which ones it lets through (so the scanner or http_parser.cc enforces them): these tests are
// the evidence for each line of that table. If a "Refuses" test fails after an llhttp change,
// ferry has lost a check; if a "Takes" test fails, llhttp got stricter and the table needs
// updating (ferry's own check is then a second line of defence, not wrong).
#include <gtest/gtest.h>
#include <llhttp.h>

#include <string>
#include <string_view>

namespace ferry::proxy {
namespace {

// Runs bytes through a fresh llhttp; true if it took all of them without an error.
bool llhttp_takes(llhttp_type_t type, std::string_view bytes) {
  llhttp_settings_t settings;
  llhttp_settings_init(&settings);
  llhttp_t parser;
  llhttp_init(&parser, type, &settings);
  const llhttp_errno_t e = llhttp_execute(&parser, bytes.data(), bytes.size());
  return e == HPE_OK || e == HPE_PAUSED_UPGRADE;
}
bool takes_request(std::string_view bytes) { return llhttp_takes(HTTP_REQUEST, bytes); }
bool takes_response(std::string_view bytes) { return llhttp_takes(HTTP_RESPONSE, bytes); }

std::string byte_name(unsigned char c) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02x", c);
  return buf;
}

bool rfc_tchar(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

const std::string kChunkedPost = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";

// --- What ferry relies on llhttp for -------------------------------------------------------

TEST(LlhttpStrictRefuses, MethodsItDoesNotKnow) {
  for (const char* line : {"get / HTTP/1.1", "FOO / HTTP/1.1", "GETX / HTTP/1.1", "G@T / HTTP/1.1",
                           "GE(T / HTTP/1.1", "G\x80T / HTTP/1.1", "\"GET\" / HTTP/1.1"}) {
    EXPECT_FALSE(takes_request(std::string(line) + "\r\nHost: x\r\n\r\n")) << line;
  }
}

TEST(LlhttpStrictRefuses, EveryMethodItKnowsIsAToken) {
#define FERRY_METHOD_NAME(NUM, NAME, STRING) #STRING,
  for (const std::string_view name : {HTTP_ALL_METHOD_MAP(FERRY_METHOD_NAME)}) {
    for (const char c : name) EXPECT_TRUE(rfc_tchar(static_cast<unsigned char>(c))) << name;
  }
#undef FERRY_METHOD_NAME
}

TEST(LlhttpStrictRefuses, ASpaceInsideTheTarget) {
  EXPECT_FALSE(takes_request("GET /a b HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_FALSE(takes_request("GET /a HTTP/1.1 HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_FALSE(takes_request("GET / HTTP/1.1 \r\nHost: x\r\n\r\n"));
}

TEST(LlhttpStrictRefuses, TargetBytesAbove0x7f) {
  for (int b = 0x80; b < 256; ++b) {
    const std::string head = std::string("GET /a") + static_cast<char>(b) + "b HTTP/1.1\r\nHost: x\r\n\r\n";
    EXPECT_FALSE(takes_request(head)) << byte_name(static_cast<unsigned char>(b));
  }
}

TEST(LlhttpStrictRefuses, TargetsOfNoForm) {
  for (const char* target : {"x", "a/b", "?a=b", "http:/b", "a:80", "x-y+z://a/b"})
    EXPECT_FALSE(takes_request(std::string("GET ") + target + " HTTP/1.1\r\nHost: x\r\n\r\n")) << target;
  EXPECT_TRUE(takes_request("GET http://a/b?c HTTP/1.1\r\nHost: a\r\n\r\n"));
}

TEST(LlhttpStrictRefuses, NonTcharBytesInANonEmptyFieldName) {
  for (int b = 0; b < 256; ++b) {
    const auto c = static_cast<unsigned char>(b);
    if (rfc_tchar(c) || c == ':') continue;
    const std::string head = std::string("GET / HTTP/1.1\r\nHost: x\r\nX") + static_cast<char>(c) + "Y: v\r\n\r\n";
    EXPECT_FALSE(takes_request(head)) << byte_name(c);
  }
}

TEST(LlhttpStrictRefuses, ChunkSizesThatAreNotHexDigits) {
  for (const char* size : {"0x5", " 5", "5 ", "5\t", "+5", "-5", "", "g", "ffffffffffffffffff"})
    EXPECT_FALSE(takes_request(kChunkedPost + size + "\r\nhello\r\n0\r\n\r\n")) << size;
}

// chunk-ext bytes, each in its place: a name and a token value are tchar, a quoted value is
// qdtext (HTAB, SP, 0x21, 0x23-0x5B, 0x5D-0x7E, obs-text). Exceptions llhttp makes are listed
// in LlhttpStrictTakes.
TEST(LlhttpStrictRefuses, ChunkExtensionBytesOutsideTheirRule) {
  for (int b = 0; b < 256; ++b) {
    const auto c = static_cast<unsigned char>(b);
    if (c == '\r' || c == ';' || c == '=') continue;  // they end or split the part
    const std::string byte(1, static_cast<char>(c));
    const bool qdtext =
        c == '\t' || c == ' ' || c == 0x21 || (c >= 0x23 && c <= 0x5b) || (c >= 0x5d && c <= 0x7e) || c >= 0x80;
    EXPECT_EQ(takes_request(kChunkedPost + "5;a" + byte + "b\r\nhello\r\n0\r\n\r\n"), rfc_tchar(c))
        << "name " << byte_name(c);
    if (c != '"') {
      EXPECT_EQ(takes_request(kChunkedPost + "5;a=b" + byte + "c\r\nhello\r\n0\r\n\r\n"), rfc_tchar(c))
          << "token value " << byte_name(c);
    }
    if (c != 0x7f) {
      EXPECT_EQ(takes_request(kChunkedPost + "5;a=\"b" + byte + "c\"\r\nhello\r\n0\r\n\r\n"), qdtext)
          << "quoted value " << byte_name(c);
    }
  }
}

TEST(LlhttpStrictRefuses, ChunkDataNotEndedByCrlf) {
  EXPECT_FALSE(takes_request(kChunkedPost + "5\r\nhelloXX0\r\n\r\n"));
  EXPECT_FALSE(takes_request(kChunkedPost + "5\r\nhello\n0\r\n\r\n"));
  EXPECT_FALSE(takes_request(kChunkedPost + "5\nhello\r\n0\r\n\r\n"));
  EXPECT_FALSE(takes_request(kChunkedPost + "5;a\rb\r\nhello\r\n0\r\n\r\n"));
}

TEST(LlhttpStrictRefuses, BadContentLengths) {
  const std::string post = "POST / HTTP/1.1\r\nHost: x\r\n";
  for (const char* value : {"+1", "-1", "1 2", "", "1,1", "0x1", "99999999999999999999999"})
    EXPECT_FALSE(takes_request(post + "Content-Length: " + value + "\r\n\r\na")) << value;
  EXPECT_FALSE(takes_request(post + "Content-Length: 1\r\nContent-Length: 1\r\n\r\na"));
  EXPECT_FALSE(takes_request(post + "Content-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"));
}

// --- What llhttp lets through, so ferry checks it itself ------------------------------------

TEST(LlhttpStrictTakes, AnEmptyFieldName) {
  EXPECT_TRUE(takes_request("GET / HTTP/1.1\r\nHost: x\r\n: v\r\n\r\n"));
  EXPECT_TRUE(takes_response("HTTP/1.1 200 OK\r\n: v\r\nContent-Length: 0\r\n\r\n"));
  EXPECT_TRUE(takes_request(kChunkedPost + "0\r\n: v\r\n\r\n"));
}

TEST(LlhttpStrictTakes, ObsFold) { EXPECT_TRUE(takes_request("GET / HTTP/1.1\r\nHost: x\r\nX-A: b\r\n c\r\n\r\n")); }

TEST(LlhttpStrictTakes, RunsOfSpacesInTheRequestLine) {
  EXPECT_TRUE(takes_request("GET  / HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_TRUE(takes_request("GET /  HTTP/1.1\r\nHost: x\r\n\r\n"));
}

TEST(LlhttpStrictTakes, ProtocolsOtherThanHttp10And11) {
  EXPECT_TRUE(takes_request("GET / RTSP/1.0\r\nHost: x\r\n\r\n"));
  EXPECT_TRUE(takes_request("SOURCE / ICE/1.0\r\nHost: x\r\n\r\n"));
  EXPECT_TRUE(takes_request("GET / HTTP/2.0\r\nHost: x\r\n\r\n"));
  EXPECT_TRUE(takes_request("GET / HTTP/0.9\r\nHost: x\r\n\r\n"));
  EXPECT_TRUE(takes_request("GET /\r\n\r\n"));
  EXPECT_TRUE(takes_response("HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n"));
  EXPECT_TRUE(takes_response("HTTP/0.9 200 OK\r\nContent-Length: 0\r\n\r\n"));
}

TEST(LlhttpStrictTakes, FragmentsAndStars) {
  EXPECT_TRUE(takes_request("GET /a#b HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_TRUE(takes_request("GET * HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_TRUE(takes_request("OPTIONS *x HTTP/1.1\r\nHost: x\r\n\r\n"));
}

TEST(LlhttpStrictTakes, StatusLinesThatAreNotThreeDigits) {
  EXPECT_TRUE(takes_response("HTTP/1.1  200 OK\r\nContent-Length: 0\r\n\r\n"));  // read as status 0
  EXPECT_TRUE(takes_response("HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n"));
  EXPECT_TRUE(takes_response("HTTP/1.1 000 OK\r\nContent-Length: 0\r\n\r\n"));
  EXPECT_TRUE(takes_response("HTTP/1.1 999 OK\r\nContent-Length: 0\r\n\r\n"));
}

TEST(LlhttpStrictTakes, ChunkExtensionsWithAnEmptyPartOrAStrayQuote) {
  EXPECT_TRUE(takes_request(kChunkedPost + "5;=b\r\nhello\r\n0\r\n\r\n"));
  EXPECT_TRUE(takes_request(kChunkedPost + "5;a=\r\nhello\r\n0\r\n\r\n"));
  EXPECT_TRUE(takes_request(kChunkedPost + "5;a=b\"c\"\r\nhello\r\n0\r\n\r\n"));
  EXPECT_TRUE(takes_request(kChunkedPost + "5;a=\"b\x7f\"\r\nhello\r\n0\r\n\r\n"));
  EXPECT_TRUE(takes_request(kChunkedPost + "5\r\nhello\r\n0;=b\r\n\r\n"));
  EXPECT_TRUE(takes_request(kChunkedPost + "5;a=b;\r\nhello\r\n0\r\n\r\n"));  // found by fuzz_chunked
  EXPECT_TRUE(takes_request(kChunkedPost + "5;a=b;;c=d\r\nhello\r\n0\r\n\r\n"));
  EXPECT_TRUE(takes_request(kChunkedPost + "5;a;;b\r\nhello\r\n0\r\n\r\n"));
}

// Stricter than RFC 9112 7.1.1, never looser: ferry refuses these too (a 400 a client will not
// see in practice; chunk extensions are all but unused).
TEST(LlhttpStrictRefuses, SomeValidChunkExtensions) {
  EXPECT_FALSE(takes_request(kChunkedPost + "5 ;a=b\r\nhello\r\n0\r\n\r\n"));      // BWS
  EXPECT_FALSE(takes_request(kChunkedPost + "5;a=\"b\\\"c\"\r\nhello\r\n0\r\n\r\n"));  // quoted-pair
  EXPECT_FALSE(takes_request(kChunkedPost + "5;a=b;c=d\r\nhello\r\n0\r\n\r\n"));   // a second after a token
  EXPECT_TRUE(takes_request(kChunkedPost + "5;a=\"b\";c=d\r\nhello\r\n0\r\n\r\n"));
  EXPECT_TRUE(takes_request(kChunkedPost + "5;a;b\r\nhello\r\n0\r\n\r\n"));
}

}  // namespace
}  // namespace ferry::proxy
