#include "balancer/routing/host_index.h"

#include <algorithm>

namespace ferry::balancer::routing {

namespace {

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string_view without_trailing_dot(std::string_view host) {
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  return host;
}

// Orders a stored (lowercase) host against a request's host, ignoring the request's case.
int compare_ignoring_case(std::string_view stored, std::string_view host) {
  const std::size_t n = std::min(stored.size(), host.size());
  for (std::size_t i = 0; i < n; ++i) {
    const char a = stored[i];
    const char b = lower(host[i]);
    if (a != b) return static_cast<unsigned char>(a) < static_cast<unsigned char>(b) ? -1 : 1;
  }
  if (stored.size() == host.size()) return 0;
  return stored.size() < host.size() ? -1 : 1;
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

void HostIndex::finish(std::size_t routes) {
  words_ = (routes + 63) / 64;
  indexed_.resize(words_, 0);
  for (Entry& e : entries_) e.routes.resize(words_, 0);
  std::sort(entries_.begin(), entries_.end(), [](const Entry& a, const Entry& b) { return a.host < b.host; });
}

HostIndex::Lookup HostIndex::lookup(std::string_view host) const {
  Lookup out;
  out.indexed_ = &indexed_;
  host = without_trailing_dot(host);
  std::size_t lo = 0;
  std::size_t hi = entries_.size();
  while (lo < hi) {
    const std::size_t mid = lo + (hi - lo) / 2;
    const int order = compare_ignoring_case(entries_[mid].host, host);
    if (order == 0) {
      out.named_ = entries_[mid].routes.data();
      break;
    }
    if (order < 0) lo = mid + 1; else hi = mid;
  }
  return out;
}

}  // namespace ferry::balancer::routing
