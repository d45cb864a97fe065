// YAML double-quoted strings, for messages ("found ...") and --print-config.
#pragma once

#include <string>
#include <string_view>

namespace ferry::config {

// `text` in double quotes with ", \ and control bytes escaped, so a message shows exactly what
// the file held and print() output parses back to the same bytes.
std::string quote(std::string_view text);

}  // namespace ferry::config
