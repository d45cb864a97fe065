// HTTP/2 to clients end to end, with real clients over loopback: curl (--http2 over TLS by ALPN,
// --http2-prior-knowledge on a plain listener), and Debian's python3-h2 for frames a browser
// would never send (h2_frames.py: malformed fields, the known floods and stalls). Behind ferry
// a FakeBackend counts what reaches it: an attack must cost the backend a bounded number of
// requests and ferry bounded memory, and leave ferry serving.
#include <signal.h>

#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "support/child_process.h"
#include "support/fake_backend.h"
#include "support/ferry_process.h"
#include "support/metrics_text.h"
#include "support/ports.h"
#include "support/proxy_fixture.h"
#include "support/temp_dir.h"
#include "support/test_certificates.h"
#include "support/wait.h"

namespace ferry::testing {
namespace {

using namespace std::chrono_literals;

CommandResult sh(const std::string& command, std::chrono::milliseconds limit = 30s) {
  return run_command({"/bin/sh", "-c", command}, limit);
}

// h2_frames.py SCENARIO against 127.0.0.1:port; its "key value" lines.
std::string frames(const std::string& scenario, uint16_t port, const std::string& arg = "") {
  std::vector<std::string> argv{"/usr/bin/python3", std::string(FERRY_SOURCE_DIR) + "/tests/integration/h2_frames.py",
                                scenario, std::to_string(port)};
  if (!arg.empty()) argv.push_back(arg);
  const CommandResult r = run_command(argv, 60s);
  return r.out + r.err;
}

bool has_line(const std::string& out, const std::string& line) {
  return ("\n" + out).find("\n" + line + "\n") != std::string::npos;
}

// Resident memory of a process, in KiB.
long rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string key;
  long value = 0;
  while (in >> key) {
    if (key == "VmRSS:") {
      in >> value;
      return value;
    }
    in.ignore(4096, '\n');
  }
  return -1;
}

// A plain listener that speaks h2 (prior knowledge) and HTTP/1.1, in front of `backend`.
config::Config h2_config(const std::string& backend) {
  config::Config cfg = test_config({backend});
  config::ListenerConfig l;
  l.address = cfg.listen.front();
  l.protocols = {"h2", "http/1.1"};
  cfg.listeners = {l};
  return cfg;
}

// The same with TLS on the listener, serving `site`'s certificate.
config::Config h2_tls_config(const std::string& backend, const TestCa::Files& site) {
  config::Config cfg = h2_config(backend);
  cfg.listeners[0].tls = config::TlsSettings{};
  cfg.listeners[0].tls->certificates = {{site.cert, site.key, 0, 0}};
  return cfg;
}

std::string curl_h2(uint16_t port, const std::string& path, const std::string& extra = "") {
  return sh("curl -sS -i --max-time 10 --http2-prior-knowledge " + extra + " http://127.0.0.1:" + std::to_string(port) +
            path).out;
}

class Http2 : public ::testing::Test {
 protected:
  FakeBackend backend_{"b1"};
};

TEST_F(Http2, CurlGetsThePageByPriorKnowledgeAndHttp11StillWorksOnTheSameListener) {
  TempDir dir("ferry-h2-test");
  config::Config cfg = h2_config(backend_.address());
  cfg.access_log = dir.path() + "/access.log";
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started()) << proxy.error();
  const std::string r = curl_h2(proxy.port(), "/hello?x=1", "-H 'cookie: a=1' -H 'cookie: b=2'");
  EXPECT_EQ(r.rfind("HTTP/2 200", 0), 0u) << r;
  EXPECT_NE(r.find("hello from b1"), std::string::npos) << r;
  ASSERT_EQ(backend_.requests_seen().size(), 1u);
  const Request seen = backend_.requests_seen().front();
  // One HTTP/1.1 request line from the pseudo-headers, Host from :authority, cookies joined.
  EXPECT_EQ(seen.method, "GET");
  EXPECT_EQ(seen.target, "/hello?x=1");
  EXPECT_EQ(seen.version, "HTTP/1.1");
  EXPECT_EQ(seen.header("host"), "127.0.0.1:" + std::to_string(proxy.port()));
  EXPECT_EQ(seen.count("host"), 1);
  EXPECT_EQ(seen.header("cookie"), "a=1; b=2");
  EXPECT_EQ(seen.header("x-forwarded-for"), "127.0.0.1");
  EXPECT_EQ(seen.header("x-forwarded-proto"), "http");
  const std::string h1 = sh("curl -sS -i --max-time 10 http://127.0.0.1:" + std::to_string(proxy.port()) + "/").out;
  EXPECT_EQ(h1.rfind("HTTP/1.1 200", 0), 0u) << h1;
  // The access log says which protocol each request came by.
  ASSERT_TRUE(eventually([&] { return file_contents(cfg.access_log).find("HTTP/1.1\n") != std::string::npos; }));
  const std::string log = file_contents(cfg.access_log);
  EXPECT_NE(log.find("\"GET /hello?x=1\" 200 "), std::string::npos) << log;
  EXPECT_NE(log.find(" default default HTTP/2.0\n"), std::string::npos) << log;
}

