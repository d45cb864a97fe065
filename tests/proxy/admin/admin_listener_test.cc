// The admin listener on its own, over a real socket on 127.0.0.1: what reaches the handler and
// what goes back, without a whole Server around it.
#include "proxy/admin/admin_listener.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <chrono>
#include <mutex>
#include <thread>
#include <string>
#include <vector>

#include "support/client.h"

namespace ferry::proxy {
namespace {

using ferry::testing::Client;

sockaddr_storage loopback_port_zero() {
  sockaddr_storage ss{};
  auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
  sin->sin_family = AF_INET;
  sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sin->sin_port = 0;
  return ss;
}

// An AdminServer whose handler answers /metrics with a fixed body and records every path.
class AdminListenerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    ASSERT_TRUE(server_.start(loopback_port_zero(), -1, &error)) << error;
    ASSERT_NE(server_.port(), 0);
  }
  void TearDown() override { server_.stop(); }

  std::vector<std::string> paths() {
    std::lock_guard lock(mutex_);
    return paths_;
  }
  std::vector<std::string> seen() {
    std::lock_guard lock(mutex_);
    return seen_;
  }

  std::optional<ferry::testing::Response> request(const std::string& bytes, bool head = false) {
    Client c(server_.port());
    if (!c.connected() || !c.send(bytes)) return std::nullopt;
    return c.read_response(head);
  }

  std::mutex mutex_;
  std::vector<std::string> paths_;
  std::vector<std::string> seen_;  // "METHOD PATH AUTHORIZATION"
  AdminServer server_{[this](const AdminRequest& request, AdminResponse* r) {
    const std::string_view path = request.path;
    {
      std::lock_guard lock(mutex_);
      paths_.emplace_back(path);
      seen_.push_back(std::string(request.method) + " " + std::string(path) + " " + std::string(request.authorization));
    }
    if (path == "/metrics") {
      r->body = "ferry_up 1\n";
    } else {
      r->status = 404;
      r->body = "not found\n";
    }
  }};
};

TEST_F(AdminListenerTest, GivesTheHandlerThePathWithoutTheQueryString) {
  // Prometheus scrape configs add parameters (?name[]=...); the path alone picks the page.
  auto r = request("GET /metrics?name%5B%5D=ferry_up&x=1 HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "ferry_up 1\n");
  EXPECT_EQ(paths(), std::vector<std::string>{"/metrics"});
}

TEST_F(AdminListenerTest, AnswersHeadWithTheLengthButNoBody) {
  auto r = request("HEAD /metrics HTTP/1.1\r\nHost: a\r\n\r\n", true);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("Content-Length"), "11");
  EXPECT_EQ(r->body, "");
}

TEST_F(AdminListenerTest, RefusesOtherMethodsWithoutCallingTheHandler) {
  auto r = request("DELETE /metrics HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 405);
  EXPECT_TRUE(paths().empty());
}

TEST_F(AdminListenerTest, GivesPostsTheirAuthorizationOnceTheBodyIsIn) {
  // The answer waits for the whole body, so closing after it never resets a client still sending.
  Client c(server_.port());
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.send("POST /pools/a/backends/b/drain HTTP/1.1\r\nHost: a\r\nauthorization:  Bearer  abc \r\n"
                     "Content-Length: 5\r\n\r\nhel"));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_TRUE(seen().empty());
  ASSERT_TRUE(c.send("lo"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(seen(), std::vector<std::string>{"POST /pools/a/backends/b/drain Bearer  abc"});
}

TEST_F(AdminListenerTest, RefusesLargeAndChunkedBodies) {
  auto big = request("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 999999\r\n\r\n");
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 413);
  auto chunked = request("POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
  ASSERT_TRUE(chunked);
  EXPECT_EQ(chunked->status, 413);
  auto bad = request("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 1x\r\n\r\n");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_TRUE(paths().empty());
}

TEST_F(AdminListenerTest, PassesTheHandlersStatusAndClosesTheConnection) {
  Client c(server_.port());
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.send("GET /nope HTTP/1.1\r\nHost: a\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->header("Connection"), "close");
  EXPECT_TRUE(c.closed_by_peer());
}

}  // namespace
}  // namespace ferry::proxy
