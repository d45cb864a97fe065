#include "balancer/routing/host_index.h"

#include <algorithm>

namespace ferry::balancer::routing {

namespace {

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string_view without_trailing_dot(std::string_view host) {
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  return host;
}

// Whether `stored` (lowercase) is `host` ignoring the host's case.
bool same_ignoring_case(std::string_view stored, std::string_view host) {
  if (stored.size() != host.size()) return false;
  for (std::size_t i = 0; i < host.size(); ++i)
    if (stored[i] != lower(host[i])) return false;
  return true;
}

}  // namespace

void HostIndex::add_route(uint32_t route, const std::vector<std::string>& hosts) {
  if (hosts.empty()) return;
  for (const std::string& host : hosts)
    if (host.find_first_of("*?\\") != std::string::npos) return;  // a pattern: walked as before
  if (indexed_.size() <= route / 64) indexed_.resize(route / 64 + 1, 0);
  indexed_[route / 64] |= uint64_t{1} << (route % 64);
  for (const std::string& host : hosts) {
    std::string key(without_trailing_dot(host));
    for (char& c : key) c = lower(c);
    auto it = std::find_if(entries_.begin(), entries_.end(), [&](const Entry& e) { return e.host == key; });
    if (it == entries_.end()) it = entries_.insert(entries_.end(), Entry{std::move(key), {}});
    if (it->routes.size() <= route / 64) it->routes.resize(route / 64 + 1, 0);
    it->routes[route / 64] |= uint64_t{1} << (route % 64);
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

void HostIndex::finish(std::size_t routes) {
  words_ = (routes + 63) / 64;
  indexed_.resize(words_, 0);
  for (Entry& e : entries_) e.routes.resize(words_, 0);
  std::size_t size = 4;
  while (size < entries_.size() * 2) size *= 2;
  slots_.assign(size, 0);
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    std::size_t slot = hash_lowercase(entries_[i].host) & (size - 1);
    while (slots_[slot] != 0) slot = (slot + 1) & (size - 1);
    slots_[slot] = static_cast<uint32_t>(i + 1);
  }
}

HostIndex::Lookup HostIndex::lookup(std::string_view host) const {
  Lookup out;
  out.indexed_ = &indexed_;
  if (slots_.empty()) return out;
  host = without_trailing_dot(host);
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t slot = hash_lowercase(host) & mask; slots_[slot] != 0; slot = (slot + 1) & mask) {
    const Entry& e = entries_[slots_[slot] - 1];
    if (same_ignoring_case(e.host, host)) {
      out.named_ = e.routes.data();
      break;
    }
  }
  return out;
}

}  // namespace ferry::balancer::routing
