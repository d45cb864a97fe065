// Access log: one line per request, formatted on the worker into that worker's own buffer (no
// lock, no syscall per request) and handed to a writer thread in batches. `off`, `stdout`, or
// a file path; reopen() (SIGUSR1) reopens the file after logrotate moved it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace ferry::proxy {

struct AccessRecord {
  std::chrono::system_clock::time_point time;  // when the request head arrived
  std::string_view client;   // client IP
  std::string_view method;
  std::string_view target;   // request target as sent
  int status = 0;
  uint64_t bytes_sent = 0;   // response bytes queued to the client, head included
  std::string_view backend;  // "host:port" as configured; "-" when ferry answered itself
  double upstream_seconds = -1;  // engage to end of response; < 0 when no backend was used
  double total_seconds = 0;      // head arrival to end of response
  std::string_view request_id;   // X-Request-Id; "-" when the head never completed
  std::string_view route;        // the route that matched; "-" for none
  std::string_view pool;         // the pool a forward route chose; "-" for none
  std::string_view protocol;     // "HTTP/1.1", "HTTP/1.0" or "HTTP/2.0"; "-" when the head never arrived
};

class AccessLogSink;

// One per worker; loop thread only.
class AccessLogBuffer {
 public:
  // A batch is handed to the writer once it reaches this size.
  static constexpr std::size_t kBatchBytes = 64 * 1024;

  // sink may be nullptr ("off"): record() and flush() then do nothing.
  explicit AccessLogBuffer(std::shared_ptr<AccessLogSink> sink);
  // Flushes what is left.
  ~AccessLogBuffer();
  AccessLogBuffer(const AccessLogBuffer&) = delete;
  AccessLogBuffer& operator=(const AccessLogBuffer&) = delete;
  AccessLogBuffer(AccessLogBuffer&&) = default;  // the moved-from buffer is "off"

  // Formats one line. Hands the batch to the writer when it passes 64 KiB.
  void record(const AccessRecord& r);
  // Hands whatever is buffered to the writer (the worker calls it from a 100ms timer and on exit).
  void flush();
  bool enabled() const { return sink_ != nullptr; }
  // Flushes to the current sink, then logs to `sink` (nullptr = off); for a reload that changed
  // access_log. The old sink is closed by whoever drops its last reference.
  void reset(std::shared_ptr<AccessLogSink> sink);

 private:
  void append_time(std::chrono::system_clock::time_point time);

  std::shared_ptr<AccessLogSink> sink_;
  std::string pending_;
  int64_t cached_second_ = 0;   // the second cached_date_ shows
  char cached_date_[32] = {};   // "2026-11-25T20:30:01", formatted once per second
};

// The writer thread and the output. Any thread.
class AccessLogSink {
 public:
  // "off" -> nullptr with no error; "stdout"; or a path (opened O_APPEND, created 0640).
  // On failure nullptr and *error says why, e.g. "cannot open /x/a.log: No such file or
  // directory" (no "access_log: " prefix; the caller adds context).
  static std::shared_ptr<AccessLogSink> open(const std::string& target, std::string* error);
  virtual ~AccessLogSink() = default;
  // Takes a batch of whole lines (moves from `batch`, leaving it empty with its capacity kept
  // where possible).
  virtual void submit(std::string& batch) = 0;
  // Reopens the file (logrotate's SIGUSR1). No-op for stdout.
  virtual void reopen() = 0;
  // Writes everything submitted so far, then stops the writer thread and closes the file.
  // Idempotent; batches submitted afterwards are dropped. The destructor calls it.
  virtual void close() = 0;
};

}  // namespace ferry::proxy
