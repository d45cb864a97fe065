// "did you mean X?" for misspelt keys and names.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string_view>

namespace ferry::config {

// Optimal-string-alignment distance: insertions, deletions, substitutions and swaps of two
// neighbouring characters each cost 1 ("conect" -> "connect" is 1, "wieght" -> "weight" is 1).
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `word`, if it is close enough to be a plausible typo; nullopt when
// nothing is (a suggestion that makes no sense is worse than none).
std::optional<std::string_view> closest_name(std::string_view word,
                                             std::span<const std::string_view> candidates);

}  // namespace ferry::config
