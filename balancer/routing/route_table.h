// Which action serves a request: the listener rules of an ALB, or nginx's location blocks. The
// table is built once at load and reload from the configuration's `routes` (wildcards and
// CIDRs compiled then, no regex engine per request), and matching is a pure function of the
// request, so every rule is testable without a socket.
//
// Without `routes` the table holds one route, "default", that forwards every request to the
// only pool (index 0).
//
// How conditions read a request (ALB's semantics, CONTRACT.md "Pools and routes"; the choices
// the contract leaves open are marked *):
//   host      the Host header without its port ("[::1]:80" is "[::1]") and *without one
//             trailing dot ("example.com." is "example.com"), ASCII case-insensitive;
//             "*.example.com" asks for a host ending in ".example.com", so "example.com"
//             itself never matches it. *An absolute-form target ("GET http://h/p", RFC 9112 §3.2.2) is
//             read for both: its authority is the host and its path is the path. *With no
//             Host at all the host is empty, which only "*" matches.
//   path      the target up to '?' or '#', case-sensitive, *raw: no percent-decoding or dot
//             segment removal, so "/%61pi" is not "/api" (a client can spell a path to miss a
//             rule, so a route alone is no access control).
//             "OPTIONS *" has the path "*".
//   method    exact, case-sensitive.
//   header    every pair must hold; the name ignores case; the value is a case-insensitive
//             pattern against each value sent under that name, trimmed of spaces and tabs, and
//             holds when any one fits (a comma-joined value is one value). An absent header
//             never holds, even for "*".
//   query     every pair must hold; key and value are case-insensitive patterns; "a=1&b=2"
//             splits at '&' then the first '='; "a" and "a=" are both key "a" with value "";
//             empty pieces ("&&") are skipped; a repeated key holds when any occurrence fits;
//             *nothing is percent-decoded ("%20" and '+' stay as sent); *an empty key matches
//             any key (ALB's value-only pair).
//   source    any CIDR holds for the TCP peer (IPv4-mapped IPv6 peers match IPv4 CIDRs);
//             an unknown (null) peer never holds.
//   listener  any of the listener indices.
// Patterns: `*` any run of bytes, `?` one byte, *`\*` `\?` `\\` literal (wildcard.h).
// *A condition whose alternatives all fail to compile (a listener not in `listen`, a CIDR that
// does not parse; validation rejects both) makes its route match nothing, never everything.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "balancer/request.h"
#include "balancer/routing/host_index.h"
#include "config/config.h"

namespace ferry::balancer::routing {

enum class Action : uint8_t { Forward, Redirect, Respond };

// One pool of a forward action and its share.
struct PoolShare {
  uint32_t pool = 0;    // index into config::pools_of(config)
  uint32_t weight = 1;  // > 0 (pools of weight 0 are left out of the table)
};

struct CompiledMatch;  // the conditions, compiled (route_table.cc)

struct Route {
  std::string name;    // for metrics and the access log
  uint32_t index = 0;  // position in the table
  Action action = Action::Forward;
  // Forward: the pools and their weights; `sequence` spreads them smoothly (90/10 is nine of one
  // and one of the other in every ten, interleaved), so a per-worker counter splits exactly.
  // A forward action left with no pool of weight above 0 becomes Respond 503 (no pool may take
  // the request, and 503 says so), so a Forward route always has a sequence.
  std::vector<PoolShare> pools;
  std::vector<uint32_t> sequence;  // pool indices; choose_pool() walks it
  std::string strip_prefix;
  // Redirect (status 301/302/307/308, `location` a template) or Respond (status, type, body).
  uint32_t status = 0;
  std::string location;
  std::string content_type;
  std::string body;
  std::shared_ptr<const CompiledMatch> match;  // null: matches everything
  // Per client address, on the requests this route takes (rate 0: none). The proxy keeps the
  // buckets; the table only says which limit a route has.
  config::RateLimit rate_limit;
};

class RouteTable {
 public:
  // The table `config` describes. `config` has passed validation (every pool a route names
  // exists, every listener too).
  static RouteTable from(const config::Config& config);

  // The first route whose conditions all hold for `request`, or nullptr when none does (the
  // proxy answers 404). Runs on a worker's loop for every request: never allocates or blocks.
  const Route* match(const Request& request) const;

  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
  HostIndex hosts_;  // skips the routes whose exact host names are not the request's
};

// The pool of forward route `route` for the request numbered `counter` on this worker.
uint32_t choose_pool(const Route& route, uint64_t counter);

// What a redirect's placeholders stand for: #{protocol} #{host} #{port} #{path} #{query}.
struct RedirectParts {
  std::string_view protocol;  // "http" or "https"
  std::string_view host;      // as the client sent it, without a port
  std::string_view port;      // the port the request came in on
  std::string_view path;      // without its leading '/'
  std::string_view query;     // without the '?'
};

// Appends `location` with its placeholders filled in to *out. A '?' left with an empty query
// is dropped: the first '?' of the result goes when nothing follows it or a fragment '#' does
// ("https://h/#{path}?#{query}" with no query is "https://h/p"). Only the '?' goes: a template
// with more after the query ("?#{query}&src=x") keeps what it wrote ("?&src=x"). Unknown #{...}
// stay as written (validation rejects them). Values are inserted as given, not encoded.
void expand_location(std::string_view location, const RedirectParts& parts, std::string* out);

// `target` (path and query) with `prefix` removed from the front of its path: "/api/users?x"
// with "/api" is "/users?x"; a path that becomes empty becomes "/" ("/api?x" is "/?x").
// Appends to *out. The prefix is removed only at a segment boundary, where what is left is
// empty or starts with '/': "/apiary" keeps its path with "/api" (nginx's location semantics,
// not a byte prefix). A trailing '/' of `prefix` is ignored ("/api/" strips as "/api"), and an
// empty prefix or "/" strips nothing. Compared raw and case-sensitively, like `path`. A path
// that does not start with `prefix` is appended unchanged; an absolute-form target keeps its
// "http://host" and has only its path rewritten.
void strip_path_prefix(std::string_view target, std::string_view prefix, std::string* out);

}  // namespace ferry::balancer::routing
