// Reading ferry's /metrics (Prometheus text format) in tests: one series' value, or a family's
// sum, so tests assert exact counts instead of searching for substrings.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace ferry::testing {

// The body of GET /metrics on the admin port ("" if it could not be fetched).
std::string scrape_metrics(uint16_t admin_port);

// The value of the series written exactly as `series` (name and labels as ferry prints them,
// e.g. `ferry_backend_errors_total{backend="127.0.0.1:80",kind="connect"}`), or nullopt when the
// text has no such series.
std::optional<double> metric_value(const std::string& text, const std::string& series);

// The sum over every series of `family` (e.g. "ferry_requests_total"), any labels.
double metric_sum(const std::string& text, const std::string& family);

// The sample lines of `family` only, for failure messages.
std::string metric_lines(const std::string& text, const std::string& family);

// `ferry_backend_errors_total{pool="P",backend="B",kind="K"}` as ferry names it.
std::string backend_error_series(const std::string& backend, const std::string& kind,
                                 const std::string& pool = "default");
// `ferry_requests_total{pool="P",backend="B",code="C"}`; ferry's own answers (backend "none")
// have no pool: pass pool "".
std::string requests_series(const std::string& backend, int code, const std::string& pool = "default");

}  // namespace ferry::testing
