// Configuration files are operator input, but a typo must never take ferry down: loading any
// bytes returns (with errors) promptly. A load that never returns would hang `ferry --check`
// and, on SIGHUP, the signal loop itself (SIGTERM is then ignored) while memory grows.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include "config/load.h"

namespace ferry::testing {
namespace {

using namespace std::chrono_literals;

// Loads `text` in a child process; true if the load returned within `limit`.
bool loads_in_time(const std::string& text, std::chrono::milliseconds limit) {
  const pid_t child = ::fork();
  if (child == 0) {
    const config::LoadResult r = config::load_text(text, "typo.yaml");
    ::_exit(r.ok() ? 0 : 1);
  }
  if (child < 0) return false;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(child, &status, WNOHANG) == child) return WIFEXITED(status);
    std::this_thread::sleep_for(10ms);
  }
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  return false;
}

class ConfigTypo : public ::testing::TestWithParam<std::string> {};

TEST_P(ConfigTypo, LoadsWithErrorsAndReturnsPromptly) {
  EXPECT_TRUE(loads_in_time(GetParam(), 3s)) << "config::load_text did not return on: " << GetParam();
}

INSTANTIATE_TEST_SUITE_P(
    Files, ConfigTypo,
    ::testing::Values(",",                                      // yaml-cpp 0.7's LoadAll loops on a stray flow entry
                      "backends: [\"127.0.0.1:8000\"]\n,\n",    // a stray comma on a line of its own
                      "- a\n,",
                      "backends:\n  - \"127.0.0.1:8000\"\n  ,\n",
                      "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
                      "{a: [b, {c: [d, ,]}]}",
                      "--- !<tag:yaml.org,2002:map>\n? ,\n"));

}  // namespace
}  // namespace ferry::testing
