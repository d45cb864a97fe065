// A route's `match:` block compiled for the request path: wildcards split into runs, CIDRs
// parsed, listener addresses turned into indices. Built at load; read by every worker.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "balancer/request.h"
#include "balancer/routing/cidr.h"
#include "balancer/routing/wildcard.h"
#include "config/config.h"

namespace ferry::balancer::routing {

// The request as conditions read it, worked out once per request rather than once per route.
struct MatchInput {
  const Request& request;
  std::string_view host;   // without port and without one trailing dot
  std::string_view path;   // without query; "/" for an absolute-form target without a path
  std::string_view query;  // without the '?'
};

// `request` in the form conditions read. Absolute-form targets (RFC 9112 §3.2.2) give both
// host and path: their authority is the host, whatever the Host header says.
MatchInput match_input_of(const Request& request);

struct HeaderCondition {
  std::string name;  // compared ignoring ASCII case
  Wildcard value;    // case-insensitive; against each value of `name`, trimmed of SP and HTAB
};

struct QueryCondition {
  std::optional<Wildcard> key;  // case-insensitive; none: any key (ALB's value-only pair)
  Wildcard value;               // case-insensitive
};

struct CompiledMatch {
  // Every condition given must hold. Lists of alternatives hold when any alternative does;
  // header and query hold when every one of their conditions does.
  std::vector<uint32_t> listeners;  // indices into config.listen
  std::vector<std::string> methods;
  std::vector<Wildcard> hosts;
  std::vector<Wildcard> paths;
  std::vector<Cidr> sources;
  std::vector<HeaderCondition> headers;
  std::vector<QueryCondition> queries;
  // A condition was given but none of its alternatives could be compiled (a listener not in
  // `listen`, a CIDR that does not parse): the route matches nothing rather than everything.
  bool never = false;

  // The block `match` compiled against `listen`, or nullopt when it gives no condition at all
  // (a route that matches every request). Load time only.
  static std::optional<CompiledMatch> compile(const config::RouteMatch& match,
                                              const std::vector<std::string>& listen);

  // Whether every condition holds. Any thread; never allocates.
  bool holds(const MatchInput& input) const;
};

}  // namespace ferry::balancer::routing
