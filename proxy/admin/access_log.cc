#include "proxy/admin/access_log.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <deque>
#include <mutex>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "proxy/admin/log.h"

namespace ferry::proxy {

namespace {

constexpr char kHex[] = "0123456789abcdef";

// nginx's rule: a quote and a backslash are escaped so the field can be split on quotes, and
// every byte outside printable ASCII becomes \xHH, so a target can never end a line early or
// carry terminal escapes into someone's `tail -f`.
void append_escaped(std::string& out, std::string_view text) {
  std::size_t clean_from = 0;  // bytes since the last escape go out in one append
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    const bool quote_or_backslash = byte == '"' || byte == '\\';
    if (!quote_or_backslash && byte >= 0x20 && byte < 0x7f) continue;
    out.append(text.data() + clean_from, i - clean_from);
    clean_from = i + 1;
    if (quote_or_backslash) {
      const char escaped[2] = {'\\', text[i]};
      out.append(escaped, sizeof escaped);
    } else {
      const char escaped[4] = {'\\', 'x', kHex[byte >> 4], kHex[byte & 0xf]};
      out.append(escaped, sizeof escaped);
    }
  }
  out.append(text.data() + clean_from, text.size() - clean_from);
}

void append_field(std::string& out, std::string_view text) {
  if (text.empty()) {
    out += '-';
  } else {
    append_escaped(out, text);
  }
}

template <typename Integer>
void append_integer(std::string& out, Integer value) {
  char digits[24];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
  out.append(digits, ec == std::errc{} ? end : digits);
}

// Seconds with four decimals (100 µs), or "-" for a negative value ("no backend"). Integer
// arithmetic: to_chars for doubles costs several times as much as the rest of the line.
void append_seconds(std::string& out, double seconds) {
  if (!(seconds >= 0)) {  // negative, or NaN
    out += '-';
    return;
  }
  constexpr double kMaxSeconds = 1e12;  // keeps seconds * 10000 inside uint64_t
  const auto units = static_cast<uint64_t>(std::min(seconds, kMaxSeconds) * 10000 + 0.5);
  append_integer(out, units / 10000);
  const auto fraction = static_cast<unsigned>(units % 10000);
  const char digits[5] = {'.', static_cast<char>('0' + fraction / 1000),
                          static_cast<char>('0' + fraction / 100 % 10),
                          static_cast<char>('0' + fraction / 10 % 10),
                          static_cast<char>('0' + fraction % 10)};
  out.append(digits, sizeof digits);
}

// Writes all of [data, data+size) to fd. Returns 0 or an errno.
int write_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n > 0) {
      data += n;
      size -= static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      // stdout may have been made non-blocking by whoever shares it; this thread may wait.
      pollfd p{fd, POLLOUT, 0};
      while (::poll(&p, 1, -1) < 0 && errno == EINTR) {
      }
      continue;
    }
    return n < 0 ? errno : EIO;
  }
  return 0;
}

