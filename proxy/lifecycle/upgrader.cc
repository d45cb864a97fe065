#include "proxy/lifecycle/upgrader.h"

#include <openssl/crypto.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <climits>
#include <cstring>
#include <utility>

#include "proxy/lifecycle/inherited_sockets.h"

namespace ferry::proxy::lifecycle {

namespace {

constexpr int kFirstHandedFd = 3;  // as systemd's SD_LISTEN_FDS_START

uv_handle_t* as_handle(void* h) { return static_cast<uv_handle_t*>(h); }

bool starts_with_variable(const char* entry, std::string_view name) {
  return std::strncmp(entry, name.data(), name.size()) == 0 && entry[name.size()] == '=';
}

// Writes all of `bytes` to a blocking socket.
bool write_all(int fd, const uint8_t* bytes, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::send(fd, bytes, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

std::string exit_description(int64_t status, int signal) {
  if (signal != 0) return "was killed by signal " + std::to_string(signal) + " (" + strsignal(signal) + ")";
  return "exited with status " + std::to_string(status);
}

}  // namespace

std::string own_executable_path() {
  char buf[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "";
  return std::string(buf, static_cast<std::size_t>(n));
}

std::vector<std::string> upgrade_environment(char** environ_in, const std::vector<HandoverSocket>& sockets) {
  std::vector<std::string> env;
  for (char** e = environ_in; e != nullptr && *e != nullptr; ++e) {
    bool ours = false;
    for (std::string_view name : {std::string_view(kUpgradeSocketsVariable), std::string_view(kUpgradeChannelVariable),
                                  std::string_view("LISTEN_FDS"), std::string_view("LISTEN_PID"),
                                  std::string_view("LISTEN_FDNAMES")}) {
      ours = ours || starts_with_variable(*e, name);
    }
    if (!ours) env.emplace_back(*e);
  }
  std::string names = std::string(kUpgradeSocketsVariable) + "=";
  for (std::size_t i = 0; i < sockets.size(); ++i) {
    if (i > 0) names += ";";
    names += std::to_string(kFirstHandedFd + static_cast<int>(i)) + "=" + sockets[i].name;
  }
  env.push_back(names);
  env.push_back(std::string(kUpgradeChannelVariable) + "=" +
                std::to_string(kFirstHandedFd + static_cast<int>(sockets.size())));
  return env;
}

Upgrader::Upgrader(uv_loop_t* loop) : loop_(loop) {
  uv_timer_init(loop_, &timer_);
  timer_.data = this;
}

Upgrader::~Upgrader() { close(); }

bool Upgrader::start(UpgradePlan plan, Done done, std::string* error) {
  if (pending_ || closed_) {
    *error = pending_ ? "an upgrade is already under way" : "shutting down";
    return false;
  }
  if (process_open_ || channel_open_) {
    *error = "the previous attempt is still finishing; try again in a moment";
    return false;
  }
  if (plan.executable.empty()) {
    *error = "ferry could not tell its own executable's path at start-up";
    return false;
  }
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
    *error = std::string("socketpair: ") + std::strerror(errno);
    return false;
  }
  // The handover goes into the socket's buffer before the new process even starts: it reads
  // it first thing, and the keys never touch the environment or a file.
  std::vector<uint8_t> message = encode_handover(plan.handover);
  const bool written = write_all(pair[0], message.data(), message.size());
  OPENSSL_cleanse(message.data(), message.size());
  if (!written) {
    *error = std::string("writing the handover: ") + std::strerror(errno);
    ::close(pair[0]);
    ::close(pair[1]);
    return false;
  }

  std::vector<std::string> env = upgrade_environment(environ, plan.sockets);
  std::vector<char*> env_ptrs;
  for (std::string& e : env) env_ptrs.push_back(e.data());
  env_ptrs.push_back(nullptr);
  std::vector<char*> arg_ptrs;
  for (std::string& a : plan.args) arg_ptrs.push_back(a.data());
  arg_ptrs.push_back(nullptr);
  // Descriptors 0-2 as ours, then the sockets at 3.., then the new process's end of the channel.
  std::vector<uv_stdio_container_t> stdio(3 + plan.sockets.size() + 1);
  for (int i = 0; i < 3; ++i) {
    stdio[static_cast<std::size_t>(i)].flags = UV_INHERIT_FD;
    stdio[static_cast<std::size_t>(i)].data.fd = i;
  }
  for (std::size_t i = 0; i < plan.sockets.size(); ++i) {
    stdio[3 + i].flags = UV_INHERIT_FD;
    stdio[3 + i].data.fd = plan.sockets[i].fd;
  }
  stdio.back().flags = UV_INHERIT_FD;
  stdio.back().data.fd = pair[1];

  uv_process_options_t options{};
  options.file = plan.executable.c_str();
  options.args = arg_ptrs.data();
  options.env = env_ptrs.data();
  options.stdio_count = static_cast<int>(stdio.size());
  options.stdio = stdio.data();
  options.exit_cb = &Upgrader::on_exit;
  process_.data = this;
  process_open_ = true;
  const int rc = uv_spawn(loop_, &process_, &options);
  ::close(pair[1]);  // the new process has its copy
  if (rc != 0) {
    // libuv reports a failed exec here; the handle still needs closing.
    uv_close(as_handle(&process_), &Upgrader::on_process_closed);
    ::close(pair[0]);
    *error = "starting " + plan.executable + ": " + uv_strerror(rc);
    return false;
  }
  uv_pipe_init(loop_, &channel_, 0);
  channel_.data = this;
  channel_open_ = true;
  if (const int open_rc = uv_pipe_open(&channel_, pair[0]); open_rc != 0) {
    ::close(pair[0]);
    *error = std::string("watching the new process: ") + uv_strerror(open_rc);
    uv_process_kill(&process_, SIGKILL);
    stop_waiting();
    return false;
  }
  uv_read_start(reinterpret_cast<uv_stream_t*>(&channel_), &Upgrader::on_alloc, &Upgrader::on_read);
  timeout_ms_ = plan.timeout_ms;
  uv_timer_start(&timer_, &Upgrader::on_timeout, plan.timeout_ms, 0);
  reply_.clear();
  done_ = std::move(done);
  pending_ = true;
  return true;
}

void Upgrader::on_alloc(uv_handle_t* handle, std::size_t, uv_buf_t* buf) {
  auto* self = static_cast<Upgrader*>(handle->data);
  *buf = uv_buf_init(self->read_buffer_, sizeof self->read_buffer_);
}

void Upgrader::on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  auto* self = static_cast<Upgrader*>(stream->data);
  if (!self->pending_) return;
  if (nread > 0) {
    self->reply_.append(buf->base, static_cast<std::size_t>(nread));
    const std::size_t nl = self->reply_.find('\n');
    if (nl == std::string::npos) {
      if (self->reply_.size() > 64) self->decide(false, "the new process sent something other than \"ready\"");
      return;
    }
    const std::string prefix = std::string(kReadyWord) + " ";
    if (self->reply_.compare(0, prefix.size(), prefix) != 0) {
      self->decide(false, "the new process sent something other than \"ready\"");
      return;
    }
    self->decide(true, "");
  } else if (nread < 0) {
    // End of stream without "ready": the new process is gone, or gave up. on_exit usually
    // knows more (the status); let it decide, the timer bounds the wait if it never comes.
    uv_read_stop(stream);
  }
}

void Upgrader::on_exit(uv_process_t* process, int64_t status, int signal) {
  auto* self = static_cast<Upgrader*>(process->data);
  if (self->pending_) {
    self->decide(false, "the new process " + exit_description(status, signal) + " before it served");
  }
  uv_close(as_handle(process), &Upgrader::on_process_closed);
}

void Upgrader::on_process_closed(uv_handle_t* handle) { static_cast<Upgrader*>(handle->data)->process_open_ = false; }

void Upgrader::on_channel_closed(uv_handle_t* handle) { static_cast<Upgrader*>(handle->data)->channel_open_ = false; }

void Upgrader::on_timeout(uv_timer_t* timer) {
  auto* self = static_cast<Upgrader*>(timer->data);
  if (!self->pending_) return;
  uv_process_kill(&self->process_, SIGKILL);
  self->decide(false, "the new process did not report serving within " + std::to_string(self->timeout_ms_) +
                          " ms; it was killed");
}

void Upgrader::cancel(const std::string& why) {
  if (!pending_) return;
  uv_process_kill(&process_, SIGKILL);
  decide(false, why);
}

void Upgrader::decide(bool ok, const std::string& why) {
  if (!pending_) return;
  pending_ = false;
  const int pid = process_.pid;
  stop_waiting();
  Done done = std::move(done_);
  if (done) done(ok, pid, why);
}

void Upgrader::stop_waiting() {
  uv_timer_stop(&timer_);
  if (channel_open_ && !uv_is_closing(as_handle(&channel_))) uv_close(as_handle(&channel_), &Upgrader::on_channel_closed);
}

void Upgrader::close() {
  if (std::exchange(closed_, true)) return;
  pending_ = false;
  stop_waiting();
  uv_close(as_handle(&timer_), nullptr);
  // A process that serves now is not ours to stop: closing the handle only stops watching it.
  if (process_open_ && !uv_is_closing(as_handle(&process_))) uv_close(as_handle(&process_), &Upgrader::on_process_closed);
}

}  // namespace ferry::proxy::lifecycle
