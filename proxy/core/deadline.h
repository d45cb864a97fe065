// A one-shot timer that is cheap to push back. Connections move their deadline on nearly every
// read, write and request; doing each with uv_timer_start/stop is a heap update every time.
// Here, a later deadline only stores a number: the libuv timer fires at the old time, sees the
// new deadline and sleeps on. Only an earlier deadline restarts it. Loop thread only.
#pragma once

#include <uv.h>

#include <cstddef>
#include <cstdint>

namespace ferry::proxy {

class Deadline {
 public:
  using Callback = void (*)(void* owner);

  // `owner` goes into the handle's data, so the owner's close callback finds it there.
  void init(uv_loop_t* loop, void* owner, Callback on_expired) {
    uv_timer_init(loop, &timer_);
    timer_.data = owner;
    on_expired_ = on_expired;
  }
  uv_handle_t* handle() { return reinterpret_cast<uv_handle_t*>(&timer_); }
  void set_owner(void* owner) { timer_.data = owner; }

  // Expire `ms` from now (loop time), replacing any earlier setting.
  void set(uint64_t ms) {
    const uint64_t now = uv_now(timer_.loop);
    deadline_ = now + ms;
    if (armed_for_ == 0 || deadline_ < armed_for_) {
      uv_timer_start(&timer_, &Deadline::on_timer, ms, 0);
      armed_for_ = deadline_;
    }
  }
  // No deadline. The libuv timer may still fire once, harmlessly.
  void clear() { deadline_ = 0; }

 private:
  static void on_timer(uv_timer_t* t) {
    // timer_ is the first member, so the handle's address is the Deadline's.
    auto* d = reinterpret_cast<Deadline*>(t);
    d->armed_for_ = 0;
    if (d->deadline_ == 0) return;
    const uint64_t now = uv_now(t->loop);
    if (now < d->deadline_) {
      uv_timer_start(t, &Deadline::on_timer, d->deadline_ - now, 0);
      d->armed_for_ = d->deadline_;
      return;
    }
    d->deadline_ = 0;
    d->on_expired_(t->data);
  }

  uv_timer_t timer_{};  // must stay the first member (see on_timer)
  Callback on_expired_ = nullptr;
  uint64_t deadline_ = 0;   // loop time to expire at; 0 = none
  uint64_t armed_for_ = 0;  // loop time the libuv timer fires at; 0 = not armed
};

}  // namespace ferry::proxy
