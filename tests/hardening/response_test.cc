// Backends that send more, less or other than they announce, and backends that die mid-way.
// The client always gets a well-formed answer or a clean close, never a hang, and never bytes
// from a response that was not its own (tests/integration/failure_test.cc has the plain 502s).
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"
#include "support/client.h"
#include "support/fake_backend.h"
#include "support/proxy_fixture.h"

namespace ferry::testing {
namespace {

const std::string kGet = "GET /next HTTP/1.1\r\nHost: x\r\n\r\n";

std::string get_path(const std::string& path) { return "GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n"; }

// A backend that answers /bad with `bad` and anything else normally.
void answer_bad_with(FakeBackend& b, const std::string& bad) {
  b.set_handler([&b, bad](BackendConn& c, const Request& req) {
    c.send(req.target == "/bad" ? bad : FakeBackend::default_response(b.name(), req));
  });
}

// A malformed response on a connection that already served one: 502, none of its bytes reach
// the client (each one carries "LEAK" in its head or body), and the connection is not used
// again.
void expect_502_never_relayed(const std::string& bad) {
  FakeBackend b1("b1");
  answer_bad_with(b1, bad);
  auto cfg = test_config({b1.address()});
  cfg.retries = 0;
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started());
  Client c(proxy.port(), 5s);
  ASSERT_TRUE(c.send(get_path("/ok")));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  ASSERT_TRUE(c.send(get_path("/bad")));
  r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 502);
  EXPECT_EQ(r->head.find("LEAK"), std::string::npos) << r->head;
  EXPECT_EQ(r->body, "bad gateway\n");
  ASSERT_TRUE(c.send(get_path("/ok")));
  r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello from b1");
  EXPECT_EQ(b1.connections(), 2);
}

class MalformedAfterGood : public ::testing::TestWithParam<std::string> {};

TEST_P(MalformedAfterGood, IsNeverRelayedAndItsConnectionIsDropped) { expect_502_never_relayed(GetParam()); }

INSTANTIATE_TEST_SUITE_P(
    Responses, MalformedAfterGood,
    ::testing::Values("HTTP/1.1 200 OK\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\nX-A: LEAK\r\n\r\n4\r\nLEAK\r\n0\r\n\r\n",
                      "HTTP/1.1 200 OK\r\nContent-Length: 4\r\nContent-Length: 5\r\nX-A: LEAK\r\n\r\nLEAKS",
                      "HTTP/1.1 200 OK\r\nX-A: LEAK\nContent-Length: 4\r\n\r\nLEAK",
                      "HTTP/1.1 200 OK\r\nX-A: LEAK\r\n folded\r\nContent-Length: 4\r\n\r\nLEAK",
                      "HTTP/1.1 200 OK\r\nX-A: LEAK\r\nX B: c\r\nContent-Length: 4\r\n\r\nLEAK"));

// RFC 9110/9112's grammar for a response head, rule by rule (proxy/http1/head_scan.cc has the
// table of which check enforces each): every one of these is a 502.
struct BadResponse {
  const char* name;
  std::string bytes;
};

void PrintTo(const BadResponse& b, std::ostream* os) { *os << b.name; }

class BadResponseGrammar : public ::testing::TestWithParam<BadResponse> {};

TEST_P(BadResponseGrammar, Is502AndNeverRelayed) { expect_502_never_relayed(GetParam().bytes); }

const std::string kLeakBody = "Content-Length: 4\r\n\r\nLEAK";
const std::string kChunkedLeak = "HTTP/1.1 200 OK\r\nX-A: LEAK\r\nTransfer-Encoding: chunked\r\n\r\n";

