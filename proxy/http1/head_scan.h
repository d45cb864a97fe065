// ferry's own check of a message head's bytes, run before llhttp sees them. Debian's llhttp
// 8.1.0 accepts obs-fold, and older builds let bare CR line ends and "\r\n\rX" head endings
// through; this scanner rejects every line end that is not exactly CRLF, obs-fold, and control
// bytes, and finds where the head ends, so the body is never scanned.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ferry::proxy {

class HeadScanner {
 public:
  enum class Result : uint8_t { NeedMore, Complete, Invalid };

  // Scans data[0, len). Complete: the head ends at data + *consumed (just past the blank line).
  // NeedMore: all of data belongs to the head. Invalid: *consumed is the offending byte.
  Result scan(const char* data, std::size_t len, std::size_t* consumed);

  void reset() { *this = HeadScanner{}; }
  // For a chunked message's trailer section: no start line, so a blank line at once ends it.
  void reset_for_trailers() {
    *this = HeadScanner{};
    seen_start_line_ = true;
  }
  const char* error() const { return error_; }
  std::size_t head_bytes() const { return head_bytes_; }  // bytes of head seen so far

 private:
  Result fail(const char* why, std::size_t at, std::size_t* consumed) {
    error_ = why;
    *consumed = at;
    return Result::Invalid;
  }

  bool expect_lf_ = false;      // the previous byte was CR
  bool at_line_start_ = true;   // the previous bytes were CRLF (or nothing)
  bool seen_start_line_ = false;
  std::size_t line_len_ = 0;
  std::size_t head_bytes_ = 0;
  const char* error_ = nullptr;
};

}  // namespace ferry::proxy
