// ferry's own responses: short plain-text bodies, Connection: close where the connection
// cannot continue. Static strings, so sending one allocates nothing.
#pragma once

#include <string_view>

namespace ferry::proxy {

// `close` selects the variant with Connection: close.
std::string_view canned_response(int status, bool close);

inline constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

}  // namespace ferry::proxy
