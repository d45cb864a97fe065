// Backends that refuse, reset, stall or lie, and the client-side timeouts.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <tuple>

#include "support/black_hole.h"
#include "support/client.h"
#include "support/fake_backend.h"
#include "support/metrics_text.h"
#include "support/ports.h"
#include "support/proxy_fixture.h"
#include "support/wait.h"

namespace ferry::testing {
namespace {

using namespace std::chrono_literals;

TEST(BackendFailure, RefusedConnectIsRetriedOnTheNextBackend) {
  FakeBackend b1("b1");
  RunningProxy proxy(test_config({refused_address(), b1.address()}));
  ASSERT_TRUE(proxy.started());
  for (int i = 0; i < 6; ++i) {
    auto r = get(proxy.port(), "/");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << i;
    EXPECT_EQ(r->header("X-Backend"), "b1");
  }
}

TEST(BackendFailure, EveryBackendRefusingGives502) {
  RunningProxy proxy(test_config({refused_address(), refused_address()}));
  ASSERT_TRUE(proxy.started());
  Client c(proxy.port());
  ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 502);
  // The request was read whole, so the connection stays usable.
  ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 502);
}

config::Config with_admin(config::Config cfg) {
  cfg.admin = "127.0.0.1:0";
  return cfg;
}

// The metrics once the counters have caught up with what the client saw (they are bumped before
// the response goes out, but the scrape runs on another thread): waits until `family` sums to
// at least `at_least`, then scrapes once more, so a second bump by the same code path shows too.
// What a failure message shows of the metrics: the two families these tests count.
std::string counts(const std::string& m) {
  return metric_lines(m, "ferry_backend_errors_total") + metric_lines(m, "ferry_requests_total");
}

std::string settled_metrics(RunningProxy& proxy, const std::string& family, double at_least) {
  eventually([&] { return metric_sum(scrape_metrics(proxy.server().admin_port()), family) >= at_least; }, 5s);
  std::this_thread::sleep_for(20ms);
  return scrape_metrics(proxy.server().admin_port());
}

double connect_errors(const std::string& metrics, const std::string& backend) {
  return metric_value(metrics, backend_error_series(backend, "connect")).value_or(0);
}

// retries: N allows N + 1 attempts in all, each on a backend not tried yet, whatever the way
// the backends fail before answering (refused connects; connections reset before a response).
class RetryBound : public ::testing::TestWithParam<std::tuple<uint32_t, bool>> {};

TEST_P(RetryBound, MakesExactlyRetriesPlusOneAttempts) {
  const auto [retries, refusing] = GetParam();
  std::vector<std::unique_ptr<FakeBackend>> resetting;
  std::vector<std::string> addresses;
  for (int i = 0; i < 4; ++i) {
    if (refusing) {
      addresses.push_back(refused_address());
    } else {
      resetting.push_back(std::make_unique<FakeBackend>("r" + std::to_string(i)));
      resetting.back()->set_handler([](BackendConn& c, const Request&) { c.reset_now(); });
      addresses.push_back(resetting.back()->address());
    }
  }
  auto cfg = with_admin(test_config(addresses));
  cfg.retries = retries;
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started()) << proxy.error();
  const auto r = get(proxy.port(), "/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 502) << "four failing backends, at most three attempts";
  const std::string m = settled_metrics(proxy, "ferry_backend_errors_total", retries + 1);
  int attempted = 0;
  for (std::size_t i = 0; i < addresses.size(); ++i) {
    // Refused connects leave no trace at the backend: ferry's per-backend counter is the
    // count of attempts. A resetting backend counts the connections it accepted.
    const int attempts = refusing ? static_cast<int>(connect_errors(m, addresses[i]))
                                  : resetting[i]->connections();
    EXPECT_LE(attempts, 1) << addresses[i] << ": a backend is tried once per request";
    attempted += attempts;
  }
  EXPECT_EQ(attempted, static_cast<int>(retries) + 1) << counts(m);
  EXPECT_EQ(metric_sum(m, "ferry_backend_errors_total"), retries + 1) << counts(m);
  EXPECT_EQ(metric_sum(m, "ferry_requests_total"), 1) << "one request, counted once:\n" << counts(m);
}

