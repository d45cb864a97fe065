#include "proxy/admin/access_log.h"

// GCC 12's <regex> trips -Wmaybe-uninitialized inside std::function at some optimisation and
// sanitizer settings (a libstdc++ false positive, GCC bug 105562); the test code is not at fault.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/temp_dir.h"

namespace ferry::proxy {
namespace {

using ferry::testing::TempDir;
using std::chrono::milliseconds;
using std::chrono::system_clock;

// 2026-11-25T20:30:01.123Z
const system_clock::time_point kTime = system_clock::time_point(milliseconds(1795638601123));

// Keeps every batch it is handed, so a test sees exactly what the writer would get.
class CapturingSink final : public AccessLogSink {
 public:
  void submit(std::string& batch) override {
    batches.push_back(std::move(batch));
    batch.clear();
  }
  void reopen() override {}
  void close() override {}

  std::string all() const {
    std::string out;
    for (const std::string& b : batches) out += b;
    return out;
  }

  std::vector<std::string> batches;
};

AccessRecord proxied_record() {
  AccessRecord r;
  r.time = kTime;
  r.client = "127.0.0.1";
  r.method = "GET";
  r.target = "/path?q=1";
  r.status = 200;
  r.bytes_sent = 1234;
  r.backend = "127.0.0.1:8001";
  r.upstream_seconds = 0.0012;
  r.total_seconds = 0.0015;
  r.request_id = "req-1";
  return r;
}

std::string one_line(const AccessRecord& r) {
  auto sink = std::make_shared<CapturingSink>();
  AccessLogBuffer buffer(sink);
  buffer.record(r);
  buffer.flush();
  return sink->all();
}

// One byte inside the quotes: printable ASCII other than a quote, a backslash or a space, or
// one of the escapes \" \\ \xHH.
const std::string kQuotedByte = R"((?:[\x21\x23-\x5b\x5d-\x7e]|\\["\\]|\\x[0-9a-f]{2}))";
// The documented format; the method has no space.
const std::regex kLine(R"(^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z) (\S+) "()" + kQuotedByte +
                       "+) ((?:" + kQuotedByte + "| )+)" +
                       R"(" (\d{3}) (\d+) (\S+) (-|\d+\.\d{4}) (\d+\.\d{4}) (\S+) (\S+) (\S+) (\S+)$)");

struct ParsedLine {
  std::string time, client, method, target, status, bytes, backend, upstream, total, request_id, route, pool, protocol;
};

std::optional<ParsedLine> parse(const std::string& line) {
  std::smatch m;
  if (!std::regex_match(line, m, kLine)) return std::nullopt;
  return ParsedLine{m[1], m[2], m[3], m[4], m[5], m[6], m[7], m[8], m[9], m[10], m[11], m[12], m[13]};
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

TEST(AccessLogLine, NamesTheRouteThePoolThenTheProtocolLast) {
  AccessRecord r = proxied_record();
  r.route = "api";
  r.pool = "api-canary";
  r.protocol = "HTTP/2.0";
  const std::string text = one_line(r);
  EXPECT_EQ(text,
            "2026-11-25T20:30:01.123Z 127.0.0.1 \"GET /path?q=1\" 200 1234 127.0.0.1:8001 0.0012 "
            "0.0015 req-1 api api-canary HTTP/2.0\n");
  const auto p = parse(split_lines(text)[0]);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->route, "api");
  EXPECT_EQ(p->pool, "api-canary");
  EXPECT_EQ(p->protocol, "HTTP/2.0");
}

TEST(AccessLogLine, ParsesAndMatchesTheRecord) {
  const std::string text = one_line(proxied_record());
  EXPECT_EQ(text,
            "2026-11-25T20:30:01.123Z 127.0.0.1 \"GET /path?q=1\" 200 1234 127.0.0.1:8001 0.0012 "
            "0.0015 req-1 - - -\n");
  const auto lines = split_lines(text);
  ASSERT_EQ(lines.size(), 1u);
  const auto p = parse(lines[0]);
  ASSERT_TRUE(p.has_value()) << lines[0];
  EXPECT_EQ(p->time, "2026-11-25T20:30:01.123Z");
  EXPECT_EQ(p->client, "127.0.0.1");
  EXPECT_EQ(p->method, "GET");
  EXPECT_EQ(p->target, "/path?q=1");
  EXPECT_EQ(p->status, "200");
  EXPECT_EQ(p->bytes, "1234");
  EXPECT_EQ(p->backend, "127.0.0.1:8001");
  EXPECT_EQ(p->upstream, "0.0012");
  EXPECT_EQ(p->total, "0.0015");
  EXPECT_EQ(p->request_id, "req-1");
}

