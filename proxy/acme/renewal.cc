#include "proxy/acme/renewal.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <ctime>
#include <string>

namespace ferry::proxy::acme {

namespace {

constexpr int64_t kMaxRetryAfter = 24 * 3600;
constexpr int64_t kMaxBackoff = 6 * 3600;

}  // namespace

int64_t renewal_time(int64_t not_before, int64_t not_after, double unit) {
  const int64_t lifetime = std::max<int64_t>(not_after - not_before, 0);
  const double jitter = (unit * 2 - 1) * 0.02 * static_cast<double>(lifetime);
  return not_before + lifetime * 2 / 3 + static_cast<int64_t>(std::llround(jitter));
}

int64_t window_time(int64_t start, int64_t end, double unit) {
  if (end <= start) return start;
  return start + static_cast<int64_t>(static_cast<double>(end - start) * unit);
}

int64_t retry_delay(unsigned failures, int64_t lifetime, double unit) {
  int64_t base = 60;
  for (unsigned i = 1; i < failures && base < kMaxBackoff; ++i) base *= 10;
  base = std::min(base, kMaxBackoff);
  if (lifetime > 0) base = std::min(base, lifetime / 10);
  const double jittered = static_cast<double>(base) * (0.8 + 0.4 * unit);
  return std::max<int64_t>(1, static_cast<int64_t>(jittered));
}

std::optional<int64_t> retry_after_time(std::string_view value, int64_t now) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  if (value.empty()) return std::nullopt;
  if (value.find_first_not_of("0123456789") == std::string_view::npos) {
    if (value.size() > 9) return now + kMaxRetryAfter;
    return now + std::min<int64_t>(std::stoll(std::string(value)), kMaxRetryAfter);
  }
  std::tm tm{};
  const std::string text(value);
  const char* end = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr) return std::nullopt;
  const int64_t at = static_cast<int64_t>(timegm(&tm));
  return std::clamp<int64_t>(at, now, now + kMaxRetryAfter);
}

std::optional<int64_t> parse_rfc3339(std::string_view text) {
  std::tm tm{};
  const std::string s(text);
  const char* rest = strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (rest == nullptr) return std::nullopt;
  int64_t at = static_cast<int64_t>(timegm(&tm));
  if (*rest == '.') {
    ++rest;
    while (*rest >= '0' && *rest <= '9') ++rest;
  }
  if (*rest == 'Z' || *rest == 'z') return at;
  if ((*rest == '+' || *rest == '-') && std::strlen(rest) == 6 && rest[3] == ':') {
    const int hours = (rest[1] - '0') * 10 + (rest[2] - '0');
    const int minutes = (rest[4] - '0') * 10 + (rest[5] - '0');
    const int64_t offset = (hours * 60 + minutes) * 60;
    return *rest == '+' ? at - offset : at + offset;
  }
  return std::nullopt;
}

}  // namespace ferry::proxy::acme
