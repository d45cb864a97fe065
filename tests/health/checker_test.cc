// The health checker over real sockets on 127.0.0.1: fake backends on port 0 in their own
// threads, short intervals, and waits on the publisher's snapshot with a deadline.
#include "health/checker.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace ferry::health {
namespace {

using namespace std::chrono_literals;

// A listening socket on 127.0.0.1 and an ephemeral port.
int listen_on_loopback(uint16_t* port, bool listening) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      (listening && ::listen(fd, 64) != 0) ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    return -1;
  }
  *port = ntohs(addr.sin_port);
  return fd;
}

// A tiny blocking HTTP/1.1 server in its own thread. Answer mode replies to each request with
// the current status and closes; Silent mode accepts and never says a word.
class FakeBackend {
 public:
  enum class Mode { Answer, Silent };

  explicit FakeBackend(Mode mode = Mode::Answer) : mode_(mode) {
    fd_ = listen_on_loopback(&port_, true);
    if (fd_ >= 0) thread_ = std::thread([this] { serve(); });
  }
  ~FakeBackend() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    for (int fd : held_) ::close(fd);
    if (fd_ >= 0) ::close(fd_);
  }

  bool ok() const { return fd_ >= 0; }
  uint16_t port() const { return port_; }
  void set_status(int status) { status_ = status; }
  int connections() const { return connections_; }
  std::string last_request() const {
    std::lock_guard lock(mutex_);
    return last_request_;
  }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 10) <= 0) continue;
      const int conn = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (conn < 0) continue;
      ++connections_;
      if (mode_ == Mode::Silent) {
        held_.push_back(conn);
        continue;
      }
      answer(conn);
      ::close(conn);
    }
  }

  void answer(int conn) {
    std::string request;
    char buf[1024];
    while (request.find("\r\n\r\n") == std::string::npos && !stop_) {
      pollfd p{conn, POLLIN, 0};
      if (::poll(&p, 1, 1000) <= 0) return;
      const ssize_t n = ::read(conn, buf, sizeof buf);
      if (n <= 0) return;
      request.append(buf, static_cast<std::size_t>(n));
    }
    {
      std::lock_guard lock(mutex_);
      last_request_ = request;
    }
    const std::string body = status_ == 200 ? "ok\n" : "failing\n";
    const std::string response = "HTTP/1.1 " + std::to_string(status_.load()) +
                                 " Whatever\r\nContent-Length: " + std::to_string(body.size()) +
                                 "\r\nConnection: close\r\n\r\n" + body;
    (void)!::write(conn, response.data(), response.size());
  }

  Mode mode_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int> status_{200};
  std::atomic<int> connections_{0};
  std::vector<int> held_;  // serve thread only, then the destructor
  mutable std::mutex mutex_;
  std::string last_request_;
};

// A port that refuses connections: bound, never listening, held for the test's duration.
class RefusingPort {
 public:
  RefusingPort() { fd_ = listen_on_loopback(&port_, false); }
  ~RefusingPort() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool ok() const { return fd_ >= 0; }
  uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

balancer::Backend loopback_backend(uint16_t port) {
  balancer::Backend b;
  b.name = "127.0.0.1:" + std::to_string(port);
  sockaddr_in v4{};
  v4.sin_family = AF_INET;
  v4.sin_port = htons(port);
  v4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::memcpy(&b.address, &v4, sizeof v4);
  return b;
}

void publish_set(Publisher& publisher, uint64_t backend_set, const std::vector<uint16_t>& ports) {
  balancer::Snapshot snap;
  snap.backend_set = backend_set;
  for (uint16_t port : ports) snap.backends.push_back(loopback_backend(port));
  snap.healthy.assign(snap.size(), 1);
  publisher.publish(std::move(snap));
}

config::HealthCheck fast_checks() {
  config::HealthCheck s;
  s.enabled = true;
  s.path = "/health";
  s.interval = config::Duration{50};
  s.timeout = config::Duration{40};
  s.healthy_threshold = 2;
  s.unhealthy_threshold = 2;
  s.expected_status = "200-399";
  return s;
}

// Polls `condition` until it holds or the deadline passes; the deadline is generous so a
// loaded machine doesn't fail the test, and a healthy run returns in milliseconds.
bool eventually(const std::function<bool()>& condition,
                std::chrono::milliseconds deadline = 10s) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < until) {
    if (condition()) return true;
    std::this_thread::sleep_for(2ms);
  }
  return condition();
}

