// Large response bodies spliced from the backend's socket to the client's (splice_pipe.h):
// the bytes arrive whole and in order, the connections on both sides go on as after any
// response, and the ordinary path takes over where splicing cannot (a client that reads
// slowly, a backend that hangs up mid-body, HEAD). ferry in-process (one worker) in front of a
// fake backend, driven by a raw client.
#include "proxy/core/splice_pipe.h"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "support/client.h"
#include "support/fake_backend.h"
#include "support/proxy_fixture.h"

namespace ferry::testing {
namespace {

using namespace std::chrono_literals;

// Bytes no shift or repeat of a block reproduces: a misplaced or doubled piece shows.
std::string pattern(std::size_t n) { return FakeBackend::pattern(n); }

// Pipes this process holds open (ferry runs in it): the worker opens its splice pipe on the
// first body it splices.
int open_pipes() {
  int n = 0;
  DIR* d = ::opendir("/proc/self/fd");
  if (d == nullptr) return -1;
  while (dirent* e = ::readdir(d)) {
    char target[64] = {};
    const std::string path = std::string("/proc/self/fd/") + e->d_name;
    const ssize_t len = ::readlink(path.c_str(), target, sizeof target - 1);
    if (len > 0 && std::string(target, static_cast<std::size_t>(len)).rfind("pipe:", 0) == 0) ++n;
  }
  ::closedir(d);
  return n;
}

// A backend whose /big is `big` with a Content-Length, and anything else a short body.
void serve_big(FakeBackend& b, const std::string& big) {
  b.set_handler([&big](BackendConn& conn, const Request& req) {
    if (req.target == "/big") {
      if (conn.send("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(big.size()) + "\r\n\r\n")) conn.send(big);
    } else {
      conn.send("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nsmall");
    }
  });
}

TEST(SplicedBody, ALargeBodyArrivesWholeAndBothConnectionsGoOn) {
  const std::string big = pattern(3 * 1024 * 1024 + 4321);
  FakeBackend b("b");
  serve_big(b, big);
  RunningProxy proxy(test_config({b.address()}));
  ASSERT_TRUE(proxy.started()) << proxy.error();
  Client c(proxy.port(), 20s);
  ASSERT_TRUE(c.send("GET /small HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(c.read_response());
  const int pipes_before = open_pipes();
  for (const char* path : {"/big", "/small", "/big"}) {
    ASSERT_TRUE(c.send(std::string("GET ") + path + " HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto r = c.read_response();
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 200) << path;
    if (std::string(path) == "/big") {
      ASSERT_EQ(r->body.size(), big.size());
      EXPECT_TRUE(r->body == big) << "the spliced body differs from what the backend sent";
    } else {
      EXPECT_EQ(r->body, "small");
    }
  }
  EXPECT_EQ(b.requests(), 4);
  EXPECT_EQ(b.connections(), 1) << "the backend connection was not pooled after a spliced response";
  EXPECT_EQ(open_pipes(), pipes_before + 2) << "the body did not go by splice (no pipe was opened)";
}

TEST(SplicedBody, AfterASplicedBodyResponsesOfEveryShapeStillArriveWhole) {
  // After a spliced body the backend connection's next first read takes only about a head
  // (UpstreamConn::kHeadReadBytes): a mid-size body then takes a second read, a head longer
  // than that read takes several, a chunked body goes the ordinary way. Each arrives whole, on
  // the one pooled backend connection.
  const std::string big = pattern(200 * 1024);
  const std::string pad(6000, 'p');
  FakeBackend b("b");
  b.set_handler([&big, &pad](BackendConn& conn, const Request& req) {
    const auto plain = [&conn](const std::string& extra, const std::string& body) {
      conn.send("HTTP/1.1 200 OK\r\n" + extra + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
                body);
    };
    if (req.target == "/big") {
      plain("", big);
    } else if (req.target == "/long-head") {
      plain("X-Pad: " + pad + "\r\n", pattern(40 * 1024));
    } else {
      conn.send(FakeBackend::default_response("b", req));  // /size/N, /chunked/N, the rest
    }
  });
  RunningProxy proxy(test_config({b.address()}));
  ASSERT_TRUE(proxy.started()) << proxy.error();
  Client c(proxy.port(), 20s);
  const std::vector<std::pair<std::string, std::string>> steps = {
      {"/big", big},   {"/size/10240", pattern(10240)},      {"/big", big},
      {"/long-head", pattern(40 * 1024)}, {"/big", big},   {"/chunked/30720", pattern(30 * 1024)},
      {"/big", big},   {"/small", "hello from b"},           {"/size/20000", pattern(20000)},
      {"/big", big},   {"/size/3000", pattern(3000)}};
  for (const auto& [path, want] : steps) {
    ASSERT_TRUE(c.send("GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto r = c.read_response();
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 200) << path;
    ASSERT_EQ(r->body.size(), want.size()) << path;
    EXPECT_TRUE(r->body == want) << path << ": the body differs from what the backend sent";
    if (path == "/long-head") {
      EXPECT_EQ(r->header("X-Pad"), pad);
    }
  }
  EXPECT_EQ(b.requests(), static_cast<int>(steps.size()));
  EXPECT_EQ(b.connections(), 1) << "the backend connection was not reused throughout";
}

TEST(SplicedBody, AClientThatReadsSlowlyGetsEveryByteInOrder) {
  // The client's socket fills long before the body ends: what a splice could not put in it
  // goes the ordinary way, under buffers.response, and so does the rest of the body.
  const std::string big = pattern(8 * 1024 * 1024);
  FakeBackend b("b");
  serve_big(b, big);
  config::Config cfg = test_config({b.address()});
  cfg.buffers.response = 64 * 1024;
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started()) << proxy.error();
  Client c(proxy.port(), 30s);
  ASSERT_TRUE(c.send("GET /big HTTP/1.1\r\nHost: x\r\n\r\nGET /small HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::this_thread::sleep_for(500ms);  // reads nothing for a while
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  ASSERT_EQ(r->body.size(), big.size());
  EXPECT_TRUE(r->body == big) << "bytes were lost, doubled or reordered between splice and queue";
  auto next = c.read_response();
  ASSERT_TRUE(next);
  EXPECT_EQ(next->body, "small");
}

TEST(SplicedBody, ABackendThatHangsUpMidBodyEndsTheClientConnection) {
  // A body cut short must not look complete: the client gets what there was, then the close.
  const std::string part = pattern(512 * 1024);
  FakeBackend b("b");
  b.set_handler([&part](BackendConn& conn, const Request& req) {
    if (req.target != "/big") {
      conn.send("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nsmall");
      return;
    }
    if (conn.send("HTTP/1.1 200 OK\r\nContent-Length: 2097152\r\n\r\n")) conn.send(part);
    conn.close_now();
  });
  RunningProxy proxy(test_config({b.address()}));
  ASSERT_TRUE(proxy.started()) << proxy.error();
  Client c(proxy.port(), 10s);
  ASSERT_TRUE(c.send("GET /big HTTP/1.1\r\nHost: x\r\n\r\n"));
  const std::string got = c.read_all();
  const std::size_t body_at = got.find("\r\n\r\n");
  ASSERT_NE(body_at, std::string::npos);
  EXPECT_EQ(got.substr(body_at + 4), part) << "the client must get exactly what the backend sent, then EOF";
  // ferry goes on serving.
  auto r = get(proxy.port(), "/small");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST(SplicedBody, AHeadResponseWithALargeLengthHasNoBody) {
  FakeBackend b("b");
  b.set_handler([](BackendConn& conn, const Request& req) {
    if (req.method == "HEAD") {
      conn.send("HTTP/1.1 200 OK\r\nContent-Length: 1048576\r\n\r\n");
    } else {
      conn.send("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nsmall");
    }
  });
  RunningProxy proxy(test_config({b.address()}));
  ASSERT_TRUE(proxy.started()) << proxy.error();
  Client c(proxy.port());
  ASSERT_TRUE(c.send("HEAD /big HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto head = c.read_response(true);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->header("Content-Length"), "1048576");
  ASSERT_TRUE(c.send("GET /small HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "small");
  EXPECT_EQ(b.connections(), 1);
}

// The pipe on its own, between socket pairs.
TEST(SplicePipe, MovesBytesAndGivesBackWhatAFullSocketDidNotTake) {
  int from[2], to[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, from), 0);
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, to), 0);
  proxy::SplicePipe pipe;
  ASSERT_TRUE(pipe.ready());
  EXPECT_EQ(pipe.fill(from[1], 1024), -EAGAIN) << "nothing to read yet";
  const std::string data = pattern(40 * 1024);

  // A socket with room takes it all.
  ASSERT_EQ(::write(from[0], data.data(), data.size()), static_cast<ssize_t>(data.size()));
  ssize_t in = 0;
  while (in < static_cast<ssize_t>(data.size())) {
    const ssize_t n = pipe.fill(from[1], data.size() - static_cast<std::size_t>(in));
    ASSERT_GT(n, 0);
    EXPECT_EQ(pipe.drain_to(to[0]), n);
    in += n;
  }
  EXPECT_EQ(pipe.held(), 0u);
  std::string arrived(data.size(), '\0');
  ASSERT_EQ(::read(to[1], arrived.data(), arrived.size()), static_cast<ssize_t>(data.size()));
  EXPECT_TRUE(arrived == data);

  // A full one takes nothing: the pipe gives the bytes back, in order, and is empty after.
  const std::string junk(4096, 'j');
  while (::write(to[0], junk.data(), junk.size()) > 0) {
  }
  ASSERT_EQ(::write(from[0], data.data(), data.size()), static_cast<ssize_t>(data.size()));
  const ssize_t held = pipe.fill(from[1], data.size());
  ASSERT_GT(held, 0);
  EXPECT_EQ(pipe.drain_to(to[0]), 0);
  std::string rest(static_cast<std::size_t>(held), '\0');
  EXPECT_EQ(pipe.read_rest(rest.data(), rest.size()), rest.size());
  EXPECT_EQ(pipe.held(), 0u);
  EXPECT_TRUE(rest == data.substr(0, rest.size()));

  ::close(from[0]);
  while (pipe.fill(from[1], data.size()) > 0) pipe.read_rest(rest.data(), rest.size());
  EXPECT_EQ(pipe.fill(from[1], 1024), 0) << "the socket's end";
  ::close(from[1]);
  ::close(to[0]);
  ::close(to[1]);
}

}  // namespace
}  // namespace ferry::testing
