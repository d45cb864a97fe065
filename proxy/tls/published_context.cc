#include "proxy/tls/published_context.h"

namespace ferry::proxy::tls {

PublishedContext::PublishedContext(ServerOptions options) : options_(std::move(options)) {
  current_.store(ServerContext::refusing(options_).context, std::memory_order_release);
}

std::vector<std::string> PublishedContext::publish(std::shared_ptr<const CertificateSet> set) {
  ServerContext::Built built = ServerContext::build(std::move(set), options_);
  if (!built.context) return std::move(built.errors);
  current_.store(std::move(built.context), std::memory_order_release);
  has_certificate_.store(true, std::memory_order_release);
  return {};
}

}  // namespace ferry::proxy::tls
