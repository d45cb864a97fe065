#include "proxy/tls/session.h"

#include <arpa/inet.h>
#include <openssl/err.h>

#include <algorithm>
#include <cstring>

namespace ferry::proxy::tls {
namespace {

// Small records while a connection warms up: 1400 bytes on the wire fits one TCP segment;
// 29 bytes is the largest overhead of the policy's suites (TLS 1.2 AES-GCM: 5 header,
// 8 explicit nonce, 16 tag).
constexpr uint64_t kSmallRecordBytes = 64 * 1024;
constexpr std::size_t kSmallRecordPayload = 1400 - 29;

// OpenSSL's reasons are terse; the common ones from a confused peer get a hint.
std::string explain(std::string reason) {
  if (reason.find("http request") != std::string::npos) {
    reason += " (plain HTTP sent to a TLS port)";
  } else if (reason.find("wrong version number") != std::string::npos) {
    reason += " (not TLS, or a TLS version ferry does not speak)";
  }
  return reason;
}

bool is_ip_address(const std::string& name) {
  unsigned char buf[sizeof(struct in6_addr)];
  return inet_pton(AF_INET, name.c_str(), buf) == 1 || inet_pton(AF_INET6, name.c_str(), buf) == 1;
}

void release(std::vector<char>& buffer, std::size_t& consumed) {
  std::vector<char>().swap(buffer);
  consumed = 0;
}

}  // namespace

std::string_view status_name(Session::Status status) {
  switch (status) {
    case Session::Status::Ok:
      return "ok";
    case Session::Status::WantMore:
      return "want-more";
    case Session::Status::Closed:
      return "closed";
    case Session::Status::Error:
      return "error";
  }
  return "?";
}

Session::Session(SslPtr ssl, std::shared_ptr<const void> context)
    : ssl_(std::move(ssl)), context_(std::move(context)) {}

Session::~Session() {
  // SSL_free treats a connection that never exchanged close_notify as truncated and marks
  // its session not resumable, which would spoil the ClientSessionCache every time a pooled
  // backend connection is simply closed. A connection that ended in a TLS error has had
  // its session invalidated by OpenSSL already; a healthy one keeps its session.
  if (ssl_ && handshake_done_ && !failed_) {
    SSL_set_shutdown(ssl_.get(), SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
  }
}

std::unique_ptr<Session> Session::server(std::shared_ptr<const ServerContext> context) {
  if (!context) return nullptr;
  ERR_clear_error();
  SslPtr ssl(SSL_new(context->initial_ctx()));
  if (!ssl) {
    ERR_clear_error();
    return nullptr;
  }
  std::unique_ptr<Session> session(new Session(std::move(ssl), std::move(context)));
  if (!session->attach_bio()) return nullptr;
  SSL_set_accept_state(session->ssl_.get());
  return session;
}

std::unique_ptr<Session> Session::client(std::shared_ptr<const ClientContext> context,
                                         std::string_view server_name, ClientSessionCache* cache,
                                         std::string_view cache_key) {
  if (!context) return nullptr;
  ERR_clear_error();
  SslPtr ssl(SSL_new(context->native()));
  if (!ssl) {
    ERR_clear_error();
    return nullptr;
  }
  SSL* raw = ssl.get();
  const bool verify = context->verify();
  std::unique_ptr<Session> session(new Session(std::move(ssl), std::move(context)));
  if (!session->attach_bio()) return nullptr;
  SSL_set_connect_state(raw);
  if (!server_name.empty()) {
    const std::string name(server_name);
    bool ok = true;
    if (is_ip_address(name)) {
      // RFC 6066 3: SNI carries host names only; an address is checked, not sent.
      if (verify) ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(raw), name.c_str()) == 1;
    } else {
      // SSL_set_tlsext_host_name() spelled out: the macro's C cast trips -Wold-style-cast.
      ok = SSL_ctrl(raw, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                    const_cast<char*>(name.c_str())) == 1;
      if (ok && verify) {
        SSL_set_hostflags(raw, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        ok = SSL_set1_host(raw, name.c_str()) == 1;
      }
    }
    if (!ok) {
      ERR_clear_error();
      return nullptr;
    }
  }
  if (cache != nullptr) {
    session->destination_.reset(new ClientSessionCache::Destination{cache, std::string(cache_key)});
    ClientSessionCache::attach(raw, session->destination_.get());
    if (SSL_SESSION* previous = cache->find(cache_key)) SSL_set_session(raw, previous);
  }
  ERR_clear_error();
  return session;
}

bool Session::attach_bio() {
  const BIO_METHOD* method = bio_method();
  BIO* bio = method != nullptr ? BIO_new(method) : nullptr;
  if (bio == nullptr) {
    ERR_clear_error();
    return false;
  }
  BIO_set_data(bio, this);
  BIO_set_init(bio, 1);
  // One BIO both ways; each direction owns a reference.
  BIO_up_ref(bio);
  SSL_set0_rbio(ssl_.get(), bio);
  SSL_set0_wbio(ssl_.get(), bio);
  return true;
}

const BIO_METHOD* Session::bio_method() {
  static BIO_METHOD* const method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "ferry tls session");
    if (m == nullptr) return m;
    BIO_meth_set_write_ex(m, &Session::bio_write);
    BIO_meth_set_read_ex(m, &Session::bio_read);
    BIO_meth_set_ctrl(m, &Session::bio_ctrl);
    return m;
  }();
  return method;
}