bool healthy(const Publisher& publisher, std::size_t index) {
  return publisher.latest()->healthy[index] != 0;
}

BackendHealth status_of(const Checker& checker, std::size_t index) {
  const auto all = checker.status();
  return index < all.size() ? all[index] : BackendHealth{};
}

TEST(Checker, BackendTurnsUnhealthyAfterUnhealthyThresholdFailedChecks) {
  FakeBackend backend;
  ASSERT_TRUE(backend.ok());
  Publisher publisher;
  publish_set(publisher, 1, {backend.port()});
  Checker checker(publisher, fast_checks());
  ASSERT_TRUE(checker.start());
  ASSERT_TRUE(eventually([&] { return status_of(checker, 0).checks_ok >= 1; }));
  EXPECT_TRUE(healthy(publisher, 0));

  backend.set_status(500);
  ASSERT_TRUE(eventually([&] { return !healthy(publisher, 0); }));
  const BackendHealth h = status_of(checker, 0);
  EXPECT_FALSE(h.healthy);
  EXPECT_GE(h.consecutive_failures, 2u);
  EXPECT_GE(h.checks_failed, 2u);
  EXPECT_EQ(h.last_result, "GET /health answered 500");
  EXPECT_EQ(h.name, "127.0.0.1:" + std::to_string(backend.port()));
  checker.stop();
  EXPECT_TRUE(checker.closed_cleanly());
}

TEST(Checker, BackendTurnsHealthyAgainAfterHealthyThresholdPasses) {
  FakeBackend backend;
  ASSERT_TRUE(backend.ok());
  backend.set_status(503);
  Publisher publisher;
  publish_set(publisher, 1, {backend.port()});
  Checker checker(publisher, fast_checks());
  ASSERT_TRUE(checker.start());
  ASSERT_TRUE(eventually([&] { return !healthy(publisher, 0); }));

  backend.set_status(204);
  ASSERT_TRUE(eventually([&] { return healthy(publisher, 0); }));
  const BackendHealth h = status_of(checker, 0);
  EXPECT_TRUE(h.healthy);
  EXPECT_GE(h.consecutive_passes, 2u);
  EXPECT_EQ(h.last_result, "GET /health answered 204");
  EXPECT_GT(h.last_check.time_since_epoch().count(), 0);
}

TEST(Checker, SilentBackendTurnsUnhealthyByTimeout) {
  FakeBackend backend(FakeBackend::Mode::Silent);
  ASSERT_TRUE(backend.ok());
  Publisher publisher;
  publish_set(publisher, 1, {backend.port()});
  Checker checker(publisher, fast_checks());
  ASSERT_TRUE(checker.start());
  ASSERT_TRUE(eventually([&] { return !healthy(publisher, 0); }));
  EXPECT_EQ(status_of(checker, 0).last_result, "GET /health timed out after 40ms");
  checker.stop();
  EXPECT_TRUE(checker.closed_cleanly());
}

TEST(Checker, RefusedPortTurnsUnhealthy) {
  RefusingPort port;
  ASSERT_TRUE(port.ok());
  Publisher publisher;
  publish_set(publisher, 1, {port.port()});
  Checker checker(publisher, fast_checks());
  ASSERT_TRUE(checker.start());
  ASSERT_TRUE(eventually([&] { return !healthy(publisher, 0); }));
  EXPECT_EQ(status_of(checker, 0).last_result, "connect refused");
}

TEST(Checker, OnlyTheFailingBackendTurnsUnhealthy) {
  FakeBackend good, bad;
  ASSERT_TRUE(good.ok() && bad.ok());
  bad.set_status(404);
  Publisher publisher;
  publish_set(publisher, 1, {good.port(), bad.port()});
  Checker checker(publisher, fast_checks());
  ASSERT_TRUE(checker.start());
  ASSERT_TRUE(eventually([&] { return !healthy(publisher, 1); }));
  ASSERT_TRUE(eventually([&] { return status_of(checker, 0).checks_ok >= 3; }));
  EXPECT_TRUE(healthy(publisher, 0));
}