INSTANTIATE_TEST_SUITE_P(Retries, RetryBound,
                         ::testing::Combine(::testing::Values(0u, 1u, 2u), ::testing::Bool()),
                         [](const ::testing::TestParamInfo<std::tuple<uint32_t, bool>>& param_info) {
                           return "retries" + std::to_string(std::get<0>(param_info.param)) +
                                  (std::get<1>(param_info.param) ? "Refused" : "Reset");
                         });

TEST(BackendFailure, EnoughRetriesReachTheOneGoodBackend) {
  FakeBackend good("good");
  const std::vector<std::string> refused = {refused_address(), refused_address(), refused_address()};
  auto cfg = with_admin(test_config({refused[0], refused[1], refused[2], good.address()}));
  cfg.retries = 3;
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started()) << proxy.error();
  const auto r = get(proxy.port(), "/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("X-Backend"), "good");
  const std::string m = settled_metrics(proxy, "ferry_requests_total", 1);
  for (const std::string& a : refused) EXPECT_LE(connect_errors(m, a), 1) << a;
  EXPECT_EQ(metric_value(m, requests_series(good.address(), 200)).value_or(0), 1) << counts(m);
  EXPECT_EQ(metric_sum(m, "ferry_requests_total"), 1) << counts(m);
}

TEST(BackendFailure, ConnectTimeoutGives502AfterTryingTheNext) {
  BlackHole hole1, hole2;
  auto cfg = with_admin(test_config({hole1.address(), hole2.address()}));
  cfg.timeouts.connect = 200ms;
  cfg.retries = 1;
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started()) << proxy.error();
  const auto start = std::chrono::steady_clock::now();
  const auto r = get(proxy.port(), "/");
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 502);
  EXPECT_GE(took, 380ms) << "two connect timeouts, one after the other";
  const std::string m = settled_metrics(proxy, "ferry_backend_errors_total", 2);
  EXPECT_EQ(connect_errors(m, hole1.address()), 1) << counts(m);
  EXPECT_EQ(connect_errors(m, hole2.address()), 1) << counts(m);
  EXPECT_EQ(metric_sum(m, "ferry_requests_total"), 1) << counts(m);
}

TEST(BackendFailure, ConnectTimeoutIsRetriedOnAHealthyBackend) {
  BlackHole hole;
  FakeBackend good("good");
  auto cfg = with_admin(test_config({hole.address(), good.address()}));
  cfg.timeouts.connect = 200ms;
  cfg.retries = 1;
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started()) << proxy.error();
  // Wherever round robin starts, one of two requests picks the hole first.
  int slow = 0;
  for (int i = 0; i < 2; ++i) {
    const auto start = std::chrono::steady_clock::now();
    const auto r = get(proxy.port(), "/");
    const auto took = std::chrono::steady_clock::now() - start;
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->status, 200) << i;
    EXPECT_EQ(r->header("X-Backend"), "good") << i;
    if (took >= 190ms) ++slow;
  }
  const std::string m = settled_metrics(proxy, "ferry_requests_total", 2);
  const double tried_hole = connect_errors(m, hole.address());
  EXPECT_GE(tried_hole, 1) << "no request tried the hole: " << counts(m);
  EXPECT_LE(tried_hole, 2) << counts(m);
  // Each request that tried the hole first waited out the connect timeout.
  EXPECT_GE(slow, tried_hole);
  EXPECT_EQ(metric_value(m, requests_series(good.address(), 200)).value_or(0), 2) << counts(m);
  EXPECT_EQ(good.requests(), 2);
}

// One backend error of each kind, and the counter says exactly 1: an error counted twice (or
// under the wrong kind) shows here. The request itself is counted once, under the backend.
struct ErrorCase {
  const char* kind;
  const char* label;
};

void PrintTo(const ErrorCase& e, std::ostream* os) { *os << e.label << " (kind " << e.kind << ")"; }

