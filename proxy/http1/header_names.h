// The header names ferry acts on, recognised once per header as the parser completes its name,
// so rewriting and checks compare a byte instead of strings.
#pragma once

#include <cstdint>
#include <string_view>

namespace ferry::proxy {

enum class HeaderName : uint8_t {
  Other,
  Connection,
  KeepAlive,
  ProxyConnection,
  Te,
  Trailer,
  Upgrade,
  TransferEncoding,
  ContentLength,
  Host,
  XForwardedFor,
  XForwardedProto,
  XForwardedHost,
  Expect,
  ProxyAuthenticate,
  ProxyAuthorization,
  Cookie,
  XClientCertSubject,  // ferry's own: the verified client certificate's subject (mutual TLS)
  XRequestId,
};

HeaderName classify_header(std::string_view name);

// RFC 9110 7.6.1 hop-by-hop headers (Transfer-Encoding included: ferry writes framing itself).
constexpr bool is_hop_by_hop(HeaderName h) {
  switch (h) {
    case HeaderName::Connection:
    case HeaderName::KeepAlive:
    case HeaderName::ProxyConnection:
    case HeaderName::Te:
    case HeaderName::Trailer:
    case HeaderName::Upgrade:
    case HeaderName::TransferEncoding:
    case HeaderName::ProxyAuthenticate:
    case HeaderName::ProxyAuthorization:
      return true;
    default:
      return false;
  }
}

bool iequals(std::string_view a, std::string_view b);

}  // namespace ferry::proxy
