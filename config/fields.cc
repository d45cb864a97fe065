#include "config/fields.h"

#include <unordered_map>

#include "config/did_you_mean.h"
#include "config/duration.h"
#include "config/quote.h"

namespace ferry::config {

namespace {

std::string integer_range(uint64_t min, uint64_t max) {
  return "an integer from " + std::to_string(min) + " to " + std::to_string(max);
}

}  // namespace

std::optional<std::string> read_scalar(const Field& field, const std::string& what, Diagnostics& diag) {
  if (!field.value.IsScalar()) {
    diag.expected(field, what);
    return std::nullopt;
  }
  return field.value.Scalar();
}

std::optional<bool> read_bool(const Field& field, Diagnostics& diag) {
  const std::string expected = "true or false";
  const std::optional<std::string> text = read_scalar(field, expected, diag);
  if (!text) return std::nullopt;
  if (*text == "true") return true;
  if (*text == "false") return false;
  // yes/no/on/off are YAML 1.1 booleans that YAML 1.2 reads as strings; asking for true/false
  // keeps the file meaning the same thing to every tool that reads it.
  diag.expected(field, expected);
  return std::nullopt;
}

std::optional<uint64_t> read_integer(const Field& field, uint64_t min, uint64_t max, Diagnostics& diag) {
  const std::string expected = integer_range(min, max);
  const std::optional<std::string> text = read_scalar(field, expected, diag);
  if (!text) return std::nullopt;
  // parse_size without a suffix is exactly a plain decimal integer with an overflow check.
  const std::optional<uint64_t> value =
      text->find_first_not_of("0123456789") == std::string::npos ? parse_size(*text) : std::nullopt;
  if (!value || *value < min || *value > max) {
    diag.expected(field, expected);
    return std::nullopt;
  }
  return value;
}

std::optional<Duration> read_duration(const Field& field, Duration min, Duration max, Diagnostics& diag) {
  const std::string format = "a duration with a unit (250ms, 5s, 2m)";
  const std::optional<std::string> text = read_scalar(field, format, diag);
  if (!text) return std::nullopt;
  const std::optional<Duration> value = parse_duration(*text);
  if (!value) {
    diag.expected(field, format);
    return std::nullopt;
  }
  if (*value < min || *value > max) {
    const std::string low = min.count() == 0 ? "0" : format_duration(min);
    diag.expected(field, "a duration from " + low + " to " + format_duration(max));
    return std::nullopt;
  }
  return value;
}

std::optional<uint64_t> read_size(const Field& field, uint64_t min, uint64_t max, Diagnostics& diag) {
  const std::string format = "a size in bytes or with a KiB, MiB or GiB suffix (512, 64KiB, 1MiB)";
  const std::optional<std::string> text = read_scalar(field, format, diag);
  if (!text) return std::nullopt;
  const std::optional<uint64_t> value = parse_size(*text);
  if (!value) {
    diag.expected(field, format);
    return std::nullopt;
  }
  if (*value < min || *value > max) {
    diag.expected(field, "a size from " + format_size(min) + " to " + format_size(max));
    return std::nullopt;
  }
  return value;
}

std::optional<Field> find_child(const Field& map, std::string_view key) {
  if (!map.value.IsMap()) return std::nullopt;
  for (auto it = map.value.begin(); it != map.value.end(); ++it)
    if (it->first.IsScalar() && it->first.Scalar() == key) return map.child(it->first, it->second);
  return std::nullopt;
}

std::vector<NamedEntry> named_entries(const Field& map, const std::string& what, Diagnostics& diag) {
  std::vector<NamedEntry> entries;
  if (!map.value.IsDefined() || map.value.IsNull()) return entries;
  if (!map.value.IsMap()) {
    diag.expected(map, what);
    return entries;
  }
  std::unordered_map<std::string, YAML::Mark> seen;
  for (auto it = map.value.begin(); it != map.value.end(); ++it) {
    // it-> hands out a temporary proxy: copy the nodes (cheap handles) rather than refer into it.
    const YAML::Node key = it->first;
    const YAML::Node value = it->second;
    if (!key.IsScalar()) {
      Field where{map.path, key, key.Mark()};
      diag.expected(where, "a key name");
      continue;
    }
    Field field = map.child(key, value);
    // yaml-cpp keeps both entries of a repeated key and lookups see only the first, so the
    // second would be silently ignored; say so instead.
    if (auto [first, inserted] = seen.emplace(key.Scalar(), key.Mark()); !inserted) {
      diag.error(key.Mark(), field.path,
                 "duplicate key, first given at line " + std::to_string(first->second.line + 1));
      continue;
    }
    entries.push_back(NamedEntry{key.Scalar(), std::move(field)});
  }
  return entries;
}

std::vector<Entry> known_entries(const Field& map, std::span<const std::string_view> names,
                                 Diagnostics& diag) {
  std::vector<Entry> entries;
  const std::string what = map.path.empty() ? "a map of settings at the top level" : "a map of settings";
  for (NamedEntry& named : named_entries(map, what, diag)) {
    std::size_t index = 0;
    while (index < names.size() && names[index] != named.name) ++index;
    if (index == names.size()) {
      std::string message = "unknown key";
      if (const std::optional<std::string_view> hint = closest_name(named.name, names)) {
        message += "; did you mean " + quote(*hint) + "?";
      } else {
        message += "; expected one of ";
        for (std::size_t i = 0; i < names.size(); ++i) message += (i ? ", " : "") + std::string(names[i]);
      }
      diag.error(named.field.key_mark, named.field.path, message);
      continue;
    }
    entries.push_back(Entry{index, std::move(named.field)});
  }
  return entries;
}

}  // namespace ferry::config