class OneBackendError : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(OneBackendError, IsCountedExactlyOnce) {
  const std::string kind = GetParam().kind;
  const std::string label = GetParam().label;
  FakeBackend b1("b1");
  std::unique_ptr<BlackHole> hole;
  std::string address = b1.address();
  int expected_code = 502;
  auto cfg = with_admin(test_config({}));
  cfg.retries = 0;
  if (label == "refused") {
    address = refused_address();
  } else if (label == "connect_timeout") {
    hole = std::make_unique<BlackHole>();
    address = hole->address();
    cfg.timeouts.connect = 150ms;
  } else if (label == "reset_mid_response") {
    b1.set_handler([](BackendConn& c, const Request&) {
      c.send("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b");
      std::this_thread::sleep_for(50ms);  // ferry relays the first bytes, then the reset
      c.reset_now();
    });
    expected_code = 200;  // the response had started: counted under its status
  } else if (label == "reset_before_response") {
    b1.set_handler([](BackendConn& c, const Request&) { c.reset_now(); });
  } else if (label == "malformed") {
    b1.set_handler([](BackendConn& c, const Request&) { c.send("HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n"); });
  } else if (label == "timeout") {
    b1.set_silent(true);
    cfg.timeouts.backend_response = 150ms;
    expected_code = 504;
  }
  cfg.backends.push_back({address, 1});
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started()) << proxy.error();
  Client c(proxy.port());
  ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  const std::string answer = c.read_all();  // whole or cut short, up to ferry's close
  ASSERT_FALSE(answer.empty());
  EXPECT_EQ(answer.substr(0, 12), "HTTP/1.1 " + std::to_string(expected_code)) << answer;

  const std::string m = settled_metrics(proxy, "ferry_backend_errors_total", 1);
  for (const char* k : {"connect", "timeout", "reset", "malformed"}) {
    EXPECT_EQ(metric_value(m, backend_error_series(address, k)).value_or(0), k == kind ? 1 : 0)
        << "kind=" << k << "\n" << counts(m);
  }
  EXPECT_EQ(metric_sum(m, "ferry_backend_errors_total"), 1) << counts(m);
  EXPECT_EQ(metric_value(m, requests_series(address, expected_code)).value_or(0), 1) << counts(m);
  EXPECT_EQ(metric_sum(m, "ferry_requests_total"), 1) << counts(m);
}

INSTANTIATE_TEST_SUITE_P(Kinds, OneBackendError,
                         ::testing::Values(ErrorCase{"connect", "refused"}, ErrorCase{"connect", "connect_timeout"},
                                           ErrorCase{"reset", "reset_mid_response"},
                                           ErrorCase{"reset", "reset_before_response"},
                                           ErrorCase{"malformed", "malformed"}, ErrorCase{"timeout", "timeout"}),
                         [](const ::testing::TestParamInfo<ErrorCase>& param_info) { return std::string(param_info.param.label); });

// A connect that fails and is retried elsewhere is one error and one request, not two.
TEST(BackendErrors, ARetriedRequestIsOneErrorAndOneRequest) {
  FakeBackend good("good");
  const std::string dead = refused_address();
  auto cfg = with_admin(test_config({dead, good.address()}));
  cfg.retries = 1;
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started()) << proxy.error();
  for (int i = 0; i < 2; ++i) {
    const auto r = get(proxy.port(), "/");
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->header("X-Backend"), "good");
  }
  const std::string m = settled_metrics(proxy, "ferry_requests_total", 2);
  const int refused_first = static_cast<int>(connect_errors(m, dead));
  EXPECT_GE(refused_first, 1) << "round robin sends one of two requests to the dead backend first";
  EXPECT_LE(refused_first, 2);
  EXPECT_EQ(metric_sum(m, "ferry_backend_errors_total"), refused_first) << counts(m);
  EXPECT_EQ(metric_value(m, requests_series(good.address(), 200)).value_or(0), 2) << counts(m);
  EXPECT_EQ(metric_sum(m, "ferry_requests_total"), 2) << counts(m);
}

// A backend whose keep-alive timer fires just as the next request arrives: it answers the first
// request on each connection, then reads the second one and closes without a byte of answer.
class ClosesAfterOneAnswer {
 public:
  explicit ClosesAfterOneAnswer(FakeBackend& b) {
    b.set_handler([this, &b](BackendConn& c, const Request& req) {
      int n;
      {
        std::lock_guard lock(mutex_);
        n = ++answered_[c.fd()];
        if (n > 1) answered_.erase(c.fd());  // the descriptor's number may come back for another
      }
      if (n == 1) {
        c.send(FakeBackend::default_response(b.name(), req));
      } else {
        c.close_now();
      }
    });
  }

