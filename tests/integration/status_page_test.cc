// The admin status page (GET /) over a real socket, in front of real backends and checks.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "support/checked.h"
#include "support/client.h"
#include "support/fake_backend.h"
#include "support/html_rows.h"
#include "support/proxy_fixture.h"
#include "support/test_certificates.h"
#include "support/wait.h"

namespace ferry::testing {
namespace {

using namespace std::chrono_literals;

TEST(AdminStatusPage, ShowsBothBackendsWithTheirStateOnceACheckMarksOneDown) {
  FakeBackend up("up"), down("down");
  down.set_handler([](BackendConn& c, const Request&) {
    c.send("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n");
  });
  auto cfg = with_health_checks(test_config({up.address(), down.address()}), 100ms, 80ms, 2);
  cfg.admin = "127.0.0.1:0";
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started()) << proxy.error();
  const uint16_t admin = proxy.server().admin_port();

  std::string page;
  ASSERT_TRUE(eventually([&] {
    page = checked(get(admin, "/")).body;
    return page.find("data-state=\"unhealthy\"") != std::string::npos &&
           page.find("answered 200") != std::string::npos;
  })) << page;
  ASSERT_EQ(checked(get(proxy.port(), "/")).header("X-Backend"), "up");  // the one left in rotation
  const Response r = checked(get(admin, "/"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("Content-Type"), "text/html; charset=utf-8");
  page = r.body;
  EXPECT_NE(page.find("Pool default</h2>"), std::string::npos) << page;
  EXPECT_NE(page.find("round_robin &middot; health checks on &middot; <span class=\"warn\">1/2 up</span>"),
            std::string::npos);
  const std::string up_row = table_row_with(page, up.address());
  EXPECT_NE(up_row.find("<span class=\"state healthy\">healthy</span>"), std::string::npos) << up_row;
  EXPECT_NE(up_row.find("GET /health answered 200"), std::string::npos);
  EXPECT_NE(up_row.find("<span class=\"sub\">1 total</span>"), std::string::npos);  // the request above
  const std::string down_row = table_row_with(page, down.address());
  EXPECT_NE(down_row.find("<span class=\"state unhealthy\">unhealthy</span>"), std::string::npos) << down_row;
  EXPECT_NE(down_row.find("GET /health answered 503"), std::string::npos);
  EXPECT_NE(page.find("<meta http-equiv=\"refresh\""), std::string::npos);
  EXPECT_NE(page.find("<dt>config</dt><dd><span class=\"mono\">test</span>"), std::string::npos);
}

TEST(AdminStatusPage, AnswersHeadWithTheHeadersOnly) {
  FakeBackend b1("b1");
  auto cfg = test_config({b1.address()});
  cfg.admin = "127.0.0.1:0";
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started()) << proxy.error();
  Client c(proxy.server().admin_port());
  ASSERT_TRUE(c.send("HEAD / HTTP/1.1\r\nHost: x\r\n\r\n"));
  const Response r = checked(c.read_response(true));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_GT(std::stoul(r.header("Content-Length")), 1000u);  // the page's length, not an empty one
  EXPECT_TRUE(r.body.empty());
  EXPECT_TRUE(c.closed_by_peer());
}

TEST(AdminStatusPage, ShowsTheCertificatesServedAndWhenTheyExpire) {
  FakeBackend b1("b1");
  TestCa ca;
  const TestCa::Files site = ca.issue("site", {"status.test"});  // valid for 30 more days
  auto cfg = test_config({b1.address()});
  cfg.admin = "127.0.0.1:0";
  config::ListenerConfig listener;
  listener.address = cfg.listen.front();
  listener.tls = config::TlsSettings{};
  listener.tls->certificates = {{site.cert, site.key, 0, 0}};
  cfg.listeners = {listener};
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started()) << proxy.error();
  const std::string page = checked(get(proxy.server().admin_port(), "/")).body;
  const std::string row = table_row_with(page, "status.test");
  ASSERT_FALSE(row.empty()) << page;
  // 30 days less the seconds since it was issued, in whole days: 30 within the same second.
  EXPECT_TRUE(row.find("<td>30 days</td>") != std::string::npos || row.find("<td>29 days</td>") != std::string::npos)
      << row;
  EXPECT_EQ(page.find("no certificate served"), std::string::npos);
}

}  // namespace
}  // namespace ferry::testing
