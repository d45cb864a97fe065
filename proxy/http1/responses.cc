#include "proxy/http1/responses.h"

namespace ferry::proxy {

namespace {

// Content-Length of each body, spelled out: the static strings stay constant expressions.
constexpr std::string_view k400 = "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 12\r\nConnection: close\r\n\r\nbad request\n";
constexpr std::string_view k408 = "HTTP/1.1 408 Request Timeout\r\nContent-Type: text/plain\r\nContent-Length: 16\r\nConnection: close\r\n\r\nrequest timeout\n";
constexpr std::string_view k413 = "HTTP/1.1 413 Content Too Large\r\nContent-Type: text/plain\r\nContent-Length: 23\r\nConnection: close\r\n\r\nrequest body too large\n";
constexpr std::string_view k431 = "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: text/plain\r\nContent-Length: 23\r\nConnection: close\r\n\r\nrequest head too large\n";
constexpr std::string_view k502 = "HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n\r\nbad gateway\n";
constexpr std::string_view k502c = "HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\nContent-Length: 12\r\nConnection: close\r\n\r\nbad gateway\n";
constexpr std::string_view k503 = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 19\r\n\r\nno healthy backend\n";
constexpr std::string_view k503c = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 19\r\nConnection: close\r\n\r\nno healthy backend\n";
constexpr std::string_view k504 = "HTTP/1.1 504 Gateway Timeout\r\nContent-Type: text/plain\r\nContent-Length: 16\r\n\r\ngateway timeout\n";
constexpr std::string_view k504c = "HTTP/1.1 504 Gateway Timeout\r\nContent-Type: text/plain\r\nContent-Length: 16\r\nConnection: close\r\n\r\ngateway timeout\n";

}  // namespace

std::string_view canned_response(int status, bool close) {
  switch (status) {
    case 400: return k400;
    case 408: return k408;
    case 413: return k413;
    case 431: return k431;
    case 502: return close ? k502c : k502;
    case 503: return close ? k503c : k503;
    case 504: return close ? k504c : k504;
    default: return k502c;
  }
}

}  // namespace ferry::proxy
