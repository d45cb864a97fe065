// strip_path_prefix(): a forward route's `strip_prefix` (declared in route_table.h).
#include "balancer/routing/request_target.h"
#include "balancer/routing/route_table.h"

namespace ferry::balancer::routing {

void strip_path_prefix(std::string_view target, std::string_view prefix, std::string* out) {
  while (!prefix.empty() && prefix.back() == '/') prefix.remove_suffix(1);
  const TargetParts parts = split_target(target);
  if (prefix.empty() || !parts.path.starts_with(prefix)) {
    out->append(target);
    return;
  }
  const std::string_view rest = parts.path.substr(prefix.size());
  // Only at a segment boundary: "/api" is not a prefix of "/apiary", whose backend would
  // otherwise see "ary".
  if (!rest.empty() && rest.front() != '/') {
    out->append(target);
    return;
  }
  out->append(parts.scheme_and_authority);
  if (rest.empty())
    out->push_back('/');
  else
    out->append(rest);
  out->append(parts.after_path);
}

}  // namespace ferry::balancer::routing
