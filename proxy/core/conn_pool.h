// Per-worker idle keep-alive connections to backends. Keyed by the backend's Load object, which
// stays the same across snapshots while the backend stays, so reloads keep warm connections.
// Most recently used first: the warmest connection is the least likely to be stale.
#pragma once

#include <cstddef>
#include <unordered_map>
#include <vector>

namespace ferry::proxy {

class UpstreamConn;

class ConnPool {
 public:
  using Key = const void*;

  // Returns an idle connection to `key`, removed from the pool, or nullptr.
  UpstreamConn* take(Key key);
  void put(Key key, UpstreamConn* conn);
  // Forgets `conn` (it closed while idle). Fine to call for a connection not in the pool.
  void remove(Key key, UpstreamConn* conn);
  std::size_t idle_count() const;
  // Every idle connection, for shutdown or a dropped backend.
  std::vector<UpstreamConn*> take_all();

 private:
  std::unordered_map<Key, std::vector<UpstreamConn*>> idle_;
};

}  // namespace ferry::proxy
