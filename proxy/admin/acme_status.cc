#include "proxy/admin/acme_status.h"

namespace ferry::proxy {

void AcmeBoard::set(AcmeStatus status) {
  const std::lock_guard<std::mutex> lock(mutex_);
  status_ = std::move(status);
}

void AcmeBoard::count_order(bool success) { (success ? succeeded_ : failed_).fetch_add(1, std::memory_order_relaxed); }

AcmeStatus AcmeBoard::get() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  return status_;
}

}  // namespace ferry::proxy