TEST_F(Http2, AListenerWithoutH2AnswersThePrefaceAsHttp11Would) {
  RunningProxy proxy(test_config({backend_.address()}));
  ASSERT_TRUE(proxy.started()) << proxy.error();
  const std::string r = curl_h2(proxy.port(), "/");
  EXPECT_EQ(r.find("HTTP/2 200"), std::string::npos) << r;
  EXPECT_EQ(backend_.requests(), 0);
}

TEST_F(Http2, AlpnChoosesH2OverTlsAndTheBackendSeesHttps) {
  TestCa ca;
  const TestCa::Files site = ca.issue("site", {"site.test"});
  RunningProxy proxy(h2_tls_config(backend_.address(), site));
  ASSERT_TRUE(proxy.started()) << proxy.error();
  const std::string p = std::to_string(proxy.port());
  const CommandResult r = sh("curl -sS -i --max-time 10 --http2 --cacert " + ca.ca_file() + " --resolve site.test:" + p +
                             ":127.0.0.1 https://site.test:" + p + "/tls");
  EXPECT_EQ(r.out.rfind("HTTP/2 200", 0), 0u) << r.out << r.err;
  ASSERT_EQ(backend_.requests_seen().size(), 1u);
  EXPECT_EQ(backend_.requests_seen().front().header("x-forwarded-proto"), "https");
  // Offered only http/1.1 by ALPN, the same listener speaks HTTP/1.1.
  const CommandResult h1 = sh("curl -sS -i --max-time 10 --http1.1 --cacert " + ca.ca_file() + " --resolve site.test:" +
                              p + ":127.0.0.1 https://site.test:" + p + "/tls");
  EXPECT_EQ(h1.out.rfind("HTTP/1.1 200", 0), 0u) << h1.out << h1.err;
}

TEST_F(Http2, AHundredConcurrentStreamsOnOneConnectionAllGetTheirResponse) {
  RunningProxy proxy(h2_config(backend_.address()));
  ASSERT_TRUE(proxy.started()) << proxy.error();
  const std::string out = frames("streams", proxy.port(), "100");
  EXPECT_TRUE(has_line(out, "ok 100")) << out;
  EXPECT_EQ(backend_.requests(), 100);
}

TEST_F(Http2, AMegabyteEachWayArrivesWhole) {
  RunningProxy proxy(h2_config(backend_.address()));
  ASSERT_TRUE(proxy.started()) << proxy.error();
  TempDir dir("ferry-h2-test");
  const std::string up = dir.path() + "/up.bin", down = dir.path() + "/down.bin", echoed = dir.path() + "/echo.bin";
  write_file(up, FakeBackend::pattern(1 << 20) + "tail");
  const std::string base = "curl -sS --max-time 20 --http2-prior-knowledge http://127.0.0.1:" + std::to_string(proxy.port());
  ASSERT_EQ(sh(base + "/size/1048576 -o " + down).exit_code, 0);
  EXPECT_EQ(FakeBackend::hash(file_contents(down)), FakeBackend::hash(FakeBackend::pattern(1 << 20)));
  // An upload with a length (curl sends content-length), and one without (chunked to the backend).
  ASSERT_EQ(sh(base + "/echo --data-binary @" + up + " -o " + echoed).exit_code, 0);
  EXPECT_EQ(FakeBackend::hash(file_contents(echoed)), FakeBackend::hash(file_contents(up)));
  ASSERT_EQ(sh(base + "/echo -H 'transfer-encoding:' -H 'content-length:' -T " + up + " -X POST -o " + echoed).exit_code, 0);
  EXPECT_EQ(FakeBackend::hash(file_contents(echoed)), FakeBackend::hash(file_contents(up)));
  // The python client sends only as the window allows: flow control and backpressure in play.
  const std::string out = frames("upload", proxy.port(), "1048576");
  EXPECT_TRUE(has_line(out, "status 1 200 1048576")) << out;
}

