#include "proxy/headers.h"

#include <charconv>

namespace ferry::proxy {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// True if the comma list `list` holds `token` (case-insensitive).
bool list_contains(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    const std::size_t comma = list.find(',');
    if (iequals(trim(list.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

void append_header(std::string& out, std::string_view name, std::string_view value) {
  out.append(name);
  out.append(": ", 2);
  out.append(value);
  out.append("\r\n", 2);
}

void append_number(std::string& out, uint64_t n) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, n);
  (void)ec;
  out.append(buf, static_cast<std::size_t>(end - buf));
}

std::string_view reason_for(uint16_t status) {
  switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 204: return "No Content";
    case 304: return "Not Modified";
    default: return "";
  }
}

}  // namespace

bool is_hop_by_hop(std::string_view name, std::string_view connection) {
  static constexpr std::string_view kHopByHop[] = {
      "connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade",
      "transfer-encoding", "proxy-authenticate", "proxy-authorization"};
  for (std::string_view h : kHopByHop)
    if (iequals(name, h)) return true;
  return !connection.empty() && list_contains(connection, name);
}

bool is_rewritten_request_header(std::string_view name) {
  static constexpr std::string_view kRewritten[] = {
      "content-length", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "expect"};
  for (std::string_view h : kRewritten)
    if (iequals(name, h)) return true;
  return false;
}

void build_request_head(const MessageHead& req, const RequestRewrite& rw, std::string& out) {
  out.append(llhttp_method_name(static_cast<llhttp_method_t>(req.method)));
  out.push_back(' ');
  out.append(req.view(req.url));
  out.append(" HTTP/1.1\r\n", 11);

  std::string_view connection;
  std::string_view host;
  std::string_view upgrade;
  for (const HeaderField& f : req.fields) {
    if (iequals(req.name(f), "connection")) {
      connection = req.value(f);
      break;
    }
  }
  std::string_view forwarded_for_first;
  bool forwarded_for_many = false;
  for (const HeaderField& f : req.fields) {
    const std::string_view name = req.name(f);
    const std::string_view value = req.value(f);
    if (iequals(name, "upgrade")) upgrade = value;
    if (iequals(name, "x-forwarded-for")) {
      if (forwarded_for_first.empty()) {
        forwarded_for_first = value;
      } else {
        forwarded_for_many = true;
      }
      continue;
    }
    if (iequals(name, "host")) host = value;
    if (is_hop_by_hop(name, connection) || is_rewritten_request_header(name)) continue;
    // gunicorn and other WSGI/CGI servers map "Content_Length" onto the same variable as
    // "Content-Length": a name with an underscore could smuggle framing past ferry. Drop it, as
    // nginx does by default.
    if (name.find('_') != std::string_view::npos) continue;
    out.append(name);
    out.append(": ", 2);
    out.append(value);
    out.append("\r\n", 2);
  }
  if (host.empty() && req.http_major == 1 && req.http_minor == 0) append_header(out, "Host", rw.backend_name);

  out.append("X-Forwarded-For: ");
  if (!forwarded_for_first.empty()) {
    if (forwarded_for_many) {
      // Several X-Forwarded-For lines: join them in order, as one list.
      bool first = true;
      for (const HeaderField& f : req.fields) {
        if (!iequals(req.name(f), "x-forwarded-for")) continue;
        if (!first) out.append(", ", 2);
        out.append(trim(req.value(f)));
        first = false;
      }
    } else {
      out.append(trim(forwarded_for_first));
    }
    out.append(", ", 2);
  }
  out.append(rw.client_ip);
  out.append("\r\nX-Forwarded-Proto: http\r\n");
  if (!host.empty()) append_header(out, "X-Forwarded-Host", host);

  if (rw.has_body) {
    if (rw.body_chunked) {
      out.append("Transfer-Encoding: chunked\r\n");
    } else {
      out.append("Content-Length: ");
      append_number(out, rw.content_length);
      out.append("\r\n", 2);
    }
  }
  if (rw.upgrade) {
    out.append("Connection: upgrade\r\n");
    append_header(out, "Upgrade", upgrade);
  }
  out.append("\r\n", 2);
}

void build_response_head(const MessageHead& resp, const ResponseRewrite& rw, std::string& out) {
  out.append("HTTP/1.1 ");
  append_number(out, resp.status);
  out.push_back(' ');
  std::string_view reason = resp.view(resp.reason);
  if (reason.empty()) reason = reason_for(resp.status);
  out.append(reason);
  out.append("\r\n", 2);

  std::string_view connection = resp.find("connection");
  std::string_view upgrade;
  for (const HeaderField& f : resp.fields) {
    const std::string_view name = resp.name(f);
    if (iequals(name, "upgrade")) upgrade = resp.value(f);
    if (is_hop_by_hop(name, connection)) continue;
    if (iequals(name, "content-length") && rw.framing != BodyFraming::None) continue;
    out.append(name);
    out.append(": ", 2);
    out.append(resp.value(f));
    out.append("\r\n", 2);
  }
  switch (rw.framing) {
    case BodyFraming::ContentLength:
      out.append("Content-Length: ");
      append_number(out, resp.content_length);
      out.append("\r\n", 2);
      break;
    case BodyFraming::Chunked:
      out.append("Transfer-Encoding: chunked\r\n");
      break;
    case BodyFraming::None:
    case BodyFraming::UntilClose:
      break;
  }
  if (rw.upgrade) {
    out.append("Connection: upgrade\r\n");
    append_header(out, "Upgrade", upgrade);
  } else if (!rw.keep_alive) {
    out.append("Connection: close\r\n");
  } else if (rw.http10_client) {
    out.append("Connection: keep-alive\r\n");
  }
  out.append("\r\n", 2);
}

}  // namespace ferry::proxy
