#include "proxy/http1/headers.h"

#include "proxy/http1/head_writer.h"
#include "proxy/http1/responses.h"

#include <algorithm>
#include <array>

namespace ferry::proxy {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The header names a Connection value lists beyond the usual close/keep-alive/upgrade: those
// headers are hop-by-hop too. Almost always empty, so the per-header check costs nothing.
class ConnectionTokens {
 public:
  // Every Connection line of the head: several lines are one list (RFC 9110 5.3).
  explicit ConnectionTokens(const MessageHead& head) {
    for (const HeaderField& f : head.fields)
      if (f.kind == HeaderName::Connection) add(head.value(f));
  }
  // A header listed in Connection (with more than 16 names listed, every header is treated as
  // listed: dropping is the safe side).
  bool lists(std::string_view name) const {
    if (overflow_) return true;
    for (std::size_t i = 0; i < count_; ++i)
      if (iequals(tokens_[i], name)) return true;
    return false;
  }
  bool empty() const { return count_ == 0 && !overflow_; }

 private:
  void add(std::string_view list) {
    while (!list.empty()) {
      const std::size_t comma = list.find(',');
      const std::string_view token = trim(list.substr(0, comma));
      if (!token.empty() && !iequals(token, "close") && !iequals(token, "keep-alive") &&
          !iequals(token, "upgrade")) {
        if (count_ < tokens_.size()) tokens_[count_++] = token;
        else overflow_ = true;
      }
      if (comma == std::string_view::npos) break;
      list.remove_prefix(comma + 1);
    }
  }

  std::array<std::string_view, 16> tokens_{};
  std::size_t count_ = 0;
  bool overflow_ = false;
};

void append_header(HeadWriter& out, std::string_view name, std::string_view value) {
  out.put(name);
  out.put(": ");
  out.put(value);
  out.put("\r\n");
}

// Copies the field lines a rewrite keeps to `out`. A line the client or backend wrote as
// "Name: value" CRLF is already what ferry would write, and the lines ferry keeps mostly sit
// side by side in the head's raw bytes (MessageHead::arena): so each run of such lines goes
// out in one append, where writing a line took four. Lines in another shape ("Name:value")
// are written out the usual way.
class FieldLines {
 public:
  FieldLines(const MessageHead& head, HeadWriter& out) : head_(head), out_(out) {}

  void keep(const HeaderField& f) {
    const std::string& raw = head_.arena;
    const std::size_t value_end = std::size_t{f.value.offset} + f.value.length;
    const bool as_written = f.value.offset == f.name.offset + f.name.length + 2 && raw[f.value.offset - 1] == ' ' &&
                            value_end + 1 < raw.size() && raw[value_end] == '\r';
    if (as_written) {
      if (run_end_ != f.name.offset) {
        flush();
        run_begin_ = f.name.offset;
      }
      run_end_ = value_end + 2;
      return;
    }
    flush();
    append_header(out_, head_.name(f), head_.value(f));
  }
  // Before anything else is appended to `out`.
  void flush() {
    if (run_end_ > run_begin_) out_.put(std::string_view(head_.arena).substr(run_begin_, run_end_ - run_begin_));
    run_begin_ = run_end_ = 0;
  }