// Windows as curl and browsers grant them (megabytes), so only ferry's own writes pace the
// frames: a full queue handed back by a completed write once went unwritten, and the stream
// stalled a few megabytes in until client_idle.
TEST_F(Http2, ALargeResponseToAClientWithWideWindowsArrivesWhole) {
  RunningProxy proxy(h2_config(backend_.address()));
  ASSERT_TRUE(proxy.started()) << proxy.error();
  const std::string out = frames("download", proxy.port(), "33554432");
  EXPECT_TRUE(has_line(out, "download 200 33554432 ended")) << out;
}

TEST_F(Http2, ALargeResponseOverTlsArrivesWhole) {
  TestCa ca;
  const TestCa::Files site = ca.issue("site", {"site.test"});
  RunningProxy proxy(h2_tls_config(backend_.address(), site));
  ASSERT_TRUE(proxy.started()) << proxy.error();
  const std::string p = std::to_string(proxy.port());
  const CommandResult r = sh("curl -sS --max-time 30 --http2 --cacert " + ca.ca_file() + " --resolve site.test:" + p +
                                 ":127.0.0.1 -o /dev/null -w '%{http_version} %{size_download}' https://site.test:" + p +
                                 "/size/33554432",
                             40s);
  EXPECT_EQ(r.out, "2 33554432") << r.err;
}

TEST_F(Http2, MalformedRequestsAreAnsweredOnTheirStreamAndNeverForwarded) {
  RunningProxy proxy(h2_config(backend_.address()));
  ASSERT_TRUE(proxy.started()) << proxy.error();
  struct Case {
    const char* kind;
    const char* first;  // what stream 1 gets; stream 3 (an ordinary GET) must then get 200
  };
  const Case cases[] = {
      {"big", "status 1 431"},            // the decoded list passes max_header_bytes
      {"host-mismatch", "status 1 400"},  // :authority and Host disagree
      {"connection", "reset 1 1"},        // a connection-specific field: PROTOCOL_ERROR
      {"te-gzip", "reset 1 1"},           // te other than trailers
      {"no-authority", "reset 1 1"},
  };
  for (const Case& c : cases) {
    const std::string out = frames("headers", proxy.port(), c.kind);
    EXPECT_NE(out.find(c.first), std::string::npos) << c.kind << ":\n" << out;
    EXPECT_NE(out.find("status 3 200"), std::string::npos) << c.kind << ":\n" << out;
  }
  // Only the ordinary follow-up requests reached the backend.
  EXPECT_EQ(backend_.requests(), static_cast<int>(std::size(cases)));
  for (const Request& r : backend_.requests_seen()) {
    EXPECT_EQ(r.count("host"), 1);
    EXPECT_EQ(r.header("te"), "");
  }
}

// The attacks run against the real executable, whose resident memory the test can read.
class Http2Attacks : public ::testing::Test {
 protected:
  void SetUp() override {
    backend_.set_handler([](BackendConn& conn, const Request& req) {
      // Long enough for the SIGTERM to reach ferry's worker while the stream is in flight,
      // even under a sanitizer on a loaded host (300 ms once was not, in CI).
      if (req.target == "/slow") std::this_thread::sleep_for(1500ms);
      conn.send(FakeBackend::default_response("b1", req));
    });
    port_ = free_port();
    admin_ = free_port();
    const std::string conf = dir_.path() + "/ferry.yaml";
    write_file(conf, "workers: 1\nadmin: \"127.0.0.1:" + std::to_string(admin_) +
                         "\"\ntimeouts: {client_idle: 1s}\nlisteners:\n  - address: \"127.0.0.1:" +
                         std::to_string(port_) + "\"\n    protocols: [h2, http/1.1]\nbackends: [\"" +
                         backend_.address() + "\"]\n");
    ferry_ = std::make_unique<FerryProcess>(conf, dir_.path() + "/ferry.log");
    ASSERT_TRUE(ferry_->started());
    ASSERT_TRUE(eventually([&] { return has_line(frames("streams", port_, "1"), "ok 1"); })) << ferry_->log();
    base_requests_ = backend_.requests();
    base_rss_ = rss_kib(ferry_->pid());
  }

  // After an attack: ferry answers an ordinary client, and grew by less than `kib`.
  void expect_unharmed(long kib = 16 * 1024) {
    EXPECT_TRUE(has_line(frames("streams", port_, "1"), "ok 1")) << ferry_->log();
    EXPECT_LT(rss_kib(ferry_->pid()) - base_rss_, kib) << "RSS before: " << base_rss_ << " KiB";
  }
  int requests_since() const { return backend_.requests() - base_requests_; }