 private:
  std::mutex mutex_;
  std::map<int, int> answered_;
};

int count_method(const FakeBackend& b, const std::string& method) {
  int n = 0;
  for (const Request& r : b.requests_seen())
    if (r.method == method) ++n;
  return n;
}

// retries 0 with one backend, and retries 1 with a second backend there to retry on: neither
// ever sees a second copy of the POST.
class StalePooledConnection : public ::testing::TestWithParam<int> {};

TEST_P(StalePooledConnection, AGetIsSentAgainOnAFreshConnection) {
  const int backends = GetParam();
  FakeBackend b1("b1"), b2("b2");
  ClosesAfterOneAnswer stale1(b1), stale2(b2);
  auto cfg = test_config(backends == 1 ? std::vector<std::string>{b1.address()}
                                       : std::vector<std::string>{b1.address(), b2.address()});
  cfg.retries = backends - 1;
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started()) << proxy.error();
  Client c(proxy.port());
  // Warm one pooled connection per backend.
  for (int i = 0; i < backends; ++i) {
    ASSERT_TRUE(c.send("GET /warm HTTP/1.1\r\nHost: x\r\n\r\n"));
    const auto r = c.read_response();
    ASSERT_TRUE(r) << i;
    ASSERT_EQ(r->status, 200);
  }
  ASSERT_EQ(b1.connections() + b2.connections(), backends);
  ASSERT_TRUE(c.send("GET /again HTTP/1.1\r\nHost: x\r\n\r\n"));
  const auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << "a stale pooled connection is retried on a fresh one";
  // The GET went out twice: on the stale connection, then on a fresh one to the same backend.
  EXPECT_EQ(b1.connections() + b2.connections(), backends + 1);
  EXPECT_EQ(count_method(b1, "GET") + count_method(b2, "GET"), backends + 2);
  const FakeBackend& answered = r->header("X-Backend") == "b1" ? b1 : b2;
  int again = 0;
  for (const Request& q : answered.requests_seen())
    if (q.target == "/again") ++again;
  EXPECT_EQ(again, 2) << "the retry went to the backend whose connection was stale";
}

TEST_P(StalePooledConnection, APostIsNeverSentTwice) {
  const int backends = GetParam();
  FakeBackend b1("b1"), b2("b2");
  ClosesAfterOneAnswer stale1(b1), stale2(b2);
  auto cfg = test_config(backends == 1 ? std::vector<std::string>{b1.address()}
                                       : std::vector<std::string>{b1.address(), b2.address()});
  cfg.retries = backends - 1;
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started()) << proxy.error();
  Client c(proxy.port());
  for (int i = 0; i < backends; ++i) {
    ASSERT_TRUE(c.send("GET /warm HTTP/1.1\r\nHost: x\r\n\r\n"));
    const auto r = c.read_response();
    ASSERT_TRUE(r) << i;
    ASSERT_EQ(r->status, 200);
  }
  ASSERT_EQ(b1.connections() + b2.connections(), backends);
  // The POST meets a pooled connection whose backend reads it and hangs up: it may have been
  // acted on, so ferry answers 502 rather than send it again (here or elsewhere).
  ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"));
  const auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 502);
  EXPECT_EQ(count_method(b1, "POST") + count_method(b2, "POST"), 1) << "the POST reached a backend twice";
  EXPECT_EQ(b1.connections() + b2.connections(), backends) << "no connection was opened to resend it";
}

INSTANTIATE_TEST_SUITE_P(Backends, StalePooledConnection, ::testing::Values(1, 2),
                         [](const ::testing::TestParamInfo<int>& param_info) {
                           return param_info.param == 1 ? std::string("OneBackendNoRetries")
                                                  : std::string("TwoBackendsOneRetry");
                         });

TEST(BackendFailure, SilentBackendGives504) {
  FakeBackend b1("b1");
  b1.set_silent(true);
  auto cfg = test_config({b1.address()});
  cfg.timeouts.backend_response = 200ms;
  cfg.retries = 0;
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started());
  auto r = get(proxy.port(), "/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 504);
}

