// Which routes can still match a request, judged by its host alone, for the routes whose host
// condition names only exact hosts (no `*` or `?`): one lookup per request instead of one
// comparison per such route. A table of many routes by host name (an ALB with a rule per
// customer domain) then costs about what a short one does; routes with wildcard hosts, or no
// host condition, are walked as before.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::balancer::routing {

class HostIndex {
 public:
  // Load time: route `route`'s host condition is exactly `hosts` (every one without wildcards;
  // an empty list adds nothing). Hosts are compared ignoring ASCII case and one trailing dot.
  void add_route(uint32_t route, const std::vector<std::string>& hosts);
  // Load time, after every add_route: `routes` routes in the table.
  void finish(std::size_t routes);

  bool empty() const { return entries_.empty(); }
  // Whether route `route`'s host condition is in the index (so a lookup can rule it out).
  bool indexed(uint32_t route) const {
    const std::size_t word = route / 64;
    return word < indexed_.size() && (indexed_[word] & (uint64_t{1} << (route % 64))) != 0;
  }
  // A request's view of the index: which indexed routes name `host`. Never allocates.
  class Lookup {
   public:
    // False when route `route` names exact hosts and `host` is none of them: it cannot match.
    bool may_match(uint32_t route) const {
      const std::size_t word = route / 64;
      const uint64_t bit = uint64_t{1} << (route % 64);
      if (word >= indexed_->size() || ((*indexed_)[word] & bit) == 0) return true;
      return named_ != nullptr && (named_[word] & bit) != 0;
    }

   private:
    friend class HostIndex;
    const std::vector<uint64_t>* indexed_ = nullptr;
    const uint64_t* named_ = nullptr;  // null: no indexed route names the host
  };
  // `host` as the conditions read it (port removed, one trailing dot removed).
  Lookup lookup(std::string_view host) const;

 private:
  struct Entry {
    std::string host;             // lowercase, no trailing dot
    std::vector<uint64_t> routes;  // bit per route naming it
  };
  static uint64_t hash_lowercase(std::string_view host);

  std::vector<Entry> entries_;
  // Open addressing over entries_: a slot holds an entry's index + 1 (0 = empty); the table is
  // at least twice the entries, so a lookup probes one or two slots.
  std::vector<uint32_t> slots_;
  std::vector<uint64_t> indexed_;  // bit per route whose host condition is indexed
  std::size_t words_ = 0;
};

}  // namespace ferry::balancer::routing