TEST(AccessLogLine, ShowsDashesWhenFerryAnsweredItself) {
  AccessRecord r = proxied_record();
  r.status = 503;
  r.backend = "-";
  r.upstream_seconds = -1;
  EXPECT_EQ(one_line(r),
            "2026-11-25T20:30:01.123Z 127.0.0.1 \"GET /path?q=1\" 503 1234 - - 0.0015 req-1 - - -\n");
  r.backend = "";  // an empty backend reads the same
  EXPECT_EQ(one_line(r),
            "2026-11-25T20:30:01.123Z 127.0.0.1 \"GET /path?q=1\" 503 1234 - - 0.0015 req-1 - - -\n");
}

TEST(AccessLogLine, ShowsDashesForAnUnparsedRequest) {
  AccessRecord r = proxied_record();
  r.method = "";
  r.target = "";
  r.status = 400;
  r.backend = "-";
  r.upstream_seconds = -1;
  r.request_id = "";  // the head never completed: no id
  const std::string text = one_line(r);
  EXPECT_EQ(text, "2026-11-25T20:30:01.123Z 127.0.0.1 \"- -\" 400 1234 - - 0.0015 - - - -\n");
  ASSERT_TRUE(parse(split_lines(text)[0]).has_value());
}

TEST(AccessLogLine, EscapesQuotesBackslashesAndControlBytes) {
  AccessRecord r = proxied_record();
  const std::string target = std::string("/a\"b\\c\nd\re\x01\x7f\xff") + '\0' + "z";
  r.target = target;
  const std::string text = one_line(r);
  EXPECT_EQ(text,
            "2026-11-25T20:30:01.123Z 127.0.0.1 \"GET /a\\\"b\\\\c\\x0ad\\x0de\\x01\\x7f\\xff\\x00z\" "
            "200 1234 127.0.0.1:8001 0.0012 0.0015 req-1 - - -\n");
  const auto lines = split_lines(text);
  ASSERT_EQ(lines.size(), 1u);  // a newline in the target never splits the line
  const auto p = parse(lines[0]);
  ASSERT_TRUE(p.has_value()) << lines[0];
  EXPECT_EQ(p->target, "/a\\\"b\\\\c\\x0ad\\x0de\\x01\\x7f\\xff\\x00z");
}

TEST(AccessLogLine, FormatsTimeInUtcWithMilliseconds) {
  AccessRecord r = proxied_record();
  r.time = system_clock::time_point(milliseconds(0));
  EXPECT_EQ(one_line(r).substr(0, 24), "1970-01-01T00:00:00.000Z");
  r.time = system_clock::time_point(milliseconds(1704067199999));  // the last ms of 2023
  EXPECT_EQ(one_line(r).substr(0, 24), "2023-12-31T23:59:59.999Z");
  r.time = system_clock::time_point(milliseconds(1704067199999) + std::chrono::microseconds(999));
  EXPECT_EQ(one_line(r).substr(0, 24), "2023-12-31T23:59:59.999Z");  // truncated, not rounded
}

TEST(AccessLogLine, KeepsTheCachedSecondCorrectAcrossSeconds) {
  auto sink = std::make_shared<CapturingSink>();
  AccessLogBuffer buffer(sink);
  AccessRecord r = proxied_record();
  for (int64_t ms : {1795638601123, 1795638601999, 1795638602000, 1795638601500}) {
    r.time = system_clock::time_point(milliseconds(ms));
    buffer.record(r);
  }
  buffer.flush();
  const auto lines = split_lines(sink->all());
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0].substr(0, 24), "2026-11-25T20:30:01.123Z");
  EXPECT_EQ(lines[1].substr(0, 24), "2026-11-25T20:30:01.999Z");
  EXPECT_EQ(lines[2].substr(0, 24), "2026-11-25T20:30:02.000Z");
  EXPECT_EQ(lines[3].substr(0, 24), "2026-11-25T20:30:01.500Z");
}

TEST(AccessLogLine, RoundsSecondsToFourDecimals) {
  AccessRecord r = proxied_record();
  r.upstream_seconds = 0;
  r.total_seconds = 12.345678;
  EXPECT_NE(one_line(r).find(" 0.0000 12.3457 req-1 - - -\n"), std::string::npos) << one_line(r);
}

