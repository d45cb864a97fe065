// A worker's pipe for relaying large response bodies from a backend socket to a client socket
// without copying them through ferry's memory: splice(2) moves the pages socket -> pipe ->
// socket, and the kernel's copies into and out of a read block go away (two per byte).
//
// One pipe serves the whole worker because it is empty between uses: a relay puts at most
// a pipe's worth in and takes it all out again before returning, either into the client's
// socket or, for what that socket does not take at once, into ordinary blocks the caller
// queues. So it costs two descriptors per worker, never one per connection.
#pragma once

#include <sys/types.h>

#include <cstddef>

namespace ferry::proxy {

class SplicePipe {
 public:
  static constexpr std::size_t kCapacity = 256 * 1024;

  SplicePipe() = default;
  ~SplicePipe();
  SplicePipe(const SplicePipe&) = delete;
  SplicePipe& operator=(const SplicePipe&) = delete;

  // Opens the pipe on first use; false (and splicing is off for good) if the kernel refuses.
  bool ready();

  // Moves up to `max` bytes from socket `from` into the pipe (the pipe must be empty).
  // Returns the bytes moved, 0 at the socket's end, or -errno (-EAGAIN: nothing there yet).
  ssize_t fill(int from, std::size_t max);
  // Moves what the pipe holds into socket `to`, as far as it takes it now. Returns the bytes
  // moved (possibly fewer than held) or -errno.
  ssize_t drain_to(int to);
  // Reads what is left in the pipe into `buf` (up to `len`), emptying it: for bytes the
  // client's socket did not take, which then go the ordinary way.
  std::size_t read_rest(char* buf, std::size_t len);
  // Drops what the pipe holds (the client it was for is gone): the pipe is closed, and
  // ready() opens a fresh one for the next use.
  void discard();
  // Bytes in the pipe.
  std::size_t held() const { return held_; }

 private:
  int read_fd_ = -1;
  int write_fd_ = -1;
  bool failed_ = false;
  std::size_t held_ = 0;
};

}  // namespace ferry::proxy