TEST(Checker, ReportRefusedMarksUnhealthyAtOnceAndChecksBringItBack) {
  FakeBackend backend;
  ASSERT_TRUE(backend.ok());
  Publisher publisher;
  publish_set(publisher, 1, {backend.port()});
  Checker checker(publisher, fast_checks());
  ASSERT_TRUE(checker.start());
  ASSERT_TRUE(eventually([&] { return status_of(checker, 0).checks_ok >= 1; }));

  checker.report_refused(1, 0);
  EXPECT_FALSE(healthy(publisher, 0));  // before report_refused returned, no waiting
  ASSERT_TRUE(eventually([&] { return healthy(publisher, 0); }));
  EXPECT_GE(status_of(checker, 0).consecutive_passes, 2u);
}

TEST(Checker, ReportRefusedForAnOldBackendSetIsIgnored) {
  FakeBackend backend;
  ASSERT_TRUE(backend.ok());
  Publisher publisher;
  publish_set(publisher, 2, {backend.port()});
  Checker checker(publisher, fast_checks());
  ASSERT_TRUE(checker.start());
  checker.report_refused(1, 0);
  EXPECT_TRUE(healthy(publisher, 0));
}

TEST(Checker, BackendThatStaysInANewSetKeepsItsState) {
  FakeBackend stays, leaves, joins;
  ASSERT_TRUE(stays.ok() && leaves.ok() && joins.ok());
  stays.set_status(500);
  Publisher publisher;
  publish_set(publisher, 1, {leaves.port(), stays.port()});
  Checker checker(publisher, fast_checks());
  ASSERT_TRUE(checker.start());
  ASSERT_TRUE(eventually([&] { return !healthy(publisher, 1); }));
  const uint64_t failed_before = status_of(checker, 1).checks_failed;

  // A reload: new set, the publisher's default health (all healthy), `stays` moved to index 0.
  publish_set(publisher, 2, {stays.port(), joins.port()});
  ASSERT_TRUE(eventually([&] {
    const auto all = checker.status();
    return all.size() == 2 && all[0].name == "127.0.0.1:" + std::to_string(stays.port());
  }));
  const BackendHealth kept = status_of(checker, 0);
  EXPECT_GE(kept.checks_failed, failed_before);
  EXPECT_FALSE(kept.healthy);
  // The checker's state wins over the reload's defaults, at the next round at the latest.
  ASSERT_TRUE(eventually([&] { return !healthy(publisher, 0); }));
  ASSERT_TRUE(eventually([&] { return status_of(checker, 1).checks_ok >= 1; }));
  EXPECT_TRUE(healthy(publisher, 1));
  EXPECT_EQ(publisher.latest()->backend_set, 2u);
}

TEST(Checker, SendsThePathHostAndHeadersConfigured) {
  FakeBackend backend;
  ASSERT_TRUE(backend.ok());
  Publisher publisher;
  publish_set(publisher, 1, {backend.port()});
  config::HealthCheck settings = fast_checks();
  settings.path = "/ready?full=1";
  settings.host = "app.internal";
  Checker checker(publisher, settings);
  ASSERT_TRUE(checker.start());
  ASSERT_TRUE(eventually([&] { return !backend.last_request().empty(); }));
  EXPECT_EQ(backend.last_request(),
            "GET /ready?full=1 HTTP/1.1\r\nHost: app.internal\r\nUser-Agent: ferry-health\r\n"
            "Connection: close\r\n\r\n");
}

TEST(Checker, SendsTheBackendNameAsHostByDefault) {
  FakeBackend backend;
  ASSERT_TRUE(backend.ok());
  Publisher publisher;
  publish_set(publisher, 1, {backend.port()});
  Checker checker(publisher, fast_checks());
  ASSERT_TRUE(checker.start());
  ASSERT_TRUE(eventually([&] { return !backend.last_request().empty(); }));
  EXPECT_NE(backend.last_request().find("\r\nHost: 127.0.0.1:" + std::to_string(backend.port()) +
                                        "\r\n"),
            std::string::npos);
}

