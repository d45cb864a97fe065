// Where loading errors are collected: every error the loader finds, with its position, so a
// user fixes a file in one pass instead of one error per run. Warnings (a file that loads but
// holds something that can't be meant, such as a route no request can reach) are kept apart:
// they never fail a load.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <string>
#include <vector>

#include "config/load.h"

namespace ferry::config {

// One value in the file and how messages name it.
struct Field {
  std::string path;     // "timeouts.connect", "backends[1].weight"; "" for the whole file
  YAML::Node value;     // may be Null ("key:" with nothing after it)
  YAML::Mark key_mark;  // the key's position, or the item's for list items

  // Where to point at this value. An empty value has no position of its own (yaml-cpp marks it
  // at the next token, often on the next line), so it points at its key.
  YAML::Mark mark() const;

  // The child named `key` of this map field, as a Field; its value is undefined when absent.
  Field child(const YAML::Node& key, const YAML::Node& child_value) const;
  // The i-th item of this list field.
  Field item(std::size_t index, const YAML::Node& item_value) const;
};

// What a message says was found: "5s" quoted as written, or "a list", "a map", "nothing".
std::string describe(const YAML::Node& node);

class Diagnostics {
 public:
  explicit Diagnostics(std::string file) : file_(std::move(file)) {}

  // Records "PATH: message" at `at` (yaml-cpp's 0-based mark; a null mark gives line 0).
  void error(const YAML::Mark& at, const std::string& path, const std::string& message);
  // Records "PATH: expected WHAT, found ..." at the field.
  void expected(const Field& field, const std::string& what);
  // Records "PATH: SENTENCE, found ..." at the field, for a sentence that already starts with
  // "expected" (parse_host_port's errors).
  void expected_sentence(const Field& field, const std::string& sentence);

  // Records "PATH: message" at `at` as a warning.
  void warning(const YAML::Mark& at, const std::string& path, const std::string& message);

  std::size_t count() const { return errors_.size(); }  // errors only

  // The errors in file order (line, then column), then in the order they were found.
  std::vector<LoadError> take();
  // The warnings, in the same order.
  std::vector<LoadError> take_warnings();

 private:
  std::string file_;
  std::vector<LoadError> errors_;
  std::vector<LoadError> warnings_;
};

}  // namespace ferry::config
