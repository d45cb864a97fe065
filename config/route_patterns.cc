#include "config/route_patterns.h"

namespace ferry::config {

namespace {

bool is_visible(char c) { return c > 0x20 && c < 0x7f; }

bool fits(std::string_view text) { return !text.empty() && text.size() <= kMaxPatternLength; }

}  // namespace

bool is_host_pattern(std::string_view text) {
  if (!fits(text)) return false;
  for (char c : text) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && c != '-' && c != '.' && c != '*' && c != '?') return false;
  }
  return true;
}

bool is_path_pattern(std::string_view text) {
  if (!fits(text) || (text.front() != '/' && text.front() != '*')) return false;
  for (char c : text)
    if (!is_visible(c)) return false;
  return true;
}

bool is_header_value_pattern(std::string_view text) {
  if (!fits(text) || text.front() == ' ' || text.back() == ' ') return false;  // HTTP trims those
  for (char c : text)
    if (c != ' ' && !is_visible(c)) return false;
  return true;
}

bool is_query_value_pattern(std::string_view text) {
  if (!fits(text)) return false;
  for (char c : text)
    if (!is_visible(c) || c == '&' || c == '#') return false;
  return true;
}

bool is_query_name(std::string_view text) {
  if (!fits(text)) return false;
  for (char c : text)
    if (!is_visible(c) || c == '&' || c == '=' || c == '#' || c == '*' || c == '?') return false;
  return true;
}

bool is_strip_prefix(std::string_view text) {
  if (text.empty()) return true;
  if (text.front() != '/' || text.back() == '/') return false;
  for (char c : text)
    if (!is_visible(c) || c == '?') return false;
  return true;
}

}  // namespace ferry::config