TEST(Checker, ExpectedStatusDecidesWhatPasses) {
  FakeBackend backend;
  ASSERT_TRUE(backend.ok());
  backend.set_status(302);
  Publisher publisher;
  publish_set(publisher, 1, {backend.port()});
  config::HealthCheck settings = fast_checks();
  settings.expected_status = "200";
  Checker checker(publisher, settings);
  ASSERT_TRUE(checker.start());
  ASSERT_TRUE(eventually([&] { return !healthy(publisher, 0); }));
  EXPECT_EQ(status_of(checker, 0).last_result, "GET /health answered 302");
}

TEST(Checker, ReconfigureAppliesNewSettingsWhileRunning) {
  FakeBackend backend;
  ASSERT_TRUE(backend.ok());
  backend.set_status(302);
  Publisher publisher;
  publish_set(publisher, 1, {backend.port()});
  config::HealthCheck settings = fast_checks();
  settings.expected_status = "200";
  Checker checker(publisher, settings);
  ASSERT_TRUE(checker.start());
  ASSERT_TRUE(eventually([&] { return !healthy(publisher, 0); }));
  settings.expected_status = "200-399";
  checker.reconfigure(settings);
  ASSERT_TRUE(eventually([&] { return healthy(publisher, 0); }));
}

TEST(Checker, DisablingChecksMakesEveryBackendHealthy) {
  RefusingPort port;
  ASSERT_TRUE(port.ok());
  Publisher publisher;
  publish_set(publisher, 1, {port.port()});
  Checker checker(publisher, fast_checks());
  ASSERT_TRUE(checker.start());
  ASSERT_TRUE(eventually([&] { return !healthy(publisher, 0); }));
  config::HealthCheck off = fast_checks();
  off.enabled = false;
  checker.reconfigure(off);
  ASSERT_TRUE(eventually([&] { return healthy(publisher, 0); }));
  checker.report_refused(publisher.latest()->backend_set, 0);  // nothing would bring it back
  EXPECT_TRUE(healthy(publisher, 0));
  const auto all = checker.status();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_TRUE(all[0].healthy);
}

TEST(Checker, StopsPromptlyWithChecksInFlightAndClosesEveryHandle) {
  FakeBackend silent(FakeBackend::Mode::Silent);
  ASSERT_TRUE(silent.ok());
  Publisher publisher;
  publish_set(publisher, 1, {silent.port()});
  config::HealthCheck settings = fast_checks();
  settings.timeout = config::Duration{30000};
  Checker checker(publisher, settings);
  ASSERT_TRUE(checker.start());
  ASSERT_TRUE(eventually([&] { return silent.connections() >= 1; }));
  const auto before = std::chrono::steady_clock::now();
  checker.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - before, 5s);
  EXPECT_TRUE(checker.closed_cleanly());
}

TEST(Checker, StopIsIdempotentAndSafeWithoutStart) {
  Publisher publisher;
  publish_set(publisher, 1, {});
  Checker never_started(publisher, fast_checks());
  never_started.stop();
  never_started.stop();

  Checker checker(publisher, fast_checks());
  ASSERT_TRUE(checker.start());
  checker.stop();
  checker.stop();
  EXPECT_TRUE(checker.closed_cleanly());
  EXPECT_FALSE(checker.start());  // a stopped checker stays stopped
}

TEST(FormatDuration, WritesDurationsAsTheConfigurationDoes) {
  EXPECT_EQ(format_duration(config::Duration{2000}), "2s");
  EXPECT_EQ(format_duration(config::Duration{40}), "40ms");
  EXPECT_EQ(format_duration(config::Duration{1500}), "1500ms");
  EXPECT_EQ(format_duration(config::Duration{120000}), "2m");
  EXPECT_EQ(format_duration(config::Duration{0}), "0ms");
}

}  // namespace
}  // namespace ferry::health
