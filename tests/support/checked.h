// A response the test needs, without dereferencing an empty optional: a missing response (the
// connection closed, or the read timed out) is a test failure at the caller's line, and the
// test goes on with an empty Response (status 0, no headers) that fails its own checks too.
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <source_location>
#include <utility>

#include "support/client.h"

namespace ferry::testing {

inline Response checked(std::optional<Response> r,
                        const std::source_location where = std::source_location::current()) {
  if (!r) {
    ADD_FAILURE_AT(where.file_name(), static_cast<int>(where.line())) << "no response (closed or timed out)";
    return Response{};
  }
  return std::move(*r);
}

}  // namespace ferry::testing
