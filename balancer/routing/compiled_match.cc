#include "balancer/routing/compiled_match.h"

#include <algorithm>

#include "balancer/routing/request_target.h"

namespace ferry::balancer::routing {

namespace {

// "example.com." names the same host as "example.com" (a fully qualified name); dropping the
// dot on both sides keeps a client from stepping around a host rule by adding one.
std::string_view without_trailing_dot(std::string_view host) {
  if (host.size() > 1 && host.back() == '.') host.remove_suffix(1);
  return host;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

template <class Alternative, class Test>
bool any_holds(const std::vector<Alternative>& alternatives, Test test) {
  return std::any_of(alternatives.begin(), alternatives.end(), test);
}

bool header_holds(const HeaderCondition& condition, const RequestHeaders& headers) {
  // A header sent several times holds when any one of its values fits.
  for (std::size_t n = 0;; ++n) {
    const std::optional<std::string_view> value = headers.nth(condition.name, n);
    if (!value) return false;
    if (condition.value.matches(trim(*value))) return true;
  }
}

bool query_holds(const QueryCondition& condition, std::string_view query) {
  QueryPairs pairs(query);
  std::string_view key;
  std::string_view value;
  while (pairs.next(&key, &value))
    if ((!condition.key || condition.key->matches(key)) && condition.value.matches(value))
      return true;
  return false;
}

}  // namespace

MatchInput match_input_of(const Request& request) {
  const TargetParts target = split_target(request.target);
  const std::string_view host =
      target.scheme_and_authority.empty() ? request.host : target.authority;
  std::string_view path = target.path;
  if (path.empty() && !target.scheme_and_authority.empty()) path = "/";
  return MatchInput{request, without_trailing_dot(host_without_port(host)), path, target.query};
}

std::optional<CompiledMatch> CompiledMatch::compile(const config::RouteMatch& match,
                                                    const std::vector<std::string>& listen) {
  if (match == config::RouteMatch{}) return std::nullopt;
  CompiledMatch compiled;

  for (const std::string& address : match.listener) {
    const auto found = std::find(listen.begin(), listen.end(), address);
    if (found != listen.end())
      compiled.listeners.push_back(static_cast<uint32_t>(found - listen.begin()));
  }
  for (const std::string& text : match.source)
    if (std::optional<Cidr> cidr = Cidr::parse(text)) compiled.sources.push_back(*cidr);
  // Dropping an alternative that cannot be compiled only narrows a condition; dropping all of
  // them would widen it to "not given".
  if ((!match.listener.empty() && compiled.listeners.empty()) ||
      (!match.source.empty() && compiled.sources.empty()))
    compiled.never = true;

  compiled.methods = match.method;
  for (const std::string& host : match.host)
    compiled.hosts.emplace_back(without_trailing_dot(host), CaseRule::Insensitive);
  for (const std::string& path : match.path)
    compiled.paths.emplace_back(path, CaseRule::Sensitive);
  for (const auto& [name, value] : match.header)
    compiled.headers.push_back(HeaderCondition{name, Wildcard(value, CaseRule::Insensitive)});
  for (const auto& [key, value] : match.query) {
    std::optional<Wildcard> key_pattern;
    if (!key.empty()) key_pattern.emplace(key, CaseRule::Insensitive);
    compiled.queries.push_back(
        QueryCondition{std::move(key_pattern), Wildcard(value, CaseRule::Insensitive)});
  }
  return compiled;
}

bool CompiledMatch::holds(const MatchInput& input) const {
  // Cheapest conditions first: most routes are told apart by listener, method, host or path.
  if (never) return false;
  const Request& request = input.request;
  if (!listeners.empty() &&
      !any_holds(listeners, [&](uint32_t index) { return index == request.listener; }))
    return false;
  if (!methods.empty() &&
      !any_holds(methods, [&](const std::string& method) { return method == request.method; }))
    return false;
  if (!hosts.empty() &&
      !any_holds(hosts, [&](const Wildcard& host) { return host.matches(input.host); }))
    return false;
  if (!paths.empty() &&
      !any_holds(paths, [&](const Wildcard& path) { return path.matches(input.path); }))
    return false;
  if (!sources.empty() &&
      (request.peer == nullptr ||
       !any_holds(sources, [&](const Cidr& cidr) { return cidr.contains(*request.peer); })))
    return false;
  for (const QueryCondition& condition : queries)
    if (!query_holds(condition, input.query)) return false;
  for (const HeaderCondition& condition : headers)
    if (!header_holds(condition, request.headers)) return false;
  return true;
}

}  // namespace ferry::balancer::routing