  FakeBackend backend_{"b1"};
  TempDir dir_{"ferry-h2-attacks"};
  uint16_t port_ = 0;
  uint16_t admin_ = 0;
  std::unique_ptr<FerryProcess> ferry_;
  int base_requests_ = 0;
  long base_rss_ = 0;
};

TEST_F(Http2Attacks, RapidResetEndsTheConnectionAndCostsTheBackendFewRequests) {
  const std::string out = frames("rapid-reset", port_, "5000");
  EXPECT_NE(out.find("goaway 11 "), std::string::npos) << out;  // ENHANCE_YOUR_CALM
  EXPECT_LT(requests_since(), 300) << out;
  expect_unharmed();
}

TEST_F(Http2Attacks, ContinuationFloodEndsTheConnectionWithNothingForwarded) {
  const std::string out = frames("continuation", port_, "20000");
  EXPECT_NE(out.find("goaway 1 "), std::string::npos) << out;  // PROTOCOL_ERROR
  EXPECT_EQ(requests_since(), 0);
  expect_unharmed();
}

TEST_F(Http2Attacks, HpackBombGets431AndTheConnectionGoesOn) {
  const std::string out = frames("hpack-bomb", port_);
  EXPECT_NE(out.find("status 1 431"), std::string::npos) << out;
  EXPECT_NE(out.find("status 3 200"), std::string::npos) << out;
  EXPECT_EQ(requests_since(), 1);
  expect_unharmed();
}

TEST_F(Http2Attacks, PingAndSettingsFloodsFromAClientThatNeverReadsEndTheConnection) {
  for (const char* kind : {"ping:300000", "settings:300000"}) {
    const std::string out = frames("flood", port_, kind);
    EXPECT_TRUE(out.find("goaway 11 ") != std::string::npos || has_line(out, "closed")) << kind << "\n" << out;
  }
  EXPECT_EQ(requests_since(), 0);
  expect_unharmed();
}

TEST_F(Http2Attacks, EmptyDataFramesEndTheConnection) {
  const std::string out = frames("empty-data", port_, "5000");
  EXPECT_NE(out.find("goaway 11 "), std::string::npos) << out;
  expect_unharmed();
}

TEST_F(Http2Attacks, AZeroWindowStallEndsWithinClientIdleAndFreesTheBackend) {
  // 4 MiB the client never opens a window for: ferry holds at most its buffers of it, and
  // gives the stream up after client_idle (1s here) instead of waiting forever.
  const std::string out = frames("zero-window", port_, "/size/4194304");
  EXPECT_NE(out.find("reset 1 2"), std::string::npos) << out;  // INTERNAL_ERROR: the exchange timed out
  expect_unharmed();
}

TEST_F(Http2Attacks, GracefulShutdownSendsGoawayAndTheStreamInFlightCompletes) {
  // nghttp, verbose: the frames it received, in order.
  const std::string trace = dir_.path() + "/nghttp.out";
  ChildProcess client({"/usr/bin/nghttp", "-v", "http://127.0.0.1:" + std::to_string(port_) + "/slow"}, trace, "");
  ASSERT_TRUE(eventually([&] { return backend_.requests() > base_requests_; }));  // the request is at the backend
  ferry_->signal(SIGTERM);
  ASSERT_EQ(client.wait_exit(10s), 0) << file_contents(trace);
  const std::string out = file_contents(trace);
  const std::size_t goaway = out.find("recv GOAWAY frame");
  const std::size_t status = out.find(":status: 200");
  ASSERT_NE(goaway, std::string::npos) << out;
  EXPECT_NE(out.find("last_stream_id=13, error_code=NO_ERROR"), std::string::npos) << out;
  ASSERT_NE(status, std::string::npos) << out;
  EXPECT_LT(goaway, status) << "the response came after the GOAWAY that announced the drain\n" << out;
  EXPECT_NE(out.find("hello from b1"), std::string::npos) << out;
  EXPECT_EQ(ferry_->wait_exit(), 0);
}

TEST_F(Http2Attacks, StreamsAreCountedPerListenerInTheMetrics) {
  ASSERT_TRUE(has_line(frames("streams", port_, "7"), "ok 7"));
  const std::string text = sh("curl -sS http://127.0.0.1:" + std::to_string(admin_) + "/metrics").out;
  const std::optional<double> n =
      metric_value(text, "ferry_http2_streams_total{listener=\"127.0.0.1:" + std::to_string(port_) + "\"}");
  ASSERT_TRUE(n.has_value()) << text;
  EXPECT_EQ(*n, 8);  // the 7, and SetUp's one
}

}  // namespace
}  // namespace ferry::testing
