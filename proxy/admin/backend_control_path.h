// The admin controls' paths: POST /pools/NAME/backends/ADDRESS/drain and .../ready, NAME and
// ADDRESS URL-encoded (an IPv6 backend is /pools/api/backends/%5B%3A%3A1%5D%3A8000/drain).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace ferry::proxy {

struct BackendControlPath {
  std::string pool;
  std::string address;  // as written in the file
  bool drain = false;   // else ready
};

// nullopt unless `path` is one of the two forms with a non-empty, well-encoded NAME and ADDRESS.
std::optional<BackendControlPath> parse_backend_control(std::string_view path);

// RFC 3986 percent-decoding; nullopt on a malformed escape or an encoded control byte.
std::optional<std::string> percent_decode(std::string_view text);

}  // namespace ferry::proxy
