// Request smuggling beyond the byte-exact rejections in tests/integration/rejection_test.cc:
// every attack here is sent on a keep-alive connection that has already carried a good request
// (so a pooled backend connection is there to poison), and the backend records every byte. The
// backend must never see a request the client smuggled, and what it received must re-parse
// cleanly as exactly the requests ferry answered.
#include <gtest/gtest.h>

#include <string>

#include "harness.h"
#include "support/client.h"
#include "support/fake_backend.h"
#include "support/proxy_fixture.h"

namespace ferry::testing {
namespace {

using namespace std::string_literals;

std::string hex(std::size_t n) {
  char buf[20];
  std::snprintf(buf, sizeof buf, "%zx", n);
  return buf;
}

const std::string kGood = "GET /first HTTP/1.1\r\nHost: x\r\n\r\n";
const std::string kSmuggled = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n";

struct Attack {
  const char* name;
  std::string bytes;
};

void PrintTo(const Attack& a, std::ostream* os) { *os << a.name; }

class Smuggling : public ::testing::TestWithParam<Attack> {};

// The attack follows a good request on the same connection: it gets 400, the connection
// closes, and the backend saw the good request only.
TEST_P(Smuggling, IsRejectedAndTheBackendSeesOnlyTheGoodRequest) {
  FakeBackend b1("b1");
  RunningProxy proxy(test_config({b1.address()}));
  ASSERT_TRUE(proxy.started());
  Client c(proxy.port(), 5s);
  ASSERT_TRUE(c.send(kGood));
  auto first = c.read_response();
  ASSERT_TRUE(first);
  ASSERT_EQ(first->status, 200);
  ASSERT_TRUE(c.send(GetParam().bytes));
  auto r = c.read_response();
  ASSERT_TRUE(r) << "no answer to the attack";
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(r->header("Connection"), "close");
  EXPECT_TRUE(c.closed_by_peer());
  const ParsedRequests seen = parse_requests(b1.received());
  EXPECT_TRUE(seen.clean) << b1.received();
  ASSERT_EQ(seen.requests.size(), 1u) << b1.received();
  EXPECT_EQ(seen.requests[0].target, "/first");
  EXPECT_EQ(b1.received().find("smuggled"), std::string::npos) << b1.received();
}

std::string post(const std::string& headers, const std::string& body) {
  return "POST / HTTP/1.1\r\nHost: x\r\n" + headers + "\r\n" + body;
}
// A chunked body that ends at once, followed by a request only a CL reader would skip.
const std::string kChunkedThenSmuggled = "0\r\n\r\n" + kSmuggled;

INSTANTIATE_TEST_SUITE_P(
    Framing, Smuggling,
    ::testing::Values(
        // CL.TE: a front end reading Content-Length would forward the smuggled request as body.
        Attack{"ClTeWithTrailingSpaceInTe",
               post("Content-Length: 40\r\nTransfer-Encoding: chunked \r\n", kChunkedThenSmuggled)},
        Attack{"ClTeWithTabBeforeTe", post("Content-Length: 40\r\nTransfer-Encoding:\tchunked\r\n", kChunkedThenSmuggled)},
        Attack{"ClTeLowercaseNames", post("content-length: 40\r\ntransfer-encoding: chunked\r\n", kChunkedThenSmuggled)},
        Attack{"ClTeUppercaseChunked", post("Content-Length: 40\r\nTransfer-Encoding: CHUNKED\r\n", kChunkedThenSmuggled)},
        Attack{"ClZeroTe", post("Content-Length: 0\r\nTransfer-Encoding: chunked\r\n", kChunkedThenSmuggled)},
        // TE.CL: a back end reading Content-Length would take the chunk as the next request.
        Attack{"TeClSmallLength",
               post("Transfer-Encoding: chunked\r\nContent-Length: 4\r\n", hex(kSmuggled.size()) + "\r\n" + kSmuggled + "\r\n0\r\n\r\n")},
        // TE.TE: one side ignores an obfuscated Transfer-Encoding, the other does not.
        Attack{"TeTeSecondCoding", post("Transfer-Encoding: chunked\r\nTransfer-encoding: cow\r\n", kChunkedThenSmuggled)},
        Attack{"TeChunkedThenIdentity", post("Transfer-Encoding: chunked, identity\r\n", kChunkedThenSmuggled)},
        Attack{"TeVerticalTabBefore", post("Transfer-Encoding: \x0b" "chunked\r\n", kChunkedThenSmuggled)},
        Attack{"TeVerticalTabAfter", post("Transfer-Encoding: chunked\x0b\r\n", kChunkedThenSmuggled)},
        Attack{"TeFormFeed", post("Transfer-Encoding: \x0c" "chunked\r\n", kChunkedThenSmuggled)},
        Attack{"TeWithParameter", post("Transfer-Encoding: chunked;q=1\r\n", kChunkedThenSmuggled)},
        Attack{"TeWithEmptyParameter", post("Transfer-Encoding: chunked;\r\n", kChunkedThenSmuggled)},
        Attack{"TeQuoted", post("Transfer-Encoding: \"chunked\"\r\n", kChunkedThenSmuggled)},
        Attack{"TeTrailingComma", post("Transfer-Encoding: chunked,\r\n", kChunkedThenSmuggled)},
        Attack{"TeLeadingComma", post("Transfer-Encoding: ,chunked\r\n", kChunkedThenSmuggled)},
        Attack{"TeTruncated", post("Transfer-Encoding: chunke\r\n", kChunkedThenSmuggled)},
        Attack{"TeNulInValue", post("Transfer-Encoding: chun\0ked\r\n"s, kChunkedThenSmuggled)},
        Attack{"TeNulInName", post("Transfer\0-Encoding: chunked\r\n"s, kChunkedThenSmuggled)},
        Attack{"TeAsObsFoldContinuation", post("X-A: a\r\n Transfer-Encoding: chunked\r\n", kChunkedThenSmuggled)},
        Attack{"TeOnContinuationLine", post("Transfer-Encoding:\r\n chunked\r\n", kChunkedThenSmuggled)},
        // Content-Length spellings a lax parser reads as a number.
        Attack{"ClHex", post("Content-Length: 0x28\r\n", kSmuggled)},
        Attack{"ClDecimalPoint", post("Content-Length: 40.0\r\n", kSmuggled)},
        Attack{"ClExponent", post("Content-Length: 4e1\r\n", kSmuggled)},
        Attack{"ClSpaceBeforeColon", post("Content-Length : 40\r\n", kSmuggled)},
        Attack{"ClVerticalTab", post("Content-Length: 40\x0b\r\n", kSmuggled)},
        Attack{"ClSpaceInNumber", post("Content-Length: 4 0\r\n", kSmuggled)},
        // Request-line tricks.
        Attack{"NulInTarget", "GET /a\0/smuggled HTTP/1.1\r\nHost: x\r\n\r\n"s},
        Attack{"NulInMethod", "G\0ET / HTTP/1.1\r\nHost: x\r\n\r\n"s},
        Attack{"SpaceInTarget", "GET /a /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"},
        Attack{"LowercaseVersion", "GET / http/1.1\r\nHost: x\r\n\r\n"},
        // A Host that is not a host (RFC 9112 3.2): it would reach routing, X-Forwarded-Host
        // and redirects as one.
        Attack{"HostWithPath", "GET /smuggled HTTP/1.1\r\nHost: x/smuggled\r\n\r\n"},
        Attack{"HostWithSpace", "GET /smuggled HTTP/1.1\r\nHost: x y\r\n\r\n"},
        Attack{"HostWithUserinfo", "GET /smuggled HTTP/1.1\r\nHost: user@x\r\n\r\n"},
        Attack{"HostWithBadPort", "GET /smuggled HTTP/1.1\r\nHost: x:8o\r\n\r\n"},
        Attack{"HostHttp10WithPath", "GET /smuggled HTTP/1.0\r\nHost: x/smuggled\r\n\r\n"},
        // Chunk framing.
        Attack{"ChunkSizeWithSpace", post("Transfer-Encoding: chunked\r\n", "5 5\r\nhello\r\n0\r\n\r\n")},
        Attack{"ChunkSizeNegative", post("Transfer-Encoding: chunked\r\n", "-1\r\nhello\r\n0\r\n\r\n")},
        Attack{"ChunkSizePrefix0x", post("Transfer-Encoding: chunked\r\n", "0x5\r\nhello\r\n0\r\n\r\n")},
        Attack{"ChunkExtensionWithBareCr", post("Transfer-Encoding: chunked\r\n", "5;a\rb\r\nhello\r\n0\r\n\r\n")},
        Attack{"ChunkExtensionWithBareLf", post("Transfer-Encoding: chunked\r\n", "5;a\nb\r\nhello\r\n0\r\n\r\n")},
        Attack{"ChunkDataLongerThanSize", post("Transfer-Encoding: chunked\r\n", "3\r\nhello\r\n0\r\n\r\n")},
        Attack{"ChunkDataEndsInBareLf", post("Transfer-Encoding: chunked\r\n", "5\r\nhello\n0\r\n\r\n")}),
    [](const ::testing::TestParamInfo<Attack>& p) { return std::string(p.param.name); });

// Spellings RFC 9112 allows: ferry reads them as the framing they are, the backend gets exactly
// one request with the body decoded, and nothing else.
struct Valid {
  const char* name;
  std::string bytes;
  std::string body;
};

void PrintTo(const Valid& v, std::ostream* os) { *os << v.name; }

class ValidFraming : public ::testing::TestWithParam<Valid> {};

TEST_P(ValidFraming, IsForwardedAsExactlyOneRequestWithItsBody) {
  FakeBackend b1("b1");
  RunningProxy proxy(test_config({b1.address()}));
  ASSERT_TRUE(proxy.started());
  Client c(proxy.port(), 5s);
  ASSERT_TRUE(c.send(GetParam().bytes + kGood));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, GetParam().body);
  auto second = c.read_response();
  ASSERT_TRUE(second);
  EXPECT_EQ(second->status, 200);
  const ParsedRequests seen = parse_requests(b1.received());
  EXPECT_TRUE(seen.clean) << b1.received();
  ASSERT_EQ(seen.requests.size(), 2u) << b1.received();
  EXPECT_EQ(seen.requests[0].body, GetParam().body);
  EXPECT_EQ(seen.requests[0].count("transfer-encoding") + seen.requests[0].count("content-length"),
            GetParam().body.empty() ? 0 : 1);
  EXPECT_EQ(seen.requests[1].target, "/first");
}

std::string echo(const std::string& headers, const std::string& body) {
  return "POST /echo HTTP/1.1\r\nHost: x\r\n" + headers + "\r\n" + body;
}

INSTANTIATE_TEST_SUITE_P(
    Framing, ValidFraming,
    ::testing::Values(
        // Transfer-coding names are case-insensitive (RFC 9112 7): CHUNKED is chunked.
        Valid{"UppercaseChunked", echo("Transfer-Encoding: CHUNKED\r\n", "5\r\nhello\r\n0\r\n\r\n"), "hello"},
        Valid{"MixedCaseChunked", echo("Transfer-Encoding: ChUnKeD\r\n", "5\r\nhello\r\n0\r\n\r\n"), "hello"},
        Valid{"LowercaseHeaderName", echo("transfer-encoding: chunked\r\n", "5\r\nhello\r\n0\r\n\r\n"), "hello"},
        Valid{"NoSpaceAfterColon", echo("Transfer-Encoding:chunked\r\n", "5\r\nhello\r\n0\r\n\r\n"), "hello"},
        Valid{"TrailingSpace", echo("Transfer-Encoding: chunked \r\n", "5\r\nhello\r\n0\r\n\r\n"), "hello"},
        Valid{"UppercaseHexAndLeadingZeros", echo("Transfer-Encoding: chunked\r\n", "000A\r\n0123456789\r\n00\r\n\r\n"),
              "0123456789"},
        Valid{"ChunkExtensions", echo("Transfer-Encoding: chunked\r\n", "5;name=value\r\nhello\r\n1;flag\r\n!\r\n0;last=\"q\"\r\n\r\n"),
              "hello!"},
        Valid{"ContentLengthLeadingZeros", echo("Content-Length: 005\r\n", "hello"), "hello"},
        Valid{"ContentLengthTrailingSpace", echo("Content-Length: 5 \r\n", "hello"), "hello"},
        // A request that looks like one inside a body is only body.
        Valid{"RequestInsideABody", echo("Content-Length: " + std::to_string(kSmuggled.size()) + "\r\n", kSmuggled), kSmuggled}),
    [](const ::testing::TestParamInfo<Valid>& p) { return std::string(p.param.name); });

TEST(SmugglingExtras, ChunkExtensionsAreNotForwarded) {
  FakeBackend b1("b1");
  RunningProxy proxy(test_config({b1.address()}));
  ASSERT_TRUE(proxy.started());
  Client c(proxy.port());
  ASSERT_TRUE(c.send(echo("Transfer-Encoding: chunked\r\n", "5;secret=1\r\nhello\r\n0\r\n\r\n")));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "hello");
  EXPECT_EQ(b1.received().find("secret"), std::string::npos) << b1.received();
}

