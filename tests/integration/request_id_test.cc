// X-Request-Id end to end: made when the client sent none (or one ferry will not keep), kept
// when it did, sent to the backend and returned to the client exactly once, on ferry's own
// answers too, and written in the access log. W3C traceparent passes untouched.
#include <gtest/gtest.h>

#include <string>

#include "support/child_process.h"
#include "support/client.h"
#include "support/fake_backend.h"
#include "support/proxy_fixture.h"
#include "support/temp_dir.h"
#include "support/wait.h"

namespace ferry::testing {
namespace {

bool is_made_id(const std::string& id) {
  if (id.size() != 32) return false;
  for (const char c : id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::optional<Response> send_one(uint16_t port, const std::string& extra_headers) {
  Client c(port);
  if (!c.send("GET /r HTTP/1.1\r\nHost: x\r\n" + extra_headers + "\r\n")) return std::nullopt;
  return c.read_response();
}

TEST(RequestId, MadeWhenAbsentSentToTheBackendAndReturnedToTheClient) {
  FakeBackend b("b");
  RunningProxy proxy(test_config({b.address()}));
  ASSERT_TRUE(proxy.started()) << proxy.error();
  const auto first = send_one(proxy.port(), "");
  const auto second = send_one(proxy.port(), "");
  ASSERT_TRUE(first && second);
  const std::string id = first->header("X-Request-Id");
  EXPECT_TRUE(is_made_id(id)) << id;
  EXPECT_EQ(first->count("X-Request-Id"), 1);
  EXPECT_NE(second->header("X-Request-Id"), id);
  const auto seen = b.requests_seen();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].header("X-Request-Id"), id);
  EXPECT_EQ(seen[0].count("X-Request-Id"), 1);
  EXPECT_EQ(seen[1].header("X-Request-Id"), second->header("X-Request-Id"));
}

TEST(RequestId, TheClientsOwnIdIsKeptAndSentOnce) {
  FakeBackend b("b");
  RunningProxy proxy(test_config({b.address()}));
  ASSERT_TRUE(proxy.started()) << proxy.error();
  const auto r = send_one(proxy.port(), "X-Request-Id: abc-123\r\nX-Request-Id: second\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header("X-Request-Id"), "abc-123");
  EXPECT_EQ(r->count("X-Request-Id"), 1);
  ASSERT_EQ(b.requests_seen().size(), 1u);
  EXPECT_EQ(b.requests_seen()[0].header("X-Request-Id"), "abc-123");
  EXPECT_EQ(b.requests_seen()[0].count("X-Request-Id"), 1);
}

TEST(RequestId, AnIdFerryWillNotKeepIsReplaced) {
  FakeBackend b("b");
  RunningProxy proxy(test_config({b.address()}));
  ASSERT_TRUE(proxy.started()) << proxy.error();
  for (const std::string& bad : {std::string("two words"), std::string(201, 'a'), std::string("q\"uote")}) {
    const auto r = send_one(proxy.port(), "X-Request-Id: " + bad + "\r\n");
    ASSERT_TRUE(r) << bad;
    EXPECT_TRUE(is_made_id(r->header("X-Request-Id"))) << bad << " -> " << r->header("X-Request-Id");
    EXPECT_EQ(b.requests_seen().back().header("X-Request-Id"), r->header("X-Request-Id"));
    EXPECT_EQ(b.requests_seen().back().count("X-Request-Id"), 1);
  }
}

TEST(RequestId, ABackendThatEchoesTheIdDoesNotDoubleIt) {
  FakeBackend b("b");
  b.set_handler([](BackendConn& conn, const Request& req) {
    conn.send("HTTP/1.1 200 OK\r\nX-Request-Id: " + req.header("X-Request-Id") +
              "\r\nX-Request-Id: backend-own\r\nContent-Length: 2\r\n\r\nok");
  });
  RunningProxy proxy(test_config({b.address()}));
  ASSERT_TRUE(proxy.started()) << proxy.error();
  const auto r = send_one(proxy.port(), "X-Request-Id: abc\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->count("X-Request-Id"), 1);
  EXPECT_EQ(r->header("X-Request-Id"), "abc");
}

TEST(RequestId, FerrysOwnAnswersCarryItToo) {
  RunningProxy proxy(test_config({"127.0.0.1:1"}));  // nothing listens: 502
  ASSERT_TRUE(proxy.started()) << proxy.error();
  const auto bad_gateway = send_one(proxy.port(), "X-Request-Id: trace-502\r\n");
  ASSERT_TRUE(bad_gateway);
  EXPECT_EQ(bad_gateway->status, 502);
  EXPECT_EQ(bad_gateway->header("X-Request-Id"), "trace-502");
  Client c(proxy.port());
  ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"));  // two Hosts: 400
  const auto bad_request = c.read_response();
  ASSERT_TRUE(bad_request);
  EXPECT_EQ(bad_request->status, 400);
  EXPECT_TRUE(is_made_id(bad_request->header("X-Request-Id"))) << bad_request->head;
}

TEST(RequestId, TraceparentPassesUntouched) {
  FakeBackend b("b");
  RunningProxy proxy(test_config({b.address()}));
  ASSERT_TRUE(proxy.started()) << proxy.error();
  const std::string traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  ASSERT_TRUE(send_one(proxy.port(), "traceparent: " + traceparent + "\r\ntracestate: a=1\r\n"));
  ASSERT_EQ(b.requests_seen().size(), 1u);
  EXPECT_EQ(b.requests_seen()[0].header("traceparent"), traceparent);
  EXPECT_EQ(b.requests_seen()[0].header("tracestate"), "a=1");
}

TEST(RequestId, TheAccessLogCarriesTheIdThenRouteAndPool) {
  FakeBackend b("b");
  const TempDir dir("ferry-request-id");
  ASSERT_FALSE(dir.path().empty());
  config::Config cfg = test_config({b.address()});
  cfg.access_log = dir.path() + "/access.log";
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started()) << proxy.error();
  const auto r = send_one(proxy.port(), "");
  ASSERT_TRUE(r);
  const std::string id = r->header("X-Request-Id");
  ASSERT_TRUE(is_made_id(id));
  ASSERT_TRUE(eventually([&] { return file_contents(cfg.access_log).find("\n") != std::string::npos; }));
  const std::string line = file_contents(cfg.access_log);
  EXPECT_NE(line.find("\"GET /r\" 200 "), std::string::npos) << line;
  const std::string tail = " " + id + " default default HTTP/1.1\n";  // the implicit route and pool, the protocol
  EXPECT_EQ(line.substr(line.size() - tail.size()), tail) << line;
}

}  // namespace
}  // namespace ferry::testing
