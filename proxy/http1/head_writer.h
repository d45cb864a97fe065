// Writes a message head into a std::string through a pointer into room made once, instead of
// one std::string::append per piece. A relayed keep-alive request writes some 35 pieces (a
// start line in four, each added header in four, the runs of kept lines); append's length,
// capacity and terminator bookkeeping, and a memcpy call for every literal, cost about 770
// instructions a request. Here a literal is a fixed-size copy the compiler inlines, and a
// piece costs one bounds check: 620 fewer instructions a keep-alive request (callgrind,
// bench/reports/2026-12-07-shared-ring).
#pragma once

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace ferry::proxy {

class HeadWriter {
 public:
  // Writes after what `out` holds. `expect` is a guess of the bytes to come: a bigger head
  // only costs a regrowth. `out` is whole again (exactly what was written) once the writer is
  // gone; until then its size is the room, not the head.
  HeadWriter(std::string& out, std::size_t expect) : out_(out) {
    const std::size_t used = out_.size();
    out_.resize(used + expect);
    at_ = out_.data() + used;
    end_ = out_.data() + out_.size();
  }
  ~HeadWriter() { out_.resize(static_cast<std::size_t>(at_ - out_.data())); }
  HeadWriter(const HeadWriter&) = delete;
  HeadWriter& operator=(const HeadWriter&) = delete;

  void put(std::string_view s) {
    // An empty view may have no data at all (an unset hsts_line), and memcpy from null is
    // undefined even for no bytes.
    if (s.empty()) return;
    if (s.size() > static_cast<std::size_t>(end_ - at_)) grow(s.size());
    std::memcpy(at_, s.data(), s.size());
    at_ += s.size();
  }
  // A string literal: its length is known here, so the copy is inlined.
  template <std::size_t N>
  void put(const char (&literal)[N]) {
    put(std::string_view(literal, N - 1));
  }
  void put(char c) {
    if (at_ == end_) grow(1);
    *at_++ = c;
  }
  void put_number(uint64_t n) {
    constexpr std::size_t kDigits = 20;  // UINT64_MAX
    if (static_cast<std::size_t>(end_ - at_) < kDigits) grow(kDigits);
    at_ = std::to_chars(at_, at_ + kDigits, n).ptr;
  }

 private:
  [[gnu::noinline]] void grow(std::size_t need) {
    const std::size_t used = static_cast<std::size_t>(at_ - out_.data());
    out_.resize(std::max(out_.size() * 2, used + need + 256));
    at_ = out_.data() + used;
    end_ = out_.data() + out_.size();
  }

  std::string& out_;
  char* at_;   // where the next byte goes
  char* end_;  // the end of the room
};

}  // namespace ferry::proxy