TEST(AccessLogBuffer, HandsOverOnlyWholeBatchesOfAtLeast64KiB) {
  auto sink = std::make_shared<CapturingSink>();
  AccessLogBuffer buffer(sink);
  const std::size_t line_size = one_line(proxied_record()).size();
  const std::size_t lines_per_batch = (AccessLogBuffer::kBatchBytes + line_size - 1) / line_size;

  for (std::size_t i = 0; i + 1 < lines_per_batch; ++i) buffer.record(proxied_record());
  EXPECT_TRUE(sink->batches.empty()) << "no hand-over below 64 KiB";
  buffer.record(proxied_record());
  ASSERT_EQ(sink->batches.size(), 1u);
  EXPECT_GE(sink->batches[0].size(), AccessLogBuffer::kBatchBytes);
  EXPECT_EQ(sink->batches[0].size(), lines_per_batch * line_size);
  EXPECT_EQ(sink->batches[0].back(), '\n');

  buffer.record(proxied_record());
  buffer.record(proxied_record());
  EXPECT_EQ(sink->batches.size(), 1u);
  buffer.flush();
  ASSERT_EQ(sink->batches.size(), 2u);
  EXPECT_EQ(sink->batches[1].size(), 2 * line_size);
  buffer.flush();
  EXPECT_EQ(sink->batches.size(), 2u) << "an empty flush hands nothing over";

  for (const std::string& line : split_lines(sink->all())) {
    ASSERT_TRUE(parse(line).has_value()) << line;
  }
}

TEST(AccessLogBuffer, FlushesWhatIsLeftWhenDestroyed) {
  auto sink = std::make_shared<CapturingSink>();
  {
    AccessLogBuffer buffer(sink);
    buffer.record(proxied_record());
  }
  EXPECT_EQ(split_lines(sink->all()).size(), 1u);
}

TEST(AccessLogBuffer, ResetFlushesToTheOldSinkFirst) {
  auto first = std::make_shared<CapturingSink>();
  auto second = std::make_shared<CapturingSink>();
  AccessLogBuffer buffer(first);
  buffer.record(proxied_record());
  buffer.reset(second);
  buffer.record(proxied_record());
  buffer.record(proxied_record());
  buffer.reset(nullptr);
  EXPECT_FALSE(buffer.enabled());
  buffer.record(proxied_record());
  buffer.flush();
  EXPECT_EQ(split_lines(first->all()).size(), 1u);
  EXPECT_EQ(split_lines(second->all()).size(), 2u);
}

TEST(AccessLogBuffer, OffRecordsNothing) {
  AccessLogBuffer buffer(nullptr);
  EXPECT_FALSE(buffer.enabled());
  buffer.record(proxied_record());
  buffer.flush();
}

TEST(AccessLogSink, OffGivesNullptrWithoutAnError) {
  std::string error = "stale";
  EXPECT_EQ(AccessLogSink::open("off", &error), nullptr);
  EXPECT_EQ(error, "");
}

TEST(AccessLogSink, UnwritablePathGivesAnError) {
  TempDir dir("ferry-access-log");
  ASSERT_FALSE(dir.path().empty());
  std::string error;
  const std::string missing = dir.path() + "/no-such-dir/access.log";
  EXPECT_EQ(AccessLogSink::open(missing, &error), nullptr);
  EXPECT_NE(error.find(missing), std::string::npos) << error;
  EXPECT_NE(error.find("No such file or directory"), std::string::npos) << error;

  error.clear();
  EXPECT_EQ(AccessLogSink::open(dir.path(), &error), nullptr);  // a directory
  EXPECT_NE(error.find("Is a directory"), std::string::npos) << error;

  error.clear();
  EXPECT_EQ(AccessLogSink::open("", &error), nullptr);
  EXPECT_FALSE(error.empty());
}

TEST(AccessLogSink, StdoutOpensAndCloses) {
  std::string error;
  auto sink = AccessLogSink::open("stdout", &error);
  ASSERT_NE(sink, nullptr) << error;
  sink->reopen();  // a no-op for stdout
  sink->close();
  sink->close();
}

