#include "proxy/core/write_batch.h"

#include "proxy/core/buffer.h"

namespace ferry::proxy {

WriteBatch::WriteBatch() = default;
WriteBatch::~WriteBatch() = default;

void WriteBatch::start(uv_loop_t* loop) {
  uv_prepare_init(loop, &before_poll_);
  before_poll_.data = this;
  uv_prepare_start(&before_poll_, &WriteBatch::on_prepare);
  uv_unref(reinterpret_cast<uv_handle_t*>(&before_poll_));
  started_ = true;
}

void WriteBatch::close() {
  // Not run() here: the worker closes the batch once its last connection has closed, often
  // from inside that close, and every queue still held belongs to a closing connection.
  if (!started_) return;
  started_ = false;
  uv_close(reinterpret_cast<uv_handle_t*>(&before_poll_), nullptr);
}

void WriteBatch::add(OutQueue* q) {
  if (q->in_batch_) return;
  q->in_batch_ = true;
  q->batch_prev_ = tail_;
  q->batch_next_ = nullptr;
  (tail_ != nullptr ? tail_->batch_next_ : head_) = q;
  tail_ = q;
  ++held_;
}

void WriteBatch::remove(OutQueue* q) {
  if (!q->in_batch_) return;
  (q->batch_prev_ != nullptr ? q->batch_prev_->batch_next_ : head_) = q->batch_next_;
  (q->batch_next_ != nullptr ? q->batch_next_->batch_prev_ : tail_) = q->batch_prev_;
  q->batch_prev_ = q->batch_next_ = nullptr;
  q->in_batch_ = false;
  --held_;
}

void WriteBatch::run() {
  if (running_ || head_ == nullptr) return;
  running_ = true;
  for (;;) {
    // One at a time from the front: a callback may close other connections (their queues
    // leave the list) but adds none, since flushes write at once (or onto the ring) while the
    // batch runs.
    while (head_ != nullptr) {
      OutQueue* q = head_;
      remove(q);
      q->on_written_(q->owner_, 0);
    }
    if (ring_ == nullptr || ring_->empty()) break;
    // The sends go out; each queue they came from rejoins the list, and its owner hears of
    // it in the next round as after a completed write.
    ring_->settle(&WriteBatch::on_sent);
  }
  running_ = false;
}

bool WriteBatch::send_on_ring(OutQueue* q, uv_stream_t* stream, int fd, const uv_buf_t* bufs, std::size_t n,
                              int flags) {
  if (!ring_->has_room(n)) ring_->settle(&WriteBatch::on_sent);
  if (!ring_->has_room(n)) return false;
  ring_->queue(stream, fd, bufs, n, flags, q);
  return true;
}

void WriteBatch::settle() {
  if (ring_ != nullptr) ring_->settle(&WriteBatch::on_sent);
}

void WriteBatch::on_sent(void* queue, int result, std::size_t asked) {
  auto* q = static_cast<OutQueue*>(queue);
  q->ring_sent(result, asked);
}

void WriteBatch::on_prepare(uv_prepare_t* handle) { static_cast<WriteBatch*>(handle->data)->run(); }

}  // namespace ferry::proxy
