#include "balancer/routing/host_index.h"

#include <algorithm>

#include "balancer/request.h"

namespace ferry::balancer::routing {

namespace {

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string_view without_trailing_dot(std::string_view host) {
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  return host;
}

}  // namespace

void HostIndex::add_route(uint32_t route, const std::vector<std::string>& hosts, bool never) {
  if (indexed_.size() <= route) indexed_.resize(route + 1, 0);
  bool exact = !hosts.empty();
  for (const std::string& host : hosts) exact = exact && host.find_first_of("*?\\") == std::string::npos;
  if (never) {
    indexed_[route] = 2;  // on no list at all
    return;
  }
  if (!exact) return;  // a pattern, or no host condition: on every list
  indexed_[route] = 1;
  first_indexed_ = std::min(first_indexed_, route);
  for (const std::string& host : hosts) {
    std::string key(without_trailing_dot(host));
    for (char& c : key) c = lower(c);
    auto it = std::find_if(entries_.begin(), entries_.end(), [&](const Entry& e) { return e.host == key; });
    if (it == entries_.end()) it = entries_.insert(entries_.end(), Entry{std::move(key), {}, {}});
    if (it->routes.empty() || it->routes.back() != route) it->routes.push_back(route);
  }
}

uint64_t HostIndex::hash_lowercase(std::string_view host) {
  uint64_t h = 14695981039346656037ULL;  // FNV-1a: a few instructions a byte, no table
  for (char c : host) {
    h ^= static_cast<unsigned char>(lower(c));
    h *= 1099511628211ULL;
  }
  return h;
}

void HostIndex::finish() {
  if (entries_.empty()) return;
  for (uint32_t r = first_indexed_; r < indexed_.size(); ++r)
    if (indexed_[r] == 0) not_indexed_.push_back(r);
  for (Entry& e : entries_) {
    std::merge(e.routes.begin(), e.routes.end(), not_indexed_.begin(), not_indexed_.end(),
               std::back_inserter(e.candidates));
  }
  std::size_t size = 4;
  while (size < entries_.size() * 2) size *= 2;
  slots_.assign(size, 0);
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    std::size_t slot = hash_lowercase(entries_[i].host) & (size - 1);
    while (slots_[slot] != 0) slot = (slot + 1) & (size - 1);
    slots_[slot] = static_cast<uint32_t>(i + 1);
  }
}

const std::vector<uint32_t>& HostIndex::candidates(std::string_view host) const {
  host = without_trailing_dot(host);
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t slot = hash_lowercase(host) & mask; slots_[slot] != 0; slot = (slot + 1) & mask) {
    const Entry& e = entries_[slots_[slot] - 1];
    if (equals_ignore_case(e.host, host)) return e.candidates;
  }
  return not_indexed_;
}

}  // namespace ferry::balancer::routing
