#include "proxy/admin/status_page.h"

#include <cstdio>
#include <ctime>
#include <string_view>

#include "proxy/admin/html_escape.h"

namespace ferry::proxy {

namespace {

using std::chrono::system_clock;

// Small enough to send inline; no external fonts or files, so the page works offline and
// behind any firewall. State colours: green healthy, red unhealthy, amber draining, blue drained.
constexpr std::string_view kStyle = R"css(
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:#1f2328;background:#f6f8fa;margin:0;padding:20px 28px}
main{max-width:1280px;margin:0 auto}
header{display:flex;align-items:baseline;justify-content:space-between;flex-wrap:wrap;gap:8px;margin-bottom:12px}
h1{font-size:22px;margin:0}
h1 small{font-weight:400;color:#59636e;font-size:15px;margin-left:6px}
h2{font-size:16px;margin:0}
.meta,.sub,footer{color:#59636e}
.facts{display:flex;flex-wrap:wrap;gap:6px 26px;margin:0 0 18px;padding:10px 14px;background:#fff;border:1px solid #d1d9e0;border-radius:8px}
.facts div{white-space:nowrap}
.facts dt{display:inline;color:#59636e}
.facts dd{display:inline;margin:0 0 0 6px;font-weight:600}
section{background:#fff;border:1px solid #d1d9e0;border-radius:8px;margin-bottom:18px;overflow:hidden}
section>.head{display:flex;align-items:baseline;flex-wrap:wrap;gap:6px 16px;padding:10px 14px;border-bottom:1px solid #d1d9e0;background:#f6f8fa}
table{width:100%;border-collapse:collapse}
.pool table{table-layout:fixed}
.pool th:nth-child(1){width:16%}.pool th:nth-child(2){width:13%}.pool th:nth-child(3){width:9%}
.pool th:nth-child(4){width:6%}.pool th:nth-child(5){width:7%}.pool th:nth-child(6){width:9%}
.pool th:nth-child(7){width:7%}.pool th:nth-child(8){width:33%}
th,td{box-sizing:border-box;padding:7px 14px;text-align:left;vertical-align:top;border-bottom:1px solid #eef1f4}
th{font-size:12px;text-transform:uppercase;letter-spacing:.03em;color:#59636e;font-weight:600;white-space:nowrap}
tr:last-child td{border-bottom:0}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.sub{display:block;font-size:12px}
.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:13px;overflow-wrap:anywhere}
.state{display:inline-block;padding:1px 10px;border-radius:10px;font-size:12px;font-weight:600}
.healthy{background:#dafbe1;color:#116329}
.unhealthy{background:#ffebe9;color:#a40e26}
.draining{background:#fff8c5;color:#7d4e00}
.drained{background:#ddf4ff;color:#0550ae}
.unknown{background:#eaeef2;color:#424a53}
tr[data-state=unhealthy] td:first-child{box-shadow:inset 3px 0 #cf222e}
tr[data-state=draining] td:first-child{box-shadow:inset 3px 0 #d4a72c}
tr[data-state=drained] td:first-child{box-shadow:inset 3px 0 #218bff}
.bad{color:#a40e26;font-weight:600}
.warn{color:#7d4e00;font-weight:600}
.empty{padding:10px 14px;margin:0;color:#59636e}
footer{font-size:12px}
)css";

std::string format(const char* fmt, double value) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, value);
  return buf;
}

std::string utc(system_clock::time_point t, const char* fmt) {
  const std::time_t secs = system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, fmt, &tm);
  return buf;
}

// "3d 4h", "4h 12m", "12m 5s", "5s": the two largest units.
std::string span(int64_t seconds) {
  if (seconds < 0) seconds = 0;
  const int64_t d = seconds / 86400, h = seconds / 3600 % 24, m = seconds / 60 % 60, s = seconds % 60;
  if (d > 0) return std::to_string(d) + "d " + std::to_string(h) + "h";
  if (h > 0) return std::to_string(h) + "h " + std::to_string(m) + "m";
  if (m > 0) return std::to_string(m) + "m " + std::to_string(s) + "s";
  return std::to_string(s) + "s";
}

std::string rate(double per_second) { return format(per_second >= 100 ? "%.0f/s" : "%.1f/s", per_second); }

// The CSS class for a state; only known names become classes, whatever the data says.
std::string_view state_class(std::string_view state) {
  for (std::string_view known : {"healthy", "unhealthy", "draining", "drained"})
    if (state == known) return known;
  return "unknown";
}

void head(std::string& out, const StatusData& data) {
  out += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  out += "<meta http-equiv=\"refresh\" content=\"" + std::to_string(data.refresh_seconds) + "\">\n";
  out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  out += "<title>ferry status</title>\n<style>";
  out += kStyle;
  out += "</style>\n</head>\n";
}

void process_facts(std::string& out, const StatusData& data) {
  const StatusProcess& p = data.process;
  out += "<header><h1>ferry <small>status</small></h1><span class=\"meta\">" +
         utc(data.now, "%Y-%m-%d %H:%M:%S UTC") + " &middot; refreshes every " +
         std::to_string(data.refresh_seconds) + " s</span></header>\n";
  auto fact = [&out](std::string_view name, const std::string& value_html) {
    out += "<div><dt>";
    out += name;
    out += "</dt><dd>" + value_html + "</dd></div>";
  };
  out += "<dl class=\"facts\">";
  fact("pid", std::to_string(p.pid));
  fact("version", html_escape(p.version));
  fact("uptime", span(p.uptime.count()));
  fact("config", "<span class=\"mono\">" + html_escape(p.config_file) + "</span>");
  fact("generation", std::to_string(p.config_generation));
  fact("reloads", std::to_string(p.reloads_ok) + " ok, " +
                      (p.reloads_failed > 0 ? "<span class=\"bad\">" + std::to_string(p.reloads_failed) + " failed</span>"
                                            : std::string("0 failed")));
  out += "</dl>\n";
}

// A rate with its total under it, or a dash before there are two samples.
std::string rate_cell(const std::optional<StatusRates>& rates, double StatusRates::*which, uint64_t total) {
  std::string cell = rates ? rate((*rates).*which) : std::string("&ndash;");
  return cell + "<span class=\"sub\">" + std::to_string(total) + " total</span>";
}

std::string check_cell(const StatusBackend& b, bool pool_checks, system_clock::time_point now) {
  if (!b.last_check) return "<span class=\"meta\">" + std::string(pool_checks ? "not checked" : "checks off") + "</span>";
  const StatusCheck& c = *b.last_check;
  if (c.result.empty()) return "<span class=\"meta\">not checked yet</span>";
  const auto age = std::chrono::duration_cast<std::chrono::seconds>(now - c.time).count();
  return std::string(c.consecutive_failures > 0 ? "<span class=\"bad\">" : "<span>") + html_escape(c.result) +
         "</span><span class=\"sub\">" + utc(c.time, "%H:%M:%S UTC") + " (" + span(age) + " ago) &middot; " +
         std::to_string(c.consecutive_passes) + " passed, " + std::to_string(c.consecutive_failures) +
         " failed in a row</span>";
}

void backend_row(std::string& out, const StatusBackend& b, bool pool_checks, system_clock::time_point now) {
  const std::string_view cls = state_class(b.state);
  out += "<tr data-state=\"";
  out += cls;
  out += "\"><td class=\"mono\">" + html_escape(b.address) + "</td>";
  out += "<td class=\"mono\">" + html_escape(b.resolved) + "</td>";
  out += "<td><span class=\"state ";
  out += cls;
  out += "\">" + html_escape(b.state) + "</span></td>";
  out += "<td class=\"num\">" + std::to_string(b.weight) + "</td>";
  out += "<td class=\"num\">" + std::to_string(b.in_flight) + "</td>";
  out += "<td class=\"num\">" + rate_cell(b.rates, &StatusRates::requests, b.requests) + "</td>";
  out += "<td class=\"num\">" + rate_cell(b.rates, &StatusRates::errors, b.errors) + "</td>";
  out += "<td>" + check_cell(b, pool_checks, now) + "</td></tr>\n";
}

void pool_section(std::string& out, const StatusPool& pool, system_clock::time_point now) {
  const auto total = pool.backends.size();
  const char* up_class = pool.up == 0 ? "bad" : pool.up < total - pool.draining ? "warn" : "ok";
  out += "<section class=\"pool\"><div class=\"head\"><h2>Pool " + html_escape(pool.name) +
         "</h2><span class=\"meta\">" + html_escape(pool.balancer) + " &middot; health checks " +
         (pool.health_checks ? "on" : "off") + " &middot; <span class=\"" + up_class + "\">" +
         std::to_string(pool.up) + "/" + std::to_string(total) + " up</span> &middot; " +
         std::to_string(pool.draining) + " draining</span></div>\n";
  if (pool.backends.empty()) {
    out += "<p class=\"empty\">No backends.</p></section>\n";
    return;
  }
  out += "<table><thead><tr><th>Backend</th><th>Resolved</th><th>State</th><th class=\"num\">Weight</th>"
         "<th class=\"num\">In flight</th><th class=\"num\">Requests</th><th class=\"num\">5xx</th>"
         "<th>Last health check</th></tr></thead>\n<tbody>\n";
  for (const StatusBackend& b : pool.backends) backend_row(out, b, pool.health_checks, now);
  out += "</tbody></table></section>\n";
}

void certificates_section(std::string& out, const StatusData& data) {
  out += "<section class=\"certificates\"><div class=\"head\"><h2>Certificates</h2></div>\n";
  if (data.certificates.empty()) {
    out += "<p class=\"empty\">No TLS listener: no certificate served.</p></section>\n";
    return;
  }
  out += "<table><thead><tr><th>Name</th><th>Expires</th><th>Left</th></tr></thead>\n<tbody>\n";
  const int64_t now = system_clock::to_time_t(data.now);
  for (const StatusCertificate& c : data.certificates) {
    const int64_t left = c.not_after - now;
    const int64_t days = left / 86400;
    std::string when = left < 0    ? "<span class=\"bad\">expired " + span(-left) + " ago</span>"
                       : days < 14 ? "<span class=\"warn\">" + std::to_string(days) + " days</span>"
                                   : std::to_string(days) + " days";
    out += "<tr><td class=\"mono\">" + html_escape(c.name) + "</td><td>" +
           utc(system_clock::from_time_t(static_cast<std::time_t>(c.not_after)), "%Y-%m-%d %H:%M UTC") +
           "</td><td>" + when + "</td></tr>\n";
  }
  out += "</tbody></table></section>\n";
}

void footer(std::string& out, const StatusData& data) {
  out += "<footer>Rates: ";
  if (data.rate_window.count() > 0) {
    out += "over the " + format("%.1f", static_cast<double>(data.rate_window.count()) / 1000) +
           " s since the previous render";
  } else {
    out += "from the next render on (the first sample has nothing to compare with)";
  }
  out += "; totals since ferry started. 5xx counts responses with a 5xx status, ferry's own 502 and 504 "
         "included. JSON: <a href=\"/backends\">/backends</a>, metrics: <a href=\"/metrics\">/metrics</a>."
         "</footer>\n";
}

}  // namespace

std::string render_status_page(const StatusData& data) {
  std::string out;
  out.reserve(8192 + 1024 * data.pools.size());
  head(out, data);
  out += "<body>\n<main>\n";
  process_facts(out, data);
  for (const StatusPool& pool : data.pools) pool_section(out, pool, data.now);
  certificates_section(out, data);
  footer(out, data);
  out += "</main>\n</body>\n</html>\n";
  return out;
}

}  // namespace ferry::proxy
