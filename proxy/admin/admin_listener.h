// The admin listener: a small HTTP/1.1 server on its own thread and loop, so a scrape never
// runs on a worker. It answers GET, HEAD and POST (the runtime controls) and closes each
// connection after one response.
#pragma once

#include <sys/socket.h>
#include <uv.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <thread>

namespace ferry::proxy {

struct AdminRequest {
  std::string_view method;         // GET, HEAD or POST
  std::string_view path;           // without the query
  std::string_view authorization;  // the Authorization header's value, or empty
};

struct AdminResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

class AdminServer {
 public:
  // Runs on the admin thread for every request.
  using Handler = std::function<void(const AdminRequest& request, AdminResponse* response)>;

  explicit AdminServer(Handler handler);
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Binds `address` (or listens on `inherited_fd`, a socket already bound there, when it is
  // not -1) and starts the thread. False with *error if the address can't be bound.
  bool start(const sockaddr_storage& address, int inherited_fd, std::string* error);
  uint16_t port() const { return port_; }
  // The listening socket, to hand to a new process on an upgrade; -1 when not started.
  int listening_fd() const { return listening_fd_; }
  // Any thread but the admin thread. Idempotent.
  void stop();

 private:
  struct Conn;
  static void on_connection(uv_stream_t* server, int status);
  static void on_stop(uv_async_t* handle);

  Handler handler_;
  uv_loop_t loop_{};
  uv_tcp_t listener_{};
  uv_async_t stop_async_{};
  std::thread thread_;
  uint16_t port_ = 0;
  int listening_fd_ = -1;
  bool started_ = false;
};

}  // namespace ferry::proxy
