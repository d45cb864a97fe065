// Configuration files are operator input, but a typo must never take ferry down: loading any
// bytes returns (with errors) promptly. A load that never returns would hang `ferry --check`
// and, on SIGHUP, the signal loop itself (SIGTERM is then ignored) while memory grows. And the
// errors it returns are the operator's only guide: each names FILE:LINE:COL and what is wrong.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "config/load.h"

namespace ferry::testing {
namespace {

using namespace std::chrono_literals;

struct Loaded {
  bool ok = false;
  std::vector<std::string> errors;  // FILE:LINE:COL: message, in order
};

// Loads `text` in a child process (so a hang cannot take the test binary with it) and reads
// back its errors; nullopt if the load did not return within `limit`.
std::optional<Loaded> load_in_time(const std::string& text, std::chrono::milliseconds limit) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return std::nullopt;
  const pid_t child = ::fork();
  if (child == 0) {
    ::close(fds[0]);
    const config::LoadResult r = config::load_text(text, "typo.yaml");
    std::string out = r.ok() ? "OK\n" : "ERRORS\n";
    for (const auto& e : r.errors) out += e.to_string() + "\n";
    for (std::size_t off = 0; off < out.size();) {
      const ssize_t n = ::write(fds[1], out.data() + off, out.size() - off);
      if (n <= 0) break;
      off += static_cast<std::size_t>(n);
    }
    ::_exit(0);
  }
  ::close(fds[1]);
  if (child < 0) {
    ::close(fds[0]);
    return std::nullopt;
  }
  std::string out;
  bool eof = false;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!eof) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fds[0], POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    char buf[4096];
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n <= 0) {
      eof = true;
    } else {
      out.append(buf, static_cast<std::size_t>(n));
    }
  }
  ::close(fds[0]);
  if (!eof) {
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
    return std::nullopt;
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return std::nullopt;
  Loaded loaded;
  std::istringstream lines(out);
  std::string line;
  std::getline(lines, line);
  loaded.ok = line == "OK";
  while (std::getline(lines, line)) loaded.errors.push_back(line);
  return loaded;
}

struct Typo {
  std::string text;
  std::vector<std::string> errors;  // exactly these, in this order
};

void PrintTo(const Typo& t, std::ostream* os) { *os << ::testing::PrintToString(t.text); }

class ConfigTypo : public ::testing::TestWithParam<Typo> {};

TEST_P(ConfigTypo, LoadsWithErrorsAndReturnsPromptly) {
  const std::optional<Loaded> loaded = load_in_time(GetParam().text, 3s);
  ASSERT_TRUE(loaded) << "config::load_text did not return on: " << GetParam().text;
  EXPECT_FALSE(loaded->ok) << "a broken file was accepted: " << GetParam().text;
  static const std::regex shape(R"(^typo\.yaml:[1-9][0-9]*:[1-9][0-9]*: \S.*$)");
  for (const std::string& e : loaded->errors) EXPECT_TRUE(std::regex_match(e, shape)) << e;
  // Exactly these errors, in order; one ending in '*' is a prefix (a list that grows with the
  // schema follows it).
  const std::vector<std::string>& expected = GetParam().errors;
  ASSERT_EQ(loaded->errors.size(), expected.size()) << ::testing::PrintToString(loaded->errors);
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const std::string& want = expected[i];
    if (!want.empty() && want.back() == '*') {
      EXPECT_EQ(loaded->errors[i].substr(0, want.size() - 1), want.substr(0, want.size() - 1)) << i;
    } else {
      EXPECT_EQ(loaded->errors[i], want) << i;
    }
  }
}

const char* const kMissingBackends = "backends: missing; a file must list at least one backend, or pools";

INSTANTIATE_TEST_SUITE_P(
    Files, ConfigTypo,
    ::testing::Values(
        // yaml-cpp 0.7's LoadAll loops on a stray flow entry
        Typo{",", {std::string("typo.yaml:1:1: ") + kMissingBackends + " (the file is empty)"}},
        // a stray comma on a line of its own
        Typo{"backends: [\"127.0.0.1:8000\"]\n,\n", {"typo.yaml:2:1: YAML syntax error: end of map not found"}},
        Typo{"- a\n,", {"typo.yaml:1:1: expected a map of settings at the top level, found a list"}},
        Typo{"backends:\n  - \"127.0.0.1:8000\"\n  ,\n", {"typo.yaml:3:3: YAML syntax error: end of map not found"}},
        Typo{"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
             {"typo.yaml:1:1: YAML syntax error: end of sequence flow not found"}},
        Typo{"{a: [b, {c: [d, ,]}]}",
             {std::string("typo.yaml:1:1: ") + kMissingBackends,
              "typo.yaml:1:2: a: unknown key; expected one of listen, *"}},
        Typo{"--- !<tag:yaml.org,2002:map>\n? ,\n", {"typo.yaml:2:3: YAML syntax error: end of map not found"}}));

}  // namespace
}  // namespace ferry::testing
