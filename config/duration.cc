#include "config/duration.h"

#include <array>
#include <limits>

namespace ferry::config {

namespace {

struct Unit {
  std::string_view suffix;
  uint64_t factor;
};

// Smallest unit first; the formatters walk them from the largest to find the shortest exact form.
constexpr std::array<Unit, 4> kDurationUnits{{{"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}}};
constexpr std::array<Unit, 3> kSizeUnits{{{"KiB", 1ULL << 10}, {"MiB", 1ULL << 20}, {"GiB", 1ULL << 30}}};

// Leading decimal digits of `text` as a number; nullopt when there are none or they overflow.
// `digits` receives how many characters were consumed.
std::optional<uint64_t> leading_integer(std::string_view text, std::size_t* digits) {
  uint64_t value = 0;
  std::size_t i = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
    const uint64_t digit = static_cast<uint64_t>(text[i] - '0');
    if (value > (std::numeric_limits<uint64_t>::max() - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  if (i == 0) return std::nullopt;
  *digits = i;
  return value;
}

// value * factor, or nullopt past `limit`.
std::optional<uint64_t> scaled(uint64_t value, uint64_t factor, uint64_t limit) {
  if (value > limit / factor) return std::nullopt;
  return value * factor;
}

}  // namespace

std::optional<Duration> parse_duration(std::string_view text) {
  std::size_t digits = 0;
  const std::optional<uint64_t> value = leading_integer(text, &digits);
  if (!value) return std::nullopt;
  const std::string_view suffix = text.substr(digits);
  // A bare "0" is unambiguous whatever the unit, so it needs none; any other bare number does.
  if (suffix.empty()) {
    if (*value == 0) return Duration{0};
    return std::nullopt;
  }
  constexpr auto kMax = static_cast<uint64_t>(std::numeric_limits<Duration::rep>::max());
  for (const Unit& unit : kDurationUnits) {
    if (suffix != unit.suffix) continue;
    const std::optional<uint64_t> ms = scaled(*value, unit.factor, kMax);
    if (!ms) return std::nullopt;
    return Duration{static_cast<Duration::rep>(*ms)};
  }
  return std::nullopt;
}

std::string format_duration(Duration d) {
  const Duration::rep ms = d.count();
  if (ms == 0) return "0s";
  if (ms > 0) {
    // Largest unit first, so the form is the shortest exact one.
    for (auto unit = kDurationUnits.rbegin(); unit != kDurationUnits.rend(); ++unit) {
      const auto factor = static_cast<Duration::rep>(unit->factor);
      if (ms % factor == 0) return std::to_string(ms / factor) + std::string(unit->suffix);
    }
  }
  return std::to_string(ms) + "ms";  // negative: never loaded, but printable for logs
}

std::optional<uint64_t> parse_size(std::string_view text) {
  std::size_t digits = 0;
  const std::optional<uint64_t> value = leading_integer(text, &digits);
  if (!value) return std::nullopt;
  const std::string_view suffix = text.substr(digits);
  if (suffix.empty()) return value;
  for (const Unit& unit : kSizeUnits)
    if (suffix == unit.suffix) return scaled(*value, unit.factor, std::numeric_limits<uint64_t>::max());
  return std::nullopt;
}

std::string format_size(uint64_t bytes) {
  if (bytes != 0) {
    for (auto unit = kSizeUnits.rbegin(); unit != kSizeUnits.rend(); ++unit)
      if (bytes % unit->factor == 0) return std::to_string(bytes / unit->factor) + std::string(unit->suffix);
  }
  return std::to_string(bytes);
}

}  // namespace ferry::config
