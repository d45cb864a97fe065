// The whole proxy in one object: resolves the configuration into a snapshot, binds the
// listeners, and runs the workers (plus the health checker and the admin listener). main()
// and the integration tests drive it the same way.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "balancer/snapshot.h"
#include "config/config.h"
#include "health/publisher.h"
#include "proxy/worker.h"

namespace ferry::proxy {

// Builds the backend part of a snapshot from the configuration, resolving names. Backends that
// keep their name and address keep their Load (and so their pooled connections) from `previous`.
bool resolve_backends(const config::Config& config, const balancer::Snapshot* previous,
                      balancer::Snapshot* out, std::string* error);

class Server {
 public:
  explicit Server(config::Config config);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and starts everything. False (with *error) if anything could not start; nothing is
  // left running then.
  bool start(std::string* error);
  // Any thread: stop accepting, let in-flight requests finish within shutdown_grace. Idempotent.
  void drain();
  // Blocks until every worker has finished.
  void wait();

  // Bound ports, in the order of config.listen (useful with port 0).
  const std::vector<uint16_t>& listen_ports() const { return listen_ports_; }
  const config::Config& config() const { return config_; }
  health::Publisher& publisher() { return publisher_; }
  unsigned worker_count() const { return static_cast<unsigned>(workers_.size()); }
  // Workers that have served at least one request (any thread).
  unsigned workers_serving() const;
  uint64_t requests_served() const;

 private:
  config::Config config_;
  health::Publisher publisher_;
  WorkerShared shared_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<uint16_t> listen_ports_;
  uint64_t backend_set_ = 0;
};

}  // namespace ferry::proxy
