// The ACME thread: keeps a certificate for acme.domains. At start it reads storage (the
// account key, made once; the certificate, served at once if it covers the domains), then on
// its own thread orders one when there is none, renews at two thirds of the lifetime or as
// the CA's renewal information says, and after a failure tries again with jittered backoff,
// Retry-After and rate limits honoured. The certificate served stays until a new one is in
// hand; each new one goes to `on_certificate` (which publishes it to the TLS listeners).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "config/config.h"
#include "proxy/acme/acme_client.h"
#include "proxy/acme/challenge_tokens.h"
#include "proxy/acme/jws.h"
#include "proxy/acme/storage.h"
#include "proxy/admin/acme_status.h"
#include "proxy/tls/certificates.h"

namespace ferry::proxy::acme {

struct ManagerOptions {
  HttpLimits limits;
  int64_t validation_timeout_ms = 120'000;
  std::function<int64_t()> now;      // unix seconds; default: the system clock
  std::function<double()> random;    // in [0, 1); default: a seeded generator
};

class Manager {
 public:
  using CertificateSink = std::function<void(std::shared_ptr<const tls::CertificateSet>)>;

  Manager(config::AcmeConfig config, ChallengeTokens& tokens, AcmeBoard& board, CertificateSink on_certificate,
          ManagerOptions options = {});
  ~Manager();  // stop()
  Manager(const Manager&) = delete;
  Manager& operator=(const Manager&) = delete;

  // Main thread, before the workers serve: prepares storage, reads or makes the account key,
  // and hands a stored certificate to on_certificate at once. False with *error when storage
  // is unusable.
  bool load(std::string* error);
  // Once load() succeeded and the listeners accept (HTTP-01 needs them): starts the thread.
  void start();
  // Any thread. Ends a request or wait in progress and joins. Idempotent.
  void stop();
  // Any thread: look at the schedule again now (tests that move the clock).
  void wake();

  unsigned bad_nonce_retries() const { return bad_nonce_retries_.load(std::memory_order_relaxed); }

 private:
  void run();
  // One turn: renewal info, and an order when one is due. Returns when to look again (unix s).
  int64_t turn(int64_t now);
  // RFC 9773: when due, asks the CA when to renew the certificate in hand (renew_at_).
  void ask_renewal_info(int64_t now);
  bool order(int64_t now);
  // Loads `chain_pem` + `key_pem` into a set and hands it on; false (logged) when it does not load.
  bool adopt(const std::string& key_pem, const std::string& chain_pem, int64_t now, bool log);
  void publish_status();
  double draw();

  const config::AcmeConfig config_;
  ChallengeTokens& tokens_;
  AcmeBoard& board_;
  CertificateSink on_certificate_;
  ManagerOptions options_;
  Storage storage_;
  tls::EvpPkeyPtr account_key_;
  std::unique_ptr<AcmeClient> client_;

  // The ACME thread's own state (and start()'s, before the thread exists).
  std::optional<CertificateFacts> current_;  // the certificate served
  int64_t renew_at_ = 0;
  int64_t ari_next_ = 0;   // when to ask for renewal information again
  unsigned failures_ = 0;  // in a row
  AcmeStatus status_;
  uint64_t random_state_ = 0;

  std::atomic<bool> stop_{false};          // set by stop() on any thread
  std::atomic<unsigned> bad_nonce_retries_{0};
  std::mutex mutex_;                       // guards wake_ with cv_
  std::condition_variable cv_;
  bool wake_ = false;
  std::thread thread_;
};

}  // namespace ferry::proxy::acme
