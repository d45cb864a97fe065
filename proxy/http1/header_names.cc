#include "proxy/http1/header_names.h"

namespace ferry::proxy {

namespace {

inline char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c | 0x20) : c; }

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

HeaderName classify_header(std::string_view n) {
  // By length first: one or two candidates each, so most names cost one comparison or none.
  switch (n.size()) {
    case 2:
      return iequals(n, "te") ? HeaderName::Te : HeaderName::Other;
    case 4:
      return iequals(n, "host") ? HeaderName::Host : HeaderName::Other;
    case 6:
      if (iequals(n, "expect")) return HeaderName::Expect;
      if (iequals(n, "cookie")) return HeaderName::Cookie;
      return HeaderName::Other;
    case 7:
      if (iequals(n, "upgrade")) return HeaderName::Upgrade;
      if (iequals(n, "trailer")) return HeaderName::Trailer;
      return HeaderName::Other;
    case 10:
      if (iequals(n, "connection")) return HeaderName::Connection;
      if (iequals(n, "keep-alive")) return HeaderName::KeepAlive;
      return HeaderName::Other;
    case 12:
      return iequals(n, "x-request-id") ? HeaderName::XRequestId : HeaderName::Other;
    case 14:
      return iequals(n, "content-length") ? HeaderName::ContentLength : HeaderName::Other;
    case 15:
      return iequals(n, "x-forwarded-for") ? HeaderName::XForwardedFor : HeaderName::Other;
    case 16:
      if (iequals(n, "proxy-connection")) return HeaderName::ProxyConnection;
      if (iequals(n, "x-forwarded-host")) return HeaderName::XForwardedHost;
      return HeaderName::Other;
    case 17:
      if (iequals(n, "transfer-encoding")) return HeaderName::TransferEncoding;
      if (iequals(n, "x-forwarded-proto")) return HeaderName::XForwardedProto;
      return HeaderName::Other;
    case 18:
      return iequals(n, "proxy-authenticate") ? HeaderName::ProxyAuthenticate : HeaderName::Other;
    case 19:
      return iequals(n, "proxy-authorization") ? HeaderName::ProxyAuthorization : HeaderName::Other;
    case 21:
      return iequals(n, "x-client-cert-subject") ? HeaderName::XClientCertSubject : HeaderName::Other;
    default:
      return HeaderName::Other;
  }
}

}  // namespace ferry::proxy
