// A response the test needs, without dereferencing an empty optional: a missing response (the
// connection closed, or the read timed out) is a test failure at the caller's line, and the
// test goes on with an empty Response (status 0, no headers) that fails its own checks too.
//
// A macro rather than a function taking std::source_location: clang 14 (the sanitizer and fuzz
// builds) has no std::source_location with Debian 12's libstdc++.
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <utility>

#include "support/client.h"

namespace ferry::testing {

inline Response checked_at(std::optional<Response> r, const char* file, int line) {
  if (!r) {
    ADD_FAILURE_AT(file, line) << "no response (closed or timed out)";
    return Response{};
  }
  return std::move(*r);
}

}  // namespace ferry::testing

#define checked(response) ::ferry::testing::checked_at((response), __FILE__, __LINE__)
