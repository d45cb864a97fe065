#include "config/config.h"

#include <cstddef>
#include <utility>

namespace ferry::config {

Config seed_default() {
  Config config;  // the struct defaults already are the contract's defaults
  config.backends = {{"10.20.10.31:8000", 1}, {"10.20.20.32:8000", 1}};
  // The seed replaces an ALB target group that checked GET /health, so the built-in layout
  // checks too; a file has to ask for it with a health_check section.
  config.health_check.enabled = true;
  return config;
}

std::vector<PoolConfig> pools_of(const Config& config) {
  std::vector<PoolConfig> out;
  if (!config.backends.empty()) {
    PoolConfig top;
    top.name = "default";
    top.backends = config.backends;
    top.balancer = config.balancer;
    top.hash_key = config.hash_key;
    top.health_check = config.health_check;
    top.retries = config.retries;
    out.push_back(std::move(top));
  }
  out.insert(out.end(), config.pools.begin(), config.pools.end());
  return out;
}

std::string_view balancer_name(BalancerKind kind) {
  const auto index = static_cast<std::size_t>(kind);
  return index < kBalancerNames.size() ? kBalancerNames[index] : "unknown";
}

std::string_view tls_policy_name(TlsPolicy policy) {
  const auto index = static_cast<std::size_t>(policy);
  return index < kTlsPolicyNames.size() ? kTlsPolicyNames[index] : "unknown";
}

std::optional<BalancerKind> balancer_from_name(std::string_view name) {
  for (std::size_t i = 0; i < kBalancerNames.size(); ++i)
    if (kBalancerNames[i] == name) return static_cast<BalancerKind>(i);
  return std::nullopt;
}

}  // namespace ferry::config