INSTANTIATE_TEST_SUITE_P(
    Grammar, BadResponseGrammar,
    ::testing::Values(
        BadResponse{"EmptyFieldName", "HTTP/1.1 200 OK\r\n: LEAK\r\n" + kLeakBody},
        BadResponse{"EmptyFieldNameNoValue", "HTTP/1.1 200 OK\r\nX-A: LEAK\r\n:\r\n" + kLeakBody},
        BadResponse{"FieldNameObsText", "HTTP/1.1 200 OK\r\nX\x80" "A: LEAK\r\n" + kLeakBody},
        BadResponse{"FieldNameWithAt", "HTTP/1.1 200 OK\r\nX@A: LEAK\r\n" + kLeakBody},
        BadResponse{"FieldLineWithoutColon", "HTTP/1.1 200 OK\r\nX-LEAK\r\n" + kLeakBody},
        BadResponse{"ValueControlByte", "HTTP/1.1 200 OK\r\nX-A: LE\x01" "AK\r\n" + kLeakBody},
        BadResponse{"ValueDel", "HTTP/1.1 200 OK\r\nX-A: LE\x7f" "AK\r\n" + kLeakBody},
        BadResponse{"TwoSpacesBeforeStatus", "HTTP/1.1  200 OK\r\nX-A: LEAK\r\n" + kLeakBody},
        BadResponse{"TabBeforeStatus", "HTTP/1.1\t200 OK\r\nX-A: LEAK\r\n" + kLeakBody},
        BadResponse{"WhitespaceBeforeStatusLine", " HTTP/1.1 200 OK\r\nX-A: LEAK\r\n" + kLeakBody},
        BadResponse{"TwoDigitStatus", "HTTP/1.1 20 OK\r\nX-A: LEAK\r\n" + kLeakBody},
        BadResponse{"FourDigitStatus", "HTTP/1.1 2000 OK\r\nX-A: LEAK\r\n" + kLeakBody},
        BadResponse{"StatusZero", "HTTP/1.1 000 OK\r\nX-A: LEAK\r\n" + kLeakBody},
        BadResponse{"Status099", "HTTP/1.1 099 OK\r\nX-A: LEAK\r\n" + kLeakBody},
        BadResponse{"Status600", "HTTP/1.1 600 OK\r\nX-A: LEAK\r\n" + kLeakBody},
        BadResponse{"StatusNotFollowedBySpace", "HTTP/1.1 200\tOK\r\nX-A: LEAK\r\n" + kLeakBody},
        BadResponse{"Http2Version", "HTTP/2.0 200 OK\r\nX-A: LEAK\r\n" + kLeakBody},
        BadResponse{"Http09Version", "HTTP/0.9 200 OK\r\nX-A: LEAK\r\n" + kLeakBody},
        BadResponse{"Http12Version", "HTTP/1.2 200 OK\r\nX-A: LEAK\r\n" + kLeakBody},
        BadResponse{"RtspVersion", "RTSP/1.0 200 OK\r\nX-A: LEAK\r\n" + kLeakBody},
        BadResponse{"LowercaseHttp", "http/1.1 200 OK\r\nX-A: LEAK\r\n" + kLeakBody},
        BadResponse{"ReasonControlByte", "HTTP/1.1 200 LE\x01" "AK\r\n" + kLeakBody},
        BadResponse{"ReasonDel", "HTTP/1.1 200 LE\x7f" "AK\r\n" + kLeakBody},
        BadResponse{"ReasonBareCr", "HTTP/1.1 200 LE\rAK\r\n" + kLeakBody},
        BadResponse{"ChunkExtEmptyName", kChunkedLeak + "4;=x\r\nLEAK\r\n0\r\n\r\n"},
        BadResponse{"ChunkExtEmptyValue", kChunkedLeak + "4;x=\r\nLEAK\r\n0\r\n\r\n"},
        BadResponse{"ChunkExtQuoteInsideToken", kChunkedLeak + "4;x=a\"b\"\r\nLEAK\r\n0\r\n\r\n"},
        BadResponse{"ChunkExtTokenThenSemicolon", kChunkedLeak + "4;x=y;\r\nLEAK\r\n0\r\n\r\n"},
        BadResponse{"ChunkExtDelInQuotes", kChunkedLeak + "4;x=\"\x7f\"\r\nLEAK\r\n0\r\n\r\n"},
        BadResponse{"ChunkExtNameNotAToken", kChunkedLeak + "4;x@y\r\nLEAK\r\n0\r\n\r\n"},
        BadResponse{"ChunkSizeHexPrefix", kChunkedLeak + "0x4\r\nLEAK\r\n0\r\n\r\n"},
        BadResponse{"EmptyBodyTrailerEmptyName", kChunkedLeak + "0\r\n: LEAK\r\n\r\n"},
        BadResponse{"EmptyBodyTrailerObsFold", kChunkedLeak + "0\r\nX-T: v\r\n LEAK\r\n\r\n"}),
    [](const ::testing::TestParamInfo<BadResponse>& p) { return std::string(p.param.name); });

