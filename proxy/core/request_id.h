// Request IDs: every request ferry forwards or answers carries an X-Request-Id, as an ALB adds
// X-Amzn-Trace-Id, so one request can be followed from the client's response through the
// access log to the backend's own logs.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ferry::proxy {

// One per worker (loop thread only): ids unique across workers and restarts without any
// shared state. Each id is 32 lowercase hex digits: the worker's random 64-bit prefix, then a
// per-worker counter passed through a bijective mix, so ids never repeat within a worker and
// do not reveal the request rate.
class RequestIdSource {
 public:
  RequestIdSource();
  // Replaces `out` with the next id (no allocation once `out` has room for 32 bytes).
  void next(std::string& out);

 private:
  char prefix_hex_[16];  // the worker's random prefix, formatted once
  uint64_t counter_ = 0;
};

// Whether a client's own X-Request-Id is kept as the request's id: 1 to 200 bytes of visible
// ASCII (the head scanner has already refused control bytes; this also refuses spaces, quotes
// and backslashes, so the id needs no escaping in the access log). Otherwise ferry replaces it.
bool acceptable_request_id(std::string_view id);

}  // namespace ferry::proxy
