// What balancing and routing see of one request: views into the proxy's parsed head, valid for
// the call, never copied. The proxy implements RequestHeaders over its parser's head; tests and
// benchmarks over a plain list, so both run the same pick_key() and routing code.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

namespace ferry::balancer {

class RequestHeaders {
 public:
  // The value of the n-th (from 0) header named `name`, ASCII case-insensitively, or nullopt
  // when there are fewer. Values are as the parser stored them (pick_key trims them).
  virtual std::optional<std::string_view> nth(std::string_view name, std::size_t n) const = 0;

 protected:
  ~RequestHeaders() = default;
};

struct Request {
  std::string_view method;     // "GET", "POST", ...
  std::string_view target;     // the request-target as sent: path and query
  std::string_view client_ip;  // the TCP peer's address, without the port
  const RequestHeaders& headers;
  std::string_view host = {};  // the Host header (or :authority) as sent, port included
  uint32_t listener = 0;       // the listener it came in on: index into config.listen
  const sockaddr_storage* peer = nullptr;  // the TCP peer (routing's `source`); null: unknown
};

// ASCII case-insensitive equality, for header names.
bool equals_ignore_case(std::string_view a, std::string_view b);

// RequestHeaders over a list of (name, value) pairs: for tests, benchmarks and tools.
class HeaderList final : public RequestHeaders {
 public:
  HeaderList(std::initializer_list<std::pair<std::string_view, std::string_view>> fields)
      : fields_(fields) {}
  std::optional<std::string_view> nth(std::string_view name, std::size_t n) const override {
    for (const auto& [field_name, value] : fields_)
      if (equals_ignore_case(field_name, name) && n-- == 0) return value;
    return std::nullopt;
  }

 private:
  std::vector<std::pair<std::string_view, std::string_view>> fields_;
};

}  // namespace ferry::balancer
