#include "proxy/core/read_ring.h"

#include <poll.h>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <utility>

namespace ferry::proxy {

namespace {

// The ring of the loop running on this thread: libuv's event callback gets the loop and the
// watcher, and the loop's data is its owner's.
thread_local ReadRing* t_ring = nullptr;

// libuv's own handler of stream events (uv__stream_io: one function for every stream).
std::atomic<uv__io_cb> g_libuv_stream_io{nullptr};

// The size libuv suggests to alloc callbacks.
constexpr std::size_t kSuggestedSize = 64 * 1024;

uv_stream_t* stream_of(uv__io_t* watcher) {
  return reinterpret_cast<uv_stream_t*>(reinterpret_cast<char*>(watcher) - offsetof(uv_stream_t, io_watcher));
}

uv_handle_t* as_handle(uv_stream_t* s) { return reinterpret_cast<uv_handle_t*>(s); }

// Whether the stream's owner reads it: libuv watches it for POLLIN exactly while it reads
// (uv_read_stop, the end of the stream and uv_close all stop that watch). The read callback
// alone is not enough: libuv keeps it after the end of the stream.
bool reading(uv_stream_t* s) {
  return s->read_cb != nullptr && (s->io_watcher.pevents & POLLIN) != 0 && !uv_is_closing(as_handle(s));
}

bool nothing_now(int result) { return result == -EAGAIN || result == -EWOULDBLOCK || result == -EINTR; }

}  // namespace

std::unique_ptr<ReadRing> ReadRing::open(uv_loop_t* loop, Release release, void* release_context,
                                         std::string* why_not, const SocketRing* share_with) {
  std::unique_ptr<SocketRing> ring = share_with != nullptr ? SocketRing::share(*share_with) : SocketRing::open(why_not);
  if (ring == nullptr) return nullptr;
  std::unique_ptr<ReadRing> r(new ReadRing(std::move(ring), release, release_context));
  uv_check_init(loop, &r->after_poll_);
  r->after_poll_.data = r.get();
  uv_check_start(&r->after_poll_, &ReadRing::on_check);
  uv_unref(reinterpret_cast<uv_handle_t*>(&r->after_poll_));
  uv_idle_init(loop, &r->held_wake_);
  r->held_wake_.data = r.get();
  uv_unref(reinterpret_cast<uv_handle_t*>(&r->held_wake_));
  r->open_ = true;
  t_ring = r.get();
  return r;
}

ReadRing::~ReadRing() {
  if (t_ring == this) t_ring = nullptr;
}

void ReadRing::close() {
  if (!std::exchange(open_, false)) return;
  if (t_ring == this) t_ring = nullptr;
  for (const Pending& p : held_) give_back(p);  // their streams are gone or going
  held_.clear();
  uv_close(reinterpret_cast<uv_handle_t*>(&after_poll_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&held_wake_), nullptr);
}

void ReadRing::watch(uv_stream_t* stream) {
  if (stream->io_watcher.cb == &ReadRing::on_io) return;
  uv__io_cb expected = nullptr;
  g_libuv_stream_io.compare_exchange_strong(expected, stream->io_watcher.cb);
  stream->io_watcher.cb = &ReadRing::on_io;
}

void ReadRing::on_io(uv_loop_t* loop, uv__io_t* watcher, unsigned int events) {
  uv_stream_t* s = stream_of(watcher);
  ReadRing* r = t_ring;
  if (r != nullptr && (events & POLLIN) != 0 && (events & (POLLERR | POLLHUP)) == 0 && s->connect_req == nullptr) {
    const bool queued = r->queue(s);
    // A full ring settles inside queue(), and a callback of that settle may close this stream.
    if (uv_is_closing(as_handle(s))) return;
    if (queued) {
      events &= ~static_cast<unsigned int>(POLLIN);
      if (events == 0) return;
    }
  }
  // What is left is libuv's: an error or a hang-up (libuv reads then to learn which, and ends
  // the stream), a connect under way, room to write. If libuv is about to read, the bytes
  // held for this stream go first.
  if (r != nullptr && !r->held_.empty() && (events & (POLLIN | POLLERR | POLLHUP)) != 0) {
    r->deliver_held(s);
    if (uv_is_closing(as_handle(s))) return;
  }
  g_libuv_stream_io.load(std::memory_order_relaxed)(loop, watcher, events);
}

bool ReadRing::queue(uv_stream_t* stream, bool soon) {
  if (!open_ || settling_) return false;
  if (queued_ == SocketRing::kEntries) settle();  // a full ring's worth: read them now
  if (!ring_->has_room(1)) return false;          // the ring failed: libuv reads
  // A poll phase waits more than once when epoll has more than libuv takes at a time (1,024
  // events), so a stream can come twice before a settle. It is queued once: two reads of one
  // stream in a settle would each take a buffer before either callback ran. A small hash of
  // the queued streams finds it without a walk (a walk cost 3% of a keep-alive request's
  // instructions).
  std::size_t slot = (reinterpret_cast<std::uintptr_t>(stream) >> 4) * 0x9E3779B97F4A7C15ull >> (64 - kSeenBits);
  while (seen_[slot] != nullptr) {
    if (seen_[slot] == stream) return true;
    slot = (slot + 1) & (kSeenSlots - 1);
  }
  seen_[slot] = stream;
  pending_[queued_++] = Pending{stream, uv_buf_init(nullptr, 0), 0, Kind::Skip, soon};
  return true;
}

void ReadRing::on_check(uv_check_t* handle) { static_cast<ReadRing*>(handle->data)->settle(); }

void ReadRing::on_idle(uv_idle_t* handle) {
  auto* r = static_cast<ReadRing*>(handle->data);
  // Once: a stream whose bytes are still held (it stopped again) waits for its next resumed().
  uv_idle_stop(handle);
  r->deliver_held();
}

void ReadRing::on_read(void* tag, int result, std::size_t) { static_cast<Pending*>(tag)->result = result; }

void ReadRing::settle() {
  if (settling_) return;
  deliver_held();  // a stream's held bytes come before its newer ones
  if (queued_ == 0) return;
  settling_ = true;
  const unsigned n = queued_;
  unsigned reads = 0;
  std::memset(seen_, 0, sizeof seen_);
  for (unsigned i = 0; i < n; ++i) {
    Pending& p = pending_[i];
    // A callback earlier in the poll phase (or of the UV_ENOBUFS below) may have stopped or
    // closed it. A ring left short of room by a failed submit reads the rest next turn (the
    // socket stays readable).
    if (!reading(p.stream) || !ring_->has_room(1)) continue;
    p.stream->alloc_cb(as_handle(p.stream), kSuggestedSize, &p.buf);
    if (p.buf.base == nullptr || p.buf.len == 0) {
      // At once, as libuv does: an owner may count on its alloc callback being followed by
      // the read callback (ferry's backend side then splices). A read already queued for a
      // stream this closes is not made (SocketRing::settle), and bytes read for one it stops
      // are held.
      p.stream->read_cb(p.stream, UV_ENOBUFS, &p.buf);
      continue;
    }
    p.kind = Kind::Read;
    p.result = -EAGAIN;
    ring_->queue_read(p.stream, p.stream->io_watcher.fd, p.buf.base, p.buf.len, &p);
    ++reads;
  }
  if (reads > 0) {
    ++counts_.settles;
    counts_.reads += reads;
    ring_->settle(&ReadRing::on_read);
  }
  queued_ = 0;
  // Callbacks queue nothing (events come only from the poll phase), so pending_ stays put.
  for (unsigned i = 0; i < n; ++i) dispatch(pending_[i]);
  settling_ = false;
}

void ReadRing::dispatch(Pending& p) {
  if (p.kind != Kind::Read) return;
  if (uv_is_closing(as_handle(p.stream))) {
    give_back(p);
    return;
  }
  if (!reading(p.stream)) {
    // Stopped by a callback of this turn after its bytes came in: held for later.
    if (!nothing_now(p.result)) {
      p.soon = false;  // delivered after a later poll, which may have put the stream in epoll
      held_.push_back(p);
      ++counts_.held;
    } else {
      give_back(p);
    }
    return;
  }
  deliver(p);
}

void ReadRing::give_back(const Pending& p) {
  if (p.buf.base != nullptr) release_(release_context_, p.buf.base);
}

// What libuv's uv__read would have called the read callback with.
void ReadRing::deliver(Pending& p) {
  uv_stream_t* s = p.stream;
  uv_read_cb cb = s->read_cb;
  if (nothing_now(p.result)) {
    cb(s, 0, &p.buf);  // the buffer goes back unused
    return;
  }
  // A read_soon() stream epoll has watched (read_soon called outside the poll phase, and the
  // poll reported it too) is not named: its owner must not take it for one never in epoll.
  // events is what libuv last gave epoll_ctl for it: 0 until the first poll that watches it.
  first_read_ = p.soon && s->io_watcher.events == 0 ? s : nullptr;
  if (p.result > 0) {
    cb(s, p.result, &p.buf);
  } else if (p.result == 0) {
    uv_read_stop(s);  // the end of the stream: libuv stops reading before it tells
    cb(s, UV_EOF, &p.buf);
  } else {
    cb(s, p.result, &p.buf);  // an error: the owner closes; reading stops meanwhile
    if (reading(s)) uv_read_stop(s);
  }
  first_read_ = nullptr;
}

void ReadRing::deliver_held(uv_stream_t* only) {
  for (std::size_t i = 0; i < held_.size();) {
    if ((only != nullptr && held_[i].stream != only) || !reading(held_[i].stream)) {
      ++i;
      continue;
    }
    Pending p = held_[i];
    held_.erase(held_.begin() + static_cast<std::ptrdiff_t>(i));
    deliver(p);
    i = 0;  // the callback may have changed what is held
  }
}

void ReadRing::schedule_held(uv_stream_t* stream) {
  for (const Pending& p : held_) {
    if (p.stream == stream) {
      // The loop must not wait in epoll for bytes that are already here.
      if (open_) uv_idle_start(&held_wake_, &ReadRing::on_idle);
      return;
    }
  }
}

void ReadRing::drop_held(uv_stream_t* stream) {
  for (std::size_t i = 0; i < held_.size();) {
    if (held_[i].stream == stream) {
      give_back(held_[i]);
      held_.erase(held_.begin() + static_cast<std::ptrdiff_t>(i));
    } else {
      ++i;
    }
  }
}

}  // namespace ferry::proxy