int open_log_file(const std::string& path) {
  return ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

// The writer: one thread per sink, fed whole batches under one mutex.
class WriterSink final : public AccessLogSink {
 public:
  // fd is owned (closed at close()) unless it is stdout. path is empty for stdout.
  WriterSink(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}

  ~WriterSink() override { close(); }

  // Starts the thread; false (and *error) if it could not be started.
  bool start(std::string* error) {
    try {
      thread_ = std::thread([this] { run(); });
    } catch (const std::system_error& e) {
      if (error != nullptr) *error = std::string("cannot start the writer thread: ") + e.what();
      return false;
    }
    return true;
  }

  void submit(std::string& batch) override {
    if (batch.empty()) return;
    std::lock_guard lock(mu_);
    if (stopping_) {
      batch.clear();
      return;
    }
    if (queued_bytes_ + batch.size() > kMaxQueuedBytes) {
      // The disk or the pipe has stalled: drop rather than grow without bound or block a worker.
      dropped_bytes_ += batch.size();
      batch.clear();
      return;
    }
    queued_bytes_ += batch.size();
    queue_.push_back(Item{std::move(batch), false});
    // Hand back a spent batch so the worker's buffer keeps its capacity.
    if (!spare_.empty()) {
      batch = std::move(spare_.back());
      spare_.pop_back();
    } else {
      batch = std::string();
    }
    cv_.notify_one();
  }

  void reopen() override {
    if (path_.empty()) return;
    std::lock_guard lock(mu_);
    if (stopping_) return;
    // Queued in order with the batches: lines submitted before this call go to the old file,
    // lines after it to the new one.
    queue_.push_back(Item{std::string(), true});
    cv_.notify_one();
  }

  void close() override {
    {
      std::lock_guard lock(mu_);
      if (std::exchange(stopping_, true)) return;
      cv_.notify_one();
    }
    if (thread_.joinable()) thread_.join();
    if (!path_.empty() && fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  struct Item {
    std::string lines;
    bool reopen;  // a reopen() marker rather than lines
  };

  static constexpr std::size_t kMaxQueuedBytes = 64u << 20;
  static constexpr std::size_t kMaxSpares = 16;

  // Writer thread.
  void run() {
    std::deque<Item> taken;
    for (;;) {
      uint64_t dropped = 0;
      bool stop = false;
      {
        std::unique_lock lock(mu_);
        // Give back what the last round wrote, so submit() can hand capacity to the workers.
        for (Item& item : taken) {
          if (item.reopen || spare_.size() >= kMaxSpares) continue;
          item.lines.clear();
          spare_.push_back(std::move(item.lines));
        }
        taken.clear();
        cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        taken.swap(queue_);
        queued_bytes_ = 0;
        dropped = std::exchange(dropped_bytes_, 0);
        stop = stopping_;
      }
      if (dropped > 0) {
        log_error("access log: writer fell behind, dropped %llu bytes of lines",
                  static_cast<unsigned long long>(dropped));
      }
      for (const Item& item : taken) {
        if (item.reopen) {
          do_reopen();
        } else {
          write_batch(item.lines);
        }
      }
      // stopping_ was seen with the queue taken whole, so nothing submitted before close() is left.
      if (stop) return;
    }
  }

  // Writer thread.
  void write_batch(const std::string& lines) {
    if (fd_ < 0) return;
    const int err = write_all(fd_, lines.data(), lines.size());
    if (err != 0 && !write_failed_) {
      log_error("access log: write to %s failed: %s", path_.empty() ? "stdout" : path_.c_str(),
                std::strerror(err));
    }
    // Report a failure once, then again only after a write has worked.
    write_failed_ = err != 0;
  }

  // Writer thread. On failure the old file stays in use, so lines still land somewhere.
  void do_reopen() {
    const int fd = open_log_file(path_);
    if (fd < 0) {
      log_error("access log: cannot reopen %s: %s (still writing to the old file)", path_.c_str(),
                std::strerror(errno));
      return;
    }
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
    write_failed_ = false;
  }

  int fd_;                   // writer thread, then close() after the join
  const std::string path_;   // empty for stdout
  bool write_failed_ = false;  // writer thread
  std::thread thread_;

  std::mutex mu_;  // guards everything below; taken once per batch, never per line
  std::condition_variable cv_;
  std::deque<Item> queue_;
  std::vector<std::string> spare_;  // written batches, cleared, capacity kept
  std::size_t queued_bytes_ = 0;
  uint64_t dropped_bytes_ = 0;
  bool stopping_ = false;
};

}  // namespace

std::shared_ptr<AccessLogSink> AccessLogSink::open(const std::string& target, std::string* error) {
  if (error != nullptr) error->clear();
  if (target == "off") return nullptr;
  if (target.empty()) {
    if (error != nullptr) *error = "empty target (use \"off\", \"stdout\" or a file path)";
    return nullptr;
  }
  std::shared_ptr<WriterSink> sink;
  if (target == "stdout") {
    sink = std::make_shared<WriterSink>(STDOUT_FILENO, std::string());
  } else {
    const int fd = open_log_file(target);
    if (fd < 0) {
      if (error != nullptr) *error = "cannot open " + target + ": " + std::strerror(errno);
      return nullptr;
    }
    sink = std::make_shared<WriterSink>(fd, target);
  }
  if (!sink->start(error)) return nullptr;
  return sink;
}

AccessLogBuffer::AccessLogBuffer(std::shared_ptr<AccessLogSink> sink) : sink_(std::move(sink)) {
  if (sink_ != nullptr) pending_.reserve(kBatchBytes + 1024);
}

AccessLogBuffer::~AccessLogBuffer() { flush(); }

void AccessLogBuffer::reset(std::shared_ptr<AccessLogSink> sink) {
  flush();
  sink_ = std::move(sink);
  pending_.clear();
  if (sink_ != nullptr && pending_.capacity() < kBatchBytes) pending_.reserve(kBatchBytes + 1024);
}

void AccessLogBuffer::record(const AccessRecord& r) {
  if (sink_ == nullptr) return;
  append_time(r.time);
  pending_ += ' ';
  append_field(pending_, r.client);
  pending_ += " \"";
  append_field(pending_, r.method);
  pending_ += ' ';
  append_field(pending_, r.target);
  pending_ += "\" ";
  append_integer(pending_, r.status);
  pending_ += ' ';
  append_integer(pending_, r.bytes_sent);
  pending_ += ' ';
  append_field(pending_, r.backend);
  pending_ += ' ';
  append_seconds(pending_, r.upstream_seconds);
  pending_ += ' ';
  append_seconds(pending_, r.total_seconds < 0 ? 0 : r.total_seconds);
  pending_ += ' ';
  append_field(pending_, r.request_id.empty() ? std::string_view("-") : r.request_id);
  pending_ += ' ';
  append_field(pending_, r.route.empty() ? std::string_view("-") : r.route);
  pending_ += ' ';
  append_field(pending_, r.pool.empty() ? std::string_view("-") : r.pool);
  pending_ += ' ';
  append_field(pending_, r.protocol.empty() ? std::string_view("-") : r.protocol);
  pending_ += '\n';
  if (pending_.size() >= kBatchBytes) flush();
}

void AccessLogBuffer::flush() {
  if (sink_ == nullptr || pending_.empty()) return;
  sink_->submit(pending_);
  pending_.clear();
  if (pending_.capacity() < kBatchBytes) pending_.reserve(kBatchBytes + 1024);
}

// "2026-11-25T20:30:01.123Z". gmtime_r runs once per second per worker: the seconds part is
// cached, since a busy worker logs many lines within the same second.
void AccessLogBuffer::append_time(std::chrono::system_clock::time_point time) {
  const auto ms = std::chrono::floor<std::chrono::milliseconds>(time.time_since_epoch()).count();
  auto seconds = ms / 1000;
  auto millis = ms % 1000;
  if (millis < 0) {
    millis += 1000;
    seconds -= 1;
  }
  if (seconds != cached_second_ || cached_date_[0] == '\0') {
    const auto t = static_cast<std::time_t>(seconds);
    std::tm tm{};
    gmtime_r(&t, &tm);
    if (std::strftime(cached_date_, sizeof cached_date_, "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
      cached_date_[0] = '\0';
    }
    cached_second_ = seconds;
  }
  pending_ += cached_date_;
  const char fraction[5] = {'.', static_cast<char>('0' + millis / 100),
                            static_cast<char>('0' + millis / 10 % 10),
                            static_cast<char>('0' + millis % 10), 'Z'};
  pending_.append(fraction, sizeof fraction);
}

}  // namespace ferry::proxy
