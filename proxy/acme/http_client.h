// The ACME client's HTTPS, on libcurl: one blocking request at a time, on the ACME thread only.
// The server may be hostile or broken, so everything it can make ferry spend is bounded: the
// body and header bytes kept, the time to connect and in total, and redirects are never
// followed (ACME needs none). The server's certificate is verified against the system's trust
// store or the given bundle.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::proxy::acme {

struct HttpLimits {
  std::size_t max_body_bytes = 1 << 20;   // a certificate chain is a few KiB
  std::size_t max_header_bytes = 32 << 10;
  long connect_timeout_ms = 10'000;
  long total_timeout_ms = 30'000;         // the whole exchange, a trickle of bytes included
};

struct HttpResponse {
  long status = 0;      // 0: no HTTP response (see error)
  std::string error;    // transport: "connect: Connection refused", "response over 1048576 bytes"
  std::string body;
  std::string content_type;
  std::string location;
  std::string replay_nonce;
  std::string retry_after;
  std::vector<std::string> links;  // Link header values

  bool ok() const { return status >= 200 && status < 300; }
};

class HttpClient {
 public:
  // `ca_bundle`: a PEM file of trusted CAs, or "" for the system's store. `stop`, when it
  // turns true, aborts a request in progress (shutdown).
  HttpClient(std::string ca_bundle, HttpLimits limits, const std::atomic<bool>* stop);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  enum class Method : uint8_t { Get, Head, Post };
  // `accept` "" for none; `body` for POST, sent as application/jose+json.
  HttpResponse request(Method method, const std::string& url, std::string_view body = {},
                       const char* accept = "");

 private:
  std::string ca_bundle_;
  HttpLimits limits_;
  const std::atomic<bool>* stop_;
  void* curl_ = nullptr;  // CURL*, reused so connections to the CA stay open between requests
};

}  // namespace ferry::proxy::acme
