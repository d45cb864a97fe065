// The admin listener: /healthz, /backends, /metrics, and a real Prometheus server scraping it.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include "support/checked.h"
#include "support/child_process.h"
#include "support/client.h"
#include "support/fake_backend.h"
#include "support/ports.h"
#include "support/proxy_fixture.h"
#include "support/temp_dir.h"

namespace ferry::testing {
namespace {

using namespace std::chrono_literals;

config::Config admin_config(const std::vector<std::string>& backends) {
  auto cfg = test_config(backends);
  cfg.admin = "127.0.0.1:0";
  return cfg;
}

TEST(Admin, HealthzAnswersJsonWithThePid) {
  FakeBackend b1("b1");
  RunningProxy proxy(admin_config({b1.address()}));
  ASSERT_TRUE(proxy.started()) << proxy.error();
  auto r = get(proxy.server().admin_port(), "/healthz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("Content-Type"), "application/json");
  EXPECT_EQ(r->body, "{\"status\": \"ok\", \"pid\": " + std::to_string(::getpid()) + "}\n");  // ferry runs in this process
  const Response missing = checked(get(proxy.server().admin_port(), "/nope"));
  EXPECT_EQ(missing.status, 404);
  EXPECT_NE(missing.body.find("try /, /metrics"), std::string::npos) << missing.body;
  Client c(proxy.server().admin_port());
  ASSERT_TRUE(c.send("POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"));
  EXPECT_EQ(checked(c.read_response()).status, 405);
}

TEST(Admin, MetricsCountTheTrafficByBackendAndCode) {
  FakeBackend b1("b1"), b2("b2");
  b2.set_handler([](BackendConn& c, const Request&) {
    c.send("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
  });
  RunningProxy proxy(admin_config({b1.address(), b2.address()}));
  ASSERT_TRUE(proxy.started());
  Client c(proxy.port());
  for (int i = 0; i < 10; ++i) {
    c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_TRUE(c.read_response());
  }
  Client bad(proxy.port());
  bad.send("GET / HTTP/1.1\r\nHost : x\r\n\r\n");
  ASSERT_TRUE(bad.read_response());
  auto r = get(proxy.server().admin_port(), "/metrics");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  const std::string& m = r->body;
  EXPECT_NE(m.find("ferry_requests_total{pool=\"default\",backend=\"" + b1.address() + "\",code=\"200\"} 5"), std::string::npos) << m;
  EXPECT_NE(m.find("ferry_requests_total{pool=\"default\",backend=\"" + b2.address() + "\",code=\"404\"} 5"), std::string::npos);
  EXPECT_NE(m.find("ferry_requests_total{backend=\"none\",code=\"400\"} 1"), std::string::npos);
  EXPECT_NE(m.find("ferry_request_duration_seconds_count{pool=\"default\",backend=\"" + b1.address() + "\"} 5"), std::string::npos);
  EXPECT_NE(m.find("ferry_backend_up{pool=\"default\",backend=\"" + b1.address() + "\"} 1"), std::string::npos);
  EXPECT_NE(m.find("ferry_backend_errors_total{pool=\"default\",backend=\"" + b1.address() + "\",kind=\"connect\"} 0"), std::string::npos);
  EXPECT_NE(m.find("ferry_active_connections{side=\"client\"} 2"), std::string::npos);  // `c` and `bad` are open
  EXPECT_NE(m.find("ferry_active_connections{side=\"backend\"}"), std::string::npos);
  EXPECT_NE(m.find("ferry_config_reloads_total{result=\"success\"} 0"), std::string::npos);
  EXPECT_NE(m.find("process_resident_memory_bytes"), std::string::npos);
  EXPECT_NE(m.find("ferry_build_info{version="), std::string::npos);
}

TEST(Admin, BackendsShowStateLoadAndChecks) {
  FakeBackend b1("b1");
  auto cfg = with_health_checks(admin_config({b1.address()}), 50ms, 40ms, 2);
  cfg.backends[0].weight = 7;
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started());
  ASSERT_TRUE(get(proxy.port(), "/"));
  std::string body;
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (std::chrono::steady_clock::now() < deadline) {
    body = checked(get(proxy.server().admin_port(), "/backends")).body;
    if (body.find("answered 200") != std::string::npos && body.find("\"requests\": 1") != std::string::npos) break;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_NE(body.find("\"address\": \"" + b1.address() + "\""), std::string::npos) << body;
  EXPECT_NE(body.find("\"state\": \"healthy\""), std::string::npos);
  EXPECT_NE(body.find("\"weight\": 7"), std::string::npos);
  EXPECT_NE(body.find("\"in_flight\": 0"), std::string::npos);
  EXPECT_NE(body.find("\"requests\": 1"), std::string::npos);
  EXPECT_NE(body.find("\"result\": \"GET /health answered 200\""), std::string::npos);
}

// ---- a real Prometheus server scrapes ferry ----

std::string url_encode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '_' || c == '-' || c == '.') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

// The value of a scalar-ish instant query ("sum(...)"), or "" while there is none.
std::string query(uint16_t port, const std::string& promql) {
  auto r = get(port, "/api/v1/query?query=" + url_encode(promql));
  if (!r || r->status != 200) return "";
  std::smatch m;
  static const std::regex value(R"re("value":\[[0-9.]+,"([^"]+)"\])re");
  return std::regex_search(r->body, m, value) ? m[1].str() : "";
}

TEST(Prometheus, ARealServerScrapesTheCountsFerryServed) {
  const char* binary = "/usr/bin/prometheus";
  ASSERT_EQ(::access(binary, X_OK), 0) << "prometheus is installed by scripts/install-deps.sh";
  FakeBackend b1("b1"), b2("b2");
  RunningProxy proxy(admin_config({b1.address(), b2.address()}));
  ASSERT_TRUE(proxy.started());
  Client c(proxy.port());
  for (int i = 0; i < 12; ++i) {
    c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_TRUE(c.read_response());
  }

  const TempDir temp("ferry-prom");
  ASSERT_FALSE(temp.path().empty());
  const std::filesystem::path dir = temp.path();
  std::filesystem::create_directory(dir / "data");
  {
    std::ofstream conf(dir / "prometheus.yml");
    conf << "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n"
         << "  - job_name: ferry\n    static_configs:\n      - targets: ['127.0.0.1:"
         << proxy.server().admin_port() << "']\n";
  }
  const uint16_t prom_port = free_port();
  // Killed (SIGKILL) and reaped by pid however the test ends.
  ChildProcess prometheus({binary, "--config.file=" + (dir / "prometheus.yml").string(),
                           "--storage.tsdb.path=" + (dir / "data").string(),
                           "--web.listen-address=127.0.0.1:" + std::to_string(prom_port)},
                          "", "");
  ASSERT_TRUE(prometheus.started());
  std::string total, up;
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (std::chrono::steady_clock::now() < deadline) {
    total = query(prom_port, "sum(ferry_requests_total)");
    up = query(prom_port, "sum(ferry_backend_up)");
    if (total == "12" && up == "2") break;
    std::this_thread::sleep_for(250ms);
  }
  const std::string per_backend =
      query(prom_port, "ferry_requests_total{backend=\"" + b1.address() + "\",code=\"200\"}");
  prometheus.signal(SIGTERM);
  prometheus.wait_exit(10s);
  EXPECT_EQ(total, "12");
  EXPECT_EQ(up, "2");
  EXPECT_EQ(per_backend, "6");
}

}  // namespace
}  // namespace ferry::testing