// A transfer coding other than "chunked" alone, in any spelling: ferry would drop the coding
// with the hop-by-hop fields and hand the client coded bytes as the content, or frame the
// body apart from a client that reads the list otherwise. nginx answers these 502 as well.
INSTANTIATE_TEST_SUITE_P(
    TransferCodings, BadResponseGrammar,
    ::testing::Values(
        BadResponse{"GzipUntilClose", "HTTP/1.1 200 OK\r\nX-A: LEAK\r\nTransfer-Encoding: gzip\r\n\r\nLEAK"},
        BadResponse{"EmptyValue", "HTTP/1.1 200 OK\r\nX-A: LEAK\r\nTransfer-Encoding: \r\n" + kLeakBody},
        BadResponse{"IdentityUntilClose", "HTTP/1.1 200 OK\r\nX-A: LEAK\r\nTransfer-Encoding: identity\r\n\r\nLEAK"},
        BadResponse{"GzipThenChunked", "HTTP/1.1 200 OK\r\nX-A: LEAK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
                                       "4\r\nLEAK\r\n0\r\n\r\n"},
        BadResponse{"ChunkedThenGzip", "HTTP/1.1 200 OK\r\nX-A: LEAK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"
                                       "4\r\nLEAK\r\n0\r\n\r\n"},
        BadResponse{"ChunkedTwice", "HTTP/1.1 200 OK\r\nX-A: LEAK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n"
                                    "4\r\nLEAK\r\n0\r\n\r\n"},
        BadResponse{"TwoLines", "HTTP/1.1 200 OK\r\nX-A: LEAK\r\nTransfer-Encoding: gzip\r\n"
                                "Transfer-Encoding: chunked\r\n\r\n4\r\nLEAK\r\n0\r\n\r\n"}),
    [](const ::testing::TestParamInfo<BadResponse>& p) { return std::string(p.param.name); });

// The valid edges of the same rules are relayed: obs-text in a value and a reason, HTAB in a
// reason, a status line without a reason, a quoted chunk extension (dropped).
TEST(BackendResponse, ValidEdgesOfTheGrammarAreRelayed) {
  FakeBackend b1("b1");
  answer_bad_with(b1, "HTTP/1.1 200\r\nX-Obs: caf\xc3\xa9\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "4;x=\"a b\x80\"\r\ngood\r\n0\r\nX-T: v\r\n\r\n");
  RunningProxy proxy(test_config({b1.address()}));
  ASSERT_TRUE(proxy.started());
  Client c(proxy.port(), 5s);
  ASSERT_TRUE(c.send(get_path("/bad")));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("X-Obs"), "caf\xc3\xa9");
  EXPECT_EQ(r->body, "good");
}

