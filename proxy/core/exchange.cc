#include "proxy/core/exchange.h"

#include <algorithm>

namespace ferry::proxy {

namespace {
// Spare exchanges kept per worker; more than this go back to the allocator.
constexpr std::size_t kMaxSpare = 1024;
constexpr std::size_t kKeepCapacity = 4096;

void trim(std::string& s) {
  if (s.capacity() > kKeepCapacity) std::string().swap(s);
  s.clear();
}
}  // namespace

void Exchange::reset_request() {
  trim(request_head);
  trim(request_body);
  trim(scratch);
  request_id.clear();
  set_cookie.clear();
  upstream = nullptr;
  snapshot = nullptr;
  route = nullptr;
  route_slot = 0;
  pool = 0;
  pool_name = {};
  backend_index = 0;
  tried.clear();
  attempts = 0;
  body_received = 0;
  response_status = 0;
  response_bytes = 0;
  request_start_ns = 0;
  engage_ns = 0;
  backend_slot = kNoBackendSlot;
  backend_name = {};
  picked = false;
  request_chunked = false;
  request_has_body = false;
  request_complete = false;
  streaming = false;
  request_is_head = false;
  request_idempotent = false;
  request_upgrade = false;
  backend_malformed = false;
  client_keep_alive = false;
  http10 = false;
  response_started = false;
  head_held = false;
  held_keep_alive = false;
  response_chunked = false;
  upstream_paused = false;
  finish_pending = false;
  body_streamed = false;
  stale_retried = false;
  request_started = false;
  logged = false;
  head_complete = false;
}

ExchangePool::~ExchangePool() {
  // Normally close() ran on the loop; if the loop never ran, there is nothing to close on.
  if (!closed_)
    for (Exchange* ex : free_) delete ex;
}

Exchange* ExchangePool::acquire(ClientConn* owner, std::size_t max_head_bytes, bool tls) {
  Exchange* ex;
  if (!free_.empty()) {
    ex = free_.back();
    free_.pop_back();
    least_free_ = std::min(least_free_, free_.size());
  } else {
    ex = new Exchange(loop_, blocks_, writes_, on_written_, on_expired_);
  }
  ex->events.conn = owner;
  ex->parser.set_max_head_bytes(max_head_bytes);
  ex->out.set_owner(owner);
  if (tls && ex->tls_out == nullptr) ex->tls_out = std::make_unique<OutQueue>(blocks_, nullptr, on_written_, writes_);
  if (ex->tls_out != nullptr) ex->tls_out->set_owner(owner);
  ex->deadline.set_owner(owner);
  return ex;
}

void ExchangePool::release(Exchange* ex) {
  ex->deadline.clear();
  ex->out.clear();
  if (ex->tls_out != nullptr) ex->tls_out->clear();
  ex->parser.reset();
  ex->events.conn = nullptr;
  ex->out.set_owner(nullptr);
  if (ex->tls_out != nullptr) ex->tls_out->set_owner(nullptr);
  ex->deadline.set_owner(nullptr);
  ex->reset_request();
  ex->in_input = false;
  ex->linger_started = false;
  ex->handshake_timed = false;
  ex->plain_http_to_tls = false;
  trim(ex->pending_input);
  if (closed_ || free_.size() >= kMaxSpare) {
    close_and_free(ex);
    return;
  }
  free_.push_back(ex);
}

std::size_t ExchangePool::free_unused() {
  // The bottom `least_free_` were not taken all period (acquire() takes from the top).
  const std::size_t least = std::min(least_free_, free_.size());
  const std::size_t unused = least > keep_unused_ ? least - keep_unused_ : 0;
  for (std::size_t i = 0; i < unused; ++i) close_and_free(free_[i]);
  free_.erase(free_.begin(), free_.begin() + static_cast<std::ptrdiff_t>(unused));
  least_free_ = free_.size();
  return unused;
}

void ExchangePool::close_and_free(Exchange* ex) {
  ex->deadline.set_owner(ex);
  uv_close(ex->deadline.handle(), &ExchangePool::free_on_close);
}

void ExchangePool::free_on_close(uv_handle_t* h) { delete static_cast<Exchange*>(h->data); }

void ExchangePool::close() {
  if (closed_) return;
  closed_ = true;
  for (Exchange* ex : free_) close_and_free(ex);
  free_.clear();
}

}  // namespace ferry::proxy
