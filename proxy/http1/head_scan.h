// ferry's own check of a message head's bytes, run before llhttp sees them. Debian's llhttp
// 8.1.0 takes obs-fold, an empty field name, "GET  /", "RTSP/1.0", "/a#b", "GET *", status
// "20" and HTTP/2.0 responses, and older builds let bare CR line ends and "\r\n\rX" head
// endings through. This scanner holds each head to RFC 9110/9112's grammar where llhttp does
// not (head_scan.cc has the table of which check enforces which rule), and finds where the
// head ends, so the body is never scanned.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ferry::proxy {

class HeadScanner {
 public:
  enum class Result : uint8_t { NeedMore, Complete, Invalid };
  // What the first line of a head is. (A chunked message's trailer section has none: see
  // reset_for_trailers.)
  enum class StartLine : uint8_t { Request, Response };

  explicit HeadScanner(StartLine start_line) : start_line_(start_line) { reset(); }

  // Scans data[0, len). Complete: the head ends at data + *consumed (just past the blank line).
  // NeedMore: all of data belongs to the head. Invalid: *consumed is where the fault was found.
  Result scan(const char* data, std::size_t len, std::size_t* consumed);

  // For the next message of the same kind.
  void reset();
  // Gives back what a long start line split across reads took, so an idle pooled parser stays
  // small (reset keeps it, for the next message on a busy connection).
  void trim();
  // For a chunked message's trailer section: no start line, so a blank line at once ends it.
  void reset_for_trailers();
  const char* error() const { return error_; }
  std::size_t head_bytes() const { return head_bytes_; }  // bytes of head seen so far

 private:
  // Where in a line the next byte falls.
  enum class Part : uint8_t {
    StartLine,  // the request-line or status-line (or empty lines before it)
    Name,       // a field name, up to its colon; at its first byte, a blank line ends the head
    Value,      // after the colon, up to CR
    LineFeed,   // the previous byte was CR
  };

  Result fail(const char* why, std::size_t at, std::size_t* consumed) {
    error_ = why;
    *consumed = at;
    return Result::Invalid;
  }
  // Part::StartLine from data[i]: advances i past the line's CR (part becomes LineFeed), or to
  // len, and checks the whole line once it has it. False (error set) if the line is malformed.
  // Inlined into scan(): as a call it cost about 50 instructions a head (callgrind on
  // bench/micro/head_bench.cc), a third of what the start line's checks cost in all.
  [[gnu::always_inline]] inline bool scan_start_line(const char* data, std::size_t len, std::size_t& i, Part& part,
                                                     std::size_t* consumed);
  // Adds bytes of a start line that spans reads; returns all of it so far. Rare: out of line.
  [[gnu::noinline]] std::string_view carry_start_line(std::string_view bytes);

  StartLine start_line_;
  Part part_ = Part::StartLine;
  Part after_line_feed_ = Part::Name;  // StartLine after an empty line before the start line
  bool name_started_ = false;  // Part::Name: a field name byte has been seen on this line
  bool head_ends_ = false;     // Part::LineFeed: the line that ends with it is the blank line
  std::size_t head_bytes_ = 0;
  // The start line's first bytes when it arrives in several reads, so it is checked whole.
  std::string start_line_carry_;
  const char* error_ = nullptr;
};

}  // namespace ferry::proxy
