// What the operator sees of ACME: the ACME thread writes it, the admin thread reads it for
// /metrics (ferry_acme_orders_total), /backends and the status page. Neither is a worker, so a
// mutex is fine here.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace ferry::proxy {

struct AcmeStatus {
  std::vector<std::string> domains;  // as configured
  std::vector<std::string> names;    // of the certificate served; empty before the first
  int64_t not_after = 0;             // unix seconds; 0 before the first certificate
  int64_t renew_at = 0;              // the next renewal, as planned now
  std::string last_result;           // "success", "failure", or "" before any order
  std::string last_error;            // the CA's problem (type: detail) of the last failure
  int64_t last_attempt = 0;          // unix seconds
  int64_t next_attempt = 0;
};

class AcmeBoard {
 public:
  // ACME thread.
  void set(AcmeStatus status);
  void count_order(bool success);
  // Any thread.
  AcmeStatus get() const;
  uint64_t orders(bool success) const { return (success ? succeeded_ : failed_).load(std::memory_order_relaxed); }

 private:
  mutable std::mutex mutex_;  // guards status_
  AcmeStatus status_;
  std::atomic<uint64_t> succeeded_{0};  // written by the ACME thread, read at scrape
  std::atomic<uint64_t> failed_{0};
};

// The "acme" member of /backends: {"domains": [...], "certificate": {...} | null,
// "renew_at": "...", "last_order": {...} | null}, one line.
std::string acme_status_json(const AcmeStatus& status);

}  // namespace ferry::proxy
