#include "proxy/http2/abuse_guard.h"

#include <algorithm>

namespace ferry::proxy::http2 {

namespace {
constexpr uint64_t kEarlyResetFloor = 100;
constexpr uint32_t kEmptyDataInARow = 10;
constexpr uint64_t kControlFloor = 1000;
constexpr uint64_t kControlPerUnit = 10;
}  // namespace

bool AbuseGuard::stream_reset_early() {
  ++early_resets_;
  if (early_resets_ > kEarlyResetFloor && early_resets_ * 2 > streams_) return fail("too many streams reset early (rapid reset)");
  return true;
}

bool AbuseGuard::stream_refused() {
  ++refused_;
  if (refused_ > std::max<uint64_t>(max_streams_, 100)) return fail("too many refused streams");
  return true;
}

bool AbuseGuard::data_frame(bool empty, bool end_stream) {
  if (!empty || end_stream) {
    empty_in_a_row_ = 0;
    return true;
  }
  if (++empty_in_a_row_ > kEmptyDataInARow) return fail("a run of empty DATA frames");
  return true;
}

bool AbuseGuard::control_frame() {
  ++control_;
  if (control_ > kControlFloor + kControlPerUnit * (streams_ + data_sent_)) return fail("a flood of control frames");
  return true;
}

}  // namespace ferry::proxy::http2
