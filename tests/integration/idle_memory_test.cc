// Heap a plain HTTP/1 keep-alive connection holds while it idles between requests: what 10,000
// idle clients cost a ferry. Measured with the allocator's own accounting (support/heap_in_use.h),
// over real sockets, with nothing else allocating meanwhile:
// the answers come from a `respond` route, so no backend and no test helper keeps records.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string_view>
#include <thread>
#include <vector>

#include "support/heap_in_use.h"
#include "support/proxy_fixture.h"

namespace ferry::testing {
namespace {

// A connection that made one request, read the whole answer and now idles; -1 on failure.
// Raw, not support/client.h's Client: that one keeps a heap buffer, which would be counted.
int idle_client(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  constexpr std::string_view kRequest = "GET / HTTP/1.1\r\nHost: idle.test\r\n\r\n";
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::send(fd, kRequest.data(), kRequest.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(kRequest.size())) {
    ::close(fd);
    return -1;
  }
  char buf[1024];
  std::size_t got = 0;
  while (got < sizeof buf) {  // until the body, "idle", has come
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 5000) <= 0) break;
    const ssize_t n = ::recv(fd, buf + got, sizeof buf - got, 0);
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
    if (std::string_view(buf, got).find("\r\n\r\nidle") != std::string_view::npos) return fd;
  }
  ::close(fd);
  return -1;
}

TEST(IdleMemory, APlainKeepAliveConnectionHoldsLittleMoreThanItsSocketHandle) {
  ASSERT_TRUE(heap_in_use_sees_allocations()) << "this allocator does not report what it holds";
  // Two descriptors per connection in this process (the client's and ferry's).
  rlimit files{};
  ::getrlimit(RLIMIT_NOFILE, &files);
  files.rlim_cur = std::min<rlim_t>(files.rlim_max, 4096);
  ::setrlimit(RLIMIT_NOFILE, &files);
  const int connections = static_cast<int>(std::min<rlim_t>(1000, (files.rlim_cur - 200) / 2));
  ASSERT_GE(connections, 200) << "too few file descriptors";

  config::Config cfg = test_config({});
  config::RouteConfig idle;
  idle.name = "idle";
  idle.action = config::RouteAction::Respond;
  idle.status = 200;
  idle.body = "idle";
  cfg.routes = {idle};
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started()) << proxy.error();

  std::vector<int> fds;
  fds.reserve(static_cast<std::size_t>(connections));
  const auto open_all = [&] {
    for (int i = 0; i < connections; ++i) fds.push_back(idle_client(proxy.port()));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the last exchange goes back
  };
  const auto close_all = [&] {
    const auto opened = std::count_if(fds.begin(), fds.end(), [](int fd) { return fd >= 0; });
    for (const int fd : fds)
      if (fd >= 0) ::close(fd);
    fds.clear();
    return static_cast<int>(opened);
  };
  // A first round takes the worker's one-off growth out of the count: its pools, and libuv's
  // descriptor table, which doubles as descriptor numbers grow. Once these close, the second
  // round reuses the same numbers.
  open_all();
  ASSERT_EQ(close_all(), connections);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // ferry closes its ends
  const std::size_t before = heap_in_use();
  open_all();
  const std::size_t after = heap_in_use();
  ASSERT_EQ(close_all(), connections);

  const std::size_t per_connection = (after - before) / static_cast<std::size_t>(connections);
  std::printf("[ memory   ] idle plain HTTP/1 connection: %zu bytes of heap each (%d connections)\n",
              per_connection, connections);
  ::testing::Test::RecordProperty("idle_plain_bytes", static_cast<int>(per_connection));
  // The connection object: 296 bytes, 248 of them libuv's TCP handle, a 304-byte chunk with
  // malloc's header. It was 480 before what only TLS, HTTP/2 and long addresses need moved out
  // of line, and 360 before it stopped holding its worker, its rate-limit key, a vtable pointer
  // and a second pair of list links. Three more 8-byte fields take it to a 336-byte chunk and
  // fail here; ASan counts the bytes asked for (296), without the header and the
  // rounding, so its bound is 16 lower and fails at the same growth. (TSan's size classes
  // put 296 bytes in a 320-byte block and the next one at 384: glibc's bound holds there.)
  constexpr std::size_t kMostPerConnection = kHeapCountsBytesAskedFor ? 312 : 328;
  EXPECT_LE(per_connection, kMostPerConnection);
}

}  // namespace
}  // namespace ferry::testing
