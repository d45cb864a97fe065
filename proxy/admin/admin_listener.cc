#include "proxy/admin/admin_listener.h"

#include <netinet/in.h>

#include <cctype>
#include <cstring>

#include "proxy/admin/log.h"

namespace ferry::proxy {

namespace {

constexpr std::size_t kMaxRequestHead = 16 * 1024;
constexpr std::size_t kMaxRequestBody = 16 * 1024;  // the controls take none; read and ignored

uv_handle_t* as_handle(void* h) { return static_cast<uv_handle_t*>(h); }

std::string_view reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Content Too Large";
    case 503: return "Service Unavailable";
    default: return "Error";
  }
}

// The value of header `name` (case-insensitive) in `head` (lines after the request line), or "".
std::string_view header_value(std::string_view head, std::string_view name) {
  std::size_t pos = head.find("\r\n");
  while (pos != std::string_view::npos && pos + 2 < head.size()) {
    const std::size_t start = pos + 2;
    const std::size_t end = head.find("\r\n", start);
    const std::string_view line = head.substr(start, end == std::string_view::npos ? head.size() - start : end - start);
    const std::size_t colon = line.find(':');
    if (colon == name.size()) {
      bool same = true;
      for (std::size_t i = 0; i < colon && same; ++i) {
        same = std::tolower(static_cast<unsigned char>(line[i])) == std::tolower(static_cast<unsigned char>(name[i]));
      }
      if (same) {
        std::string_view value = line.substr(colon + 1);
        while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
        while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
        return value;
      }
    }
    pos = end;
  }
  return {};
}

}  // namespace

// One admin connection: read a head, answer, close. Freed in the close callback.
struct AdminServer::Conn {
  AdminServer* server = nullptr;
  uv_tcp_t tcp{};
  uv_write_t write_req{};
  std::string in;
  std::string out;
  std::size_t head_end = 0;     // past the blank line, once the head is in
  std::size_t request_end = 0;  // head and body, once the head is in
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

  // The request line and headers are in `in` up to `head_end`; answers once the body (if any)
  // is in too, so closing after the answer never resets a client still sending.
  void handle_request() {
    const std::string_view head(in.data(), head_end);
    const std::size_t line_end = head.find("\r\n");
    const std::string_view line = head.substr(0, line_end);
    const std::size_t sp1 = line.find(' ');
    const std::size_t sp2 = line.find(' ', sp1 == std::string_view::npos ? 0 : sp1 + 1);
    AdminResponse r;
    if (sp1 == std::string_view::npos || sp2 == std::string_view::npos) {
      r.body = "bad request\n";
      answer(400, r, false);
      return;
    }
    const std::string_view method = line.substr(0, sp1);
    std::string_view path = line.substr(sp1 + 1, sp2 - sp1 - 1);
    if (const std::size_t q = path.find('?'); q != std::string_view::npos) path = path.substr(0, q);
    if (method != "GET" && method != "HEAD" && method != "POST") {
      r.body = "only GET, HEAD and POST\n";
      answer(405, r, false);
      return;
    }
    const std::string_view length_text = header_value(head, "content-length");
    std::size_t length = 0;
    for (const char ch : length_text) {
      if (ch < '0' || ch > '9' || length > kMaxRequestBody) {
        r.body = ch < '0' || ch > '9' ? "bad Content-Length\n" : "request body too large\n";
        answer(ch < '0' || ch > '9' ? 400 : 413, r, false);
        return;
      }
      length = length * 10 + static_cast<std::size_t>(ch - '0');
    }
    if (length > kMaxRequestBody || !header_value(head, "transfer-encoding").empty()) {
      r.body = "request body too large (or chunked); the admin controls take no body\n";
      answer(413, r, false);
      return;
    }
    request_end = head_end + length;
    if (in.size() < request_end) return;  // the body is still coming
    AdminRequest request;
    request.method = method;
    request.path = path;
    request.authorization = header_value(head, "authorization");
    server->handler_(request, &r);
    answer(r.status, r, method == "HEAD");
  }

  static void on_read(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
    auto* c = static_cast<Conn*>(s->data);
    if (nread > 0 && !c->answered) {
      c->in.append(buf->base, static_cast<std::size_t>(nread));
      if (c->request_end != 0) {
        if (c->in.size() >= c->request_end) c->handle_request();
      } else if (const std::size_t end = c->in.find("\r\n\r\n"); end != std::string::npos) {
        c->head_end = end + 4;
        c->handle_request();
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

bool AdminServer::start(const sockaddr_storage& address, int inherited_fd, std::string* error) {
  uv_loop_init(&loop_);
  uv_tcp_init(&loop_, &listener_);
  listener_.data = this;
  uv_async_init(&loop_, &stop_async_, &AdminServer::on_stop);
  stop_async_.data = this;
  int rc = inherited_fd >= 0 ? uv_tcp_open(&listener_, inherited_fd)
                             : uv_tcp_bind(&listener_, reinterpret_cast<const sockaddr*>(&address), 0);
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
  uv_os_fd_t fd = -1;
  if (uv_fileno(as_handle(&listener_), &fd) == 0) listening_fd_ = fd;
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
  listening_fd_ = -1;
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