TEST(BackendFailure, ResetBeforeResponseRetriesIdempotentRequests) {
  FakeBackend bad("bad"), good("good");
  bad.set_handler([](BackendConn& c, const Request&) { c.reset_now(); });
  RunningProxy proxy(test_config({bad.address(), good.address()}));
  ASSERT_TRUE(proxy.started());
  for (int i = 0; i < 4; ++i) {
    auto r = get(proxy.port(), "/");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->header("X-Backend"), "good");
  }
}

TEST(BackendFailure, ResetBeforeResponseNeverRepeatsAPost) {
  FakeBackend bad("bad"), good("good");
  bad.set_handler([](BackendConn& c, const Request&) { c.reset_now(); });
  RunningProxy proxy(test_config({bad.address(), good.address()}));
  ASSERT_TRUE(proxy.started());
  int got502 = 0;
  for (int i = 0; i < 4; ++i) {
    Client c(proxy.port());
    ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    if (r->status == 502) ++got502;
  }
  EXPECT_EQ(got502, 2);
  EXPECT_EQ(bad.requests(), 2);
  EXPECT_EQ(good.requests(), 2);  // only its own turns: no POST was sent twice
}

class MalformedResponse : public ::testing::TestWithParam<std::string> {};

TEST_P(MalformedResponse, Gives502AndIsNeverRelayed) {
  FakeBackend b1("b1");
  const std::string bytes = GetParam();
  b1.set_handler([bytes](BackendConn& c, const Request&) { c.send(bytes); });
  auto cfg = test_config({b1.address()});
  cfg.retries = 0;
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started());
  auto r = get(proxy.port(), "/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 502);
  EXPECT_EQ(r->body, "bad gateway\n");
}

INSTANTIATE_TEST_SUITE_P(
    Responses, MalformedResponse,
    ::testing::Values("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc",
                      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                      "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
                      "HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n",
                      "HTTX/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
                      "HTTP/1.1 200 OK\nContent-Length: 0\n\n",
                      "HTTP/1.1 200 OK\r\nX: a\rb\r\nContent-Length: 0\r\n\r\n",
                      "HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 0\r\n\r\n",
                      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n",
                      "garbage\r\n\r\n"));

TEST(BackendFailure, BackendDyingMidResponseClosesTheClient) {
  FakeBackend b1("b1");
  b1.set_handler([](BackendConn& c, const Request&) {
    c.send("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b");
    c.close_now();
  });
  RunningProxy proxy(test_config({b1.address()}));
  ASSERT_TRUE(proxy.started());
  Client c(proxy.port());
  ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  const std::string all = c.read_all();
  EXPECT_NE(all.find("Content-Length: 100"), std::string::npos);
  EXPECT_NE(all.find("only ten b"), std::string::npos);
  EXPECT_EQ(all.find("502"), std::string::npos);  // never a second response on top
}

// A server that writes its head and body separately (gunicorn does) and dies in between:
// nothing of that response reached the client, so a GET goes to another backend.
void head_then_die(BackendConn& c, const Request&) {
  c.send("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // ferry reads the head alone
  c.close_now();
}

TEST(BackendFailure, BackendDyingAfterItsHeadIsRetriedForAGet) {
  FakeBackend bad("bad");
  FakeBackend good("good");
  bad.set_handler(head_then_die);
  RunningProxy proxy(test_config({bad.address(), good.address()}));
  ASSERT_TRUE(proxy.started());
  for (int i = 0; i < 4; ++i) {
    auto r = get(proxy.port(), "/");
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->header("X-Backend"), "good");
    EXPECT_EQ(r->body, "hello from good");
  }
  EXPECT_GE(bad.requests(), 1);
}

TEST(BackendFailure, BackendDyingAfterItsHeadIsACleanErrorForAPost) {
  FakeBackend bad("bad");
  bad.set_handler(head_then_die);
  RunningProxy proxy(test_config({bad.address()}));
  ASSERT_TRUE(proxy.started());
  Client c(proxy.port());
  ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"));
  auto r = c.read_response();
  ASSERT_TRUE(r) << "a 502, not a cut connection";
  EXPECT_EQ(r->status, 502);
  EXPECT_EQ(bad.requests(), 1) << "a POST is never sent twice";
}

