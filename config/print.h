// --print-config: the effective configuration, defaults filled in, as YAML that load_text accepts.
#pragma once

#include <string>

#include "config/config.h"

namespace ferry::config {

std::string print(const Config& config);

}  // namespace ferry::config
