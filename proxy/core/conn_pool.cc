#include "proxy/core/conn_pool.h"

#include <algorithm>

namespace ferry::proxy {

UpstreamConn* ConnPool::take(Key key) {
  auto it = idle_.find(key);
  if (it == idle_.end() || it->second.empty()) return nullptr;
  UpstreamConn* c = it->second.back();
  it->second.pop_back();
  return c;
}

void ConnPool::put(Key key, UpstreamConn* conn) { idle_[key].push_back(conn); }

void ConnPool::remove(Key key, UpstreamConn* conn) {
  auto it = idle_.find(key);
  if (it == idle_.end()) return;
  auto& v = it->second;
  v.erase(std::remove(v.begin(), v.end(), conn), v.end());
}

std::size_t ConnPool::idle_count() const {
  std::size_t n = 0;
  for (const auto& [key, v] : idle_) n += v.size();
  return n;
}

std::vector<UpstreamConn*> ConnPool::take_all() {
  std::vector<UpstreamConn*> all;
  for (auto& [key, v] : idle_) {
    all.insert(all.end(), v.begin(), v.end());
    v.clear();
  }
  return all;
}

}  // namespace ferry::proxy
