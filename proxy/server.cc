#include "proxy/server.h"

#include <unistd.h>

#include <thread>

#include "config/address.h"
#include "proxy/listen_socket.h"
#include "proxy/log.h"

namespace ferry::proxy {

namespace {

bool same_address(const sockaddr_storage& a, const sockaddr_storage& b) {
  return config::to_string(a) == config::to_string(b);
}

}  // namespace

bool resolve_backends(const config::Config& config, const balancer::Snapshot* previous,
                      balancer::Snapshot* out, std::string* error) {
  out->backends.clear();
  out->healthy.clear();
  for (const config::BackendConfig& bc : config.backends) {
    std::string why;
    const std::optional<config::HostPort> hp = config::parse_host_port(bc.address, &why);
    if (!hp) {
      *error = "backend " + bc.address + ": " + why;
      return false;
    }
    const std::vector<sockaddr_storage> addresses = config::resolve(*hp, &why);
    if (addresses.empty()) {
      *error = "backend " + bc.address + ": " + why;
      return false;
    }
    for (const sockaddr_storage& addr : addresses) {
      balancer::Backend b;
      b.name = bc.address;
      b.address = addr;
      b.weight = bc.weight;
      uint8_t healthy = 1;  // a backend starts healthy
      if (previous != nullptr) {
        for (std::size_t i = 0; i < previous->size(); ++i) {
          const balancer::Backend& old = previous->backends[i];
          if (old.name == b.name && same_address(old.address, addr)) {
            b.load = old.load;
            healthy = previous->healthy[i];
            break;
          }
        }
      }
      out->backends.push_back(std::move(b));
      out->healthy.push_back(healthy);
    }
  }
  out->fail_open = config.health_check.fail_open;
  return true;
}

Server::Server(config::Config config) : config_(std::move(config)) {
  shared_.publisher = &publisher_;
}

Server::~Server() {
  drain();
  wait();
}

bool Server::start(std::string* error) {
  balancer::Snapshot first;
  if (!resolve_backends(config_, nullptr, &first, error)) return false;
  first.backend_set = ++backend_set_;
  publisher_.publish(std::move(first));

  unsigned workers = config_.workers;
  if (workers == 0) workers = std::max(1u, std::thread::hardware_concurrency());

  // fds[w] = the listening sockets of worker w, one per listen address.
  std::vector<std::vector<int>> fds(workers);
  auto close_all = [&fds] {
    for (auto& v : fds)
      for (int fd : v) ::close(fd);
  };
  for (const std::string& listen : config_.listen) {
    std::string why;
    const std::optional<config::HostPort> hp = config::parse_bind_address(listen, &why);
    std::vector<sockaddr_storage> addrs;
    if (hp) addrs = config::resolve(*hp, &why);
    if (addrs.empty()) {
      *error = "listen " + listen + ": " + why;
      close_all();
      return false;
    }
    uint16_t port = 0;
    std::vector<int> bound = bind_listeners(addrs.front(), workers, &port, &why);
    if (bound.empty()) {
      *error = "listen " + listen + ": " + why;
      close_all();
      return false;
    }
    for (unsigned w = 0; w < workers; ++w) fds[w].push_back(bound[w]);
    listen_ports_.push_back(port);
  }

  const Settings settings = Settings::from(config_);
  for (unsigned w = 0; w < workers; ++w) {
    workers_.push_back(std::make_unique<Worker>(w, shared_, settings, std::move(fds[w])));
  }
  for (auto& w : workers_) w->start();
  return true;
}

void Server::drain() {
  for (auto& w : workers_) w->drain();
}

unsigned Server::workers_serving() const {
  unsigned n = 0;
  for (const auto& w : workers_) n += w->requests_served() > 0 ? 1 : 0;
  return n;
}

uint64_t Server::requests_served() const {
  uint64_t n = 0;
  for (const auto& w : workers_) n += w->requests_served();
  return n;
}

void Server::wait() {
  for (auto& w : workers_) w->join();
}

}  // namespace ferry::proxy
