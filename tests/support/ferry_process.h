// The real executable with a config file, owned by a test: ChildProcess kills (SIGKILL) and
// reaps it by pid whatever way the test ends, a failed ASSERT included. Its stderr (ferry's log)
// goes to a file; its stdout to /dev/null, never to ctest's pipe. FERRY_BINARY is defined for
// the integration tests (tests/CMakeLists.txt).
#pragma once

#include <chrono>
#include <string>

#include "support/child_process.h"

namespace ferry::testing {

#ifdef FERRY_BINARY
class FerryProcess {
 public:
  FerryProcess(const std::string& config_path, const std::string& log_path)
      : log_path_(log_path), child_({FERRY_BINARY, "-c", config_path}, "", log_path) {}
  bool started() const { return child_.started(); }
  pid_t pid() const { return child_.pid(); }
  void signal(int sig) { child_.signal(sig); }
  // The exit code, or -1 if it did not exit within `limit` (it is killed when this goes).
  int wait_exit(std::chrono::milliseconds limit = std::chrono::seconds(20)) {
    return child_.wait_exit(limit).value_or(-1);
  }
  std::string log() const { return file_contents(log_path_); }

 private:
  std::string log_path_;
  ChildProcess child_;
};
#endif

}  // namespace ferry::testing
