// The schema walk: a parsed YAML document -> Config, section by section, every problem
// reported into Diagnostics. Internal to config/; callers use load.h.
#pragma once

#include <yaml-cpp/yaml.h>

#include "config/config.h"
#include "config/diagnostics.h"

namespace ferry::config {

// Fills `out` (which starts from the struct defaults) from the document's top level `root`.
// On errors `out` is partly filled and must not be used.
void decode_config(const YAML::Node& root, Config& out, Diagnostics& diag);

// `listen`: one address or a list of them, no repeats.
void decode_listen(const Field& field, Config& out, Diagnostics& diag);
// `admin`: an address, or "off"/"" for none.
void decode_admin(const Field& field, Config& out, Diagnostics& diag);
// `backends`: a non-empty list of "host:port" or {address, weight}, no address twice.
void decode_backends(const Field& field, Config& out, Diagnostics& diag);

}  // namespace ferry::config
