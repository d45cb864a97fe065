// The status page's HTML (proxy/admin/status_page.h), rendered from hand-made data.
#include "proxy/admin/status_page.h"

#include <gtest/gtest.h>

#include <string>

#include "support/html_rows.h"

namespace ferry::proxy {
namespace {

using ferry::testing::table_row_with;

using namespace std::chrono_literals;

// 2026-12-06 12:00:00 UTC.
const std::chrono::system_clock::time_point kNow = std::chrono::system_clock::from_time_t(1796558400);

StatusBackend backend(const std::string& address, const std::string& state) {
  StatusBackend b;
  b.address = address;
  b.resolved = address;
  b.state = state;
  return b;
}

StatusData two_pools() {
  StatusData d;
  d.now = kNow;
  d.process.pid = 4242;
  d.process.version = "0.1.0";
  d.process.uptime = 2h + 3min + 4s;
  d.process.config_file = "/etc/ferry/ferry.yaml";
  d.process.config_generation = 3;
  d.process.reloads_ok = 2;
  StatusPool web{"web", "round_robin", true, 1, 0, {}};
  StatusBackend up = backend("10.0.0.1:8000", "healthy");
  up.last_check = StatusCheck{"GET /health answered 200", kNow - 2s, 41, 0};
  StatusBackend down = backend("app.internal:8000", "unhealthy");
  down.resolved = "10.0.0.2:8000";
  down.last_check = StatusCheck{"connect refused", kNow - 1s, 0, 3};
  web.backends = {up, down};
  StatusPool api{"api", "least_outstanding", false, 1, 2, {}};
  api.backends = {backend("10.0.1.1:9000", "healthy"), backend("10.0.1.2:9000", "draining"),
                  backend("10.0.1.3:9000", "drained")};
  d.pools = {web, api};
  return d;
}

TEST(StatusPage, ShowsEveryPoolWithItsBalancerChecksAndCounts) {
  const std::string page = render_status_page(two_pools());
  EXPECT_NE(page.find("Pool web</h2>"), std::string::npos) << page;
  EXPECT_NE(page.find("round_robin &middot; health checks on &middot; <span class=\"warn\">1/2 up</span> &middot; 0 draining"),
            std::string::npos);
  EXPECT_NE(page.find("Pool api</h2>"), std::string::npos);
  EXPECT_NE(page.find("least_outstanding &middot; health checks off &middot; <span class=\"ok\">1/3 up</span> &middot; 2 draining"),
            std::string::npos);
  EXPECT_LT(page.find("Pool web"), page.find("Pool api"));  // configuration order
}

TEST(StatusPage, ShowsEachBackendWithItsAddressesAndState) {
  const std::string page = render_status_page(two_pools());
  const std::string down = table_row_with(page, "app.internal:8000");
  EXPECT_NE(down.find("data-state=\"unhealthy\""), std::string::npos) << down;
  EXPECT_NE(down.find("<span class=\"state unhealthy\">unhealthy</span>"), std::string::npos);
  EXPECT_NE(down.find("10.0.0.2:8000"), std::string::npos);  // resolved
  EXPECT_NE(down.find("connect refused"), std::string::npos);
  EXPECT_NE(down.find("0 passed, 3 failed in a row"), std::string::npos);
  EXPECT_NE(down.find("11:59:59 UTC (1s ago)"), std::string::npos);
  const std::string up = table_row_with(page, "10.0.0.1:8000");
  EXPECT_NE(up.find("<span class=\"state healthy\">healthy</span>"), std::string::npos) << up;
  EXPECT_NE(up.find("41 passed, 0 failed in a row"), std::string::npos);
  EXPECT_NE(table_row_with(page, "10.0.1.2:9000").find("state draining\">draining<"), std::string::npos);
  EXPECT_NE(table_row_with(page, "10.0.1.3:9000").find("state drained\">drained<"), std::string::npos);
  EXPECT_NE(table_row_with(page, "10.0.1.1:9000").find("checks off"), std::string::npos);
}

TEST(StatusPage, ShowsWeightLoadRatesAndTotals) {
  StatusData d = two_pools();
  StatusBackend& b = d.pools[0].backends[0];
  b.weight = 7;
  b.in_flight = 12;
  b.requests = 1520;
  b.errors = 4;
  b.rates = StatusRates{31.25, 0.5};
  d.rate_window = 4800ms;
  const std::string page = render_status_page(d);
  const std::string row = table_row_with(page, "10.0.0.1:8000");
  EXPECT_NE(row.find("<td class=\"num\">7</td><td class=\"num\">12</td>"), std::string::npos) << row;
  EXPECT_NE(row.find("31.2/s<span class=\"sub\">1520 total</span>"), std::string::npos);
  EXPECT_NE(row.find("0.5/s<span class=\"sub\">4 total</span>"), std::string::npos);
  EXPECT_NE(page.find("over the 4.8 s since the previous render"), std::string::npos);
  // Without an earlier sample there is no rate yet, only totals.
  EXPECT_NE(table_row_with(page, "app.internal:8000").find("&ndash;<span class=\"sub\">0 total</span>"), std::string::npos);
}

TEST(StatusPage, EscapesBackendNamesAndCheckMessages) {
  StatusData d = two_pools();
  d.pools[0].name = "<b>pool</b>";
  d.pools[0].backends[0].address = "<script>alert('x')</script>:80";
  d.pools[0].backends[1].last_check->result = "GET /health answered 200 <script>alert(\"x\")</script> & more";
  d.process.config_file = "/tmp/<img src=x>.yaml";
  d.certificates = {{"<i>evil</i>.example", 1800000000}};
  const std::string page = render_status_page(d);
  EXPECT_EQ(page.find("<script"), std::string::npos) << page;
  EXPECT_EQ(page.find("<b>pool"), std::string::npos);
  EXPECT_EQ(page.find("<img"), std::string::npos);
  EXPECT_EQ(page.find("<i>evil"), std::string::npos);
  EXPECT_NE(page.find("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;:80"), std::string::npos);
  EXPECT_NE(page.find("answered 200 &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; more"), std::string::npos);
  EXPECT_NE(page.find("Pool &lt;b&gt;pool&lt;/b&gt;"), std::string::npos);
  EXPECT_NE(page.find("/tmp/&lt;img src=x&gt;.yaml"), std::string::npos);
}

TEST(StatusPage, AStateItDoesNotKnowBecomesNoClassOfItsOwn) {
  StatusData d = two_pools();
  d.pools[0].backends[0].state = "x\" onmouseover=\"alert(1)";
  const std::string page = render_status_page(d);
  EXPECT_EQ(page.find("onmouseover=\""), std::string::npos) << page;
  const std::string row = table_row_with(page, "10.0.0.1:8000");
  EXPECT_NE(row.find("data-state=\"unknown\""), std::string::npos) << row;
  EXPECT_NE(row.find("state unknown\">x&quot; onmouseover=&quot;alert(1)</span>"), std::string::npos);
}

TEST(StatusPage, RefreshesItselfWithoutAnyScript) {
  StatusData d = two_pools();
  d.refresh_seconds = 5;
  const std::string page = render_status_page(d);
  EXPECT_EQ(page.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(page.find("<meta http-equiv=\"refresh\" content=\"5\">"), std::string::npos);
  EXPECT_NE(page.find("refreshes every 5 s"), std::string::npos);
  EXPECT_EQ(page.find("<script"), std::string::npos);
}

TEST(StatusPage, LoadsNothingFromElsewhere) {
  StatusData d = two_pools();
  d.certificates = {{"example.com", 1800000000}};
  const std::string page = render_status_page(d);
  for (const char* external : {"src=", "<link", "@import", "url(", "http://", "https://", "//"}) {
    EXPECT_EQ(page.find(external), std::string::npos) << external;
  }
  EXPECT_NE(page.find("<style>"), std::string::npos);  // the style is inline
}

TEST(StatusPage, ShowsTheProcess) {
  const std::string page = render_status_page(two_pools());
  EXPECT_NE(page.find("<dt>pid</dt><dd>4242</dd>"), std::string::npos) << page;
  EXPECT_NE(page.find("<dt>version</dt><dd>0.1.0</dd>"), std::string::npos);
  EXPECT_NE(page.find("<dt>uptime</dt><dd>2h 3m</dd>"), std::string::npos);
  EXPECT_NE(page.find("/etc/ferry/ferry.yaml"), std::string::npos);
  EXPECT_NE(page.find("<dt>generation</dt><dd>3</dd>"), std::string::npos);
  EXPECT_NE(page.find("<dt>reloads</dt><dd>2 ok, 0 failed</dd>"), std::string::npos);
  EXPECT_NE(page.find("2026-12-06 12:00:00 UTC"), std::string::npos);
}

TEST(StatusPage, ShowsEachCertificateWithTheTimeLeft) {
  StatusData d = two_pools();
  const int64_t now = std::chrono::system_clock::to_time_t(kNow);
  d.certificates = {{"old.example", now - 3 * 86400}, {"soon.example", now + 5 * 86400 + 60},
                    {"fine.example", now + 80 * 86400 + 60}};
  const std::string page = render_status_page(d);
  EXPECT_NE(table_row_with(page, "old.example").find("<span class=\"bad\">expired 3d 0h ago</span>"), std::string::npos) << page;
  EXPECT_NE(table_row_with(page, "soon.example").find("<span class=\"warn\">5 days</span>"), std::string::npos);
  EXPECT_NE(table_row_with(page, "soon.example").find("2026-12-11 12:01 UTC"), std::string::npos);
  EXPECT_NE(table_row_with(page, "fine.example").find("<td>80 days</td>"), std::string::npos);
  d.certificates.clear();
  EXPECT_NE(render_status_page(d).find("no certificate served"), std::string::npos);
}

}  // namespace
}  // namespace ferry::proxy
