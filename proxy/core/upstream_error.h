// Every way a backend exchange can fail, and the one table that maps each to its status code,
// metric kind and whether a retry on another backend is allowed.
#pragma once

#include <cstdint>
#include <string_view>

#include "proxy/admin/metrics.h"

namespace ferry::proxy {

enum class UpstreamError : uint8_t {
  Refused,           // connect refused or failed
  ConnectTimeout,    // timeouts.connect passed
  FirstByteTimeout,  // timeouts.backend_response passed with no response (or between reads)
  Reset,             // the connection died before the response ended
  Malformed,         // the backend's response broke HTTP/1.1
  Tls,               // the TLS handshake failed (certificate, name, not TLS at all)
};

struct UpstreamErrorInfo {
  int status;                    // the answer to the client when nothing was sent yet
  BackendErrorKind metric_kind;  // ferry_backend_errors_total{kind}
  bool retry_before_first_byte;  // may be retried on another backend if no response byte came
  std::string_view text;         // for logs
};

constexpr UpstreamErrorInfo info(UpstreamError e) {
  using enum BackendErrorKind;
  switch (e) {
    case UpstreamError::Refused: return {502, Connect, true, "connect failed"};
    case UpstreamError::ConnectTimeout: return {502, Connect, true, "connect timed out"};
    case UpstreamError::FirstByteTimeout: return {504, Timeout, false, "response timed out"};
    case UpstreamError::Reset: return {502, Reset, true, "connection reset"};
    case UpstreamError::Malformed: return {502, Malformed, false, "malformed response"};
    // Counted as a connect error: the contract's kinds are fixed, and a backend that cannot
    // complete a handshake is as unreachable as one that refuses the connect.
    case UpstreamError::Tls: return {502, Connect, true, "TLS handshake failed"};
  }
  return {502, BackendErrorKind::Reset, false, "unknown"};
}

}  // namespace ferry::proxy
