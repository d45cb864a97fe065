// YAML -> Config, collecting every error (not just the first) as FILE:LINE:COL: message.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"

namespace ferry::config {

struct LoadError {
  std::string file;
  int line = 0;    // 1-based; 0 when the error has no position (file unreadable)
  int column = 0;  // 1-based
  std::string message;

  std::string to_string() const;  // "FILE:LINE:COL: message"
};

struct LoadResult {
  Config config;  // partly filled when !ok(): use it only when ok()
  std::vector<LoadError> errors;
  // Things that load but can't be meant (a route after a catch-all can never match). They
  // never fail the load; `ferry --check` prints them, a start or reload logs them.
  std::vector<LoadError> warnings;
  bool ok() const { return errors.empty(); }
};

// Reads and validates `path`. Never throws.
LoadResult load_file(const std::string& path);

// Same as load_file for text already in memory; `file_name` is used in messages.
LoadResult load_text(std::string_view yaml, const std::string& file_name);

}  // namespace ferry::config
