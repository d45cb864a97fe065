#include "proxy/admin/admin_listener.h"

#include <netinet/in.h>

#include <cstring>

#include "proxy/admin/log.h"

namespace ferry::proxy {

namespace {

constexpr std::size_t kMaxRequestHead = 16 * 1024;

uv_handle_t* as_handle(void* h) { return static_cast<uv_handle_t*>(h); }

std::string_view reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 503: return "Service Unavailable";
    default: return "Error";
  }
}

}  // namespace

// One admin connection: read a head, answer, close. Freed in the close callback.
struct AdminServer::Conn {
  AdminServer* server = nullptr;
  uv_tcp_t tcp{};
  uv_write_t write_req{};
  std::string in;
  std::string out;
  bool answered = false;

  static void on_alloc(uv_handle_t*, std::size_t suggested, uv_buf_t* buf) {
    buf->base = new char[suggested];
    buf->len = suggested;
  }
  static void on_closed(uv_handle_t* h) { delete static_cast<Conn*>(h->data); }
  void close() {
    if (!uv_is_closing(as_handle(&tcp))) uv_close(as_handle(&tcp), &Conn::on_closed);
  }
  static void on_written(uv_write_t* req, int) { static_cast<Conn*>(req->data)->close(); }

  void answer(int status, const AdminResponse& r, bool head_only) {
    answered = true;
    uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp));
    out = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason(status)) +
          "\r\nContent-Type: " + r.content_type + "\r\nContent-Length: " +
          std::to_string(r.body.size()) + "\r\nConnection: close\r\n\r\n";
    if (!head_only) out += r.body;
    uv_buf_t buf = uv_buf_init(out.data(), static_cast<unsigned>(out.size()));
    write_req.data = this;
    if (uv_write(&write_req, reinterpret_cast<uv_stream_t*>(&tcp), &buf, 1, &Conn::on_written) != 0) {
      close();
    }
  }

  void handle_head() {
    const std::size_t line_end = in.find("\r\n");
    const std::string line = in.substr(0, line_end);
    const std::size_t sp1 = line.find(' ');
    const std::size_t sp2 = line.find(' ', sp1 == std::string::npos ? 0 : sp1 + 1);
    AdminResponse r;
    if (sp1 == std::string::npos || sp2 == std::string::npos) {
      r.body = "bad request\n";
      answer(400, r, false);
      return;
    }
    const std::string method = line.substr(0, sp1);
    std::string path = line.substr(sp1 + 1, sp2 - sp1 - 1);
    if (const std::size_t q = path.find('?'); q != std::string::npos) path.resize(q);
    if (method != "GET" && method != "HEAD") {
      r.body = "only GET and HEAD\n";
      answer(405, r, false);
      return;
    }
    server->handler_(path, &r);
    answer(r.status, r, method == "HEAD");
  }

  static void on_read(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
    auto* c = static_cast<Conn*>(s->data);
    if (nread > 0 && !c->answered) {
      c->in.append(buf->base, static_cast<std::size_t>(nread));
      if (c->in.find("\r\n\r\n") != std::string::npos) {
        c->handle_head();
      } else if (c->in.size() > kMaxRequestHead) {
        AdminResponse r;
        r.body = "request head too large\n";
        c->answer(400, r, false);
      }
    } else if (nread < 0) {
      c->close();
    }
    delete[] buf->base;
  }
};

AdminServer::AdminServer(Handler handler) : handler_(std::move(handler)) {}

AdminServer::~AdminServer() { stop(); }

bool AdminServer::start(const sockaddr_storage& address, std::string* error) {
  uv_loop_init(&loop_);
  uv_tcp_init(&loop_, &listener_);
  listener_.data = this;
  uv_async_init(&loop_, &stop_async_, &AdminServer::on_stop);
  stop_async_.data = this;
  int rc = uv_tcp_bind(&listener_, reinterpret_cast<const sockaddr*>(&address), 0);
  if (rc == 0) rc = uv_listen(reinterpret_cast<uv_stream_t*>(&listener_), 128, &AdminServer::on_connection);
  if (rc != 0) {
    *error = std::string("admin listener: ") + uv_strerror(rc);
    uv_close(as_handle(&listener_), nullptr);
    uv_close(as_handle(&stop_async_), nullptr);
    uv_run(&loop_, UV_RUN_DEFAULT);
    uv_loop_close(&loop_);
    return false;
  }
  sockaddr_storage bound{};
  int len = sizeof bound;
  uv_tcp_getsockname(&listener_, reinterpret_cast<sockaddr*>(&bound), &len);
  port_ = bound.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                                      : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  started_ = true;
  thread_ = std::thread([this] {
    uv_run(&loop_, UV_RUN_DEFAULT);
    if (uv_loop_close(&loop_) != 0) log_error("admin: loop closed with handles open");
  });
  return true;
}

void AdminServer::stop() {
  if (!started_) return;
  started_ = false;
  uv_async_send(&stop_async_);
  thread_.join();
}

void AdminServer::on_stop(uv_async_t* handle) {
  auto* self = static_cast<AdminServer*>(handle->data);
  uv_walk(
      &self->loop_,
      [](uv_handle_t* h, void* arg) {
        auto* server = static_cast<AdminServer*>(arg);
        if (uv_is_closing(h)) return;
        if (h == as_handle(&server->listener_) || h == as_handle(&server->stop_async_)) {
          uv_close(h, nullptr);
        } else {
          uv_close(h, &Conn::on_closed);  // an admin connection still open
        }
      },
      self);
}

void AdminServer::on_connection(uv_stream_t* server, int status) {
  auto* self = static_cast<AdminServer*>(server->data);
  if (status < 0) return;
  auto* c = new Conn();
  c->server = self;
  uv_tcp_init(&self->loop_, &c->tcp);
  c->tcp.data = c;
  if (uv_accept(server, reinterpret_cast<uv_stream_t*>(&c->tcp)) != 0 ||
      uv_read_start(reinterpret_cast<uv_stream_t*>(&c->tcp), &Conn::on_alloc, &Conn::on_read) != 0) {
    c->close();
  }
}

}  // namespace ferry::proxy