// OpenSSL calls these from inside SSL_* calls made by this class. No exception may cross
// back into C: an allocation failure becomes an I/O error for OpenSSL to report.
int Session::bio_write(BIO* bio, const char* data, std::size_t length, std::size_t* written) {
  auto* self = static_cast<Session*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  try {
    if (self->sink_ != nullptr) {
      self->sink_(self->sink_owner_, data, length);
    } else {
      self->out_.insert(self->out_.end(), data, data + length);
    }
  } catch (...) {
    *written = 0;
    return 0;
  }
  *written = length;
  return 1;
}

int Session::bio_read(BIO* bio, char* out, std::size_t length, std::size_t* read) {
  auto* self = static_cast<Session*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  *read = 0;
  const std::size_t available = self->in_.size() - self->in_consumed_;
  if (available == 0) {
    // Without the retry flag a 0 is EOF to OpenSSL.
    if (!self->eof_) BIO_set_retry_read(bio);
    return 0;
  }
  const std::size_t n = std::min(length, available);
  std::memcpy(out, self->in_.data() + self->in_consumed_, n);
  self->in_consumed_ += n;
  if (self->in_consumed_ == self->in_.size()) release(self->in_, self->in_consumed_);
  *read = n;
  return 1;
}

long Session::bio_ctrl(BIO* bio, int command, long, void*) {
  const auto* self = static_cast<const Session*>(BIO_get_data(bio));
  switch (command) {
    case BIO_CTRL_FLUSH:
      return 1;  // bytes are handed over as they are written
    case BIO_CTRL_PENDING:
      return static_cast<long>(self->in_.size() - self->in_consumed_);
    case BIO_CTRL_WPENDING:
      return static_cast<long>(self->out_.size() - self->out_consumed_);
    case BIO_CTRL_EOF:
      return self->eof_ && self->in_.size() == self->in_consumed_ ? 1 : 0;
    default:
      return 0;
  }
}

void Session::feed(const char* data, std::size_t length) {
  if (failed_ || closed_ || length == 0) return;
  if (in_consumed_ > 0 && in_consumed_ == in_.size()) release(in_, in_consumed_);
  in_.insert(in_.end(), data, data + length);
}

void Session::feed_eof() { eof_ = true; }

void Session::note_handshake() {
  if (!handshake_done_ && SSL_is_init_finished(ssl_.get()) == 1) on_handshake_done();
}

void Session::on_handshake_done() {
  handshake_done_ = true;
  // A resumed TLS 1.2 session may carry a renewed ticket, but OpenSSL calls the new-session
  // callback only for full handshakes (and for TLS 1.3 tickets): store it here, or the cache
  // would keep offering the old ticket until the ring drops its key.
  if (destination_ && SSL_session_reused(ssl_.get()) == 1 &&
      SSL_version(ssl_.get()) < TLS1_3_VERSION) {
    destination_->cache->store(destination_->key, SslSessionPtr(SSL_get1_session(ssl_.get())));
  }
}

Session::Result Session::fail(int ssl_error) {
  std::string reason;
  if (ssl_error == SSL_ERROR_ZERO_RETURN) {
    reason = "peer sent close_notify";
  } else if (ssl_error == SSL_ERROR_SSL || ssl_error == SSL_ERROR_SYSCALL) {
    reason = explain(take_openssl_errors("connection failed"));
    const long verify = SSL_get_verify_result(ssl_.get());
    if (verify != X509_V_OK) {
      reason += ": ";
      reason += X509_verify_cert_error_string(verify);
    }
    // The peer's FIN with nothing left to read: say so plainly, and where it fell.
    const bool peer_gone =
        eof_ && pending_input() == 0 &&
        (ssl_error == SSL_ERROR_SYSCALL || reason.find("eof") != std::string::npos);
    if (peer_gone) {
      reason = !handshake_done_ ? "peer closed the connection during the handshake"
               : SSL_has_pending(ssl_.get()) == 1
                   ? "peer closed the connection mid-record"
                   : "peer closed the connection without close_notify";
    }
  } else {
    reason = "OpenSSL error " + std::to_string(ssl_error) + ": " + take_openssl_errors("no detail");
  }
  ERR_clear_error();
  failed_ = true;
  error_ = (handshake_done_ ? "" : "handshake: ") + reason;
  release(in_, in_consumed_);
  return {Status::Error, 0};
}

Session::Result Session::handshake() {
  if (failed_) return {Status::Error, 0};
  if (handshake_done_) return {Status::Ok, 0};
  ERR_clear_error();
  const int rc = SSL_do_handshake(ssl_.get());
  if (rc == 1) {
    on_handshake_done();
    return {Status::Ok, 0};
  }
  const int error = SSL_get_error(ssl_.get(), rc);
  if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
    if (eof_ && pending_input() == 0) return fail(SSL_ERROR_SYSCALL);
    return {Status::WantMore, 0};
  }
  return fail(error);
}

