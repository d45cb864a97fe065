#include "support/metrics_text.h"

#include <cstdlib>
#include <sstream>

#include "support/client.h"

namespace ferry::testing {

std::string scrape_metrics(uint16_t admin_port) {
  const std::optional<Response> r = get(admin_port, "/metrics");
  if (!r || r->status != 200) return "";
  return r->body;
}

namespace {

// Each "series value" line of `text` whose series part satisfies `match`, by its value.
template <typename Match>
void each_sample(const std::string& text, Match match) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    // Label values may hold spaces in general; ferry's do not, but split at the last space.
    const std::size_t space = line.rfind(' ');
    if (space == std::string::npos) continue;
    match(line.substr(0, space), std::strtod(line.c_str() + space + 1, nullptr));
  }
}

}  // namespace

std::optional<double> metric_value(const std::string& text, const std::string& series) {
  std::optional<double> found;
  each_sample(text, [&](const std::string& s, double v) {
    if (s == series) found = v;
  });
  return found;
}

double metric_sum(const std::string& text, const std::string& family) {
  double sum = 0;
  each_sample(text, [&](const std::string& s, double v) {
    if (s == family || s.rfind(family + "{", 0) == 0) sum += v;
  });
  return sum;
}

std::string metric_lines(const std::string& text, const std::string& family) {
  std::string out;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line))
    if (line.rfind(family + "{", 0) == 0 || line.rfind(family + " ", 0) == 0) out += line + "\n";
  return out;
}

std::string backend_error_series(const std::string& backend, const std::string& kind, const std::string& pool) {
  return "ferry_backend_errors_total{pool=\"" + pool + "\",backend=\"" + backend + "\",kind=\"" + kind + "\"}";
}

std::string requests_series(const std::string& backend, int code, const std::string& pool) {
  if (pool.empty()) return "ferry_requests_total{backend=\"" + backend + "\",code=\"" + std::to_string(code) + "\"}";
  return "ferry_requests_total{pool=\"" + pool + "\",backend=\"" + backend + "\",code=\"" + std::to_string(code) + "\"}";
}

}  // namespace ferry::testing
