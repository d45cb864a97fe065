#include "balancer/routing/wildcard.h"

namespace ferry::balancer::routing {

namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool is_escapable(char c) { return c == '*' || c == '?' || c == '\\'; }

}  // namespace

Wildcard::Wildcard(std::string_view pattern, CaseRule case_rule) : case_rule_(case_rule) {
  std::vector<Run> runs;
  Run current;
  std::vector<uint8_t> any_byte;
  bool has_any_byte = false;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (c == '*') {
      exact_ = false;
      has_star_ = true;
      runs.push_back(current);
      current = Run{static_cast<uint32_t>(literal_.size()), 0};
      continue;
    }
    const bool wildcard_byte = c == '?';
    if (wildcard_byte) {
      exact_ = false;
      has_any_byte = true;
    }
    if (c == '\\' && i + 1 < pattern.size() && is_escapable(pattern[i + 1])) c = pattern[++i];
    literal_.push_back(case_rule_ == CaseRule::Insensitive ? lower(c) : c);
    any_byte.push_back(wildcard_byte ? 1 : 0);
    ++current.size;
  }
  runs.push_back(current);
  if (has_any_byte) any_byte_ = std::move(any_byte);

  head_ = runs.front();
  fixed_bytes_ = head_.size;
  if (!has_star_) return;
  tail_ = runs.back();
  fixed_bytes_ += tail_.size;
  for (std::size_t i = 1; i + 1 < runs.size(); ++i) {
    if (runs[i].size == 0) continue;  // "**" is one star
    middle_.push_back(runs[i]);
    fixed_bytes_ += runs[i].size;
  }
}

bool Wildcard::run_fits_at(Run run, std::string_view text, std::size_t at) const {
  const char* literal = literal_.data() + run.offset;
  const uint8_t* any = any_byte_.empty() ? nullptr : any_byte_.data() + run.offset;
  const bool fold = case_rule_ == CaseRule::Insensitive;
  for (uint32_t i = 0; i < run.size; ++i) {
    if (any && any[i]) continue;
    const char byte = text[at + i];
    if (literal[i] != (fold ? lower(byte) : byte)) return false;
  }
  return true;
}

bool Wildcard::matches(std::string_view text) const {
  if (exact_ && case_rule_ == CaseRule::Sensitive) return text == literal_;
  if (text.size() < fixed_bytes_) return false;
  if (!has_star_) return text.size() == head_.size && run_fits_at(head_, text, 0);

  // fixed_bytes_ <= text.size(), so head and tail cannot overlap.
  const std::size_t tail_at = text.size() - tail_.size;
  if (!run_fits_at(head_, text, 0) || !run_fits_at(tail_, text, tail_at)) return false;
  std::size_t at = head_.size;
  for (const Run run : middle_) {
    // The leftmost fit leaves the most room for the runs after it, so no other place need be
    // tried: this is what keeps `*a*a*a*b` at one scan per run instead of exponential.
    while (true) {
      if (at + run.size > tail_at) return false;
      if (run_fits_at(run, text, at)) break;
      ++at;
    }
    at += run.size;
  }
  return true;
}

}  // namespace ferry::balancer::routing