 private:
  const MessageHead& head_;
  HeadWriter& out_;
  std::size_t run_begin_ = 0;  // a run of lines as written, [begin, end) in the arena
  std::size_t run_end_ = 0;
};

// HeadWriter's room is a bound of the head to come, close to its size: the room becomes the
// string's capacity, which a pooled exchange keeps, so a loose guess shows as bytes per idle
// connection (10 more with a flat 256 bytes: bench/reports/2026-12-07-shared-ring). Each
// bound is the raw head's field lines (every line kept is at most a space longer), ferry's own
// start line, and the text of what ferry adds this time.
std::size_t digits(uint64_t n) {
  std::size_t d = 1;
  while (n >= 10) {
    n /= 10;
    ++d;
  }
  return d;
}

std::size_t request_room(const MessageHead& req, const RequestRewrite& rw) {
  const std::size_t start_line_end = std::size_t{req.url.offset} + req.url.length + 11;  // " HTTP/1.1\r\n"
  std::size_t n = req.arena.size() - std::min(start_line_end, req.arena.size()) + req.fields.size();
  n += 24 /* method */ + 1 + (rw.target.empty() ? std::size_t{req.url.length} : rw.target.size()) + 11;
  if (req.http_minor == 0) n += 8 + rw.backend_name.size();  // Host, for HTTP/1.0
  n += 17 + rw.client_ip.size() + 28;                         // X-Forwarded-For, X-Forwarded-Proto
  n += 20 + req.find(HeaderName::Host).size();                // X-Forwarded-Host
  if (!rw.client_subject.empty()) n += 25 + rw.client_subject.size();
  if (!rw.request_id.empty()) n += 16 + rw.request_id.size();
  if (rw.has_body) n += rw.body_chunked ? 28 : 18 + digits(rw.content_length);
  if (rw.upgrade) n += 21 + 11;  // Connection: upgrade, Upgrade (its value is a line dropped)
  return n + 2;
}

std::size_t response_room(const MessageHead& resp, const ResponseRewrite& rw, std::string_view reason) {
  const std::size_t start_line_end =
      resp.reason.length != 0 ? std::size_t{resp.reason.offset} + resp.reason.length + 2 : 0;
  std::size_t n = resp.arena.size() - std::min(start_line_end, resp.arena.size()) + resp.fields.size();
  n += 13 + reason.size() + 2;  // "HTTP/1.1 200 " reason CRLF
  n += rw.hsts_line.size() + rw.extra_lines.size();
  if (!rw.request_id.empty()) n += 16 + rw.request_id.size();
  if (rw.framing == BodyFraming::ContentLength) n += 18 + digits(resp.content_length);
  if (rw.framing == BodyFraming::Chunked) n += 28;
  if (rw.upgrade) n += 21 + 11;
  else if (!rw.keep_alive) n += 19;
  else if (rw.http10_client) n += 24;
  return n + 2;
}

}  // namespace

void build_request_head(const MessageHead& req, const RequestRewrite& rw, std::string& into) {
  HeadWriter out(into, request_room(req, rw));
  out.put(std::string_view(llhttp_method_name(static_cast<llhttp_method_t>(req.method))));
  out.put(' ');
  out.put(rw.target.empty() ? req.view(req.url) : rw.target);
  out.put(" HTTP/1.1\r\n");

  const ConnectionTokens connection(req);
  std::string_view host;
  bool has_host = false;
  std::string_view upgrade;
  int forwarded_for = 0;
  FieldLines lines(req, out);
  for (const HeaderField& f : req.fields) {
    switch (f.kind) {
      case HeaderName::Host:
        host = req.value(f);
        has_host = true;
        break;
      case HeaderName::Upgrade:
        upgrade = req.value(f);
        continue;
      case HeaderName::XForwardedFor:
        ++forwarded_for;
        continue;
      case HeaderName::XRequestId:
        if (!rw.request_id.empty()) continue;
        break;
      // ferry writes these itself.
      case HeaderName::ContentLength:
      case HeaderName::XForwardedProto:
      case HeaderName::XForwardedHost:
      case HeaderName::XClientCertSubject:
      case HeaderName::Expect:
        continue;
      default:
        if (is_hop_by_hop(f.kind)) continue;
        break;
    }
    // gunicorn and other WSGI/CGI servers map "Content_Length" onto the same variable as
    // "Content-Length": a name with an underscore could smuggle framing past ferry. Drop it, as
    // nginx does by default.
    if (f.underscore) continue;
    // A header the client names in Connection is for ferry alone (RFC 9110 7.6.1), whatever
    // it is: Cookie too. Host stays: the backend needs it, and no client means it as an option.
    if (!connection.empty() && f.kind != HeaderName::Host && connection.lists(req.name(f))) continue;
    lines.keep(f);
  }
  lines.flush();
  if (!has_host && req.http_major == 1 && req.http_minor == 0) append_header(out, "Host", rw.backend_name);

  out.put("X-Forwarded-For: ");
  if (forwarded_for > 0) {
    // Several X-Forwarded-For lines are one list, in order.
    for (const HeaderField& f : req.fields) {
      if (f.kind != HeaderName::XForwardedFor) continue;
      out.put(trim(req.value(f)));
      out.put(", ");
    }
  }
  out.put(rw.client_ip);
  if (rw.tls) {
    out.put("\r\nX-Forwarded-Proto: https\r\n");
  } else {
    out.put("\r\nX-Forwarded-Proto: http\r\n");
  }
  if (!host.empty()) append_header(out, "X-Forwarded-Host", host);
  if (!rw.client_subject.empty()) append_header(out, "X-Client-Cert-Subject", rw.client_subject);
  if (!rw.request_id.empty()) append_header(out, "X-Request-Id", rw.request_id);

  if (rw.has_body) {
    if (rw.body_chunked) {
      out.put("Transfer-Encoding: chunked\r\n");
    } else {
      out.put("Content-Length: ");
      out.put_number(rw.content_length);
      out.put("\r\n");
    }
  }
  if (rw.upgrade) {
    out.put("Connection: upgrade\r\n");
    append_header(out, "Upgrade", upgrade);
  }
  out.put("\r\n");
}

