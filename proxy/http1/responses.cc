#include "proxy/http1/responses.h"

#include <string>

namespace ferry::proxy {

namespace {

// Content-Length of each body, spelled out: the static strings stay constant expressions.
constexpr std::string_view k400 = "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 12\r\nConnection: close\r\n\r\nbad request\n";
constexpr std::string_view k408 = "HTTP/1.1 408 Request Timeout\r\nContent-Type: text/plain\r\nContent-Length: 16\r\nConnection: close\r\n\r\nrequest timeout\n";
constexpr std::string_view k404 = "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 17\r\n\r\nno route matched\n";
constexpr std::string_view k404c = "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 17\r\nConnection: close\r\n\r\nno route matched\n";
constexpr std::string_view k413 = "HTTP/1.1 413 Content Too Large\r\nContent-Type: text/plain\r\nContent-Length: 23\r\nConnection: close\r\n\r\nrequest body too large\n";
constexpr std::string_view k431 = "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: text/plain\r\nContent-Length: 23\r\nConnection: close\r\n\r\nrequest head too large\n";
constexpr std::string_view k502 = "HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n\r\nbad gateway\n";
constexpr std::string_view k502c = "HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\nContent-Length: 12\r\nConnection: close\r\n\r\nbad gateway\n";
constexpr std::string_view k503 = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 19\r\n\r\nno healthy backend\n";
constexpr std::string_view k503c = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 19\r\nConnection: close\r\n\r\nno healthy backend\n";
constexpr std::string_view k504 = "HTTP/1.1 504 Gateway Timeout\r\nContent-Type: text/plain\r\nContent-Length: 16\r\n\r\ngateway timeout\n";
constexpr std::string_view k504c = "HTTP/1.1 504 Gateway Timeout\r\nContent-Type: text/plain\r\nContent-Length: 16\r\nConnection: close\r\n\r\ngateway timeout\n";

static_assert(content_length_fits(k400) && content_length_fits(k408) && content_length_fits(k404) &&
              content_length_fits(k404c) && content_length_fits(k413) && content_length_fits(k431) &&
              content_length_fits(k502) && content_length_fits(k502c) && content_length_fits(k503) &&
              content_length_fits(k503c) && content_length_fits(k504) && content_length_fits(k504c));

}  // namespace

std::string_view canned_response(int status, bool close) {
  switch (status) {
    case 400: return k400;
    case 404: return close ? k404c : k404;
    case 408: return k408;
    case 413: return k413;
    case 431: return k431;
    case 502: return close ? k502c : k502;
    case 503: return close ? k503c : k503;
    case 504: return close ? k504c : k504;
    default: return k502c;
  }
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 410: return "Gone";
    case 418: return "I'm a teapot";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "";  // RFC 9112 4: the reason phrase may be empty
  }
}

void build_own_response(const OwnResponse& r, std::string& out) {
  out.append("HTTP/1.1 ");
  out.append(std::to_string(r.status));
  out.push_back(' ');
  out.append(reason_phrase(r.status));
  out.append("\r\n");
  if (!r.location.empty()) {
    out.append("Location: ");
    out.append(r.location);
    out.append("\r\n");
  }
  if (r.retry_after_s != 0) {
    out.append("Retry-After: ");
    out.append(std::to_string(r.retry_after_s));
    out.append("\r\n");
  }
  if (!r.body.empty() || !r.content_type.empty()) {
    out.append("Content-Type: ");
    out.append(r.content_type);
    out.append("\r\n");
  }
  out.append("Content-Length: ");
  out.append(std::to_string(r.body.size()));
  out.append("\r\n");
  if (r.close) out.append("Connection: close\r\n");
  out.append("\r\n");
  if (!r.head_request) out.append(r.body);
}

std::string grpc_error_response(int status, bool malformed, bool close) {
  int code = 13;
  std::string_view message = "ferry: internal error";
  switch (status) {
    case 502:
    case 503:
      code = 14;
      message = status == 503 ? "ferry: no healthy backend" : "ferry: backend unavailable";
      break;
    case 504:
    case 408:
      code = 4;
      message = status == 504 ? "ferry: backend timed out" : "ferry: request timed out";
      break;
    case 429:
    case 413:
    case 431:
      code = 8;
      message = status == 429 ? "ferry: rate limited" : "ferry: request too large";
      break;
    case 404:
      code = 12;
      message = "ferry: no route";
      break;
    default:
      break;
  }
  if (malformed) {
    code = 13;
    message = "ferry: malformed backend response";
  }
  std::string out = "HTTP/1.1 200 OK\r\nContent-Type: application/grpc\r\nGrpc-Status: ";
  out += std::to_string(code);
  out += "\r\nGrpc-Message: ";
  out += message;
  out += "\r\nContent-Length: 0\r\n";
  if (close) out += "Connection: close\r\n";
  out += "\r\n";
  return out;
}

}  // namespace ferry::proxy
