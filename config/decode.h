// The schema walk: a parsed YAML document -> Config, section by section, every problem
// reported into Diagnostics. Internal to config/; callers use load.h.
#pragma once

#include <yaml-cpp/yaml.h>

#include <map>
#include <optional>
#include <string>

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
// `backends`: a non-empty list of "host:port" or {address, weight}, no address twice.
void decode_backends(const Field& field, Config& out, Diagnostics& diag);

}  // namespace ferry::config