TEST(BackendFailure, TruncatedChunkedResponseClosesTheClient) {
  FakeBackend b1("b1");
  b1.set_handler([](BackendConn& c, const Request&) {
    c.send("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
    c.close_now();
  });
  RunningProxy proxy(test_config({b1.address()}));
  ASSERT_TRUE(proxy.started());
  Client c(proxy.port());
  ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  const std::string all = c.read_all();
  EXPECT_NE(all.find("hello"), std::string::npos);
  EXPECT_EQ(all.find("0\r\n\r\n"), std::string::npos);  // the client can tell it was cut short
}

TEST(BackendFailure, BackendClosingPooledConnectionsIsHarmless) {
  FakeBackend b1("b1");
  // A backend that answers keep-alive and then closes the connection right away, as gunicorn
  // does when its keep-alive runs out.
  b1.set_handler([](BackendConn& c, const Request&) {
    c.send("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    c.close_now();
  });
  RunningProxy proxy(test_config({b1.address()}));
  ASSERT_TRUE(proxy.started());
  Client c(proxy.port());
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << i;
  }
}

TEST(BackendFailure, EarlyResponseBeforeTheBodyIsSentIsNotPooled) {
  FakeBackend b1("b1");
  b1.set_respond_before_body(true);
  b1.set_handler([](BackendConn& c, const Request&) {
    c.send("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nearly");
  });
  auto cfg = test_config({b1.address()});
  cfg.buffers.request = 1024;  // so a 200 KiB body streams
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started());
  // Only part of the body is sent: the backend answers before the request is complete.
  const std::string part = FakeBackend::pattern(10000);
  Client c(proxy.port());
  ASSERT_TRUE(c.send("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 200000\r\n\r\n" + part));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "early");
  EXPECT_EQ(r->header("Connection"), "close");  // ferry can't tell where the next request starts
  auto r2 = get(proxy.port(), "/");
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->status, 200);
  EXPECT_EQ(b1.connections(), 2);
}

TEST(ClientTimeout, SlowHeadGets408) {
  FakeBackend b1("b1");
  auto cfg = test_config({b1.address()});
  cfg.timeouts.client_header = 200ms;
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started());
  Client c(proxy.port());
  ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: x\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 408);
  EXPECT_EQ(r->header("Connection"), "close");
  EXPECT_TRUE(c.closed_by_peer());
  EXPECT_EQ(b1.received(), "");
}

TEST(ClientTimeout, DribbledHeadStillGets408) {
  FakeBackend b1("b1");
  auto cfg = test_config({b1.address()});
  cfg.timeouts.client_header = 300ms;
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started());
  Client c(proxy.port());
  // Slowloris: a byte every 50ms never resets the deadline for the whole head.
  bool got408 = false;
  ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: x\r\nX-Slow: "));
  for (int i = 0; i < 40 && !got408; ++i) {
    if (!c.send("a")) break;
    std::this_thread::sleep_for(50ms);
    if (c.buffered().find("408") != std::string::npos) got408 = true;
  }
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 408);
}

TEST(ClientTimeout, IdleKeepAliveConnectionIsClosed) {
  FakeBackend b1("b1");
  auto cfg = test_config({b1.address()});
  cfg.timeouts.client_idle = 200ms;
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started());
  Client c(proxy.port(), 3s);
  ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(c.read_response());
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(c.closed_by_peer());
  EXPECT_GE(std::chrono::steady_clock::now() - start, 150ms);
  EXPECT_EQ(c.buffered(), "");  // closed silently, no 408 between requests
}