// A trailer section broken the same ways, after body bytes went out: the client is cut, never
// given a body that looks complete, and the trailer's bytes never reach it.
TEST(BackendResponse, AMalformedTrailerAfterTheBodyCutsTheClient) {
  FakeBackend b1("b1");
  answer_bad_with(b1, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nGOOD\r\n0\r\n: LEAK\r\n\r\n");
  RunningProxy proxy(test_config({b1.address()}));
  ASSERT_TRUE(proxy.started());
  const int fd = connect_to(proxy.port());
  ASSERT_TRUE(send_all(fd, get_path("/bad")));
  bool closed = false;
  const std::string got = read_until_close(fd, 5s, &closed);
  ::close(fd);
  EXPECT_TRUE(closed);
  EXPECT_EQ(got.find("LEAK"), std::string::npos) << got;
  EXPECT_EQ(got.find("0\r\n\r\n"), std::string::npos) << got;
}

// Malformed framing found after the head went out cannot become a 502: the client is cut
// (never a body that looks complete), and the next client is served on a fresh connection.
TEST(BackendResponse, BadChunkAfterTheHeadCutsTheClient) {
  FakeBackend b1("b1");
  answer_bad_with(b1, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nGOOD\r\nzz\r\nLEAK\r\n0\r\n\r\n");
  RunningProxy proxy(test_config({b1.address()}));
  ASSERT_TRUE(proxy.started());
  const int fd = connect_to(proxy.port());
  ASSERT_TRUE(send_all(fd, get_path("/bad")));
  bool closed = false;
  const std::string got = read_until_close(fd, 5s, &closed);
  ::close(fd);
  EXPECT_TRUE(closed);
  EXPECT_NE(got.find("GOOD"), std::string::npos) << got;
  EXPECT_EQ(got.find("LEAK"), std::string::npos) << got;
  EXPECT_EQ(got.find("0\r\n\r\n"), std::string::npos) << got;
  auto r = get(proxy.port(), "/ok");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "hello from b1");
}

const std::string kInjected = "HTTP/1.1 200 OK\r\nContent-Length: 8\r\nX-Backend: injected\r\n\r\ninjected";

TEST(BackendResponse, BytesPastContentLengthAreNeverRelayed) {
  FakeBackend b1("b1");
  b1.set_handler([&b1](BackendConn& c, const Request& req) {
    if (req.target == "/long") {
      c.send("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello" + kInjected);
    } else {
      c.send(FakeBackend::default_response(b1.name(), req));
    }
  });
  RunningProxy proxy(test_config({b1.address()}));
  ASSERT_TRUE(proxy.started());
  Client c(proxy.port(), 5s);
  ASSERT_TRUE(c.send(get_path("/long")));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "hello");
  ASSERT_TRUE(c.send(kGet));
  r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header("X-Backend"), "b1");
  EXPECT_EQ(r->body, "hello from b1");
  EXPECT_EQ(c.buffered().find("injected"), std::string::npos);
  EXPECT_EQ(b1.connections(), 2);  // the overlong connection was not pooled
}

TEST(BackendResponse, BytesPastContentLengthArrivingLaterDropThePooledConnection) {
  FakeBackend b1("b1");
  auto dropped = std::make_shared<std::atomic<bool>>(false);
  b1.set_handler([&b1, dropped](BackendConn& c, const Request& req) {
    if (req.target != "/late") {
      c.send(FakeBackend::default_response(b1.name(), req));
      return;
    }
    c.send("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
    std::this_thread::sleep_for(50ms);  // ferry has pooled the connection by now
    c.send(kInjected);
    // ferry must close a pooled connection that speaks out of turn.
    bool closed = false;
    read_until_close(c.fd(), 5s, &closed);
    dropped->store(closed);
  });
  RunningProxy proxy(test_config({b1.address()}));
  ASSERT_TRUE(proxy.started());
  Client c(proxy.port(), 5s);
  ASSERT_TRUE(c.send(get_path("/late")));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "hello");
  ASSERT_TRUE(eventually([&] { return dropped->load(); }));
  ASSERT_TRUE(c.send(kGet));
  r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "hello from b1");
  EXPECT_EQ(c.buffered().find("injected"), std::string::npos);
  EXPECT_EQ(b1.connections(), 2);
}

// RFC 9110 8.6: a 304 may carry the Content-Length of the representation it stands for; it has
// no body all the same. ferry must relay it at once, not wait for a body that never comes.
TEST(BackendResponse, NotModifiedWithAContentLengthIsRelayedAtOnce) {
  FakeBackend b1("b1");
  b1.set_handler([&b1](BackendConn& c, const Request& req) {
    c.send(req.target == "/cached" ? "HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\nContent-Length: 1234\r\n\r\n"
                                   : FakeBackend::default_response(b1.name(), req));
  });
  auto cfg = test_config({b1.address()});
  cfg.timeouts.backend_response = 5s;
  cfg.timeouts.shutdown_grace = 500ms;
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started());
  Client c(proxy.port(), 3s);
  ASSERT_TRUE(c.send(get_path("/cached")));
  auto r = c.read_response();
  ASSERT_TRUE(r) << "no 304 within 3s (ferry waits for a body a 304 cannot have)";
  EXPECT_EQ(r->status, 304);
  ASSERT_TRUE(c.send(kGet));
  r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "hello from b1");
}

