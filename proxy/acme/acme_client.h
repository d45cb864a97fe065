// The RFC 8555 conversation with one ACME server: directory, nonces (a badNonce is retried
// with the fresh nonce it carries), the account, an order with HTTP-01 challenges, finalize
// with a CSR, the certificate chain, and RFC 9773 renewal information. Blocking, on the ACME
// thread only; every request is bounded by HttpLimits and every wait by `stop`.
//
// The only file that parses JSON (nlohmann-json): documents from the server are untrusted, so
// every field is type-checked before use and a bad one is a Problem, never an exception.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/acme/challenge_tokens.h"
#include "proxy/acme/http_client.h"
#include "proxy/tls/openssl_handles.h"

namespace ferry::proxy::acme {

// Why something failed: the CA's problem document (RFC 8555 6.7) when it sent one, else what
// went wrong on the way (type "").
struct Problem {
  std::string type;    // "urn:ietf:params:acme:error:rateLimited"; "" when not from the CA
  std::string detail;  // the CA's words, or ferry's
  std::optional<int64_t> retry_after;  // unix seconds, from Retry-After

  // "urn:ietf:params:acme:error:dns: No valid IP addresses found for example.com"
  std::string describe() const;
  // The type without "urn:ietf:params:acme:error:" ("rateLimited"), or "".
  std::string_view short_type() const;
};

struct ClientOptions {
  std::string directory;
  std::string email;
  std::vector<std::string> domains;
  std::string ca_bundle;
  HttpLimits limits;
  int64_t validation_timeout_ms = 120'000;  // waiting for challenges and for the certificate
  unsigned max_bad_nonce_retries = 8;
};

// A certificate in hand: its key and its chain (leaf first), PEM.
struct Issued {
  std::string key_pem;
  std::string chain_pem;
};

// RFC 9773's answer: renew at a time in [start, end]; ask again after `retry_after`.
struct RenewalWindow {
  int64_t start = 0;
  int64_t end = 0;
  std::optional<int64_t> retry_after;
};

class AcmeClient {
 public:
  using Clock = std::function<int64_t()>;  // unix seconds
  // `account_key` must outlive the client. `tokens` gets the HTTP-01 answers of an order while
  // it is under way. `stop` ends waits and requests early (shutdown).
  AcmeClient(ClientOptions options, EVP_PKEY* account_key, ChallengeTokens& tokens,
             const std::atomic<bool>* stop, Clock now);
  ~AcmeClient();
  AcmeClient(const AcmeClient&) = delete;
  AcmeClient& operator=(const AcmeClient&) = delete;

  // The directory, then the account (created, or found again for this key). Cheap once done.
  bool prepare(Problem* problem);
  // A new certificate for every domain. `replaces`: the ARI id of the certificate it renews, or
  // "". nullopt with *problem on failure.
  std::optional<Issued> order(std::string_view replaces, Problem* problem);
  // Whether the directory offers renewal information.
  bool has_renewal_info() const;
  // The CA's suggested window for the certificate with ARI id `ari_id`.
  std::optional<RenewalWindow> renewal_info(std::string_view ari_id, Problem* problem);

  unsigned bad_nonce_retries() const { return bad_nonce_retries_; }

 private:
  struct State;
  HttpResponse post(const std::string& url, std::string_view payload, Problem* problem, const char* accept = "");
  HttpResponse post_as_get(const std::string& url, Problem* problem, const char* accept = "") {
    return post(url, "", problem, accept);
  }
  bool fresh_nonce(Problem* problem);
  bool load_directory(Problem* problem);
  bool find_account(Problem* problem);
  // Sleeps up to `ms`, less when stop is set. False when stopping.
  bool pause(int64_t ms) const;

  ClientOptions options_;
  EVP_PKEY* account_key_;
  ChallengeTokens& tokens_;
  const std::atomic<bool>* stop_;
  Clock now_;
  HttpClient http_;
  std::unique_ptr<State> state_;
  unsigned bad_nonce_retries_ = 0;
};

}  // namespace ferry::proxy::acme
