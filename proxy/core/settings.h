// The parts of the configuration the data path reads, in the units it uses. Each worker holds
// one by value (copied on reload), so reading a setting is a plain load.
#pragma once

#include <cstdint>

#include "balancer/pick_key.h"
#include "balancer/routing/route_table.h"
#include "config/config.h"

namespace ferry::proxy {

struct Settings {
  uint64_t connect_ms = 3000;
  uint64_t client_header_ms = 10000;
  uint64_t client_idle_ms = 60000;
  uint64_t backend_response_ms = 60000;
  uint64_t backend_idle_ms = 4000;
  uint64_t shutdown_grace_ms = 10000;
  uint32_t max_connections = 10000;
  uint64_t max_header_bytes = 32768;
  uint64_t max_body_bytes = 0;
  uint64_t request_buffer = 64 * 1024;
  uint64_t response_buffer = 256 * 1024;
  uint32_t retries = 1;
  config::BalancerKind balancer = config::BalancerKind::RoundRobin;
  bool health_checks = false;
  balancer::KeySpec hash_key;  // consistent_hash only
  balancer::routing::RouteTable routes;

  static Settings from(const config::Config& c) {
    Settings s;
    s.connect_ms = static_cast<uint64_t>(c.timeouts.connect.count());
    s.client_header_ms = static_cast<uint64_t>(c.timeouts.client_header.count());
    s.client_idle_ms = static_cast<uint64_t>(c.timeouts.client_idle.count());
    s.backend_response_ms = static_cast<uint64_t>(c.timeouts.backend_response.count());
    s.backend_idle_ms = static_cast<uint64_t>(c.timeouts.backend_idle.count());
    s.shutdown_grace_ms = static_cast<uint64_t>(c.timeouts.shutdown_grace.count());
    s.max_connections = c.limits.max_connections;
    s.max_header_bytes = c.limits.max_header_bytes;
    s.max_body_bytes = c.limits.max_body_bytes;
    s.request_buffer = c.buffers.request;
    s.response_buffer = c.buffers.response;
    s.retries = c.retries;
    s.balancer = c.balancer;
    s.health_checks = c.health_check.enabled;
    if (auto spec = balancer::parse_key_spec(c.hash_key, nullptr)) s.hash_key = *spec;
    s.routes = balancer::routing::RouteTable::from(c);
    return s;
  }
};

}  // namespace ferry::proxy
