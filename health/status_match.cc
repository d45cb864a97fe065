#include "health/status_match.h"

#include <charconv>

namespace ferry::health {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Exactly three digits: "20" and "2000" are typos, not codes.
std::optional<int> parse_code(std::string_view s) {
  s = trim(s);
  if (s.size() != 3) return std::nullopt;
  int value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return value;
}

}  // namespace

std::optional<StatusMatch> StatusMatch::parse(std::string_view text, std::string* error) {
  auto fail = [&](std::string message) -> std::optional<StatusMatch> {
    if (error) *error = std::move(message);
    return std::nullopt;
  };
  const std::string quoted = "expected_status \"" + std::string(text) + "\": ";
  if (trim(text).empty()) return fail(quoted + "expected a status code, a range or a comma list");

  StatusMatch match;
  std::string_view rest = text;
  while (true) {
    const std::size_t comma = rest.find(',');
    const std::string_view item = trim(rest.substr(0, comma));
    if (item.empty()) return fail(quoted + "empty item in the list");
    const std::size_t dash = item.find('-');
    const auto low = parse_code(item.substr(0, dash));
    const auto high = dash == std::string_view::npos ? low : parse_code(item.substr(dash + 1));
    if (!low || !high)
      return fail(quoted + "\"" + std::string(item) +
                  "\" is not a three-digit status code or a range like 200-399");
    if (*low < kLowest || *high > kHighest)
      return fail(quoted + "\"" + std::string(item) + "\" is outside 100-599");
    if (*low > *high)
      return fail(quoted + "range \"" + std::string(item) + "\" ends before it starts");
    for (int code = *low; code <= *high; ++code) match.codes_.set(code - kLowest);
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  return match;
}

}  // namespace ferry::health
