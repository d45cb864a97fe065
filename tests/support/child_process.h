// A child process (the real ferry executable, Prometheus...) owned by a test: whatever way the
// test ends, a failed ASSERT included, the destructor kills it (SIGKILL, by its pid) and reaps
// it, so no child outlives its test, holds ctest's output pipe open, or keeps a port bound.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace ferry::testing {

class ChildProcess {
 public:
  // Runs argv[0] with `argv`. The child's stdout and stderr go to the given files (created or
  // truncated); an empty path means /dev/null. Never the test's own stdout: ctest reads that pipe
  // until every holder closes it.
  ChildProcess(const std::vector<std::string>& argv, const std::string& stdout_path,
               const std::string& stderr_path);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  bool started() const { return pid_ > 0; }
  bool running() const { return pid_ > 0 && !reaped_; }
  void signal(int sig);
  // Waits up to `limit` for the child to exit. Its exit code, 128 + N if signal N ended it, or
  // nullopt if it still runs (it is left running: the destructor kills it).
  std::optional<int> wait_exit(std::chrono::milliseconds limit = std::chrono::seconds(30));

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
  int status_ = 0;
};

// Runs a command to completion (killing it after `limit`) and collects what it printed.
struct CommandResult {
  std::optional<int> exit_code;  // nullopt: still running at `limit`, then killed
  std::string out;
  std::string err;
};
CommandResult run_command(const std::vector<std::string>& argv,
                          std::chrono::milliseconds limit = std::chrono::seconds(30));

// The whole content of a file ("" if it cannot be read).
std::string file_contents(const std::string& path);
// Replaces a file's content with `text` (created if missing).
void write_file(const std::string& path, const std::string& text);

}  // namespace ferry::testing