// A 204 cannot have content (RFC 9110 15.3.5): bytes a broken backend sends after one must not
// reach the client, where they would be read as the start of the next response.
TEST(BackendResponse, BytesAfterANoContentResponseAreNeverRelayed) {
  FakeBackend b1("b1");
  b1.set_handler([&b1](BackendConn& c, const Request& req) {
    c.send(req.target == "/204" ? "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nJUNK!"
                                : FakeBackend::default_response(b1.name(), req));
  });
  RunningProxy proxy(test_config({b1.address()}));
  ASSERT_TRUE(proxy.started());
  const int fd = connect_to(proxy.port());
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(send_all(fd, get_path("/204")));
  std::string got = read_until_close(fd, 500ms);  // the 204, and whatever ferry sends after it
  ASSERT_EQ(got.rfind("HTTP/1.1 204", 0), 0u) << got;
  send_all(fd, kGet);
  bool closed = false;
  got += read_until_close(fd, 1s, &closed);
  ::close(fd);
  EXPECT_EQ(got.find("JUNK"), std::string::npos) << got;
}

// Asks for `path` through ferry, then for the next page on the same client connection: that one
// must come whole from a second backend connection (the first was not reused). Returns the
// first response.
std::optional<Response> first_then_fresh_connection(FakeBackend& b1, const std::string& path) {
  RunningProxy proxy(test_config({b1.address()}));
  if (!proxy.started()) {
    ADD_FAILURE() << "ferry did not start";
    return std::nullopt;
  }
  Client c(proxy.port(), 5s);
  EXPECT_TRUE(c.send(get_path(path)));
  auto first = c.read_response();
  if (!first) return first;
  EXPECT_TRUE(c.send(kGet));
  const auto next = c.read_response();
  EXPECT_TRUE(next && next->body == "hello from b1") << (next ? next->head + next->body : "no response");
  EXPECT_EQ(b1.connections(), 2);
  return first;
}

// A 204 that announces content: the client gets no Content-Length (RFC 9110 8.6), and the
// backend connection is not pooled. The content it must not have may come later, and the next
// request on that connection, maybe another client's, would take it for its response.
TEST(BackendResponse, NoContentThatAnnouncesABodyIsRelayedBareAndItsConnectionNotReused) {
  FakeBackend b1("b1");
  b1.set_handler([&b1](BackendConn& c, const Request& req) {
    if (req.target != "/204") {
      c.send(FakeBackend::default_response(b1.name(), req));
      return;
    }
    c.send("HTTP/1.1 204 No Content\r\nContent-Length: 4\r\n\r\n");
    std::this_thread::sleep_for(300ms);  // the client's next request is at ferry by now
    c.send("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nEVIL");
  });
  const auto first = first_then_fresh_connection(b1, "/204");
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 204);
  EXPECT_EQ(first->head.find("Content-Length"), std::string::npos) << first->head;
}

// RFC 9112 6.1: Transfer-Encoding in an HTTP/1.0 message means its framing may be faulty, so
// the backend connection closes after it.
TEST(BackendResponse, Http10ResponseWithTransferEncodingIsNotReused) {
  FakeBackend b1("b1");
  b1.set_handler([&b1](BackendConn& c, const Request& req) {
    c.send(req.target == "/ten" ? "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n"
                                  "5\r\nhello\r\n0\r\n\r\n"
                                : FakeBackend::default_response(b1.name(), req));
  });
  const auto first = first_then_fresh_connection(b1, "/ten");
  ASSERT_TRUE(first);
  EXPECT_EQ(first->body, "hello");
}

