// The process a SIGUSR2 upgrade starts: ferry's child, which outlives it. A test that upgrades
// holds an UpgradedProcess: as a subreaper the test inherits the new process when the old one
// exits, and the guard stops it by its pid and reaps it however the test ends.
#pragma once

#include <signal.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <regex>
#include <string>

#include "support/wait.h"

namespace ferry::testing {

class UpgradedProcess {
 public:
  UpgradedProcess() { ::prctl(PR_SET_CHILD_SUBREAPER, 1); }
  ~UpgradedProcess() {
    if (pid_ > 0 && ::kill(pid_, SIGKILL) == 0) {
      for (int i = 0; i < 200 && ::waitpid(pid_, nullptr, WNOHANG) == 0; ++i) ::usleep(10'000);
    }
  }
  UpgradedProcess(const UpgradedProcess&) = delete;
  UpgradedProcess& operator=(const UpgradedProcess&) = delete;

  void set(pid_t pid) { pid_ = pid; }
  pid_t pid() const { return pid_; }
  // Waits up to `limit` for the adopted process to exit; its exit code (128 + N for signal N)
  // or -1.
  int wait_exit(std::chrono::milliseconds limit = std::chrono::seconds(20)) {
    int status = 0;
    const bool done = eventually([&] { return ::waitpid(pid_, &status, WNOHANG) == pid_; }, limit);
    if (!done) return -1;
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  // The pid the old process's log names as the new one, or -1.
  static pid_t named_in(const std::string& log) {
    static const std::regex served(R"(the new process \(pid (\d+)\) serves)");
    std::smatch m;
    return std::regex_search(log, m, served) ? static_cast<pid_t>(std::stoi(m[1])) : -1;
  }

 private:
  pid_t pid_ = -1;
};

}  // namespace ferry::testing
