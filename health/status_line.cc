#include "health/status_line.h"

namespace ferry::health {

StatusLine parse_status_line(std::string_view received) {
  using State = StatusLine::State;
  // "HTTP/1.x NNN" then SP or CR: the reason phrase may be empty (RFC 9112 4).
  constexpr std::string_view kPrefix = "HTTP/1.";
  constexpr std::size_t kCodeAt = kPrefix.size() + 2;  // after "x "
  const std::size_t checked = received.size() < kPrefix.size() ? received.size() : kPrefix.size();
  if (received.substr(0, checked) != kPrefix.substr(0, checked)) return {State::Malformed};
  auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
  for (std::size_t i = kPrefix.size(); i < received.size() && i <= kCodeAt + 3; ++i) {
    const char c = received[i];
    const bool ok = i == kPrefix.size()     ? is_digit(c)
                    : i == kPrefix.size() + 1 ? c == ' '
                    : i < kCodeAt + 3       ? is_digit(c)
                                            : c == ' ' || c == '\r';
    if (!ok) return {State::Malformed};
  }
  if (received.size() <= kCodeAt + 3) return {State::NeedMore};
  const int code = (received[kCodeAt] - '0') * 100 + (received[kCodeAt + 1] - '0') * 10 +
                   (received[kCodeAt + 2] - '0');
  return {State::Complete, code};
}

}  // namespace ferry::health