// 1xx responses have no content either; a Content-Length on one must not make ferry relay
// bytes between the interim and the final response.
TEST(BackendResponse, InterimResponseNeverCarriesABody) {
  FakeBackend b1("b1");
  b1.set_handler([](BackendConn& c, const Request&) {
    c.send("HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\nContent-Length: 4\r\n\r\nJUNK"
           "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  });
  RunningProxy proxy(test_config({b1.address()}));
  ASSERT_TRUE(proxy.started());
  const int fd = connect_to(proxy.port());
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(send_all(fd, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  const std::string got = read_until_close(fd, 3s);
  ::close(fd);
  EXPECT_EQ(got.find("JUNK"), std::string::npos) << got;
}

// A 101 without "Connection: upgrade" is no upgrade to llhttp. ferry must then either refuse it
// (502) or really switch to a tunnel: never tell the client the protocol switched while it
// goes on reading HTTP.
TEST(BackendResponse, SwitchingProtocolsIsNeverHalfAnUpgrade) {
  FakeBackend b1("b1");
  b1.set_handler([](BackendConn& c, const Request&) {
    c.send("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n");
    char buf[256];
    for (int i = 0; i < 50; ++i) {  // echo what the tunnel carries
      pollfd p{c.fd(), POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      const ssize_t n = ::recv(c.fd(), buf, sizeof buf, 0);
      if (n <= 0) return;
      c.send(std::string(buf, static_cast<std::size_t>(n)));
    }
  });
  RunningProxy proxy(test_config({b1.address()}));
  ASSERT_TRUE(proxy.started());
  Client c(proxy.port(), 3s);
  ASSERT_TRUE(c.send("GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"));
  const std::string head = c.read_until("\r\n\r\n");
  ASSERT_FALSE(head.empty());
  if (head.rfind("HTTP/1.1 101", 0) != 0) {
    EXPECT_EQ(head.rfind("HTTP/1.1 502", 0), 0u) << head;
    return;
  }
  ASSERT_TRUE(c.send("ping"));
  EXPECT_EQ(c.read_until("ping"), "ping") << "ferry answered 101 but does not tunnel";
}

// A 101 with two Upgrade headers (found by fuzzing, the last one empty): ferry relays one, and
// the client would not see the switch ferry made. Refused, like two Upgrades on a request.
TEST(BackendResponse, SwitchingProtocolsWithTwoUpgradeHeadersIs502) {
  FakeBackend b1("b1");
  b1.set_handler([](BackendConn& c, const Request&) {
    c.send("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
           "Upgrade:\r\n\r\nframes");
  });
  auto cfg = test_config({b1.address()});
  cfg.retries = 0;
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started());
  Client c(proxy.port(), 3s);
  ASSERT_TRUE(c.send("GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 502);
  EXPECT_EQ(r->body.find("frames"), std::string::npos);
}

// After a 101 every byte is tunnel data, passed on as it is: framing headers on the 101 (which
// cannot have content) must not make ferry parse the tunnel as a chunked body.
TEST(BackendResponse, SwitchingProtocolsTunnelIsByteExactWhateverItsHeadSays) {
  FakeBackend b1("b1");
  b1.set_handler([](BackendConn& c, const Request&) {
    c.send("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
           "Transfer-Encoding: chunked\r\n\r\nframes-from-the-backend");
    pollfd p{c.fd(), POLLIN, 0};
    ::poll(&p, 1, 3000);  // hold the tunnel open until the client goes
  });
  auto cfg = test_config({b1.address()});
  cfg.timeouts.shutdown_grace = 500ms;
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started());
  Client c(proxy.port(), 3s);
  ASSERT_TRUE(c.send("GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"));
  const std::string head = c.read_until("\r\n\r\n");
  ASSERT_FALSE(head.empty()) << "no 101: ferry parsed the tunnel bytes as chunks and gave up";
  ASSERT_EQ(head.rfind("HTTP/1.1 101", 0), 0u) << head;
  EXPECT_EQ(c.read_until("frames-from-the-backend"), "frames-from-the-backend") << c.buffered();
}

TEST(BackendDeath, ResetMidChunkedResponseCutsTheClientCleanly) {
  FakeBackend b1("b1");
  b1.set_handler([](BackendConn& c, const Request&) {
    c.send("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
    std::this_thread::sleep_for(20ms);
    c.reset_now();
  });
  RunningProxy proxy(test_config({b1.address()}));
  ASSERT_TRUE(proxy.started());
  const int fd = connect_to(proxy.port());
  ASSERT_TRUE(send_all(fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  bool closed = false;
  const std::string got = read_until_close(fd, 5s, &closed);
  ::close(fd);
  EXPECT_TRUE(closed) << "no close within 5s";
  EXPECT_NE(got.find("hello"), std::string::npos);
  EXPECT_EQ(got.find("0\r\n\r\n"), std::string::npos) << "a cut body must not look complete";
  EXPECT_EQ(got.find("HTTP/1.1 5"), std::string::npos) << "no error response on top of a started one";
}

TEST(BackendDeath, PipelinedRequestAfterACutResponseIsNeverAnsweredOnThatConnection) {
  FakeBackend b1("b1");
  b1.set_handler([&b1](BackendConn& c, const Request& req) {
    if (req.target == "/die") {
      c.send("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b");
      std::this_thread::sleep_for(20ms);
      c.reset_now();
      return;
    }
    c.send(FakeBackend::default_response(b1.name(), req));
  });
  RunningProxy proxy(test_config({b1.address()}));
  ASSERT_TRUE(proxy.started());
  const int fd = connect_to(proxy.port());
  ASSERT_TRUE(send_all(fd, get_path("/die") + get_path("/second")));
  bool closed = false;
  const std::string got = read_until_close(fd, 5s, &closed);
  ::close(fd);
  EXPECT_TRUE(closed);
  EXPECT_EQ(got.find("HTTP/1.1"), got.rfind("HTTP/1.1")) << "more than one response: " << got;
  EXPECT_NE(got.find("only ten b"), std::string::npos);
}

TEST(BackendDeath, BackendKilledWithRequestsInFlightLosesNoIdempotentRequest) {
  FakeBackend dying("dying"), good("good");
  std::atomic<int> held{0};
  dying.set_handler([&held](BackendConn& c, const Request&) {
    ++held;
    pollfd p{c.fd(), POLLIN, 0};
    ::poll(&p, 1, 10000);  // until the backend is killed
  });
  auto cfg = test_config({dying.address(), good.address()});
  cfg.workers = 2;
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started());
  constexpr int kClients = 16;
  std::vector<std::thread> clients;
  std::atomic<int> ok{0}, answered{0};
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&] {
      auto r = get(proxy.port(), "/");
      if (r) ++answered;
      if (r && r->status == 200 && r->header("X-Backend") == "good") ++ok;
    });
  }
  ASSERT_TRUE(eventually([&] { return held.load() >= 1 && held.load() + good.requests() >= kClients; }))
      << held.load() << " held, " << good.requests() << " served";
  dying.stop();  // every held connection dies before a response byte
  for (auto& t : clients) t.join();
  EXPECT_EQ(answered.load(), kClients);
  EXPECT_EQ(ok.load(), kClients);  // each GET went again, to the good backend
}

// A client that vanishes in the middle of a streamed chunked body: the backend connection,
// which holds half a request, is closed (not pooled, not left waiting).
TEST(ClientDeath, TruncatedStreamedChunkedBodyClosesTheBackendConnection) {
  FakeBackend b1("b1");
  b1.set_respond_before_body(true);
  auto closed = std::make_shared<std::atomic<bool>>(false);
  b1.set_handler([closed](BackendConn& c, const Request& req) {
    if (req.target != "/upload") {
      c.send("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
      return;
    }
    bool eof = false;
    read_until_close(c.fd(), 5s, &eof);  // the rest of the partial body, then ferry's close
    closed->store(eof);
  });
  auto cfg = test_config({b1.address()});
  cfg.buffers.request = 1024;  // so the body streams
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started());
  {
    const int fd = connect_to(proxy.port());
    ASSERT_TRUE(send_all(fd, "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n4000\r\n" +
                                 std::string(8000, 'z')));
    ASSERT_TRUE(eventually([&] { return b1.requests() == 1; }));
    ::close(fd);
  }
  ASSERT_TRUE(eventually([&] { return closed->load(); })) << "the backend still holds half a request";
  auto r = get(proxy.port(), "/next");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "ok");
  EXPECT_EQ(b1.connections(), 2);
}

// Half a small body and then the client half-closes: nothing reaches a backend.
TEST(ClientDeath, TruncatedSmallChunkedBodyIsNeverForwarded) {
  FakeBackend b1("b1");
  RunningProxy proxy(test_config({b1.address()}));
  ASSERT_TRUE(proxy.started());
  const int fd = connect_to(proxy.port());
  ASSERT_TRUE(send_all(fd, "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel"));
  ::shutdown(fd, SHUT_WR);
  bool closed = false;
  const std::string got = read_until_close(fd, 5s, &closed);
  ::close(fd);
  EXPECT_TRUE(closed);
  EXPECT_TRUE(got.empty() || got.rfind("HTTP/1.1 400", 0) == 0) << got;
  EXPECT_EQ(b1.connections(), 0);
}

}  // namespace
}  // namespace ferry::testing
