// A parsed head's fields as balancing and routing see them (balancer::RequestHeaders), so the
// proxy runs the same pick_key() and routing code the balancer's tests run.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

#include "balancer/request.h"
#include "proxy/http1/http_parser.h"

namespace ferry::proxy {

class HeadHeaders final : public balancer::RequestHeaders {
 public:
  explicit HeadHeaders(const MessageHead& head) : head_(head) {}

  std::optional<std::string_view> nth(std::string_view name, std::size_t n) const override {
    for (const HeaderField& f : head_.fields)
      if (balancer::equals_ignore_case(head_.name(f), name) && n-- == 0) return head_.value(f);
    return std::nullopt;
  }

 private:
  const MessageHead& head_;
};

}  // namespace ferry::proxy
