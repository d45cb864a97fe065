#include "proxy/head_scan.h"

namespace ferry::proxy {

HeadScanner::Result HeadScanner::scan(const char* data, std::size_t len, std::size_t* consumed) {
  for (std::size_t i = 0; i < len; ++i) {
    const auto c = static_cast<unsigned char>(data[i]);
    ++head_bytes_;
    if (expect_lf_) {
      if (c != '\n') return fail("bare CR in message head", i, consumed);
      expect_lf_ = false;
      if (line_len_ == 0) {
        // A blank line: the end of the head, or (RFC 9112 2.2) an empty line a client may send
        // before a request line, which a server ignores.
        if (seen_start_line_) {
          *consumed = i + 1;
          return Result::Complete;
        }
      } else {
        seen_start_line_ = true;
      }
      line_len_ = 0;
      at_line_start_ = true;
      continue;
    }
    if (c == '\r') {
      expect_lf_ = true;
      continue;
    }
    if (c == '\n') return fail("bare LF in message head", i, consumed);
    if ((c < 0x20 && c != '\t') || c == 0x7f) return fail("control byte in message head", i, consumed);
    if (at_line_start_ && seen_start_line_ && (c == ' ' || c == '\t')) {
      return fail("obs-fold (a header line starting with whitespace)", i, consumed);
    }
    if (at_line_start_ && !seen_start_line_ && (c == ' ' || c == '\t')) {
      return fail("whitespace before the start line", i, consumed);
    }
    at_line_start_ = false;
    ++line_len_;
  }
  *consumed = len;
  return Result::NeedMore;
}

}  // namespace ferry::proxy
