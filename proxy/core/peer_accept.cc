#include "proxy/core/peer_accept.h"

#include <cerrno>
#include <cstddef>

#include <unistd.h>

namespace ferry::proxy {

namespace {

uv_stream_t* stream_of(PeerAcceptListener& listener) { return reinterpret_cast<uv_stream_t*>(&listener.tcp); }

PeerAcceptListener& listener_of(uv__io_t* watcher) {
  char* handle = reinterpret_cast<char*>(watcher) - offsetof(uv_stream_t, io_watcher);
  return *static_cast<PeerAcceptListener*>(reinterpret_cast<uv_stream_t*>(handle)->data);
}

// The connections libuv's own loop accepts come without their address.
void on_libuv_connection(uv_stream_t* server, int status) {
  auto& listener = *static_cast<PeerAcceptListener*>(server->data);
  listener.on_accepted(listener, status, nullptr);
}

void accept_ready(uv_loop_t* loop, uv__io_t* watcher, unsigned int events) {
  PeerAcceptListener& listener = listener_of(watcher);
  uv_stream_t* server = stream_of(listener);
  // Until the queue is empty, as libuv's loop does; closing the listener (a drain) sets its
  // descriptor to -1.
  while (server->io_watcher.fd != -1) {
    sockaddr_storage peer;
    socklen_t peer_len = sizeof peer;
    const int fd = ::accept4(server->io_watcher.fd, reinterpret_cast<sockaddr*>(&peer), &peer_len,
                             SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      listener.libuv_accept_loop(loop, watcher, events);
      return;
    }
    server->accepted_fd = fd;
    listener.on_accepted(listener, 0, &peer);
    if (server->accepted_fd != -1) {
      // Not taken (the callback always takes it; this keeps a slip from leaking it).
      ::close(server->accepted_fd);
      server->accepted_fd = -1;
    }
  }
}

}  // namespace

int listen_with_peer(uv_loop_t* loop, PeerAcceptListener& listener, uv_os_sock_t fd, int backlog,
                     PeerAcceptListener::Accepted on_accepted) {
  uv_tcp_init(loop, &listener.tcp);
  listener.tcp.data = &listener;
  listener.on_accepted = on_accepted;
  int rc = uv_tcp_open(&listener.tcp, fd);
  if (rc == 0) rc = uv_listen(stream_of(listener), backlog, &on_libuv_connection);
  if (rc != 0) return rc;
  listener.libuv_accept_loop = listener.tcp.io_watcher.cb;
  listener.tcp.io_watcher.cb = &accept_ready;
  return 0;
}

}  // namespace ferry::proxy
