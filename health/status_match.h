// health_check.expected_status: which HTTP status codes count as a pass. "200-399", "200",
// "200,204,300-302".
#pragma once

#include <bitset>
#include <optional>
#include <string>
#include <string_view>

namespace ferry::health {

class StatusMatch {
 public:
  // Parses a comma-separated list of codes and inclusive ranges, each 100..599; spaces around
  // items are allowed. On bad input returns nullopt and sets *error (when given) to a sentence
  // naming the offending item.
  static std::optional<StatusMatch> parse(std::string_view text, std::string* error);

  bool matches(int status) const {
    return status >= kLowest && status <= kHighest && codes_.test(status - kLowest);
  }

 private:
  static constexpr int kLowest = 100;
  static constexpr int kHighest = 599;
  std::bitset<kHighest - kLowest + 1> codes_;
};

}  // namespace ferry::health
