#include "config/diagnostics.h"

#include <algorithm>

#include "config/quote.h"

namespace ferry::config {

YAML::Mark Field::mark() const {
  if (value.IsDefined() && !value.IsNull()) return value.Mark();
  return key_mark;
}

Field Field::child(const YAML::Node& key, const YAML::Node& child_value) const {
  const std::string name = key.IsScalar() ? key.Scalar() : "?";
  return Field{path.empty() ? name : path + "." + name, child_value, key.Mark()};
}

Field Field::item(std::size_t index, const YAML::Node& item_value) const {
  // An empty item ("- " alone) has no mark worth showing; the list's own position is close.
  const YAML::Mark at = item_value.IsNull() ? mark() : item_value.Mark();
  return Field{path + "[" + std::to_string(index) + "]", item_value, at};
}

std::string describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Scalar:
      return quote(node.Scalar());
    case YAML::NodeType::Sequence:
      return node.size() == 0 ? "an empty list" : "a list";
    case YAML::NodeType::Map:
      return node.size() == 0 ? "an empty map" : "a map";
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      break;
  }
  return "nothing";
}

namespace {

LoadError positioned(const std::string& file, const YAML::Mark& at, const std::string& path,
                     const std::string& message) {
  LoadError e;
  e.file = file;
  // yaml-cpp counts from 0 and marks "no position" with -1; users count from 1.
  if (at.line >= 0) {
    e.line = at.line + 1;
    e.column = at.column + 1;
  }
  e.message = path.empty() ? message : path + ": " + message;
  return e;
}

// File order (line, then column), then the order they were found.
std::vector<LoadError> sorted(std::vector<LoadError> list) {
  std::stable_sort(list.begin(), list.end(), [](const LoadError& a, const LoadError& b) {
    return a.line != b.line ? a.line < b.line : a.column < b.column;
  });
  return list;
}

}  // namespace

void Diagnostics::error(const YAML::Mark& at, const std::string& path, const std::string& message) {
  errors_.push_back(positioned(file_, at, path, message));
}

void Diagnostics::warning(const YAML::Mark& at, const std::string& path, const std::string& message) {
  warnings_.push_back(positioned(file_, at, path, message));
}

void Diagnostics::expected(const Field& field, const std::string& what) {
  expected_sentence(field, "expected " + what);
}

void Diagnostics::expected_sentence(const Field& field, const std::string& sentence) {
  error(field.mark(), field.path, sentence + ", found " + describe(field.value));
}

std::vector<LoadError> Diagnostics::take() { return sorted(std::move(errors_)); }

std::vector<LoadError> Diagnostics::take_warnings() { return sorted(std::move(warnings_)); }

}  // namespace ferry::config
