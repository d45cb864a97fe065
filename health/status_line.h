// The first bytes of an HTTP/1.x response, as far as a health check cares: its status code.
#pragma once

#include <cstdint>
#include <string_view>

namespace ferry::health {

struct StatusLine {
  enum class State : uint8_t {
    NeedMore,   // a valid prefix so far
    Complete,   // "HTTP/1.x NNN" followed by a space or CR: `code` is set
    Malformed,  // not an HTTP/1.x status line
  };
  State state = State::NeedMore;
  int code = 0;
};

// `received` is everything read so far from the start of the response.
StatusLine parse_status_line(std::string_view received);

}  // namespace ferry::health