Session::Result Session::read(char* out, std::size_t max) {
  if (failed_) return {Status::Error, 0};
  if (closed_) return {Status::Closed, 0};
  if (!handshake_done_) {
    const Result r = handshake();
    if (r.status != Status::Ok) return r;
  }
  std::size_t total = 0;
  int stop = SSL_ERROR_NONE;
  while (total < max) {
    ERR_clear_error();
    std::size_t n = 0;
    const int rc = SSL_read_ex(ssl_.get(), out + total, max - total, &n);
    if (rc == 1) {
      total += n;
      continue;
    }
    stop = SSL_get_error(ssl_.get(), rc);
    break;
  }
  if (stop == SSL_ERROR_ZERO_RETURN) {
    closed_ = true;
    release(in_, in_consumed_);
  } else if (stop == SSL_ERROR_WANT_READ || stop == SSL_ERROR_WANT_WRITE) {
    if (eof_ && pending_input() == 0) stop = SSL_ERROR_SYSCALL;
  }
  const bool ended = stop != SSL_ERROR_NONE && stop != SSL_ERROR_WANT_READ &&
                     stop != SSL_ERROR_WANT_WRITE && stop != SSL_ERROR_ZERO_RETURN;
  if (ended) {
    // Plaintext read before the failure is still returned; the failure shows next call.
    const Result failure = fail(stop);
    if (total == 0) return failure;
  }
  if (total > 0) return {Status::Ok, total};
  if (closed_) return {Status::Closed, 0};
  return {Status::WantMore, 0};
}

Session::Result Session::write(const char* data, std::size_t length) {
  if (failed_) return {Status::Error, 0};
  std::size_t done = 0;
  while (done < length) {
    std::size_t chunk = length - done;
    if (plain_written_ < kSmallRecordBytes) chunk = std::min(chunk, kSmallRecordPayload);
    ERR_clear_error();
    std::size_t written = 0;
    const int rc = SSL_write_ex(ssl_.get(), data + done, chunk, &written);
    note_handshake();
    if (rc != 1) {
      const int error = SSL_get_error(ssl_.get(), rc);
      if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
        if (eof_ && pending_input() == 0) {
          fail(SSL_ERROR_SYSCALL);
          return {Status::Error, done};
        }
        return {Status::WantMore, done};
      }
      fail(error);
      return {Status::Error, done};
    }
    done += written;
    plain_written_ += written;
  }
  return {Status::Ok, done};
}

void Session::shutdown() {
  if (failed_ || shutdown_sent_) return;
  shutdown_sent_ = true;
  if (!handshake_done_) return;
  ERR_clear_error();
  SSL_shutdown(ssl_.get());  // 0: sent, the peer's not yet seen; we do not wait for it
  ERR_clear_error();
}

void Session::consume_output(std::size_t length) {
  out_consumed_ += std::min(length, out_.size() - out_consumed_);
  if (out_consumed_ == out_.size()) release(out_, out_consumed_);
}

void Session::set_output_sink(OutputFn fn, void* owner) {
  sink_ = fn;
  sink_owner_ = owner;
  if (sink_ != nullptr && out_consumed_ < out_.size()) {
    sink_(sink_owner_, out_.data() + out_consumed_, out_.size() - out_consumed_);
    release(out_, out_consumed_);
  }
}

bool Session::resumed() const { return SSL_session_reused(ssl_.get()) == 1; }

std::string_view Session::version() const {
  return handshake_done_ ? std::string_view(SSL_get_version(ssl_.get())) : std::string_view();
}

std::string_view Session::cipher() const {
  if (!handshake_done_) return {};
  const char* name = SSL_get_cipher_name(ssl_.get());
  return name != nullptr ? std::string_view(name) : std::string_view();
}

std::string_view Session::alpn() const {
  const unsigned char* data = nullptr;
  unsigned int length = 0;
  SSL_get0_alpn_selected(ssl_.get(), &data, &length);
  return data != nullptr ? std::string_view(reinterpret_cast<const char*>(data), length)
                         : std::string_view();
}

std::string_view Session::server_name() const {
  const char* name = SSL_get_servername(ssl_.get(), TLSEXT_NAMETYPE_host_name);
  return name != nullptr ? std::string_view(name) : std::string_view();
}

std::string Session::peer_subject() const {
  const X509* peer = SSL_get0_peer_certificate(ssl_.get());
  if (peer == nullptr || SSL_get_verify_result(ssl_.get()) != X509_V_OK) return {};
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || X509_NAME_print_ex(bio.get(), X509_get_subject_name(peer), 0, XN_FLAG_RFC2253) < 0) {
    ERR_clear_error();
    return {};
  }
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio.get(), &data);
  std::string subject(data, static_cast<std::size_t>(std::max(length, 0L)));
  // RFC 2253 printing escapes control bytes already; this only guards a header's framing.
  for (char& c : subject) {
    if (c == '\r' || c == '\n' || c == '\0') c = '?';
  }
  return subject;
}

}  // namespace ferry::proxy::tls
