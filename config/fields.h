// Typed readers for one YAML value, and the map walk that rejects unknown keys. Each reader
// returns nullopt after recording why in `diag`, so callers simply keep the default and go on:
// the load fails as a whole, but every other error still gets reported.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "config/diagnostics.h"

namespace ferry::config {

// Any scalar, as written. `what` completes "expected ..." when the value is a list or a map.
std::optional<std::string> read_scalar(const Field& field, const std::string& what, Diagnostics& diag);
std::optional<bool> read_bool(const Field& field, Diagnostics& diag);
// A decimal integer within [min, max].
std::optional<uint64_t> read_integer(const Field& field, uint64_t min, uint64_t max, Diagnostics& diag);
// A duration ("250ms", "5s", "2m", "1h", or "0") within [min, max].
std::optional<Duration> read_duration(const Field& field, Duration min, Duration max, Diagnostics& diag);
// A size (plain bytes or a KiB/MiB/GiB suffix) within [min, max].
std::optional<uint64_t> read_size(const Field& field, uint64_t min, uint64_t max, Diagnostics& diag);

// An entry of a map whose keys are names the file chooses (pools, header names).
struct NamedEntry {
  std::string name;
  Field field;  // its key_mark is where the name is
};

// The entries of `map`, in file order. Reports a value that is not a map ("expected `what`"),
// keys that are not plain strings and duplicate keys (those entries are left out). An empty
// value has no entries and no error: the caller decides whether that is fine.
std::vector<NamedEntry> named_entries(const Field& map, const std::string& what, Diagnostics& diag);

// An entry of a map whose key is one of the known names.
struct Entry {
  std::size_t index;  // into the known names
  Field field;
};

// The entries of `map` with known keys, in file order. Reports a value that is not a map, keys
// that are not plain names, duplicate keys and unknown keys (with a "did you mean"). An empty
// value ("timeouts:" alone) has no entries and is fine: every key keeps its default.
std::vector<Entry> known_entries(const Field& map, std::span<const std::string_view> names,
                                 Diagnostics& diag);

// The entry named `key` of a map field, if the map has it (the first, if repeated).
std::optional<Field> find_child(const Field& map, std::string_view key);

// One key of a section and what to do with its value.
template <typename T>
struct Rule {
  std::string_view key;
  void (*apply)(const Field& field, T& out, Diagnostics& diag);
};

template <typename T, std::size_t N>
void decode_map(const Field& map, const std::array<Rule<T>, N>& rules, T& out, Diagnostics& diag) {
  std::array<std::string_view, N> names;
  for (std::size_t i = 0; i < N; ++i) names[i] = rules[i].key;
  for (const Entry& entry : known_entries(map, names, diag)) rules[entry.index].apply(entry.field, out, diag);
}

// Stores a reader's result when it has one; a failed read leaves the default in place.
template <typename T, typename U>
void assign(T& target, const std::optional<U>& value) {
  if (value) target = static_cast<T>(*value);
}

// Rules for plain fields, named in a table as integer_rule<&Limits::max_connections, 1, 100>;
// the section type T is deduced from the table's function pointer type.
template <auto Member, uint64_t Min, uint64_t Max, typename T>
void integer_rule(const Field& field, T& out, Diagnostics& diag) {
  assign(out.*Member, read_integer(field, Min, Max, diag));
}

template <auto Member, uint64_t Min, uint64_t Max, typename T>
void size_rule(const Field& field, T& out, Diagnostics& diag) {
  assign(out.*Member, read_size(field, Min, Max, diag));
}

// Bounds in milliseconds: std::chrono::duration can't be a template argument.
template <auto Member, Duration::rep MinMs, Duration::rep MaxMs, typename T>
void duration_rule(const Field& field, T& out, Diagnostics& diag) {
  assign(out.*Member, read_duration(field, Duration{MinMs}, Duration{MaxMs}, diag));
}

template <auto Member, typename T>
void bool_rule(const Field& field, T& out, Diagnostics& diag) {
  assign(out.*Member, read_bool(field, diag));
}

}  // namespace ferry::config
