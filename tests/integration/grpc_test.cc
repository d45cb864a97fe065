// gRPC through ferry: a real gRPC server (python3-grpcio, tests/integration/grpc_peer.py) behind
// a pool with `protocol: h2c`, and a real gRPC client in front of an h2 listener. Unary and
// server-streaming calls pass with their trailers (grpc-status), the server's own error status
// arrives as sent, and the errors ferry answers itself are gRPC errors.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "config/load.h"
#include "support/child_process.h"
#include "support/ports.h"
#include "support/proxy_fixture.h"
#include "support/wait.h"

namespace ferry::testing {
namespace {

using namespace std::chrono_literals;

const std::string kPeer = std::string(FERRY_SOURCE_DIR) + "/tests/integration/grpc_peer.py";

std::string call(uint16_t port, const std::string& method, const std::string& payload) {
  const CommandResult r = run_command({"/usr/bin/python3", kPeer, "call", std::to_string(port), method, payload}, 30s);
  return r.out + r.err;
}

// ferry in-process: an h2 listener in front of one h2c pool.
config::Config grpc_config(uint16_t backend_port, const std::string& extra = "") {
  const config::LoadResult r = config::load_text(
      "workers: 1\nadmin: \"off\"\nlisteners:\n  - address: \"127.0.0.1:0\"\n    protocols: [h2, http/1.1]\n"
      "pools:\n  default:\n    backends: [\"127.0.0.1:" +
          std::to_string(backend_port) + "\"]\n    protocol: h2c\n" + extra,
      "grpc.yaml");
  EXPECT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors.front().message);
  return r.config;
}

class Grpc : public ::testing::Test {
 protected:
  void SetUp() override {
    port_ = free_port();
    server_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{"/usr/bin/python3", kPeer, "serve", std::to_string(port_)}, "", "");
    ASSERT_TRUE(eventually([&] { return call(port_, "Say", "up").rfind("ok echo:up", 0) == 0; }, 15s));
  }
  uint16_t port_ = 0;
  std::unique_ptr<ChildProcess> server_;
};

TEST_F(Grpc, UnaryAndStreamingCallsPassWithTheirStatus) {
  RunningProxy proxy(grpc_config(port_));
  ASSERT_TRUE(proxy.started()) << proxy.error();
  EXPECT_EQ(call(proxy.port(), "Say", "hello"), "ok echo:hello\n");
  EXPECT_EQ(call(proxy.port(), "Count", "n"), "ok n-1\nok n-2\nok n-3\n");
  // The server's own error travels in its trailers: NOT_FOUND (5) with its message.
  EXPECT_EQ(call(proxy.port(), "Fail", "x"), "status 5 nope: x\n");
  // Many calls reuse the pooled h2c connection, one stream after another.
  for (int i = 0; i < 5; ++i) EXPECT_EQ(call(proxy.port(), "Say", std::to_string(i)), "ok echo:" + std::to_string(i) + "\n");
}

TEST_F(Grpc, FerrysOwnErrorsAreGrpcErrors) {
  RunningProxy proxy(grpc_config(port_, "routes:\n  - match: {path: \"/test.Echo/Say\"}\n    forward: default\n"
                                        "    rate_limit: {rate: 1, burst: 1}\n  - match: {path: \"/test.Echo/Count\"}\n"
                                        "    forward: default\n"));
  ASSERT_TRUE(proxy.started()) << proxy.error();
  EXPECT_EQ(call(proxy.port(), "Fail", "x"), "status 12 ferry: no route\n");  // UNIMPLEMENTED
  EXPECT_EQ(call(proxy.port(), "Say", "a"), "ok echo:a\n");
  EXPECT_EQ(call(proxy.port(), "Say", "b"), "status 8 ferry: rate limited\n");  // RESOURCE_EXHAUSTED
  server_.reset();  // the backend is gone: UNAVAILABLE
  EXPECT_EQ(call(proxy.port(), "Count", "c"), "status 14 ferry: backend unavailable\n");
}

}  // namespace
}  // namespace ferry::testing
