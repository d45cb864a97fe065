#include "proxy/core/client_conn.h"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string_view>
#include <utility>

#include "balancer/hash.h"
#include "balancer/pick_key.h"
#include "balancer/routing/request_target.h"
#include "balancer/slow_start.h"
#include "proxy/core/sticky_cookie.h"
#include "proxy/acme/challenge_tokens.h"
#include "proxy/admin/log.h"
#include "proxy/core/upstream_conn.h"
#include "proxy/core/worker.h"
#include "proxy/http1/head_headers.h"
#include "proxy/http1/headers.h"
#include "proxy/http1/host_field.h"
#include "proxy/http1/responses.h"
#include "proxy/limits/client_key.h"

namespace ferry::proxy {

namespace {

// Queued request bytes for a backend past which the client is no longer read.
constexpr std::size_t kUpstreamHighWater = 256 * 1024;
constexpr std::size_t kUpstreamLowWater = 64 * 1024;
// How long a closing connection keeps draining what the client still sends (nginx: 5s).
constexpr uint64_t kLingerMs = 2000;
// HTTP/2 frames queued ahead of the socket; more are made as these are written.
constexpr std::size_t kHttp2FramesAhead = 64 * 1024;
// The HTTP/2 connection preface's first bytes (RFC 9113 3.4): no HTTP/1 request starts so.
constexpr std::string_view kHttp2PrefaceStart = "PRI * HTTP/2.0";
// Bytes a client may send ahead (pipelined requests) while its current request is served;
// past this, reading stops until the current response is done.
constexpr std::size_t kPendingInputLimit = 64 * 1024;

ClientConn* self_of(uv_handle_t* h) { return static_cast<ClientConn*>(h->data); }
uv_handle_t* as_handle(void* h) { return static_cast<uv_handle_t*>(h); }
uv_stream_t* as_stream(uv_tcp_t* t) { return reinterpret_cast<uv_stream_t*>(t); }

bool is_idempotent(uint8_t method) {
  switch (static_cast<llhttp_method_t>(method)) {
    case HTTP_GET:
    case HTTP_HEAD:
    case HTTP_PUT:
    case HTTP_DELETE:
    case HTTP_OPTIONS:
    case HTTP_TRACE:
      return true;
    default:
      return false;
  }
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Dotted quad by hand: inet_ntop (under uv_ip4_name) goes through snprintf, about 1,300
// instructions for every new connection. `out` holds at least 16 bytes ("255.255.255.255").
void format_ipv4(uint32_t s_addr, char* out) {
  const auto* b = reinterpret_cast<const unsigned char*>(&s_addr);
  for (int i = 0; i < 4; ++i) {
    unsigned v = b[i];
    if (v >= 100) *out++ = static_cast<char>('0' + v / 100);
    if (v >= 10) *out++ = static_cast<char>('0' + v / 10 % 10);
    *out++ = static_cast<char>('0' + v % 10);
    *out++ = i < 3 ? '.' : '\0';
  }
}

void format_peer(const sockaddr_storage& ss, char (&out)[INET6_ADDRSTRLEN]) {
  const std::size_t len = sizeof out;
  if (ss.ss_family == AF_INET) {
    format_ipv4(reinterpret_cast<const sockaddr_in&>(ss).sin_addr.s_addr, out);
  } else if (ss.ss_family == AF_INET6) {
    uv_ip6_name(reinterpret_cast<const sockaddr_in6*>(&ss), out, len);
  } else {
    std::snprintf(out, len, "unknown");
  }
}

// A request line where a ClientHello should be: an HTTP client on a TLS port. A TLS record
// starts with its content type (22 for a handshake), never with a letter.
bool looks_like_plain_http(std::string_view first) {
  return !first.empty() && first.front() >= 'A' && first.front() <= 'Z';
}

constexpr std::string_view kPlainHttpToTlsPort =
    "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 49\r\n"
    "Connection: close\r\n\r\nA plain HTTP request was sent to an HTTPS port.\r\n";
static_assert(content_length_fits(kPlainHttpToTlsPort));

}  // namespace

ClientConn::ClientConn(Worker& worker) {
  uv_tcp_init(worker.loop(), &tcp_);
  tcp_.data = this;
}

ClientConn::~ClientConn() = default;

void ClientConn::set_client_ip(const sockaddr_storage& peer) {
  if (peer.ss_family == AF_INET) {
    client_ipv4_ = reinterpret_cast<const sockaddr_in&>(peer).sin_addr.s_addr;
    return;
  }
  // An IPv4 client of a dual-stack socket (systemd's, say: ferry's own IPv6 sockets are
  // IPv6-only) is as common as a plain one there, and stays as small.
  if (const auto& in6 = reinterpret_cast<const sockaddr_in6&>(peer);
      peer.ss_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&in6.sin6_addr)) {
    std::memcpy(&client_ipv4_, in6.sin6_addr.s6_addr + 12, sizeof client_ipv4_);
    client_ip_mapped_ = true;
    return;
  }
  format_peer(peer, edge().client_ip);
}

void ClientConn::write_client_ipv4(char (&out)[kIpv4TextBytes]) const {
  constexpr std::string_view kMapped = "::ffff:";  // as inet_ntop writes it
  char* at = out;
  if (client_ip_mapped_) at = std::copy(kMapped.begin(), kMapped.end(), at);
  format_ipv4(client_ipv4_, at);
}

const char* ClientConn::client_ip() const {
  if (edge_ != nullptr && edge_->client_ip[0] != '\0') return edge_->client_ip;
  if (client_ipv4_ == 0) return "";
  if (ex_ != nullptr) return ex_->client_ip;  // written when the exchange attached
  thread_local char text[kIpv4TextBytes];
  write_client_ipv4(text);
  return text;
}

void ClientConn::accept_from(Worker& worker, uv_stream_t* server, uint32_t listener,
                             const sockaddr_storage* peer) {
  auto* c = new ClientConn(worker);
  c->listener_ = static_cast<uint16_t>(listener);
  if (const int rc = uv_accept(server, as_stream(&c->tcp_)); rc != 0) {
    log_error("accept: %s", uv_err_name(rc));
    c->close();
    return;
  }
  worker.read_through_ring(as_stream(&c->tcp_));
  const uint32_t open = worker.shared().connections.fetch_add(1, std::memory_order_relaxed) + 1;
  c->counted_ = true;
  if (open > worker.settings().max_connections || worker.draining()) {
    // Past max_connections: accepted and closed at once, so the backlog never fills up with
    // connections nobody will serve and other workers keep accepting.
    c->close();
    return;
  }
  worker.client_opened(c);
  c->listed_ = true;
  adjust(worker.metrics().client_connections, 1);
  sockaddr_storage asked;  // filled only when the accept did not give the address
  if (int asked_len = sizeof asked;
      peer == nullptr && uv_tcp_getpeername(&c->tcp_, reinterpret_cast<sockaddr*>(&asked), &asked_len) == 0)
    peer = &asked;
  if (peer != nullptr) c->set_client_ip(*peer);
  if (const ListenerSettings* l = c->listener(); l != nullptr && l->speaks_tls()) {
    c->edge().tls = tls::Session::server(l->server_tls());
    if (c->tls() == nullptr) {
      log_error("TLS: out of memory for a new connection");
      c->close();
      return;
    }
    c->tls()->set_output_sink(&ClientConn::on_tls_output, c);
    c->secure_ = true;
  }
  c->phase_ = Phase::Idle;
  // Until its first byte, a new connection waits in the idle list with client_header to go.
  worker.idle_add(c, Worker::IdleKind::New);
  c->read_first();
}

// A client sends its request (or ClientHello) right after the handshake, and on loopback or a
// LAN the bytes are usually in by the time ferry accepts. So the first read is tried at once,
// before asking epoll: when it finds bytes, the request is under way a turn earlier, and a
// request that closes its connection after the answer (Connection: close, HTTP/1.0) never
// needs epoll at all: no epoll_ctl to add the socket, none to take it out (close()). On these
// hosts a system call costs about 1 us, and a short connection makes nine. HAProxy reads the
// same way. When nothing is in yet, the read costs one EAGAIN and the socket goes to epoll.
// With the worker's io_uring, the read is not a system call of its own: the socket reads (so
// libuv would put it in epoll at its next poll) and its first read goes with the turn's other
// reads, in the one io_uring_enter after the poll (ReadRing::read_soon). That is before the
// next poll, so first_read_done() can still stop the reading before the socket ever enters
// epoll. Accepted a little later in the turn, the request is in more often, too.
void ClientConn::read_first() {
  if (worker().has_read_ring()) {
    start_reading();
    // If the ring cannot take it, epoll tells when the socket is readable, as after an EAGAIN.
    if (reading_) worker().read_soon(as_stream(&tcp_));
    return;
  }
  uv_os_fd_t fd;
  char* block = worker().blocks().get();
  if (block == nullptr || uv_fileno(as_handle(&tcp_), &fd) != 0) {
    worker().blocks().put(block);
    start_reading();
    return;
  }
  ssize_t n;
  do {
    n = ::recv(fd, block, BlockPool::kBlockSize, 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
    worker().blocks().put(block);
    start_reading();
    return;
  }
  const uv_buf_t buf = uv_buf_init(block, BlockPool::kBlockSize);
  on_read(as_stream(&tcp_), n > 0 ? n : (n == 0 ? UV_EOF : uv_translate_sys_error(errno)), &buf);  // puts the block
  if (!closing_ && (n == static_cast<ssize_t>(BlockPool::kBlockSize) || wants_more_input())) start_reading();
}

// The first read of a socket just accepted, made through the ring before libuv's next poll
// (read_first): the socket is not in epoll yet. A request that needs no more reads stops the
// reading now, and unless a write or shutdown waits in libuv, the socket never goes in.
void ClientConn::first_read_done(ssize_t nread) {
  if (closing_ || !reading_ || static_cast<std::size_t>(nread) == BlockPool::kBlockSize || wants_more_input()) return;
  stop_reading();
  if (tcp_.io_watcher.pevents == 0) in_epoll_ = false;
}

bool ClientConn::wants_more_input() const {
  // A whole request that ends its connection: the client sends nothing more that ferry would
  // read (RFC 9112 9.6), and an EOF changes nothing, as the answer is on its way. What would
  // still arrive is dropped at the close, as nginx's "lingering_close auto" drops it when it
  // was not seen with the request. Over TLS, the handshake needs more reads (so a TLS socket
  // is always in epoll before anything of it is written).
  const bool done = ex_ != nullptr && phase_ == Phase::Forwarding && ex_->request_complete &&
                    !ex_->client_keep_alive && ex_->pending_input.empty();
  return tls() != nullptr || !done;
}

// libuv takes a socket out of epoll with epoll_ctl(DEL) when its handle closes, and skips
// that (and closing the socket) for a handle whose descriptor is -1 (src/unix/core.c,
// uv__io_close and uv__stream_close, since libuv 1.28). A socket that never went into epoll
// needs no DEL, and taking it out of a list it is not in is still a system call; so ferry
// closes such a socket itself and hands libuv the handle without its descriptor.
// libuv 1.44's uv__io_stop does nothing for a descriptor of -1, so a watcher with events still
// asked for (pevents: a read or write started) would stay in the loop's watcher queue after the
// handle is gone; such a socket gets libuv's own close.
void ClientConn::close_unpolled_socket() {
  uv_os_fd_t fd;
  if (in_epoll_ || tcp_.io_watcher.pevents != 0 || uv_fileno(as_handle(&tcp_), &fd) != 0) return;
  tcp_.io_watcher.fd = -1;
  ::close(fd);
}

void ClientConn::attach_exchange() {
  if (ex_ != nullptr) return;
  worker().idle_remove(this);
  ex_ = worker().exchanges().acquire(this, worker().settings().max_header_bytes, tls() != nullptr);
  if (client_ipv4_ != 0) write_client_ipv4(ex_->client_ip);
}

void ClientConn::maybe_go_idle() {
  if (stream_mode_ || ex_ == nullptr || closing_ || phase_ != Phase::Idle || close_after_write_) return;
  // A TLS handshake under way keeps its exchange, and with it the client_header deadline.
  if (tls() != nullptr && !tls()->handshake_done()) return;
  if (queued_to_client() != 0 || ex_->out.writing() || (ex_->tls_out != nullptr && ex_->tls_out->writing()) || !ex_->pending_input.empty() ||
      ex_->in_input || ex_->upstream != nullptr || ex_->finish_pending) {
    return;
  }
  worker().exchanges().release(std::exchange(ex_, nullptr));
  worker().idle_add(this, Worker::IdleKind::BetweenRequests);
}

void ClientConn::close() {
  if (std::exchange(closing_, true)) return;
  worker().idle_remove(this);
  if (ex_ != nullptr) {
    ex_->deadline.clear();
    if (ex_->response_started || ex_->head_held) log_request();  // a response cut short still counts
    if (ex_->upstream != nullptr) std::exchange(ex_->upstream, nullptr)->detach(false);
    release_backend(balancer::Outcome::Success);
    if (ex_->snapshot != nullptr) worker().release_snapshot(std::exchange(ex_->snapshot, nullptr));
  }
  // Every stream's exchange ends with the connection (the session itself goes in on_closed).
  if (h2() != nullptr) h2()->abandon_all();
  if (listed_) {
    adjust(worker().metrics().client_connections, -1);
    worker().client_closed(this);
  }
  if (counted_) worker().shared().connections.fetch_sub(1, std::memory_order_relaxed);
  if (stream_mode_) {
    // What the exchange answered goes to its stream, which sends it on after this is gone.
    if (ex_ != nullptr && stream() != nullptr && ex_->out.pending() != 0)
      ex_->out.drain_to([this](const char* data, std::size_t len) { stream()->response_bytes(data, len); });
    if (http2::Stream* s = edge_ != nullptr ? std::exchange(edge_->stream, nullptr) : nullptr) s->peer_closed();
  } else if (ex_ != nullptr) {
    // A response's last good bytes (or a TLS alert) get the one try at the socket they would
    // have had without the batch.
    if (tls() != nullptr) {
      encrypt_queued();
      ex_->tls_out->write_now(as_stream(&tcp_));
    } else {
      ex_->out.write_held(as_stream(&tcp_));
    }
  }
  if (!stream_mode_) {
    worker().reading_ends(as_stream(&tcp_));
    close_unpolled_socket();
  }
  uv_close(as_handle(&tcp_), &ClientConn::on_closed);
}

void ClientConn::on_closed(uv_handle_t* h) {
  ClientConn* c = self_of(h);
  // Closing the socket cancelled any write in flight (its callback has run), so the exchange
  // can go back to the pool.
  if (c->ex_ != nullptr) c->worker().exchanges().release(std::exchange(c->ex_, nullptr));
  delete c;
}

void ClientConn::drain() {
  if (closing_) return;
  if (ex_ != nullptr && phase_ == Phase::Idle && !close_after_write_ && h2() == nullptr && queued_to_client() > 0) {
    // The last response is still being written (held in the write batch, or waiting for
    // room), and its head told the client the connection stays open: the next request may be
    // on its way already. So the connection is treated as idle, below: once the response is
    // out it waits in the idle list, under the drain's short deadline (Worker::idle_add).
    return;
  }
  close_after_write_ = true;
  if (h2() != nullptr) {
    // GOAWAY with the last stream taken: those finish, the client opens no more here.
    h2()->shutdown();
    return;
  }
  if (ex_ == nullptr) {
    // Idle, between requests or before the first. Closing now races a request the client may
    // be sending this very moment (it would see a reset, not an answer: nginx/nginx#437), and
    // on an upgrade under load that is a failed request. So the connection waits a little in
    // its idle list (the worker shortens the deadline): a request that comes is answered with
    // Connection: close, one that doesn't finds the connection closed.
    return;
  }
  ex_->client_keep_alive = false;
  if (phase_ == Phase::Idle && queued_to_client() == 0) close();
}

void ClientConn::start_reading() {
  if (reading_ || closing_ || eof_) return;
  if (stream_mode_) {
    reading_ = true;
    if (stream() != nullptr) stream()->pause_input(false);
    return;
  }
  in_epoll_ = true;
  if (const int rc = uv_read_start(as_stream(&tcp_), &ClientConn::on_alloc, &ClientConn::on_read);
      rc != 0) {
    close();
    return;
  }
  reading_ = true;
  worker().reading_resumed(as_stream(&tcp_));
}

void ClientConn::stop_reading() {
  if (!reading_) return;
  if (stream_mode_) {
    reading_ = false;
    if (stream() != nullptr) stream()->pause_input(true);
    return;
  }
  uv_read_stop(as_stream(&tcp_));
  reading_ = false;
}

void ClientConn::on_alloc(uv_handle_t* h, std::size_t, uv_buf_t* buf) {
  ClientConn* c = self_of(h);
  *buf = uv_buf_init(c->worker().blocks().get(), BlockPool::kBlockSize);
}

void ClientConn::on_read(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
  ClientConn* c = self_of(as_handle(s));
  Worker& worker = c->worker();  // c may be closing by the end (its memory stays until on_closed)
  if (nread > 0) {
    if (c->tls() != nullptr) {
      c->read_tls(buf->base, static_cast<std::size_t>(nread));
    } else {
      c->handle_input(buf->base, static_cast<std::size_t>(nread));
    }
    if (worker.first_read() == s) c->first_read_done(nread);
  } else if (nread < 0) {
    // A first read that finds the end or an error: the connection closes (on_eof, with no
    // exchange), and its socket never was in epoll (first_read_done).
    if (worker.first_read() == s && c->ex_ == nullptr) c->in_epoll_ = false;
    if (c->tls() != nullptr) c->tls()->feed_eof();
    c->on_eof();
  }
  if (buf->base != nullptr) worker.blocks().put(buf->base);
  if (WriteBatch::ends_read_burst(nread, buf->len)) worker.writes().burst_ended();
}

void ClientConn::on_eof() {
  stop_reading();
  if (ex_ == nullptr || phase_ == Phase::Linger) {
    close();
    return;
  }
  // A client that half-closes after a whole request still gets its response, then the close.
  if (phase_ == Phase::Forwarding && ex_->request_complete) {
    eof_ = true;
    ex_->client_keep_alive = false;
    close_after_write_ = true;
    return;
  }
  close();
}

void ClientConn::handle_input(const char* data, std::size_t len) {
  attach_exchange();
  if (phase_ == Phase::Linger) return;  // the response is out; what the client sends is dropped
  if (phase_ == Phase::Idle && !ex_->request_started && !any_request_ && wants_http2_preface(data, len)) start_http2();
  if (phase_ == Phase::Http2) {
    if (!h2()->feed(data, len)) {
      log_debug("client %s: HTTP/2: %s", client_ip(), h2()->error() != nullptr ? h2()->error() : "error");
      stop_reading();  // what is queued (a GOAWAY) goes out, then the connection closes
    }
    return;
  }
  if (phase_ == Phase::Tunnel) {
    if (ex_->upstream == nullptr) return close();
    ex_->upstream->send(data, len);
    ex_->upstream->flush();
    if (ex_->upstream->queued() > kUpstreamHighWater) stop_reading();
    return;
  }
  if (phase_ == Phase::Forwarding && ex_->request_complete) {
    // The next request arrives while this one is served: it waits, unparsed.
    ex_->pending_input.append(data, len);
    if (ex_->pending_input.size() > kPendingInputLimit) stop_reading();
    return;
  }
  ex_->in_input = true;
  feed(data, len);
  while (!closing_ && ex_->finish_pending) {
    ex_->finish_pending = false;
    if (!finish_exchange_now()) break;
    std::string input;
    input.swap(ex_->pending_input);
    feed(input.data(), input.size());
    if (ex_->pending_input.empty()) {
      input.clear();
      ex_->pending_input.swap(input);  // keep the capacity
    }
  }
  ex_->in_input = false;
  if (closing_) return;
  if (ex_->streaming && ex_->upstream != nullptr) {
    ex_->upstream->flush();
    if (ex_->upstream->queued() > kUpstreamHighWater) stop_reading();
  }
  update_timer();
  // An answer ferry wrote itself may have gone out at once (no on_written follows).
  maybe_go_idle();
}

void ClientConn::feed(const char* data, std::size_t len) {
  if (len == 0) return;
  if (phase_ == Phase::Idle) {
    phase_ = Phase::Head;
    any_request_ = true;
    ex_->request_started = true;
    ex_->request_start_ns = uv_hrtime();
    arm_timer(worker().settings().client_header_ms);
  }
  std::size_t used = 0;
  switch (ex_->parser.feed(data, len, &used)) {
    case HttpParser::Status::Ok:
      break;
    case HttpParser::Status::MessageDone:
      // Bytes past this request wait their turn (a pipelined request). Reading goes on (no
      // epoll change per request), so a client's close is still seen.
      if (used < len) ex_->pending_input.append(data + used, len - used);
      if (ex_->pending_input.size() > kPendingInputLimit) stop_reading();
      break;
    case HttpParser::Status::Upgrade:
      // Tunnel bytes sent ahead of the 101 wait for it.
      if (used < len) ex_->pending_input.append(data + used, len - used);
      stop_reading();
      break;
    case HttpParser::Status::HeadTooLarge:
      send_error(431, true);
      break;
    case HttpParser::Status::Invalid:
      log_debug("client %s: bad request: %s", client_ip(), ex_->parser.error());
      send_error(400, true);
      break;
    case HttpParser::Status::Aborted:
      break;
  }
}

int RequestEvents::on_head(MessageHead& head) { return conn->on_head(head); }
int RequestEvents::on_body(const char* data, std::size_t len) { return conn->on_body(data, len); }
int RequestEvents::on_message_end() { return conn->on_message_end(); }

int ClientConn::on_head(MessageHead& head) {
  ex_->head_complete = true;
  // Before any check, so even ferry's own 4xx answers carry the id the access log shows.
  if (const std::string_view id = head.find(HeaderName::XRequestId); acceptable_request_id(id)) {
    ex_->request_id.assign(id);
  } else {
    worker().request_ids().next(ex_->request_id);
  }
  if (head.http_major != 1 || head.http_minor > 1) {
    send_error(400, true);
    return -1;
  }
  ex_->http10 = head.http_minor == 0;
  if (head.method == HTTP_CONNECT) {
    send_error(400, true);
    return -1;
  }
  int hosts = 0;
  bool host_valid = true;
  int transfer_encodings = 0;
  std::string_view transfer_encoding;
  std::string_view expect;
  int upgrades = 0;
  for (const HeaderField& f : head.fields) {
    switch (f.kind) {
      case HeaderName::Host:
        ++hosts;
        host_valid = is_valid_host_field(head.value(f));
        break;
      case HeaderName::TransferEncoding:
        ++transfer_encodings;
        transfer_encoding = head.value(f);
        break;
      case HeaderName::Expect:
        expect = head.value(f);
        break;
      case HeaderName::Upgrade:
        ++upgrades;
        break;
      default:
        break;
    }
  }
  // RFC 9112 3.2: a 1.1 request needs exactly one Host, and it must be a host; more than one
  // is a smuggling vector. Several Upgrade headers likewise: ferry and the backend could decide
  // the upgrade apart.
  if (hosts > 1 || (hosts == 0 && !ex_->http10) || !host_valid || upgrades > 1) {
    send_error(400, true);
    return -1;
  }
  // Only "chunked", alone, is a framing ferry forwards; anything else would be read one way by
  // ferry and another by some backend.
  if (transfer_encodings > 1 ||
      (transfer_encodings == 1 && !iequals(trim(transfer_encoding), "chunked"))) {
    send_error(400, true);
    return -1;
  }
  ex_->request_chunked = head.chunked;
  ex_->request_has_body = head.chunked || head.content_length > 0;
  const uint64_t max_body = worker().settings().max_body_bytes;
  if (max_body != 0 && head.has_content_length && head.content_length > max_body) {
    send_error(413, true);
    return -1;
  }
  ex_->request_is_head = head.method == HTTP_HEAD;
  ex_->request_idempotent = is_idempotent(head.method);
  ex_->request_upgrade = head.upgrade;
  // RFC 9112 6.1: Transfer-Encoding in an HTTP/1.0 request means the framing may be faulty;
  // the connection closes after the response.
  ex_->client_keep_alive = head.keep_alive && !worker().draining() && !close_after_write_ &&
                           !(ex_->http10 && transfer_encodings > 0);
  if (ex_->request_has_body && !ex_->http10 && iequals(trim(expect), "100-continue")) {
    // The body is read (and buffered) by ferry, so ferry answers the expectation itself.
    ex_->out.append_borrowed(kContinue.data(), kContinue.size());
    flush();
  }
  phase_ = Phase::Body;
  // The head arrived in time; from here the client has client_idle between body reads.
  arm_timer(worker().settings().client_idle_ms);
  return 0;
}

void ClientConn::append_body(std::string& to, const char* data, std::size_t len, bool chunked) {
  if (chunked) {
    char size_line[24];
    const int n = std::snprintf(size_line, sizeof size_line, "%zx\r\n", len);
    to.append(size_line, static_cast<std::size_t>(n));
    to.append(data, len);
    to.append("\r\n", 2);
  } else {
    to.append(data, len);
  }
}

int ClientConn::on_body(const char* data, std::size_t len) {
  ex_->body_received += len;
  const uint64_t max_body = worker().settings().max_body_bytes;
  if (max_body != 0 && ex_->body_received > max_body) {
    send_error(413, true);
    return -1;
  }
  if (ex_->streaming && ex_->upstream != nullptr) {
    ex_->body_streamed = true;
    if (ex_->request_chunked) {
      char size_line[24];
      const int n = std::snprintf(size_line, sizeof size_line, "%zx\r\n", len);
      ex_->upstream->send(size_line, static_cast<std::size_t>(n));
      ex_->upstream->send(data, len);
      ex_->upstream->send("\r\n", 2);
    } else {
      ex_->upstream->send(data, len);
    }
    return 0;
  }
  append_body(ex_->request_body, data, len, ex_->request_chunked);
  // Small bodies are read whole before a backend is engaged, so a slow client never ties up a
  // backend worker; a larger one is streamed once the backend is connected.
  if (phase_ == Phase::Body && ex_->request_body.size() >= worker().settings().request_buffer) {
    engage_backend();
  }
  return 0;
}

int ClientConn::on_message_end() {
  ex_->request_complete = true;
  if (ex_->request_chunked) {
    if (ex_->streaming && ex_->upstream != nullptr) {
      ex_->upstream->send("0\r\n\r\n", 5);
    } else {
      ex_->request_body.append("0\r\n\r\n", 5);
    }
  }
  if (phase_ == Phase::Body || phase_ == Phase::Head) {
    engage_backend();
  } else if (ex_->streaming && ex_->upstream != nullptr) {
    ex_->upstream->request_queued(ex_->request_is_head);
    ex_->upstream->flush();
  }
  return 0;
}

void ClientConn::engage_backend() {
  phase_ = Phase::Forwarding;
  if (!ex_->request_complete) stop_reading();
  if (ex_->snapshot == nullptr) ex_->snapshot = worker().acquire_snapshot();
  const balancer::Snapshot& snap = ex_->snapshot->get();
  if (ex_->engage_ns == 0) ex_->engage_ns = uv_hrtime();
  const HeadHeaders headers(ex_->parser.head());
  balancer::Request request = request_view(headers);
  if (ex_->route == nullptr) {
    // HTTP-01 (RFC 8555 8.3) before anything else, so the CA's check never meets a route, a
    // redirect to HTTPS or a rate limit. Other requests only compare the prefix.
    if (!secure_ && worker().shared().acme_tokens != nullptr &&
        request.target.starts_with(acme::ChallengeTokens::kPathPrefix)) {
      const std::optional<std::string> answer = worker().shared().acme_tokens->answer(request.target);
      OwnResponse r;
      r.status = answer ? 200 : 404;
      r.content_type = "text/plain";
      r.body = answer ? std::string_view(*answer) : std::string_view("no such ACME challenge\n");
      send_built(r);
      return;
    }
    const Routing& routing = ex_->snapshot->routes();
    // The client's rate-limit key, from its address text, once per request and only if a limit
    // applies (connections do not keep it).
    uint64_t client = 0;
    const auto client_key = [&] { return client != 0 ? client : (client = limits::client_key(client_ip())); };
    // The global limit first, before routing: a client past it costs no route match.
    if (const limits::Rate& per_client = worker().settings().per_client;
        per_client.on() && !within_rate_limit(client_key(), per_client, 0))
      return;
    sockaddr_storage peer{};
    int peer_len = sizeof peer;
    // The peer address costs a system call, so only tables that route by source ask for it.
    if (routing.routes_by_source &&
        uv_tcp_getpeername(peer_tcp(), reinterpret_cast<sockaddr*>(&peer), &peer_len) == 0)
      request.peer = &peer;
    ex_->route = routing.routes.match(request);
    request.peer = nullptr;
    if (ex_->route == nullptr) {
      send_error(404, !ex_->request_complete);
      return;
    }
    ex_->route_slot = routing.route_slots[ex_->route->index];
    if (const RouteRateLimit& limit = routing.route_limits[ex_->route->index];
        limit.rate.on() && !within_rate_limit(client_key(), limit.rate, limit.salt))
      return;
    if (ex_->route->action != balancer::routing::Action::Forward) {
      send_route_response(request);
      return;
    }
    ex_->pool = balancer::routing::choose_pool(*ex_->route, worker().next_split(ex_->route->index));
    if (ex_->pool < routing.pools.size()) ex_->pool_name = routing.pools[ex_->pool].name;
  }
  const std::optional<std::size_t> pick = pick_backend(request);
  if (!pick) {
    // Nothing left to try: 503 when nothing was eligible at all, else the last failure's 502.
    send_error(ex_->tried.size() == 0 ? 503 : 502, !ex_->request_complete);
    return;
  }
  ex_->backend_index = snap.pools.empty() ? *pick : snap.pools[ex_->pool].first + *pick;
  ex_->picked = true;
  if (const Routing& routing = ex_->snapshot->routes();
      ex_->pool < routing.pools.size() && !routing.pools[ex_->pool].sticky_cookie.empty()) {
    const PoolSettings& pool = routing.pools[ex_->pool];
    ex_->set_cookie.clear();
    append_sticky_cookie(ex_->set_cookie, pool.sticky_cookie, snap.backends[ex_->backend_index].sticky_id,
                         pool.sticky_max_age_s, secure_);
  }
  ex_->tried.add(*pick);
  ++ex_->attempts;
  const balancer::Backend& backend = snap.backends[ex_->backend_index];
  backend.load->outstanding.fetch_add(1, std::memory_order_relaxed);
  ex_->backend_slot = backend.metrics_slot;
  ex_->backend_name = backend.name;
  const PoolSettings& pool = ex_->snapshot->routes().pools[ex_->pool];
  if (UpstreamConn* pooled = UpstreamConn::take_pooled(worker(), backend, pool); pooled != nullptr) {
    ex_->upstream = pooled;
    ex_->upstream->attach(this);
    start_request_on_upstream();
    return;
  }
  UpstreamError why = UpstreamError::Refused;
  ex_->upstream = UpstreamConn::connect(worker(), backend, pool, this, &why);
  if (ex_->upstream == nullptr) upstream_failed(why);
}

std::optional<std::size_t> ClientConn::pick_backend(const balancer::Request& request) {
  const balancer::Snapshot& snap = ex_->snapshot->get();
  const Routing& routing = ex_->snapshot->routes();
  if (ex_->pool >= routing.pools.size() || (ex_->pool >= snap.pools.size() && !snap.pools.empty()))
    return std::nullopt;
  const PoolSettings& pool = routing.pools[ex_->pool];
  const balancer::PoolView view = snap.pools.empty() ? balancer::PoolView(snap) : snap.pool(ex_->pool);
  const bool hashing = pool.balancer == config::BalancerKind::ConsistentHash;
  const std::string_view hash_key = hashing ? balancer::pick_key(pool.hash_key, request) : request.client_ip;
  if (!worker().balancers_fit(ex_->snapshot)) {
    // A retry of a request that began before a reload: its pool's balancer is gone, and any
    // eligible backend not tried yet will do.
    for (std::size_t i = 0; i < view.size(); ++i)
      if (view.eligible(i) && !ex_->tried.contains(i)) return i;
    return std::nullopt;
  }
  balancer::Balancer& algorithm = worker().balancer(ex_->pool);
  if (!pool.sticky_cookie.empty() && ex_->tried.size() == 0) {
    // The cookie's backend while it is eligible; a missing, forged or stale value, or one
    // naming a backend that is unhealthy, draining or gone, is a fresh pick (and cookie).
    const HeadHeaders headers(ex_->parser.head());
    for (std::size_t n = 0;; ++n) {
      const std::optional<std::string_view> line = headers.nth("cookie", n);
      if (!line) break;
      const std::optional<std::string_view> id = balancer::cookie_value(*line, pool.sticky_cookie);
      if (!id) continue;
      for (std::size_t i = 0; i < view.size(); ++i)
        if (view.backends[i].sticky_id == *id && view.eligible(i)) return i;
      break;
    }
  }
  std::optional<std::size_t> pick = algorithm.pick(view, hash_key, ex_->tried);
  if (!pick || pool.slow_start_ms == 0 || snap.ramp_since_ms.empty()) return pick;
  // Slow start (balancer/slow_start.h): a ramping backend's pick stands with its share.
  const uint32_t first = snap.pools.empty() ? 0 : snap.pools[ex_->pool].first;
  const auto now = static_cast<int64_t>(uv_now(worker().loop()));
  const double share = balancer::ramp_share(snap.ramp_since_ms[first + *pick], now, pool.slow_start_ms);
  const uint64_t draw = hashing ? balancer::hash_bytes(hash_key, 0x5105'7a27) : worker().random().next();
  if (balancer::pick_stands(share, draw)) return pick;
  balancer::TriedSet without = ex_->tried;
  without.add(*pick);
  const std::optional<std::size_t> other = algorithm.pick(view, hash_key, without);
  return other ? other : pick;  // nothing else eligible: the ramping one it is
}

void ClientConn::send_route_response(const balancer::Request& request) {
  const balancer::routing::Route& route = *ex_->route;
  OwnResponse r;
  r.status = static_cast<int>(route.status);
  std::string& location = ex_->scratch;
  location.clear();
  if (route.action == balancer::routing::Action::Redirect) {
    const std::string_view target = request.target;
    const std::size_t question = target.find('?');
    std::string_view path = target.substr(0, question);
    if (!path.empty() && path.front() == '/') path.remove_prefix(1);
    const std::string_view host = balancer::routing::host_without_port(request.host);
    // The host goes into Location as sent, so it must be a host and nothing more: a name, an
    // IPv4 address or a bracketed IPv6 literal. "evil.example/x" would shape the redirect.
    const bool plain_host = !host.empty() && request.host.find('@') == std::string_view::npos &&
                            host.find_first_not_of(
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_[]:") == std::string_view::npos;
    if (!plain_host) {
      send_error(400, !ex_->request_complete);
      return;
    }
    const std::string_view listener = worker().settings().listeners[listener_].name;
    balancer::routing::RedirectParts parts;
    parts.protocol = secure_ ? "https" : "http";
    parts.host = host;
    parts.port = listener.substr(listener.rfind(':') + 1);
    parts.path = path;
    parts.query = question == std::string_view::npos ? std::string_view() : target.substr(question + 1);
    balancer::routing::expand_location(route.location, parts, &location);
    r.location = location;
  } else {
    r.content_type = route.content_type;
    r.body = route.body;
  }
  send_built(r);
}

void ClientConn::send_built(OwnResponse& r) {
  const bool close_after = !ex_->request_complete || !ex_->client_keep_alive || close_after_write_;
  r.close = close_after;
  r.head_request = ex_->request_is_head;
  ex_->request_head.clear();
  build_own_response(r, ex_->request_head);
  send_own(r.status, ex_->request_head, close_after, false);
}

bool ClientConn::within_rate_limit(uint64_t client, const limits::Rate& rate, uint64_t salt) {
  // engage_ns is uv_hrtime(): one monotonic clock for every worker, as the shared table needs.
  const limits::Decision d =
      worker().shared().rate_limiter.admit(limits::salted_key(client, salt), rate, ex_->engage_ns);
  if (d.allowed) return true;
  worker().metrics().count_rate_limited(listener_);
  OwnResponse r;
  r.status = 429;
  r.content_type = "text/plain";
  r.body = "too many requests\n";
  r.retry_after_s = limits::retry_after_seconds(d.wait_ns);
  send_built(r);
  return false;
}

void ClientConn::start_request_on_upstream() {
  const balancer::Snapshot& snap = ex_->snapshot->get();
  RequestRewrite rw;
  rw.client_ip = client_ip();
  rw.backend_name = snap.backends[ex_->backend_index].name;
  rw.upgrade = ex_->request_upgrade;
  rw.body_chunked = ex_->request_chunked;
  rw.content_length = ex_->parser.head().content_length;
  rw.has_body = ex_->request_has_body;
  rw.tls = secure_;
  rw.client_subject = client_subject();
  rw.request_id = ex_->request_id;
  if (ex_->route != nullptr && !ex_->route->strip_prefix.empty()) {
    ex_->scratch.clear();
    balancer::routing::strip_path_prefix(ex_->parser.head().view(ex_->parser.head().url),
                                         ex_->route->strip_prefix, &ex_->scratch);
    rw.target = ex_->scratch;
  }
  ex_->request_head.clear();
  build_request_head(ex_->parser.head(), rw, ex_->request_head);
  ex_->upstream->send_borrowed(ex_->request_head.data(), ex_->request_head.size());
  ex_->upstream->send_borrowed(ex_->request_body.data(), ex_->request_body.size());
  if (ex_->request_complete) {
    ex_->upstream->request_queued(ex_->request_is_head);
  } else {
    ex_->streaming = true;
    start_reading();
  }
  ex_->upstream->flush();
}

void ClientConn::upstream_connected() { start_request_on_upstream(); }

bool ClientConn::can_retry(UpstreamError error) const {
  if (ex_->response_started || ex_->body_streamed || closing_) return false;
  const Routing& routing = ex_->snapshot->routes();
  if (ex_->pool >= routing.pools.size() || ex_->attempts > routing.pools[ex_->pool].retries) return false;
  if (!info(error).retry_before_first_byte) return false;
  // Once a request may have reached a backend, only an idempotent one is sent again.
  if (error == UpstreamError::Reset && !ex_->request_idempotent) return false;
  return true;
}

void ClientConn::upstream_failed(UpstreamError error, bool reused) {
  ex_->upstream = nullptr;
  if (closing_) {
    release_backend(balancer::Outcome::Success);
    return;
  }
  // A head still held never reached the client: drop it, and the request is as good as
  // unanswered (retried if it may be, else a clean error rather than a cut response).
  const bool head_arrived = std::exchange(ex_->head_held, false);
  // A pooled connection the backend had closed just as the request went out is no failure of
  // the backend: try once more on a fresh connection to the same backend, free of `retries`
  // (nginx does the same for its cached connections).
  if (reused && !head_arrived && error == UpstreamError::Reset && !ex_->stale_retried && ex_->request_idempotent &&
      !ex_->response_started && !ex_->body_streamed && ex_->picked) {
    ex_->stale_retried = true;
    ex_->streaming = false;
    const balancer::Backend& backend = ex_->snapshot->get().backends[ex_->backend_index];
    error = UpstreamError::Refused;
    ex_->upstream = UpstreamConn::connect(worker(), backend, ex_->snapshot->routes().pools[ex_->pool], this, &error);
    if (ex_->upstream != nullptr) return;
  }
  const bool refused = error == UpstreamError::Refused;
  if (ex_->picked) {
    const balancer::Snapshot& snap = ex_->snapshot->get();
    log_debug("backend %s: %s", snap.backends[ex_->backend_index].name.c_str(),
              std::string(info(error).text).c_str());
    const Routing& routing = ex_->snapshot->routes();
    const bool checked = ex_->pool < routing.pools.size() && routing.pools[ex_->pool].health_checks;
    if (refused && checked && worker().shared().on_refused) {
      worker().shared().on_refused(snap.backend_set, ex_->backend_index);
    }
  }
  if (BackendCounters* counters = backend_counters()) counters->record_error(info(error).metric_kind);
  ex_->backend_malformed = error == UpstreamError::Malformed;
  release_backend(refused ? balancer::Outcome::Refused : balancer::Outcome::Failure);
  if (can_retry(error)) {
    ex_->streaming = false;
    engage_backend();
    return;
  }
  if (ex_->response_started) {
    close();
    return;
  }
  send_error(info(error).status, !ex_->request_complete);
}

int ClientConn::response_head(MessageHead& head) {
  if (head.status >= 100 && head.status < 200 && head.status != 101) {
    // Interim responses (103 Early Hints...) go to 1.1 clients as they are.
    if (!ex_->http10 && head.status != 100) {
      ex_->scratch.clear();
      ResponseRewrite rw;
      rw.framing = BodyFraming::None;
      rw.hsts_line = hsts_line();
      build_response_head(head, rw, ex_->scratch);
      ex_->out.append(ex_->scratch);
      flush();
    }
    return 0;
  }
  // A 101 must answer an upgrade request and be an upgrade to llhttp too (Connection: upgrade),
  // or ferry would tell the client the protocol switched while it goes on parsing HTTP. It
  // carries one Upgrade header: ferry relays one, and with several the client could read the
  // switch apart from ferry (as for requests).
  if (head.status == 101 && (!ex_->request_upgrade || !head.upgrade || head.count(HeaderName::Upgrade) != 1)) {
    return -1;
  }
  // As for requests, "chunked" alone is the only transfer coding ferry takes (nginx's rule):
  // another would be stripped with the hop-by-hop fields, handing the client coded bytes as
  // the content, and "gzip, chunked" framed apart by a client that reads it otherwise.
  // (has_transfer_encoding comes from the field split: a response without one is not walked.)
  if (head.has_transfer_encoding && (head.count(HeaderName::TransferEncoding) != 1 ||
                                     !iequals(trim(head.find(HeaderName::TransferEncoding)), "chunked"))) {
    return -1;
  }
  BodyFraming framing;
  if (ex_->request_is_head || head.status == 204 || head.status == 304 || head.status == 101) {
    framing = BodyFraming::None;
  } else if (head.has_content_length) {
    framing = BodyFraming::ContentLength;
  } else if (!ex_->http10) {
    framing = BodyFraming::Chunked;
  } else {
    framing = BodyFraming::UntilClose;
  }
  const bool keep = ex_->client_keep_alive && ex_->request_complete && framing != BodyFraming::UntilClose &&
                    !worker().draining() && !(ex_->request_upgrade && head.status != 101);
  ResponseRewrite rw;
  rw.framing = framing;
  rw.keep_alive = keep;
  rw.http10_client = ex_->http10;
  rw.upgrade = head.status == 101;
  rw.hsts_line = hsts_line();
  rw.request_id = ex_->request_id;
  rw.extra_lines = ex_->set_cookie;
  ex_->response_chunked = framing == BodyFraming::Chunked;
  ex_->response_status = head.status;
  ex_->held_keep_alive = keep;
  ex_->scratch.clear();
  build_response_head(head, rw, ex_->scratch);
  // Held until the first body byte or the end: a backend that dies right after its head (a
  // server writing head and body separately, killed in between) is then retried.
  ex_->head_held = true;
  return 0;
}

void ClientConn::commit_head() {
  if (!std::exchange(ex_->head_held, false)) return;
  ex_->response_started = true;
  // A client EOF or a drain while the head was held has already ruled keep-alive out.
  ex_->client_keep_alive = ex_->client_keep_alive && ex_->held_keep_alive;
  if (!ex_->held_keep_alive && ex_->response_status != 101) close_after_write_ = true;
  ex_->out.append(ex_->scratch);
  ex_->response_bytes += ex_->scratch.size();
}

void ClientConn::queue_relayed(char* block, const char* data, std::size_t len) {
  // Half a block or more goes out of the block it was read into; smaller pieces are copied
  // so a queue never pins many mostly-empty blocks (what it pins stays under twice what it
  // counts toward buffers.response).
  if (block != nullptr && len >= BlockPool::size_of(block) / 2) {
    ex_->out.append_shared(block, data, len);
  } else {
    ex_->out.append(data, len);
  }
}

int ClientConn::response_body(char* block, const char* data, std::size_t len) {
  if (closing_) return -1;
  commit_head();
  if (ex_->response_chunked) {
    char size_line[24];
    const int n = std::snprintf(size_line, sizeof size_line, "%zx\r\n", len);
    ex_->out.append(size_line, static_cast<std::size_t>(n));
    queue_relayed(block, data, len);
    ex_->out.append("\r\n", 2);
    ex_->response_bytes += static_cast<std::size_t>(n) + 2;
  } else {
    queue_relayed(block, data, len);
  }
  ex_->response_bytes += len;
  flush();
  // Read ahead of a slow client up to buffers.response, then hold the backend back.
  if (!ex_->upstream_paused && ex_->upstream != nullptr &&
      queued_to_client() > worker().settings().response_buffer) {
    ex_->upstream->pause_reading();
    ex_->upstream_paused = true;
  }
  update_timer();
  return 0;
}

int ClientConn::splice_target() {
  if (!may_splice() || ex_ == nullptr || phase_ != Phase::Forwarding || ex_->response_chunked ||
      ex_->upstream_paused)
    return -1;
  commit_head();
  if (ex_->out.pending() > 0) {
    // The head (and the body's first bytes) go first: the batch writes them now, not at the
    // end of the burst, and usually the socket takes them whole.
    flush();
    worker().writes().run();
    if (closing_) return -1;
  }
  if (ex_->out.pending() > 0 || tcp_.write_queue_size > 0) return -1;
  uv_os_fd_t fd = -1;
  if (uv_fileno(reinterpret_cast<const uv_handle_t*>(&tcp_), &fd) != 0) return -1;
  return fd;
}

void ClientConn::response_spliced(std::size_t n) {
  ex_->response_started = true;
  ex_->response_bytes += n;
  update_timer();
}

void ClientConn::response_end(bool backend_reusable) {
  commit_head();
  if (ex_->response_chunked) {
    // An h2c pool's trailers (gRPC's status) go on in the chunked trailer section; other
    // pools' parsers keep none.
    const std::string_view trailers = ex_->upstream != nullptr ? ex_->upstream->trailers() : std::string_view();
    if (trailers.empty()) {
      ex_->out.append("0\r\n\r\n", 5);
      ex_->response_bytes += 5;
    } else {
      ex_->out.append("0\r\n", 3);
      ex_->out.append(trailers);
      ex_->out.append("\r\n", 2);
      ex_->response_bytes += 5 + trailers.size();
    }
  }
  // Counted before the last bytes go out, so whoever reads the response then the metrics
  // sees it counted.
  log_request();
  if (ex_->upstream != nullptr) {
    std::exchange(ex_->upstream, nullptr)->detach(backend_reusable && ex_->request_complete);
  }
  release_backend(balancer::Outcome::Success);
  worker().count_request();
  flush();
  finish_exchange();
}

void ClientConn::upstream_written() {
  if (ex_->streaming && !ex_->request_complete && ex_->upstream != nullptr &&
      ex_->upstream->queued() < kUpstreamLowWater) {
    start_reading();
  }
  if (phase_ == Phase::Tunnel && ex_->upstream != nullptr && ex_->upstream->queued() < kUpstreamLowWater) {
    start_reading();
  }
}

void ClientConn::tunnel_begin() {
  commit_head();
  phase_ = Phase::Tunnel;
  ex_->deadline.clear();
  flush();
  if (!ex_->pending_input.empty() && ex_->upstream != nullptr) {
    ex_->upstream->send(ex_->pending_input.data(), ex_->pending_input.size());
    ex_->pending_input.clear();
    ex_->upstream->flush();
  }
  ex_->upstream->start_tunnel();
  start_reading();
}

void ClientConn::tunnel_data(char* block, const char* data, std::size_t len) {
  queue_relayed(block, data, len);
  flush();
  if (!ex_->upstream_paused && ex_->upstream != nullptr &&
      queued_to_client() > worker().settings().response_buffer) {
    ex_->upstream->pause_reading();
    ex_->upstream_paused = true;
  }
}

void ClientConn::tunnel_closed() {
  ex_->upstream = nullptr;
  close_after_write_ = true;
  phase_ = Phase::Idle;
  close_when_written();
}

void ClientConn::close_when_written() {
  close_after_write_ = true;
  if (stream_mode_) {
    close();  // the stream sends on what the exchange queued
    return;
  }
  if (tls() != nullptr && tls()->handshake_done() && !tls()->failed()) {
    // close_notify after the last byte: the client can tell a complete response from a cut.
    encrypt_queued();
    if (closing_) return;
    tls()->shutdown();
    flush();
    if (closing_) return;
  }
  if (queued_to_client() == 0) linger();
  // else on_written lingers once the queue is empty
}

void ClientConn::linger() {
  if (closing_ || phase_ == Phase::Linger) return;
  if (stream_mode_) {
    close();
    return;
  }
  // Lingering guards a response against the RST that closing with unread input sends. When
  // the last request was read whole and nothing more came, close at once (nginx's
  // "lingering_close auto").
  if (eof_ || clean_end_) {
    close();
    return;
  }
  phase_ = Phase::Linger;
  in_epoll_ = true;
  if (uv_shutdown(&ex_->shutdown_req, as_stream(&tcp_), &ClientConn::on_shutdown) != 0) {
    close();
    return;
  }
  arm_timer(kLingerMs);
  start_reading();
}

void ClientConn::on_shutdown(uv_shutdown_t* req, int status) {
  auto* c = static_cast<ClientConn*>(req->handle->data);
  if (status < 0 && !c->closing_) c->close();
}

void ClientConn::send_error(int status, bool close_after) {
  if (closing_) return;
  if (ex_->response_started) {
    close();
    return;
  }
  close_after = close_after || !ex_->request_complete || !ex_->client_keep_alive || close_after_write_;
  send_own(status, canned_response(status, close_after), close_after, true);
}

void ClientConn::send_own(int status, std::string_view response, bool close_after, bool static_text) {
  clean_end_ = false;
  std::string grpc;
  if (status >= 400 && grpc_request()) {
    // A gRPC client reads errors from grpc-status, not from the HTTP status: ferry's own
    // answer is a trailers-only gRPC response (status 200, no message).
    grpc = grpc_error_response(status, ex_->backend_malformed, close_after);
    response = grpc;
    static_text = false;
  }
  const std::string_view hsts = hsts_line();
  std::size_t bytes = response.size();
  if (!hsts.empty() || !ex_->request_id.empty()) {
    // ferry's own answers carry Strict-Transport-Security and the request's id too, right
    // after the status line.
    const std::size_t line_end = response.find("\r\n") + 2;
    ex_->scratch.assign(response.substr(0, line_end));
    ex_->scratch.append(hsts);
    if (!ex_->request_id.empty()) {
      ex_->scratch.append("X-Request-Id: ");
      ex_->scratch.append(ex_->request_id);
      ex_->scratch.append("\r\n");
    }
    ex_->scratch.append(response.substr(line_end));
    ex_->out.append(ex_->scratch);
    bytes = ex_->scratch.size();
  } else if (static_text) {
    ex_->out.append_borrowed(response.data(), response.size());
  } else {
    ex_->out.append(response);
  }
  ex_->response_started = true;
  ex_->response_status = status;
  ex_->response_bytes = bytes;
  log_request();
  flush();
  if (close_after) {
    close_after_write_ = true;
    stop_reading();
    if (ex_->upstream != nullptr) std::exchange(ex_->upstream, nullptr)->detach(false);
    release_backend(balancer::Outcome::Success);
    phase_ = Phase::Idle;
    ex_->deadline.clear();
    close_when_written();
    return;
  }
  finish_exchange();
}

void ClientConn::finish_exchange() {
  if (ex_->in_input) {
    ex_->finish_pending = true;
    return;
  }
  if (!finish_exchange_now()) {
    // The response may be out already (written at once): the exchange can go back now.
    maybe_go_idle();
    return;
  }
  std::string input;
  input.swap(ex_->pending_input);
  handle_input(input.data(), input.size());
  if (closing_ || ex_ == nullptr) return;
  if (ex_->pending_input.empty()) {
    input.clear();
    ex_->pending_input.swap(input);
  }
  maybe_go_idle();
}

bool ClientConn::finish_exchange_now() {
  clean_end_ = ex_->request_complete && ex_->pending_input.empty();
  reset_request_state();
  ex_->parser.next_message();
  phase_ = Phase::Idle;
  if (close_after_write_ || worker().draining()) {
    close_after_write_ = true;
    ex_->deadline.clear();
    close_when_written();
    return false;
  }
  ex_->parser.head().trim();
  arm_timer(worker().settings().client_idle_ms);
  start_reading();
  return !ex_->pending_input.empty();
}

void ClientConn::reset_request_state() {
  release_backend(balancer::Outcome::Success);
  if (ex_->snapshot != nullptr) worker().release_snapshot(std::exchange(ex_->snapshot, nullptr));
  ex_->reset_request();
}

void ClientConn::release_backend(balancer::Outcome outcome) {
  if (!std::exchange(ex_->picked, false)) return;
  const balancer::Snapshot& snap = ex_->snapshot->get();
  const balancer::Backend& backend = snap.backends[ex_->backend_index];
  backend.load->outstanding.fetch_sub(1, std::memory_order_relaxed);
  // A request that started before a reload has no balancer to tell (its pool's may be gone).
  if (worker().balancers_fit(ex_->snapshot) && ex_->pool < snap.pools.size())
    worker().balancer(ex_->pool).release(ex_->backend_index - snap.pools[ex_->pool].first, outcome);
}

const void* ClientConn::backend_in_use() const {
  return ex_ != nullptr && ex_->upstream != nullptr ? ex_->upstream->pool_key() : nullptr;
}

BackendCounters* ClientConn::backend_counters() {
  return worker().metrics().backend(ex_->backend_slot);
}

balancer::Request ClientConn::request_view(const balancer::RequestHeaders& headers) const {
  const MessageHead& head = ex_->parser.head();
  balancer::Request request{llhttp_method_name(static_cast<llhttp_method_t>(head.method)),
                            head.view(head.url), client_ip(), headers};
  if (const std::optional<std::string_view> host = headers.nth("host", 0)) request.host = *host;
  request.listener = listener_;
  return request;
}

void ClientConn::log_request() {
  if (ex_->logged || !ex_->request_started) return;
  ex_->logged = true;
  const uint64_t now = uv_hrtime();
  const uint64_t total_ns = now - ex_->request_start_ns;
  if (BackendCounters* counters = backend_counters()) counters->record_response(ex_->response_status, total_ns);
  if (ex_->route_slot != 0)
    if (BackendCounters* route = worker().metrics().route(ex_->route_slot)) route->record_response(ex_->response_status, total_ns);
  AccessLogBuffer* log = worker().access_log();
  if (log == nullptr) return;
  const MessageHead& head = ex_->parser.head();
  AccessRecord r;
  r.time = std::chrono::system_clock::now() -
           std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::nanoseconds(total_ns));
  r.client = client_ip();
  r.method = ex_->head_complete ? std::string_view(llhttp_method_name(static_cast<llhttp_method_t>(head.method)))
                            : std::string_view("-");
  r.target = ex_->head_complete ? head.view(head.url) : std::string_view("-");
  r.status = ex_->response_status;
  r.bytes_sent = ex_->response_bytes;
  r.backend = ex_->backend_name.empty() ? std::string_view("-") : ex_->backend_name;
  r.upstream_seconds = ex_->engage_ns != 0 && !ex_->backend_name.empty() ? static_cast<double>(now - ex_->engage_ns) / 1e9 : -1;
  r.total_seconds = static_cast<double>(total_ns) / 1e9;
  r.request_id = ex_->request_id;  // the log writes "-" for none
  if (ex_->route != nullptr) r.route = ex_->route->name;
  r.pool = ex_->pool_name;
  r.protocol = stream_mode_ ? "HTTP/2.0" : !ex_->head_complete ? "-" : ex_->http10 ? "HTTP/1.0" : "HTTP/1.1";
  log->record(r);
}

void ClientConn::flush() {
  if (closing_) return;
  if (stream_mode_) {
    flush_to_stream();
    return;
  }
  if (tls() == nullptr) {
    const int rc = ex_->out.flush(as_stream(&tcp_), fin_follows());
    if (ex_->out.waiting_in_libuv()) in_epoll_ = true;  // what the socket did not take waits for POLLOUT
    if (rc != 0) close();
    return;
  }
  // Plaintext waits for the batch as plain bytes do (out joins it), so what one burst queues
  // becomes one run of records; when the batch runs (or there is none) it is encrypted, then
  // written.
  if (!worker().writes().holding()) encrypt_queued();
  if (closing_) return;
  int rc = ex_->out.flush(as_stream(&tcp_));
  if (rc == 0) rc = ex_->tls_out->flush(as_stream(&tcp_));
  if (rc != 0) close();
}

bool ClientConn::fin_follows() const {
  // What on_written checks before it lingers, which closes or shuts the socket at once: the
  // last response is whole in the queue and nothing else will be written.
  return close_after_write_ && phase_ == Phase::Idle && ex_->upstream == nullptr;
}

void ClientConn::encrypt_queued() {
  if (ex_->out.pending() == 0 || tls()->failed()) return;
  bool failed = false;
  ex_->out.drain_to([&](const char* data, std::size_t len) {
    if (failed) return;
    if (tls()->write(data, len).status != tls::Session::Status::Ok) failed = true;
  });
  if (failed) {
    log_debug("client %s: TLS write: %s", client_ip(), tls()->error().c_str());
    close();
  }
}

void ClientConn::on_tls_output(void* owner, const char* data, std::size_t len) {
  auto* c = static_cast<ClientConn*>(owner);
  c->ex_->tls_out->append(data, len);
}

void ClientConn::read_tls(const char* data, std::size_t len) {
  attach_exchange();
  if (!ex_->handshake_timed) ex_->plain_http_to_tls = looks_like_plain_http({data, len});
  if (!tls()->handshake_done() && phase_ == Phase::Idle && !ex_->handshake_timed) {
    // A handshake has client_header to finish, as a request head has: a client that stalls
    // mid-handshake holds a connection no longer than one that stalls mid-head.
    ex_->handshake_timed = true;
    arm_timer(worker().settings().client_header_ms);
  }
  tls()->feed(data, len);
  // Decrypt everything fed, even when handle_input stops reading (backpressure): bytes left
  // inside the session would wait for a socket read that may never come. What one read
  // block held is at most one block of plaintext, so memory stays bounded.
  char* block = worker().blocks().get();
  for (;;) {
    const bool was_done = tls()->handshake_done();
    const tls::Session::Result r = tls()->read(block, BlockPool::kBlockSize);
    if (!was_done && tls()->handshake_done()) handshake_finished();
    if (r.status == tls::Session::Status::Ok) {
      handle_input(block, r.bytes);
      if (closing_) break;
      continue;
    }
    if (r.status == tls::Session::Status::WantMore) break;
    if (r.status == tls::Session::Status::Closed) {  // close_notify: as a TCP half-close
      worker().blocks().put(block);
      flush();
      on_eof();
      return;
    }
    tls_failed();
    break;
  }
  worker().blocks().put(block);
  if (closing_) return;
  flush();  // handshake records, session tickets, alerts
  maybe_go_idle();
}

std::string_view ClientConn::hsts_line() const {
  if (!secure_) return {};
  const ListenerSettings* l = listener();
  return l != nullptr ? std::string_view(l->hsts_line) : std::string_view{};
}

const ListenerSettings* ClientConn::listener() const {
  const std::vector<ListenerSettings>& all = worker().settings().listeners;
  return listener_ < all.size() ? &all[listener_] : nullptr;
}

void ClientConn::handshake_finished() {
  // Once per connection: the subject only exists when client_ca made the client show a
  // certificate that verified, and it cannot change (no renegotiation).
  edge().client_subject = tls()->peer_subject();
  worker().metrics().count_tls_handshake(listener_, tls()->resumed() ? TlsResult::Resumed : TlsResult::Full,
                                         tls()->version());
  // ALPN chose h2, or the client offered none on a listener that speaks only h2.
  if (const ListenerSettings* l = listener(); l != nullptr && l->h2) {
    const std::string_view alpn = tls()->alpn();
    if (alpn == "h2" || (alpn.empty() && !l->http1)) start_http2();
  }
}

void ClientConn::tls_failed() {
  if (!tls()->handshake_done()) {
    worker().metrics().count_tls_handshake(listener_, TlsResult::Failed, {});
    worker().note_tls_failure(client_ip(), tls()->error());
    if (ex_->plain_http_to_tls) {
      // nginx's courtesy: a browser that typed http:// for an https:// port learns why.
      ex_->tls_out->clear();
      ex_->tls_out->append(kPlainHttpToTlsPort);
    }
  } else {
    log_debug("client %s: TLS: %s", client_ip(), tls()->error().c_str());
  }
  flush();
  close();
}

void ClientConn::on_written(void* self, int status) {
  auto* c = static_cast<ClientConn*>(self);
  if (c->closing_) return;
  if (status < 0) {
    c->close();
    return;
  }
  if (c->h2() != nullptr) {
    c->pump_http2();
    return;
  }
  if (c->queued_to_client() > 0) {
    c->flush();  // may write everything at once
    if (c->closing_) return;
  }
  if (c->queued_to_client() == 0 && c->close_after_write_ && c->ex_->upstream == nullptr &&
      c->phase_ == Phase::Idle) {
    c->linger();
    return;
  }
  if (c->ex_->upstream_paused && c->ex_->upstream != nullptr &&
      c->queued_to_client() <= c->worker().settings().response_buffer / 2) {
    c->ex_->upstream_paused = false;
    c->ex_->upstream->resume_reading();
  }
  c->update_timer();
  c->maybe_go_idle();
}

void ClientConn::update_timer() {
  if (closing_ || phase_ != Phase::Forwarding) return;
  // While a backend is engaged its own timers govern, unless ferry waits on the client: for
  // more request body, or for it to read the response.
  const bool waiting_on_client = (ex_->streaming && !ex_->request_complete) || queued_to_client() > 0;
  if (waiting_on_client) {
    arm_timer(worker().settings().client_idle_ms);
  } else {
    ex_->deadline.clear();
  }
}

void ClientConn::arm_timer(uint64_t ms) {
  ex_->deadline.set(ms);
}

void ClientConn::on_timer(void* owner) {
  auto* c = static_cast<ClientConn*>(owner);
  switch (c->phase_) {
    case Phase::Head:
    case Phase::Body:
      c->send_error(408, true);
      break;
    case Phase::Http2:
      // Idle past client_idle: GOAWAY, and a moment for it to go out before the close.
      if (c->http2_idle_closing_) {
        c->close();
      } else {
        c->http2_idle_closing_ = true;
        c->h2()->shutdown();
        c->arm_timer(kLingerMs);
      }
      break;
    default:
      c->close();
      break;
  }
}

// ---- HTTP/2 ----

bool ClientConn::wants_http2_preface(const char* data, std::size_t len) const {
  if (tls() != nullptr) return false;  // over TLS, ALPN decides (handshake_finished)
  const ListenerSettings* l = listener();
  if (l == nullptr || !l->h2) return false;
  if (!l->http1) return true;  // h2 alone: whatever comes is read as HTTP/2
  // "PRI " is enough to tell (no HTTP/1 method is PRI); nghttp2 checks the rest of the preface.
  const std::string_view first(data, len);
  return first.size() >= 4 && kHttp2PrefaceStart.substr(0, 4) == first.substr(0, 4);
}

void ClientConn::start_http2() {
  attach_exchange();
  phase_ = Phase::Http2;
  ex_->deadline.clear();
  const Settings& settings = worker().settings();
  http2::SessionLimits limits;
  limits.max_concurrent_streams = settings.http2_max_concurrent_streams;
  limits.max_header_bytes = settings.max_header_bytes;
  limits.response_buffer = settings.response_buffer;
  Edge& e = edge();
  e.h2 = std::make_unique<http2::ServerSession>(e.http2_link, limits);
  if (worker().draining()) e.h2->shutdown();
  want_write();
}

void ClientConn::append_frames(void* self, const char* data, std::size_t len) {
  static_cast<ClientConn*>(self)->ex_->out.append(data, len);
}

void ClientConn::want_write() {
  if (closing_ || ex_ == nullptr) return;
  // Never from inside the caller (a stream, or nghttp2 itself): the write batch calls
  // on_written from the top of the loop's turn, and pump_http2 makes the frames then.
  if (worker().writes().open()) {
    worker().writes().add(&ex_->out);
  } else {
    pump_http2();
  }
}

void ClientConn::pump_http2() {
  if (closing_ || h2() == nullptr) return;
  // Frames while the socket takes them at once: a write that completes inside flush() brings
  // no on_written, so nothing else would ask for the next ones.
  for (;;) {
    std::size_t queued = queued_to_client();
    if (queued >= kHttp2FramesAhead) {
      // A full queue handed back by on_written (a write completed, or the write batch ran and
      // asks its queues to write): it goes out now, or no write would be left to call back.
      flush();
      if (closing_) return;
      queued = queued_to_client();
      if (queued >= kHttp2FramesAhead) break;
    }
    const std::size_t before = ex_->out.pending();
    if (!h2()->send_pending(&ClientConn::append_frames, this, kHttp2FramesAhead - queued))
      log_debug("client %s: HTTP/2: %s", client_ip(), h2()->error() != nullptr ? h2()->error() : "error");
    if (closing_) return;
    const bool made = ex_->out.pending() != before;
    flush();
    if (closing_) return;
    if (!made) break;
  }
  if (h2()->finished()) {
    if (queued_to_client() == 0) close_when_written();
    return;
  }
  // No stream open: the connection idles under client_idle, as a keep-alive one does.
  if (h2()->open_streams() == 0) {
    if (!http2_idle_closing_) arm_timer(worker().settings().client_idle_ms);
  } else if (!http2_idle_closing_) {
    ex_->deadline.clear();
  }
}

http2::StreamPeer* ClientConn::open_stream(http2::Stream& stream) {
  if (closing_) return nullptr;
  auto* c = new ClientConn(worker());
  c->stream_mode_ = true;
  c->edge().stream = &stream;
  c->listener_ = listener_;
  c->secure_ = secure_;
  c->client_ipv4_ = client_ipv4_;
  c->client_ip_mapped_ = client_ip_mapped_;
  if (edge_ != nullptr) std::memcpy(c->edge().client_ip, edge_->client_ip, sizeof edge_->client_ip);
  if (!client_subject().empty()) c->edge().client_subject = client_subject();
  c->edge().peer_tcp = &tcp_;
  c->reading_ = true;
  c->phase_ = Phase::Idle;
  worker().metrics().count_http2_stream(listener_);
  return &c->edge().http2_link;
}

void ClientConn::stream_input(const char* data, std::size_t len) {
  if (closing_) return;
  handle_input(data, len);
}

void ClientConn::stream_abandoned() {
  if (edge_ != nullptr) edge_->stream = nullptr;
  close();
}

void ClientConn::stream_drained() { on_written(this, 0); }

void ClientConn::flush_to_stream() {
  if (stream() == nullptr || ex_->out.pending() == 0) return;
  // Held to the end of the read burst as socket writes are: the stream parses the response
  // then, outside whatever produced it.
  if (worker().writes().holding()) {
    ex_->out.flush(nullptr);  // only joins the batch
    return;
  }
  ex_->out.drain_to([this](const char* data, std::size_t len) { stream()->response_bytes(data, len); });
}

// ---- gRPC ----

bool ClientConn::grpc_request() const {
  if (!ex_->head_complete) return false;
  const std::string_view type = ex_->parser.head().find("content-type");
  return type.substr(0, 16) == "application/grpc";
}

}  // namespace ferry::proxy
