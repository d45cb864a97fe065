// The schema walk: a parsed YAML document -> Config, section by section, every problem
// reported into Diagnostics. Internal to config/; callers use load.h.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "config/diagnostics.h"

namespace ferry::config {

// Fills `out` (which starts from the struct defaults) from the document's top level `root`.
// On errors `out` is partly filled and must not be used.
void decode_config(const YAML::Node& root, Config& out, Diagnostics& diag);

// Where each address was first seen, keyed by its canonical form so "[::1]:80" and
// "[0::1]:80" count as the same one.
using SeenAddresses = std::map<std::string, YAML::Mark>;

// An address to listen on (port 0 allowed), not one already in `seen` (when given).
std::optional<std::string> read_bind_address(const Field& field, SeenAddresses* seen,
                                             Diagnostics& diag);

// `listen`: one address or a list of them, no repeats.
void decode_listen(const Field& field, Config& out, Diagnostics& diag);
// `listeners`: a list of {address, protocols, tls, hsts}; also sets `listen` to their addresses.
void decode_listeners(const Field& field, Config& out, Diagnostics& diag);
// `admin`: an address, or "off"/"" for none.
void decode_admin(const Field& field, Config& out, Diagnostics& diag);
// Once every key is read: an admin listener beyond loopback needs admin_token, since its POST
// controls take backends out of service.
void check_admin_exposure(const Field& file, const Config& config, Diagnostics& diag);

// The keys a pool shares with the top level (where they describe the pool "default"). Each
// fills the one field it is about, so a Config and a PoolConfig decode them alike.
// `backends`: a non-empty list of "host:port" or {address, weight}, no address twice.
void decode_backends(const Field& field, std::vector<BackendConfig>& out, Diagnostics& diag);
void decode_balancer(const Field& field, BalancerKind& out, Diagnostics& diag);
void decode_hash_key(const Field& field, std::string& out, Diagnostics& diag);
// The section's presence turns checks on; `timeout` must be shorter than `interval`.
void decode_health_check(const Field& field, HealthCheck& out, Diagnostics& diag);
void decode_retries(const Field& field, uint32_t& out, Diagnostics& diag);

// `limits.per_client` and `routes[].rate_limit`: {rate, burst}, each 0 to 1000000; a burst
// without a rate is an error.
void decode_rate_limit(const Field& field, RateLimit& out, Diagnostics& diag);

// `acme`: {directory, email, domains, storage, ca_bundle}.
void decode_acme(const Field& field, Config& out, Diagnostics& diag);
// Once every key is read: a TLS listener without certificates needs `acme`, and `acme` needs a
// plain listener to answer HTTP-01 challenges on.
void check_acme_layout(const Field& file, const Config& config, Diagnostics& diag);

// `pools`: a map of name -> {backends, balancer, hash_key, health_check, retries, slow_start,
// drain, stickiness, tls, protocol}, appended to out.pools in file order.
void decode_pools(const Field& field, Config& out, Diagnostics& diag);
// The rules between `pools` and the top level, once every key is read: a pool "default" under
// pools excludes the top-level backends, balancer, hash_key, health_check and retries (which
// are that pool too), those keys mean nothing without top-level backends, and more than one
// pool needs routes.
void check_pool_layout(const Field& file, const Config& config, Diagnostics& diag);

// `routes`: a list of {name, match, forward | redirect | respond, strip_prefix, rate_limit}, into
// out.routes.
// Runs after every other key is read: `pools` are the names a route may forward to, and
// out.listen holds the addresses `match.listener` may name.
void decode_routes(const Field& field, const std::vector<std::string>& pools, Config& out, Diagnostics& diag);
// A route's `match`; `listen` is the listening addresses as written.
void decode_route_match(const Field& field, const std::vector<std::string>& listen, RouteMatch& out,
                        Diagnostics& diag);

// A table entry that hands `Decode` the member `Member` of the table's type:
// {"balancer", member_rule<decode_balancer, &PoolConfig::balancer>}.
template <auto Decode, auto Member, typename T>
void member_rule(const Field& field, T& out, Diagnostics& diag) {
  Decode(field, out.*Member, diag);
}

}  // namespace ferry::config
