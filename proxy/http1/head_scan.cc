#include "proxy/http1/head_scan.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace ferry::proxy {

namespace {

// Index of the first byte at or after `i` that needs a look (a control byte, CR, LF, HTAB or
// DEL), or `len`. Most of a head is plain text: 16 bytes per step where SSE2 is there.
std::size_t skip_plain(const char* p, std::size_t i, std::size_t len) {
#if defined(__SSE2__)
  const __m128i last_ctl = _mm_set1_epi8(0x1f);
  const __m128i del = _mm_set1_epi8(0x7f);
  while (i + 16 <= len) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    const __m128i ctl = _mm_cmpeq_epi8(_mm_min_epu8(x, last_ctl), x);  // x <= 0x1f
    const int mask = _mm_movemask_epi8(_mm_or_si128(ctl, _mm_cmpeq_epi8(x, del)));
    if (mask != 0) return i + static_cast<std::size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
    i += 16;
  }
#endif
  while (i < len) {
    const auto c = static_cast<unsigned char>(p[i]);
    if (c < 0x20 || c == 0x7f) return i;
    ++i;
  }
  return len;
}

}  // namespace

HeadScanner::Result HeadScanner::scan(const char* data, std::size_t len, std::size_t* consumed) {
  for (std::size_t i = 0; i < len; ++i) {
    if (!expect_lf_ && !at_line_start_) {
      const std::size_t j = skip_plain(data, i, len);
      line_len_ += j - i;
      head_bytes_ += j - i;
      i = j;
      if (i == len) break;
    }
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
