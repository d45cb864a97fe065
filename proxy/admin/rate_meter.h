// Rates from counters that only grow: each sample is compared with the one before it, so the
// status page, which reloads itself every few seconds, shows what happened since its last
// render. The clock is passed in, so tests are exact.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>

#include "proxy/admin/status_data.h"

namespace ferry::proxy {

class RateMeter {
 public:
  using Clock = std::chrono::steady_clock;
  struct Counts {
    uint64_t requests = 0;
    uint64_t errors = 0;
  };
  struct Result {
    std::chrono::milliseconds window{0};  // what the rates cover; 0: no earlier sample
    std::map<uint32_t, StatusRates> rates;  // by key; a key new since the earlier sample has none
  };

  // Not thread-safe (the admin thread owns it). Takes every key's counts at `now` and returns
  // the rates since the earlier sample, which this one then replaces. A sample less than
  // kMinWindow after the earlier one returns the previous result and replaces nothing, so two
  // renders a moment apart (a HEAD, then a GET) don't make rates out of a few milliseconds.
  Result sample(const std::map<uint32_t, Counts>& counts, Clock::time_point now);

  static constexpr std::chrono::milliseconds kMinWindow{1000};

 private:
  std::map<uint32_t, Counts> earlier_;
  Clock::time_point earlier_time_{};
  bool have_earlier_ = false;
  Result last_;
};

}  // namespace ferry::proxy