// RFC 9110 6.5.1: a trailer field is not merged into the header section unless its definition
// allows it. A Host (or anything else) in the trailer section must not reach the backend as a
// header: it would bypass the one-Host check, X-Forwarded-Host and any header filtering.
TEST(SmugglingExtras, TrailerFieldsNeverBecomeHeaders) {
  FakeBackend b1("b1");
  RunningProxy proxy(test_config({b1.address()}));
  ASSERT_TRUE(proxy.started());
  Client c(proxy.port());
  ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: good.example\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "5\r\nhello\r\n0\r\nHost: evil.example\r\nX-Injected: 1\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  const ParsedRequests seen = parse_requests(b1.received());
  ASSERT_EQ(seen.requests.size(), r->status == 200 ? 1u : 0u) << b1.received();
  if (r->status != 200) return;  // rejecting the trailer section is fine too
  const auto& req = seen.requests[0];
  EXPECT_EQ(req.count("host"), 1) << b1.received();
  EXPECT_EQ(req.count("x-injected"), 0) << b1.received();
  EXPECT_EQ(b1.received().find("evil.example"), std::string::npos) << b1.received();
}

// The contract: a bare LF where CRLF is required is a 400. The blank line that ends a chunked
// body's trailer section is such a place.
TEST(SmugglingExtras, BareLfEndingAChunkedBodyIsRejected) {
  FakeBackend b1("b1");
  RunningProxy proxy(test_config({b1.address()}));
  ASSERT_TRUE(proxy.started());
  Client c(proxy.port());
  ASSERT_TRUE(c.send(post("Transfer-Encoding: chunked\r\n", "0\r\n\n" + kSmuggled)));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(b1.received().find("smuggled"), std::string::npos) << b1.received();
}

