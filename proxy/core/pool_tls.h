// HTTPS to backends: the client side of every pool with `tls:`, built from the configuration
// at start, at every reload and by --check (main thread: it reads files). One
// tls::ClientContext per distinct trust (verify, and the CA file or the system store), kept
// from the previous build while what it was made from is unchanged (the same settings and the
// same bytes in the CA file), so a reload that leaves a pool's TLS alone keeps its pooled
// connections and its resumable sessions. Building is all or nothing, like listener_tls.h.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "balancer/backend.h"
#include "config/config.h"
#include "proxy/core/settings.h"
#include "proxy/tls/client_context.h"

namespace ferry::proxy {

struct PoolTlsContexts {
  struct Pool {
    std::shared_ptr<const tls::ClientContext> context;  // null: plain HTTP
    std::string server_name;                            // as configured; "": each backend's host
    uint64_t id = 0;                                    // 0 for plain HTTP
  };
  // One per pool of config::pools_of(), in order. Empty on errors.
  std::vector<Pool> pools;
  // "FILE:LINE:COL: pools.api.tls: /etc/ferry/ca.pem: cannot read: ..."; none on success.
  std::vector<std::string> errors;

  bool ok() const { return errors.empty(); }
  // Sets each pool's tls, tls_server_name and tls_id in `routing` (made from the same config).
  void apply_to(Routing& routing) const;

  // What this build made or kept, for the next one to reuse: by what a context was made
  // from, and an id for each (trust, server name) pair.
  std::vector<std::pair<std::string, std::shared_ptr<const tls::ClientContext>>> contexts;
  std::vector<std::pair<std::string, uint64_t>> ids;
};

// Reads every TLS pool's CA file (or the system store's bundle, to tell whether it changed).
// `previous`: the build in use, whose contexts and ids are reused where nothing changed.
PoolTlsContexts build_pool_tls(const config::Config& config, const PoolTlsContexts* previous);

// The name `backend` of `pool` must carry in its certificate, also sent as SNI: the pool's
// server_name, else the backend's host (an IP address is checked against the certificate's
// IP names and not sent, see tls::Session::client). Views into `pool` or `backend`.
inline std::string_view backend_server_name(const PoolSettings& pool, const balancer::Backend& backend) {
  return pool.tls_server_name.empty() ? backend.host() : std::string_view(pool.tls_server_name);
}

// Where a worker's tls::ClientSessionCache keeps the latest session with `backend` under
// `pool`'s TLS settings. The id is part of it: a session verified under one trust or name
// must never be resumed under another (resumption skips the certificate check).
std::string backend_session_key(const PoolSettings& pool, const balancer::Backend& backend);

}  // namespace ferry::proxy
