// Accepting a connection together with its peer's address.
//
// libuv's accept loop calls accept4() with no address, so ferry asked getpeername() for every
// connection it accepted (the address goes into X-Forwarded-For and the access log): one
// system call more per connection. On these hosts a system call costs 1.1-1.3 us, about 3% of
// what a short connection costs the proxy in all. accept4() gives the address for free.
//
// So once a listener is listening, its read watcher is pointed at this file's accept loop,
// which asks accept4() for the address and hands each descriptor to the listener's callback
// through the handle's `accepted_fd`, exactly as libuv's own loop does; the callback then
// takes it with uv_accept() as before. The watcher callback and `accepted_fd` are fields
// libuv's public header declares in the handle struct (under its "private fields", which the
// layout of soname 1 keeps); a libuv that wired its accept loop another way would fail
// tests/proxy/core/peer_accept_test.cc.
//
// What the loop does not handle itself goes back to libuv's loop, which stays in place:
// EMFILE and ENFILE (libuv keeps a spare descriptor for them and sheds the queue) and errors
// to report. libuv then accepts as it always did, and the connection callback is called
// without an address (`peer` null): it asks getpeername() as before.
#pragma once

#include <sys/socket.h>
#include <uv.h>

namespace ferry::proxy {

struct PeerAcceptListener {
  // A listening handle's connection: take it with uv_accept(server, ...). `peer` is its
  // address, or null when libuv accepted it (ask the socket). `status` < 0 reports an accept
  // error (no connection to take), as a libuv connection callback's does.
  using Accepted = void (*)(PeerAcceptListener& listener, int status, const sockaddr_storage* peer);

  uv_tcp_t tcp{};
  Accepted on_accepted = nullptr;
  // libuv's own accept loop, for the errors this file's loop hands back to it.
  uv__io_cb libuv_accept_loop = nullptr;
};

// Binds `listener` to an adopted listening socket and starts accepting: uv_tcp_open(),
// uv_listen(), then the accept loop above. Returns 0 or a libuv error.
int listen_with_peer(uv_loop_t* loop, PeerAcceptListener& listener, uv_os_sock_t fd, int backlog,
                     PeerAcceptListener::Accepted on_accepted);

}  // namespace ferry::proxy