void build_response_head(const MessageHead& resp, const ResponseRewrite& rw, std::string& into) {
  std::string_view reason = resp.view(resp.reason);
  if (reason.empty()) reason = reason_phrase(resp.status);
  HeadWriter out(into, response_room(resp, rw, reason));
  out.put("HTTP/1.1 ");
  out.put_number(resp.status);
  out.put(' ');
  out.put(reason);
  out.put("\r\n");

  const ConnectionTokens connection(resp);
  std::string_view upgrade;
  FieldLines lines(resp, out);
  for (const HeaderField& f : resp.fields) {
    if (f.kind == HeaderName::Upgrade) upgrade = resp.value(f);
    if (is_hop_by_hop(f.kind)) continue;
    // ferry writes the framing; a 1xx and a 204 carry none at all (RFC 9110 8.6: a client
    // could wait for the bytes it names, or take them from the next response).
    if (f.kind == HeaderName::ContentLength &&
        (rw.framing != BodyFraming::None || resp.status < 200 || resp.status == 204)) {
      continue;
    }
    if (!connection.empty() && connection.lists(resp.name(f))) continue;
    if (f.kind == HeaderName::XRequestId && !rw.request_id.empty()) continue;
    if (!rw.hsts_line.empty() && f.kind == HeaderName::Other &&
        iequals(resp.name(f), "strict-transport-security")) {
      continue;
    }
    lines.keep(f);
  }
  lines.flush();
  out.put(rw.hsts_line);
  out.put(rw.extra_lines);
  if (!rw.request_id.empty()) append_header(out, "X-Request-Id", rw.request_id);
  switch (rw.framing) {
    case BodyFraming::ContentLength:
      out.put("Content-Length: ");
      out.put_number(resp.content_length);
      out.put("\r\n");
      break;
    case BodyFraming::Chunked:
      out.put("Transfer-Encoding: chunked\r\n");
      break;
    case BodyFraming::None:
    case BodyFraming::UntilClose:
      break;
  }
  if (rw.upgrade) {
    out.put("Connection: upgrade\r\n");
    append_header(out, "Upgrade", upgrade);
  } else if (!rw.keep_alive) {
    out.put("Connection: close\r\n");
  } else if (rw.http10_client) {
    out.put("Connection: keep-alive\r\n");
  }
  out.put("\r\n");
}

}  // namespace ferry::proxy
