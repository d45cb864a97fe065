#include "proxy/core/splice_pipe.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace ferry::proxy {

SplicePipe::~SplicePipe() { discard(); }

void SplicePipe::discard() {
  if (read_fd_ >= 0) ::close(read_fd_);
  if (write_fd_ >= 0) ::close(write_fd_);
  read_fd_ = write_fd_ = -1;
  held_ = 0;
}

bool SplicePipe::ready() {
  if (read_fd_ >= 0) return true;
  if (failed_) return false;
  int fds[2];
  if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) {
    failed_ = true;
    return false;
  }
  read_fd_ = fds[0];
  write_fd_ = fds[1];
  // A pipe holds 16 buffers by default, and a socket's data can come as one page (or less) a
  // buffer: 64 buffers let one splice take a 64 KiB body whatever its pieces. The pages are the
  // socket's own; an empty pipe pins nothing. Best effort: the default works, in smaller steps.
  (void)::fcntl(write_fd_, F_SETPIPE_SZ, static_cast<int>(kCapacity));
  return true;
}

ssize_t SplicePipe::fill(int from, std::size_t max) {
  ssize_t n;
  do {
    n = ::splice(from, nullptr, write_fd_, nullptr, max, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return -errno;
  held_ += static_cast<std::size_t>(n);
  return n;
}

ssize_t SplicePipe::drain_to(int to) {
  std::size_t moved = 0;
  while (held_ > 0) {
    const ssize_t n = ::splice(read_fd_, nullptr, to, nullptr, held_, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (n > 0) {
      held_ -= static_cast<std::size_t>(n);
      moved += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN) return moved > 0 ? static_cast<ssize_t>(moved) : -errno;
    break;  // the socket is full for now
  }
  return static_cast<ssize_t>(moved);
}

std::size_t SplicePipe::read_rest(char* buf, std::size_t len) {
  std::size_t got = 0;
  while (held_ > 0 && got < len) {
    const ssize_t n = ::read(read_fd_, buf + got, len - got);
    if (n > 0) {
      held_ -= static_cast<std::size_t>(n);
      got += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    break;  // cannot happen with bytes held; leave held_ as it is rather than spin
  }
  return got;
}

}  // namespace ferry::proxy
