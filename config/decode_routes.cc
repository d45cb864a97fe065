// `routes`: which requests go where (an ALB's listener rules). Each route's conditions are in
// decode_route_match.cc and its rate_limit in decode_rate_limit.cc; here are its name, its one
// action, and the checks across routes.
#include <array>
#include <map>
#include <string>

#include "config/decode.h"
#include "config/did_you_mean.h"
#include "config/fields.h"
#include "config/location_template.h"
#include "config/quote.h"
#include "config/route_patterns.h"
#include "config/validate.h"

namespace ferry::config {

namespace {

constexpr uint64_t kMaxPoolWeight = 999;  // an ALB's target-group weights: 0-999
// ALB caps a fixed response at 1024 characters; ferry allows a small page's worth. The body is
// copied into every worker's route table and written from memory, so it stays small.
constexpr std::size_t kMaxBodyBytes = 4096;

struct RouteDraft {
  RouteConfig route;
  const std::vector<std::string>* pools = nullptr;   // the names a route may forward to
  const std::vector<std::string>* listen = nullptr;  // the listening addresses, as written
  std::optional<Field> action;                       // the first of forward, redirect and respond given
  std::optional<Field> strip_prefix;                 // checked against the action once every key is read
  bool named = false;
};

// The key a field was given under: "forward" for "routes[0].forward".
std::string key_of(const Field& f) { return f.path.substr(f.path.rfind('.') + 1); }

// Takes `f` as the route's action, or reports that it already has one.
bool claim_action(const Field& f, RouteAction action, RouteDraft& draft, Diagnostics& d) {
  if (draft.action) {
    d.error(f.key_mark, f.path,
            "a route has exactly one action, and this one already has " + key_of(*draft.action) + " (line " +
                std::to_string(draft.action->key_mark.line + 1) + "); keep one of them");
    return false;
  }
  draft.action = f;
  draft.route.action = action;
  return true;
}

// Whether `name` is a pool a route may forward to; reports it at `at` when not.
bool check_pool(const YAML::Mark& at, const std::string& path, const std::string& name,
                const std::vector<std::string>& pools, Diagnostics& d) {
  for (const std::string& pool : pools)
    if (pool == name) return true;
  std::string message = "unknown pool " + quote(name);
  const std::vector<std::string_view> candidates(pools.begin(), pools.end());
  if (pools.empty()) {
    message += "; this file has no pools";
  } else if (const std::optional<std::string_view> hint = closest_name(name, candidates)) {
    message += "; did you mean " + quote(*hint) + "?";
  } else {
    message += "; the pools are ";
    for (std::size_t i = 0; i < pools.size(); ++i) message += (i ? ", " : "") + quote(pools[i]);
  }
  d.error(at, path, message);
  return false;
}

void decode_weights(const Field& f, RouteDraft& draft, Diagnostics& d) {
  const std::string what = "a map of pool names to weights from 0 to 999, e.g. {web: 90, web-canary: 10}";
  if (!f.value.IsMap() || f.value.size() == 0) {
    d.expected(f, what);
    return;
  }
  const std::size_t errors_before = d.count();
  uint64_t total = 0;
  for (const NamedEntry& entry : named_entries(f, what, d)) {
    const bool known = check_pool(entry.field.key_mark, entry.field.path, entry.name, *draft.pools, d);
    const std::optional<uint64_t> weight = read_integer(entry.field, 0, kMaxPoolWeight, d);
    if (!known || !weight) continue;
    total += *weight;
    draft.route.forward.push_back(WeightedPool{entry.name, static_cast<uint32_t>(*weight)});
  }
  // Only when every weight was read: a zero sum from one bad entry would be a second, false alarm.
  if (d.count() == errors_before && total == 0)
    d.error(
        f.mark(), f.path,
        "the weights add up to 0, so no request could be forwarded; give at least one pool a weight above 0");
}

constexpr std::array<Rule<RouteDraft>, 1> kForwardRules{{{"weights", decode_weights}}};

void decode_forward(const Field& f, RouteDraft& draft, Diagnostics& d) {
  if (!claim_action(f, RouteAction::Forward, draft, d)) return;
  if (f.value.IsScalar()) {
    const std::string& name = f.value.Scalar();
    if (check_pool(f.mark(), f.path, name, *draft.pools, d)) draft.route.forward = {WeightedPool{name, 1}};
    return;
  }
  if (!f.value.IsMap()) {
    d.expected(f, "a pool name, or {weights: {POOL: WEIGHT, ...}}");
    return;
  }
  decode_map(f, kForwardRules, draft, d);
  if (!find_child(f, "weights"))
    d.error(f.mark(), f.path,
            "missing key \"weights\" ({weights: {POOL: WEIGHT, ...}}), or give one pool name");
}

// A three-digit status code that `allowed` accepts.
std::optional<uint32_t> read_status(const Field& f, const std::string& what, bool (*allowed)(unsigned),
                                    Diagnostics& d) {
  const std::optional<std::string> text = read_scalar(f, what, d);
  if (!text) return std::nullopt;
  unsigned code = 0;
  bool digits = text->size() == 3;
  for (char c : *text) {
    digits = digits && c >= '0' && c <= '9';
    code = code * 10 + static_cast<unsigned>(c - '0');
  }
  if (!digits || !allowed(code)) {
    d.expected(f, what);
    return std::nullopt;
  }
  return code;
}

// ALB's 301 and 302, and the two that keep the method and body (RFC 9110 15.4.8, 15.4.9).
bool is_redirect_status(unsigned code) { return code == 301 || code == 302 || code == 307 || code == 308; }

// ALB's 2xx, 4xx and 5xx: a 1xx is not a final answer, and a 3xx is what redirect is for.
bool is_respond_status(unsigned code) { return code >= 200 && code <= 599 && code / 100 != 3; }

constexpr std::array<Rule<RouteConfig>, 2> kRedirectRules{{
    {"location",
     [](const Field& f, RouteConfig& out, Diagnostics& d) {
       const std::optional<std::string> text = read_scalar(f, "a URL or path template", d);
       if (!text) return;
       const std::string problem = location_template_problem(*text);
       if (problem.empty()) {
         out.location = *text;
       } else if (problem.starts_with("expected")) {
         d.expected_sentence(f, problem);
       } else {
         d.error(f.mark(), f.path, problem);
       }
     }},
    {"status",
     [](const Field& f, RouteConfig& out, Diagnostics& d) {
       assign(out.status, read_status(f, "301, 302, 307 or 308", is_redirect_status, d));
     }},
}};

void decode_redirect(const Field& f, RouteDraft& draft, Diagnostics& d) {
  if (!claim_action(f, RouteAction::Redirect, draft, d)) return;
  if (!f.value.IsMap()) {
    d.expected(f, "a map {location: URL, status: 301}");
    return;
  }
  draft.route.status = 301;
  decode_map(f, kRedirectRules, draft.route, d);
  if (!find_child(f, "location"))
    d.error(f.mark(), f.path,
            "missing key \"location\" (where to send the client, e.g. \"https://#{host}/#{path}\")");
}

constexpr std::array<Rule<RouteConfig>, 3> kRespondRules{{
    {"status",
     [](const Field& f, RouteConfig& out, Diagnostics& d) {
       assign(out.status, read_status(f, "a status code from 200 to 299, 400 to 499 or 500 to 599",
                                      is_respond_status, d));
     }},
    {"content_type",
     [](const Field& f, RouteConfig& out, Diagnostics& d) {
       const std::string what = "a media type such as text/plain or \"text/html; charset=utf-8\"";
       const std::optional<std::string> text = read_scalar(f, what, d);
       if (!text) return;
       if (!is_content_type(*text)) {
         d.expected(f, what);
         return;
       }
       out.content_type = *text;
     }},
    {"body",
     [](const Field& f, RouteConfig& out, Diagnostics& d) {
       const std::optional<std::string> text = read_scalar(f, "a string", d);
       if (!text) return;
       if (text->size() > kMaxBodyBytes) {
         d.error(f.mark(), f.path,
                 "a body of " + std::to_string(text->size()) + " bytes; at most " +
                     std::to_string(kMaxBodyBytes) + " are allowed (forward to a backend for larger pages)");
         return;
       }
       out.body = *text;
     }},
}};

void decode_respond(const Field& f, RouteDraft& draft, Diagnostics& d) {
  if (!claim_action(f, RouteAction::Respond, draft, d)) return;
  if (!f.value.IsMap()) {
    d.expected(f, "a map {status: CODE, content_type: TYPE, body: TEXT}");
    return;
  }
  decode_map(f, kRespondRules, draft.route, d);
  if (!find_child(f, "status")) {
    d.error(f.mark(), f.path, "missing key \"status\" (the status code to answer with, e.g. 503)");
    return;
  }
  // RFC 9110 15.3.5, 15.3.6: these two never carry content.
  const std::optional<Field> body = find_child(f, "body");
  if (body && (draft.route.status == 204 || draft.route.status == 205) && !draft.route.body.empty())
    d.error(body->mark(), body->path,
            "a " + std::to_string(draft.route.status) +
                " response has no body; leave body out, or use status 200");
}

constexpr std::array<Rule<RouteDraft>, 7> kRouteRules{{
    {"name",
     [](const Field& f, RouteDraft& out, Diagnostics& d) {
       out.named = true;
       const std::string what = "a route name of 1 to 64 letters, digits, '-' or '_'";
       const std::optional<std::string> name = read_scalar(f, what, d);
       if (!name) return;
       if (!is_name(*name)) {
         d.expected(f, what);
         return;
       }
       out.route.name = *name;
     }},
    {"match", [](const Field& f, RouteDraft& out,
                 Diagnostics& d) { decode_route_match(f, *out.listen, out.route.match, d); }},
    {"forward", decode_forward},
    {"redirect", decode_redirect},
    {"respond", decode_respond},
    {"strip_prefix",
     [](const Field& f, RouteDraft& out, Diagnostics& d) {
       out.strip_prefix = f;
       const std::string what =
           "\"\" or a path prefix starting with \"/\", without '?' and not ending in \"/\" (\"/api\" turns "
           "\"/api/users\" into \"/users\")";
       const std::optional<std::string> prefix = read_scalar(f, what, d);
       if (!prefix) return;
       if (!is_strip_prefix(*prefix)) {
         d.expected(f, what);
         return;
       }
       out.route.strip_prefix = *prefix;
     }},
    {"rate_limit",
     [](const Field& f, RouteDraft& out, Diagnostics& d) { decode_rate_limit(f, out.route.rate_limit, d); }},
}};

bool matches_everything(const RouteMatch& m) {
  return m.host.empty() && m.path.empty() && m.method.empty() && m.header.empty() && m.query.empty() &&
         m.source.empty() && m.listener.empty();
}

}  // namespace

void decode_routes(const Field& field, const std::vector<std::string>& pools, Config& out,
                   Diagnostics& diag) {
  if (!field.value.IsSequence() || field.value.size() == 0) {
    diag.expected(field, "a list of at least one route ({match, forward | redirect | respond})");
    return;
  }
  std::map<std::string, std::pair<std::string, int>> names;             // name -> (path, line) of its route
  std::optional<std::pair<const RouteConfig*, std::string>> catch_all;  // the first, and its path
  std::vector<RouteConfig> routes;
  routes.reserve(field.value.size());  // catch_all points into it
  std::size_t index = 0;
  for (const YAML::Node& node : field.value) {
    const Field item = field.item(index++, node);
    if (!node.IsMap()) {
      diag.expected(item, "a map with match and one of forward, redirect or respond");
      continue;
    }
    RouteDraft draft;
    draft.pools = &pools;
    draft.listen = &out.listen;
    draft.route.line = item.mark().line + 1;
    draft.route.column = item.mark().column + 1;
    decode_map(item, kRouteRules, draft, diag);
    RouteConfig& route = draft.route;
    if (!draft.action)
      diag.error(item.mark(), item.path, "missing an action: give forward (a pool), redirect or respond");
    if (draft.strip_prefix && draft.action && route.action != RouteAction::Forward)
      diag.error(
          draft.strip_prefix->key_mark, draft.strip_prefix->path,
          "strip_prefix applies to forward only; remove it from this " + key_of(*draft.action) + " route");
    if (!draft.named) route.name = "route-" + std::to_string(index);
    if (!route.name.empty()) {
      const auto [first, inserted] = names.emplace(route.name, std::make_pair(item.path, route.line));
      if (!inserted) {
        const std::string where =
            first->second.first + " (line " + std::to_string(first->second.second) + ")";
        if (draft.named) {
          const Field name = *find_child(item, "name");
          diag.error(name.mark(), name.path,
                     quote(route.name) + " is already the name of " + where + "; route names must be unique");
        } else {
          diag.error(item.mark(), item.path,
                     "its default name " + quote(route.name) + " is already the name of " + where +
                         "; give this route a name");
        }
      }
    }
    if (catch_all) {
      diag.warning(item.mark(), item.path,
                   "can never match: " + catch_all->second + " (" + quote(catch_all->first->name) +
                       ", line " + std::to_string(catch_all->first->line) +
                       ") has no match conditions and takes every request first; move this route above it");
    }
    routes.push_back(std::move(route));
    if (!catch_all && matches_everything(routes.back().match)) catch_all.emplace(&routes.back(), item.path);
  }
  out.routes = std::move(routes);
}

}  // namespace ferry::config
