// What a client does to an HTTP/2 connection that costs ferry work and asks for nothing in
// return, counted per connection, with the point past which the connection is told GOAWAY
// (ENHANCE_YOUR_CALM) and closed. The limits follow the anchors (edge notes §4.1):
//   rapid reset (CVE-2023-44487): streams the client resets before their response is done,
//     past 100 and past half of all streams (Envoy's "premature reset" rule, with nginx's 100);
//   refused streams: more than max(max_concurrent_streams, 100) (nginx);
//   empty DATA frames without END_STREAM in a row: more than 10 (CVE-2019-9518);
//   control frames (PING, SETTINGS, PRIORITY, WINDOW_UPDATE): past 1,000 plus 10 per stream
//     and per DATA frame ferry sent, since a client acknowledges what it reads (CVE-2019-9512,
//     9513, 9515).
// nghttp2 adds its own: a token bucket on RST_STREAM, 8 CONTINUATION frames, 32 SETTINGS
// entries and 1,000 queued acknowledgements. Pure: no session, no clock.
#pragma once

#include <cstdint>

namespace ferry::proxy::http2 {

class AbuseGuard {
 public:
  explicit AbuseGuard(uint32_t max_concurrent_streams) : max_streams_(max_concurrent_streams) {}

  void stream_opened() { ++streams_; }
  // Each returns false once the connection should go: reason() says why.
  bool stream_reset_early();
  bool stream_refused();
  bool data_frame(bool empty, bool end_stream);
  bool control_frame();
  void data_frame_sent() { ++data_sent_; }

  const char* reason() const { return reason_; }
  uint64_t streams() const { return streams_; }

 private:
  bool fail(const char* why) {
    reason_ = why;
    return false;
  }

  uint32_t max_streams_;
  uint64_t streams_ = 0;
  uint64_t early_resets_ = 0;
  uint64_t refused_ = 0;
  uint32_t empty_in_a_row_ = 0;
  uint64_t control_ = 0;
  uint64_t data_sent_ = 0;
  const char* reason_ = nullptr;
};

}  // namespace ferry::proxy::http2