TEST(AccessLogSink, FileGetsEveryLineFromSeveralWorkersWhole) {
  TempDir dir("ferry-access-log");
  const std::string path = dir.path() + "/access.log";
  std::string error;
  auto sink = AccessLogSink::open(path, &error);
  ASSERT_NE(sink, nullptr) << error;

  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777 & ~0640u, 0u) << "created no wider than 0640";

  constexpr int kWorkers = 3;
  constexpr int kLinesEach = 5000;  // several 64 KiB batches per worker
  std::vector<std::thread> workers;
  for (int w = 0; w < kWorkers; ++w) {
    workers.emplace_back([&sink, w] {
      AccessLogBuffer buffer(sink);
      AccessRecord r = proxied_record();
      for (int i = 0; i < kLinesEach; ++i) {
        const std::string target = "/w" + std::to_string(w) + "/" + std::to_string(i);
        r.target = target;
        buffer.record(r);
      }
      buffer.flush();
    });
  }
  for (std::thread& t : workers) t.join();
  sink->close();
  sink->close();  // idempotent

  const auto lines = split_lines(read_file(path));
  ASSERT_EQ(lines.size(), static_cast<std::size_t>(kWorkers * kLinesEach));
  std::vector<int> next(kWorkers, 0);
  for (const std::string& line : lines) {
    const auto p = parse(line);
    ASSERT_TRUE(p.has_value()) << line;
    int w = -1;
    int i = -1;
    ASSERT_EQ(std::sscanf(p->target.c_str(), "/w%d/%d", &w, &i), 2) << line;
    ASSERT_TRUE(w >= 0 && w < kWorkers) << line;
    EXPECT_EQ(i, next[static_cast<std::size_t>(w)]++) << "each worker's lines in order";
  }
}

TEST(AccessLogSink, AppendsToAnExistingFile) {
  TempDir dir("ferry-access-log");
  const std::string path = dir.path() + "/access.log";
  { std::ofstream(path) << "earlier line\n"; }
  std::string error;
  auto sink = AccessLogSink::open(path, &error);
  ASSERT_NE(sink, nullptr) << error;
  {
    AccessLogBuffer buffer(sink);
    buffer.record(proxied_record());
  }
  sink->close();
  const auto lines = split_lines(read_file(path));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "earlier line");
  EXPECT_TRUE(parse(lines[1]).has_value()) << lines[1];
}

// logrotate: rename the file, then SIGUSR1 (reopen); later lines go to a fresh file at the path.
TEST(AccessLogSink, ReopenAfterRenameWritesToTheNewFile) {
  TempDir dir("ferry-access-log");
  const std::string path = dir.path() + "/access.log";
  const std::string rotated = path + ".1";
  std::string error;
  auto sink = AccessLogSink::open(path, &error);
  ASSERT_NE(sink, nullptr) << error;
  AccessLogBuffer buffer(sink);
  AccessRecord r = proxied_record();

  r.target = "/before";
  buffer.record(r);
  buffer.flush();
  ASSERT_EQ(std::rename(path.c_str(), rotated.c_str()), 0);
  r.target = "/between";  // submitted before reopen(): still the old file, now rotated
  buffer.record(r);
  buffer.flush();
  sink->reopen();
  r.target = "/after";
  buffer.record(r);
  buffer.flush();
  sink->close();

  const auto old_lines = split_lines(read_file(rotated));
  const auto new_lines = split_lines(read_file(path));
  ASSERT_EQ(old_lines.size(), 2u);
  ASSERT_EQ(new_lines.size(), 1u);
  EXPECT_EQ(parse(old_lines[0])->target, "/before");
  EXPECT_EQ(parse(old_lines[1])->target, "/between");
  EXPECT_EQ(parse(new_lines[0])->target, "/after");
}

TEST(AccessLogSink, ReopenThatFailsKeepsTheOldFile) {
  TempDir dir("ferry-access-log");
  const std::string subdir = dir.path() + "/logs";
  ASSERT_EQ(mkdir(subdir.c_str(), 0755), 0);
  const std::string path = subdir + "/access.log";
  const std::string moved = dir.path() + "/logs.old";
  std::string error;
  auto sink = AccessLogSink::open(path, &error);
  ASSERT_NE(sink, nullptr) << error;
  AccessLogBuffer buffer(sink);

  ASSERT_EQ(std::rename(subdir.c_str(), moved.c_str()), 0);  // the path's directory is gone
  sink->reopen();
  buffer.record(proxied_record());
  buffer.flush();
  sink->close();
  EXPECT_EQ(split_lines(read_file(moved + "/access.log")).size(), 1u);
}

TEST(AccessLogSink, DropsBatchesSubmittedAfterClose) {
  TempDir dir("ferry-access-log");
  const std::string path = dir.path() + "/access.log";
  std::string error;
  auto sink = AccessLogSink::open(path, &error);
  ASSERT_NE(sink, nullptr) << error;
  sink->close();
  std::string batch = "late line\n";
  sink->submit(batch);
  EXPECT_TRUE(batch.empty());
  EXPECT_EQ(read_file(path), "");
}

}  // namespace
}  // namespace ferry::proxy
