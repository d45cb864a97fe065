// Text that is data (backend names, health-check messages, file names) made safe to place in
// HTML, in element content and in quoted attribute values alike.
#pragma once

#include <string>
#include <string_view>

namespace ferry::proxy {

// Replaces & < > " ' with character references; every other byte passes through unchanged.
std::string html_escape(std::string_view text);

}  // namespace ferry::proxy
