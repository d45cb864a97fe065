#include "config/duration.h"

#include <gtest/gtest.h>

namespace ferry::config {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

struct DurationCase {
  std::string_view text;
  std::optional<Duration> parsed;
};

TEST(Duration, ParsesEachUnitAndRejectsEverythingElse) {
  const DurationCase cases[] = {
      {"250ms", milliseconds(250)},
      {"5s", seconds(5)},
      {"2m", minutes(2)},
      {"1h", hours(1)},
      {"0", Duration{0}},  // zero needs no unit
      {"0s", Duration{0}},
      {"0ms", Duration{0}},
      {"007s", seconds(7)},
      {"5", std::nullopt},  // a bare non-zero number is ambiguous
      {"", std::nullopt},
      {"s", std::nullopt},
      {"1.5s", std::nullopt},
      {"-5s", std::nullopt},
      {"+5s", std::nullopt},
      {"5 s", std::nullopt},
      {" 5s", std::nullopt},
      {"5S", std::nullopt},
      {"5sec", std::nullopt},
      {"5d", std::nullopt},
      {"1m30s", std::nullopt},
      {"99999999999999999999ms", std::nullopt},  // overflows uint64
      {"9999999999999999h", std::nullopt},       // overflows the millisecond count
  };
  for (const DurationCase& c : cases) EXPECT_EQ(parse_duration(c.text), c.parsed) << c.text;
}

TEST(Duration, FormatsInTheShortestExactUnit) {
  const std::pair<Duration, std::string_view> cases[] = {
      {milliseconds(250), "250ms"},   {seconds(5), "5s"},  {seconds(60), "1m"},
      {seconds(90), "90s"},           {minutes(60), "1h"}, {minutes(90), "90m"},
      {milliseconds(1500), "1500ms"}, {Duration{0}, "0s"}, {hours(24), "24h"},
  };
  for (const auto& [duration, text] : cases) {
    EXPECT_EQ(format_duration(duration), text);
    EXPECT_EQ(parse_duration(format_duration(duration)), duration) << text;
  }
}

struct SizeCase {
  std::string_view text;
  std::optional<uint64_t> parsed;
};

TEST(Size, ParsesPlainBytesAndBinarySuffixesOnly) {
  const SizeCase cases[] = {
      {"512", 512},
      {"0", 0},
      {"64KiB", 64 * 1024},
      {"1MiB", 1024 * 1024},
      {"1GiB", 1ULL << 30},
      {"32768", 32768},
      {"64KB", std::nullopt},  // decimal or ambiguous units are refused, not guessed
      {"1MB", std::nullopt},
      {"1kib", std::nullopt},
      {"1K", std::nullopt},
      {"KiB", std::nullopt},
      {"", std::nullopt},
      {"1.5MiB", std::nullopt},
      {"-1", std::nullopt},
      {"64 KiB", std::nullopt},
      {"18446744073709551616", std::nullopt},  // 2^64
      {"17179869184GiB", std::nullopt},        // 2^34 GiB = 2^64 bytes
  };
  for (const SizeCase& c : cases) EXPECT_EQ(parse_size(c.text), c.parsed) << c.text;
}

TEST(Size, FormatsWithTheLargestExactSuffix) {
  const std::pair<uint64_t, std::string_view> cases[] = {
      {512, "512"},           {1024, "1KiB"},    {64 * 1024, "64KiB"},
      {256 * 1024, "256KiB"}, {1 << 20, "1MiB"}, {1ULL << 30, "1GiB"},
      {1536, "1536"},         {0, "0"},          {(1 << 20) + 1024, "1025KiB"},
  };
  for (const auto& [bytes, text] : cases) {
    EXPECT_EQ(format_size(bytes), text);
    EXPECT_EQ(parse_size(format_size(bytes)), bytes) << text;
  }
}

}  // namespace
}  // namespace ferry::config
