// The old process's side of a zero-downtime upgrade (SIGUSR2): start the binary at our own
// path with our arguments, hand it every listening socket (the very same sockets, so nothing
// queued on them is lost) and the session-ticket key ring, and wait until it says it serves.
// Only then does the caller stop accepting and drain; if the new process exits, or stays
// silent past the timeout (it is then killed), the caller keeps serving.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "proxy/lifecycle/inherited_sockets.h"
#include "proxy/lifecycle/upgrade_channel.h"

namespace ferry::proxy::lifecycle {

struct UpgradePlan {
  std::string executable;          // our own path, read at start-up
  std::vector<std::string> args;   // argv, argv[0] included
  std::vector<HandoverSocket> sockets;
  Handover handover;
  uint64_t timeout_ms = 30'000;    // for the new process to load, bind nothing, and serve
};

class Upgrader {
 public:
  // ok: the new process (pid) serves. Else `why` says what failed; the caller keeps serving.
  using Done = std::function<void(bool ok, int pid, const std::string& why)>;

  explicit Upgrader(uv_loop_t* loop);
  ~Upgrader();
  Upgrader(const Upgrader&) = delete;
  Upgrader& operator=(const Upgrader&) = delete;

  // Starts the new process; `done` runs on the loop once it is decided. False with *error when
  // nothing could be started (then `done` never runs).
  bool start(UpgradePlan plan, Done done, std::string* error);
  // An upgrade is under way (started, not yet decided).
  bool pending() const { return pending_; }
  // Gives up on a pending upgrade: the new process is killed, `done` runs with `why`.
  void cancel(const std::string& why);
  // Closes the handles; call before the loop ends. A new process already serving lives on.
  void close();

 private:
  static void on_exit(uv_process_t* process, int64_t status, int signal);
  static void on_alloc(uv_handle_t* handle, std::size_t suggested, uv_buf_t* buf);
  static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
  static void on_timeout(uv_timer_t* timer);
  static void on_process_closed(uv_handle_t* handle);
  static void on_channel_closed(uv_handle_t* handle);
  void decide(bool ok, const std::string& why);
  void stop_waiting();

  uv_loop_t* loop_;
  uv_process_t process_{};
  uv_pipe_t channel_{};
  uv_timer_t timer_{};
  bool process_open_ = false;  // until the handle's close callback
  bool channel_open_ = false;  // likewise
  uint64_t timeout_ms_ = 0;
  bool pending_ = false;
  bool closed_ = false;
  std::string reply_;
  char read_buffer_[256];
  Done done_;
};

// The environment for the new process: ours without the variables of an earlier handover or
// socket activation, plus the names of `sockets` at descriptors 3.. and the channel after them.
std::vector<std::string> upgrade_environment(char** environ_in, const std::vector<HandoverSocket>& sockets);

// Our own executable's path (what /proc/self/exe names now; read it at start-up, before a
// package upgrade replaces the file).
std::string own_executable_path();

}  // namespace ferry::proxy::lifecycle
