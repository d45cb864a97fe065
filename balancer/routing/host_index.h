// Which routes can still match a request, judged by its host alone, for the routes whose host
// condition names only exact hosts (no `*` or `?`): one hash lookup per request gives the list
// of routes worth trying, instead of trying every route. A table of many routes by host name
// (an ALB with a rule per customer domain) then costs about what a short one does; routes with
// wildcard hosts, or no host condition, are on every list, so first-match order is kept.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::balancer::routing {

class HostIndex {
 public:
  // Load time, once per route in table order: route `route`'s host condition (empty: none).
  // Indexed when every host in it is exact. `never`: the route can match nothing at all.
  void add_route(uint32_t route, const std::vector<std::string>& hosts, bool never);
  // Load time, after every add_route.
  void finish();

  bool empty() const { return entries_.empty(); }
  // Routes before this one are tried in order without the index (a table that opens with
  // listener or path rules never pays for the lookup when one of them matches).
  uint32_t first_indexed() const { return first_indexed_; }
  // The routes from first_indexed() on that may match a request for `host` (port removed; case
  // and one trailing dot ignored), in table order. Never allocates.
  const std::vector<uint32_t>& candidates(std::string_view host) const;

 private:
  struct Entry {
    std::string host;               // lowercase, no trailing dot
    std::vector<uint32_t> routes;   // the indexed routes naming it
    std::vector<uint32_t> candidates;  // those and every route not indexed, in order
  };
  static uint64_t hash_lowercase(std::string_view host);

  std::vector<Entry> entries_;
  // Open addressing over entries_: a slot holds an entry's index + 1 (0 = empty); the table is
  // at least twice the entries, so a lookup probes one or two slots.
  std::vector<uint32_t> slots_;
  std::vector<uint32_t> not_indexed_;  // from first_indexed_ on: the list for any other host
  std::vector<uint8_t> indexed_;       // per route, while building
  uint32_t first_indexed_ = UINT32_MAX;
};

}  // namespace ferry::balancer::routing