// RFC 9112 6.1: Transfer-Encoding in an HTTP/1.0 message means faulty framing; the connection
// must close after it even if the client asked to keep it alive.
TEST(SmugglingExtras, TransferEncodingInHttp10NeverKeepsTheConnection) {
  FakeBackend b1("b1");
  RunningProxy proxy(test_config({b1.address()}));
  ASSERT_TRUE(proxy.started());
  Client c(proxy.port(), 3s);
  ASSERT_TRUE(c.send("POST /echo HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "5\r\nhello\r\n0\r\n\r\n" + kSmuggled));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  // RFC 9112 6.1: the message is processed (its chunked body is well formed), and then the
  // connection closes because its framing may be faulty.
  EXPECT_EQ(r->status, 200) << r->head;
  EXPECT_EQ(r->body, "hello");
  EXPECT_NE(r->header("Connection"), "keep-alive") << r->head;
  EXPECT_TRUE(c.closed_by_peer());
  EXPECT_EQ(b1.received().find("smuggled"), std::string::npos) << b1.received();
}

TEST(SmugglingExtras, AbsoluteFormTargetIsForwardedWithOneHost) {
  FakeBackend b1("b1");
  RunningProxy proxy(test_config({b1.address()}));
  ASSERT_TRUE(proxy.started());
  Client c(proxy.port());
  ASSERT_TRUE(c.send("GET http://example.com/abs?q=1 HTTP/1.1\r\nHost: example.com\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  const ParsedRequests seen = parse_requests(b1.received());
  ASSERT_TRUE(seen.clean);
  ASSERT_EQ(seen.requests.size(), 1u);
  EXPECT_EQ(seen.requests[0].target, "http://example.com/abs?q=1");
  EXPECT_EQ(seen.requests[0].count("host"), 1);
}

TEST(SmugglingExtras, LongRequestLineUnderTheLimitIsForwardedWhole) {
  FakeBackend b1("b1");
  RunningProxy proxy(test_config({b1.address()}));
  ASSERT_TRUE(proxy.started());
  const std::string target = "/" + std::string(20000, 'a');
  Client c(proxy.port());
  ASSERT_TRUE(c.send("GET " + target + " HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  const ParsedRequests seen = parse_requests(b1.received());
  ASSERT_EQ(seen.requests.size(), 1u);
  EXPECT_EQ(seen.requests[0].target, target);
}

TEST(SmugglingExtras, RequestLinePastTheHeadLimitGets431) {
  FakeBackend b1("b1");
  RunningProxy proxy(test_config({b1.address()}));
  ASSERT_TRUE(proxy.started());
  Client c(proxy.port());
  // Sent in pieces, as a real client would: no byte of it may reach the backend.
  ASSERT_TRUE(c.send("GET /" + std::string(20000, 'a')));
  ASSERT_TRUE(c.send(std::string(30000, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 431);
  EXPECT_TRUE(c.closed_by_peer());
  EXPECT_EQ(b1.connections(), 0);
}

TEST(SmugglingExtras, ThousandsOfSmallHeadersUnderTheLimitAllArrive) {
  FakeBackend b1("b1");
  RunningProxy proxy(test_config({b1.address()}));
  ASSERT_TRUE(proxy.started());
  std::string head = "GET / HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 2500; ++i) head += "a" + std::to_string(i) + ":v\r\n";
  ASSERT_LT(head.size(), 32768u);
  Client c(proxy.port());
  ASSERT_TRUE(c.send(head + "\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  const ParsedRequests seen = parse_requests(b1.received());
  ASSERT_EQ(seen.requests.size(), 1u);
  int forwarded = 0;
  for (const auto& [k, v] : seen.requests[0].headers)
    if (k[0] == 'a' && v == "v") ++forwarded;
  EXPECT_EQ(forwarded, 2500);
}

TEST(SmugglingExtras, HugeHeaderCountPastTheLimitGets431QuicklyAndForwardsNothing) {
  FakeBackend b1("b1");
  RunningProxy proxy(test_config({b1.address()}));
  ASSERT_TRUE(proxy.started());
  // 100,000 empty-valued headers (700 KB): ferry stops at max_header_bytes, long before the end.
  std::string head = "GET / HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 100000; ++i) head += "h:\r\n";
  Client c(proxy.port(), 5s);
  c.send(head + "\r\n");  // ferry may close before it has all of it
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 431);
  EXPECT_EQ(b1.connections(), 0);
}

// An HTTP/1.0 request may omit Host; one that sends it empty must not reach the backend with
// two (the empty one and the one ferry adds for a Host-less 1.0 request).
TEST(SmugglingExtras, Http10WithAnEmptyHostIsForwardedWithOneHost) {
  FakeBackend b1("b1");
  RunningProxy proxy(test_config({b1.address()}));
  ASSERT_TRUE(proxy.started());
  Client c(proxy.port(), 3s);
  ASSERT_TRUE(c.send("GET / HTTP/1.0\r\nHost:\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  if (r->status == 400) return;  // refusing it is fine too
  const ParsedRequests seen = parse_requests(b1.received());
  ASSERT_EQ(seen.requests.size(), 1u) << b1.received();
  EXPECT_EQ(seen.requests[0].count("host"), 1) << b1.received();
}

// With several Upgrade headers ferry must not decide "upgrade" on one and forward another (the
// last, here empty) that makes its backend decide otherwise.
TEST(SmugglingExtras, SeveralUpgradeHeadersDoNotSplitTheUpgradeDecision) {
  FakeBackend b1("b1");
  RunningProxy proxy(test_config({b1.address()}));
  ASSERT_TRUE(proxy.started());
  Client c(proxy.port(), 3s);
  ASSERT_TRUE(c.send("GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nUpgrade: \r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  if (r->status == 400) return;  // refusing it is fine too
  const ParsedRequests seen = parse_requests(b1.received());
  ASSERT_EQ(seen.requests.size(), 1u) << b1.received();
  std::string upgrade;
  for (const auto& [k, v] : seen.requests[0].headers)
    if (proxy::iequals(k, "upgrade")) upgrade = v;
  EXPECT_EQ(seen.requests[0].count("upgrade"), 1) << b1.received();
  EXPECT_FALSE(upgrade.empty()) << "ferry treats it as an upgrade, its backend cannot: " << b1.received();
}

}  // namespace
}  // namespace ferry::testing