TEST(Limits, ConnectionsPastMaxAreClosedAtOnce) {
  FakeBackend b1("b1");
  auto cfg = test_config({b1.address()});
  cfg.limits.max_connections = 2;
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started());
  auto a = std::make_unique<Client>(proxy.port());
  Client b(proxy.port());
  ASSERT_TRUE(a->send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(a->read_response());
  ASSERT_TRUE(b.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(b.read_response());
  Client third(proxy.port());
  EXPECT_TRUE(third.closed_by_peer());
  a.reset();  // one slot frees up
  bool served = false;
  for (int i = 0; i < 50 && !served; ++i) {
    Client again(proxy.port());
    again.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    auto r = again.read_response();
    served = r && r->status == 200;
    if (!served) std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(served);
}

TEST(Shutdown, DrainLetsTheInFlightRequestFinish) {
  FakeBackend b1("b1");
  b1.set_handler([](BackendConn& c, const Request&) {
    std::this_thread::sleep_for(300ms);
    c.send("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nslow");
  });
  RunningProxy proxy(test_config({b1.address()}));
  ASSERT_TRUE(proxy.started());
  const uint16_t port = proxy.port();
  Client c(port);
  ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  while (b1.requests() == 0) std::this_thread::sleep_for(5ms);
  proxy.server().drain();
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "slow");
  EXPECT_EQ(r->header("Connection"), "close");
  proxy.stop();
  Client late(port);
  EXPECT_FALSE(late.connected());
}

TEST(Shutdown, AnIdleConnectionStillGetsTheRequestItSendsJustAfterTheDrain) {
  // A keep-alive client may be sending its next request at the very moment ferry drains (an
  // upgrade under load does this to every busy connection): it gets an answer with
  // Connection: close, not a reset. One that stays idle is closed within about a second.
  FakeBackend b1("b1");
  RunningProxy proxy(test_config({b1.address()}));
  ASSERT_TRUE(proxy.started());
  Client busy(proxy.port()), quiet(proxy.port()), fresh(proxy.port());
  for (Client* c : {&busy, &quiet}) {
    ASSERT_TRUE(c->send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    ASSERT_TRUE(c->read_response());
  }
  ASSERT_TRUE(eventually([&] { return b1.requests() == 2; }));
  proxy.server().drain();
  std::this_thread::sleep_for(50ms);  // the workers have begun draining
  for (Client* c : {&busy, &fresh}) {
    ASSERT_TRUE(c->send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto r = c->read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->header("Connection"), "close");
  }
  const auto before = std::chrono::steady_clock::now();
  EXPECT_TRUE(quiet.closed_by_peer());
  EXPECT_LT(std::chrono::steady_clock::now() - before, 3s);
  proxy.stop();
}

TEST(Shutdown, AResponseStillBeingWrittenWhenTheDrainComesLeavesTheConnectionOpenForTheNextRequest) {
  // The response is whole in ferry (the backend is done with it) but the client has not read
  // it yet, and its head said keep-alive: the client may send its next request as soon as it
  // has read it, drain or not. That request gets an answer with Connection: close, as on a
  // connection idle when the drain came. (With sends on the write batch's ring, a response
  // waits there at the end of many loop turns, so an upgrade under load met this often.)
  // Far more than the loopback socket buffers take (they grow to a few MiB), so most of it
  // is still in ferry when the drain comes.
  const std::string body(32 << 20, 'b');
  std::atomic<bool> sent{false};
  FakeBackend b1("b1");
  b1.set_handler([&](BackendConn& c, const Request& r) {
    if (r.target == "/big") {
      c.send("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
      sent = true;
    } else {
      c.send("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnext");
    }
  });
  auto cfg = test_config({b1.address()});
  cfg.buffers.response = 64 << 20;  // ferry takes the whole body from the backend at once
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started());
  Client c(proxy.port(), 5s);
  ASSERT_TRUE(c.send("GET /big HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(eventually([&] { return sent.load(); }));
  std::this_thread::sleep_for(200ms);  // ferry reads the rest of the body; the client reads nothing
  proxy.server().drain();
  std::this_thread::sleep_for(50ms);  // the workers have begun draining
  auto first = c.read_response();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->body.size(), body.size());
  EXPECT_EQ(first->header("Connection"), "") << "the response began before the drain";
  ASSERT_TRUE(c.send("GET /next HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto next = c.read_response();
  ASSERT_TRUE(next) << "the connection closed under the next request";
  EXPECT_EQ(next->status, 200);
  EXPECT_EQ(next->body, "next");
  EXPECT_EQ(next->header("Connection"), "close");
  proxy.stop();
}

}  // namespace
}  // namespace ferry::testing
