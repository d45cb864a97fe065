#include "proxy/core/buffer.h"

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <utility>

#include <sys/socket.h>
#include <sys/uio.h>

namespace ferry::proxy {

BlockPool::~BlockPool() {
  for (char* b : small_.free) std::free(header(b));
  for (char* b : large_.free) std::free(header(b));
}

char* BlockPool::take(Spares& spares, std::size_t size) {
  ++in_use_;
  char* b;
  if (!spares.free.empty()) {
    b = spares.free.back();
    spares.free.pop_back();
    spares.least = std::min(spares.least, spares.free.size());
  } else {
    auto* raw = static_cast<char*>(std::malloc(sizeof(Header) + size));
    if (raw == nullptr) {
      --in_use_;
      return nullptr;  // a read then fails with UV_ENOBUFS
    }
    b = raw + sizeof(Header);
    header(b)->size = static_cast<uint32_t>(size);
  }
  header(b)->refs = 1;
  return b;
}

void BlockPool::put(char* block) {
  if (block == nullptr || --header(block)->refs != 0) return;
  --in_use_;
  Spares& spares = header(block)->size == kLargeBlockSize ? large_ : small_;
  if (spares.free.size() < spares.max) {
    spares.free.push_back(block);
  } else {
    std::free(header(block));
  }
}

std::size_t BlockPool::free_unused() { return free_unused(small_) + free_unused(large_); }

std::size_t BlockPool::free_unused(Spares& spares) {
  // The `least` spares at the bottom of the stack were not taken all period (get() takes from
  // the top); the ones above were, and stay.
  const std::size_t least = std::min(spares.least, spares.free.size());
  const std::size_t unused = least > spares.keep ? least - spares.keep : 0;
  for (std::size_t i = 0; i < unused; ++i) std::free(header(spares.free[i]));
  spares.free.erase(spares.free.begin(), spares.free.begin() + static_cast<std::ptrdiff_t>(unused));
  spares.least = spares.free.size();
  return unused;
}

void OutQueue::append(const char* data, std::size_t len) {
  while (len > 0) {
    // Fill the last owned block unless it is part of the write in flight.
    if (segments_.size() > in_flight_ && segments_.back().owned &&
        segments_.back().data + segments_.back().len < segments_.back().block + BlockPool::kBlockSize) {
      Segment& s = segments_.back();
      const std::size_t room = static_cast<std::size_t>(s.block + BlockPool::kBlockSize - (s.data + s.len));
      const std::size_t n = std::min(len, room);
      std::memcpy(s.data + s.len, data, n);
      s.len += static_cast<uint32_t>(n);
      data += n;
      len -= n;
      pending_ += n;
      continue;
    }
    char* block = pool_.get();
    segments_.push_back(Segment{block, block, 0, true});
  }
}

void OutQueue::append_borrowed(const char* data, std::size_t len) {
  if (len == 0) return;
  segments_.push_back(Segment{nullptr, const_cast<char*>(data), static_cast<uint32_t>(len), false});
  pending_ += len;
}

void OutQueue::append_shared(char* block, const char* data, std::size_t len) {
  if (len == 0) return;
  pool_.retain(block);
  segments_.push_back(Segment{block, const_cast<char*>(data), static_cast<uint32_t>(len), false});
  pending_ += len;
}

int OutQueue::flush(uv_stream_t* stream, bool fin_follows) {
  if (writing_ || segments_.empty()) return 0;
  if (batch_ != nullptr && batch_->holding()) {
    batch_->add(this);
    return 0;
  }
  if (std::exchange(socket_full_, false)) {
    // The ring's send just found the socket full (or failed): straight to uv_write, which
    // waits for room (or reports the error).
  } else if (stream != nullptr && batch_ != nullptr && batch_->sends_on_ring() && send_ring(stream, fin_follows)) {
    return 0;
  } else {
    // An error here (EPIPE, ECONNRESET, ...) is left to uv_write below, which reports it
    // through on_written as before: owners expect failures after the call that queued the
    // bytes returns.
    try_write(stream, fin_follows);
  }
  if (segments_.empty()) return 0;
  uv_buf_t bufs[kMaxBufs];
  const std::size_t n = fill(bufs);
  const int rc = uv_write(&req_, stream, bufs, static_cast<unsigned>(n), &OutQueue::on_write);
  if (rc != 0) return rc;
  in_flight_ = n;
  writing_ = true;
  return 0;
}

bool OutQueue::send_ring(uv_stream_t* stream, bool fin_follows) {
  if (!may_send_now(stream)) return false;
  uv_os_fd_t fd;
  if (uv_fileno(reinterpret_cast<const uv_handle_t*>(stream), &fd) != 0) return false;
  uv_buf_t bufs[kMaxBufs];
  const std::size_t n = fill(bufs);
  if (!batch_->send_on_ring(this, stream, fd, bufs, n, send_flags(n, fin_follows))) return false;
  in_flight_ = n;
  writing_ = true;
  on_ring_ = true;
  return true;
}

void OutQueue::ring_sent(int result, std::size_t asked) {
  writing_ = false;
  on_ring_ = false;
  in_flight_ = 0;
  if (result > 0) consume(static_cast<std::size_t>(result));
  if (result < 0 || static_cast<std::size_t>(result) < asked) socket_full_ = true;
  batch_->add(this);
}

void OutQueue::write_held(uv_stream_t* stream) {
  if (on_ring_) batch_->settle();  // the send on the ring goes before the socket closes
  if (!in_batch_) return;
  batch_->remove(this);
  try_write(stream);
}

std::size_t OutQueue::fill(uv_buf_t* bufs) const {
  const std::size_t n = std::min(segments_.size(), kMaxBufs);
  for (std::size_t i = 0; i < n; ++i) bufs[i] = uv_buf_init(segments_[i].data, segments_[i].len);
  return n;
}

void OutQueue::try_write(uv_stream_t* stream, bool fin_follows) {
  uv_buf_t bufs[kMaxBufs];
  const std::size_t n = fill(bufs);
  const ssize_t written = send_now(stream, bufs, n, send_flags(n, fin_follows));
  if (written > 0) consume(static_cast<std::size_t>(written));
}

int OutQueue::send_flags(std::size_t n, bool fin_follows) const {
  // Only the call that can take the last queued bytes may hold them back: with more segments
  // than one write takes, the next write pushes these anyway.
  return MSG_NOSIGNAL | (fin_follows && n == segments_.size() ? MSG_MORE : 0);
}

bool OutQueue::may_send_now(uv_stream_t* stream) {
  return stream->connect_req == nullptr && stream->write_queue_size == 0 && uv_is_writable(stream);
}

// What uv_try_write does, through send/sendmsg where libuv uses write/writev: a socket's
// send skips the file layer (position lock, fsnotify) that write goes through, 0.1-0.2 us a
// call on these hosts (bench/micro/socket_calls_bench.cc; notes in
// bench/reports/2026-12-06-short-connections). Only sockets come here; the same checks as
// libuv's keep the bytes in order behind a uv_write in flight.
static_assert(sizeof(uv_buf_t) == sizeof(iovec) && offsetof(uv_buf_t, base) == offsetof(iovec, iov_base) &&
              offsetof(uv_buf_t, len) == offsetof(iovec, iov_len));

ssize_t OutQueue::send_now(uv_stream_t* stream, const uv_buf_t* bufs, std::size_t n, int flags) {
  if (!may_send_now(stream)) return -1;
  uv_os_fd_t fd;
  if (uv_fileno(reinterpret_cast<const uv_handle_t*>(stream), &fd) != 0) return -1;
  ssize_t written;
  do {
    if (n == 1) {
      written = ::send(fd, bufs[0].base, bufs[0].len, flags);
    } else {
      msghdr msg{};
      // uv_buf_t is laid out as struct iovec on Unix (libuv's own writev relies on it).
      msg.msg_iov = reinterpret_cast<iovec*>(const_cast<uv_buf_t*>(bufs));
      msg.msg_iovlen = n;
      written = ::sendmsg(fd, &msg, flags);
    }
  } while (written < 0 && errno == EINTR);
  return written;
}

void OutQueue::consume(std::size_t n) {
  pending_ -= n;
  std::size_t done = 0;
  while (done < segments_.size() && n >= segments_[done].len) {
    n -= segments_[done].len;
    if (segments_[done].block != nullptr) pool_.put(segments_[done].block);
    ++done;
  }
  if (done < segments_.size() && n > 0) {
    segments_[done].data += n;
    segments_[done].len -= static_cast<uint32_t>(n);
  }
  segments_.erase(segments_.begin(), segments_.begin() + static_cast<std::ptrdiff_t>(done));
}

void OutQueue::release_in_flight() {
  for (std::size_t i = 0; i < in_flight_; ++i) {
    pending_ -= segments_[i].len;
    if (segments_[i].block != nullptr) pool_.put(segments_[i].block);
  }
  segments_.erase(segments_.begin(), segments_.begin() + static_cast<std::ptrdiff_t>(in_flight_));
  in_flight_ = 0;
}

void OutQueue::on_write(uv_write_t* req, int status) {
  auto* self = static_cast<OutQueue*>(req->data);
  self->writing_ = false;
  self->release_in_flight();
  self->on_written_(self->owner_, status);
}

void OutQueue::clear() {
  if (batch_ != nullptr) batch_->remove(this);  // nothing left for the batch to write
  socket_full_ = false;  // a pooled exchange's next connection starts with a fresh socket
  for (std::size_t i = in_flight_; i < segments_.size(); ++i) {
    pending_ -= segments_[i].len;
    if (segments_[i].block != nullptr) pool_.put(segments_[i].block);
  }
  segments_.resize(in_flight_);
  if (segments_.empty() && segments_.capacity() > 16) segments_.shrink_to_fit();
}

}  // namespace ferry::proxy
