// Durations ("250ms", "5s", "2m", "1h") and sizes ("512", "64KiB", "1MiB") as the contract writes them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "config/config.h"

namespace ferry::config {

std::optional<Duration> parse_duration(std::string_view text);
std::string format_duration(Duration d);  // the shortest exact form: 250ms, 5s, 2m

std::optional<uint64_t> parse_size(std::string_view text);
std::string format_size(uint64_t bytes);  // 64KiB when exact, else plain bytes

}  // namespace ferry::config
