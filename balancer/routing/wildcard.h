// A route condition's pattern, as in an ALB rule: `*` stands for any run of bytes (the empty
// one too) and `?` for exactly one byte. `\*`, `\?` and `\\` stand for the byte itself (ALB's
// escape for query-string values, taken for every pattern so one rule covers all); a `\`
// before any other byte is an ordinary byte. Every other byte stands for itself.
//
// Compiled once at load into the literal runs between stars; matching then scans the text
// left to right, placing each run at its leftmost fit. That is exact for this pattern
// language (an earlier place for one run only leaves more room for the runs after it), costs
// at most text length times pattern length, never backtracks across stars, and never
// allocates.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::balancer::routing {

enum class CaseRule : uint8_t { Sensitive, Insensitive };  // Insensitive: ASCII letters only

class Wildcard {
 public:
  Wildcard(std::string_view pattern, CaseRule case_rule);

  // Whether all of `text` fits the pattern. Any thread; no allocation.
  bool matches(std::string_view text) const;

  // True when the pattern has neither `*` nor `?`: it matches one text only (or, ignoring
  // case, its case variants).
  bool is_exact() const { return exact_; }

 private:
  struct Run {  // a stretch of literal_ between stars; may hold `?`
    uint32_t offset = 0;
    uint32_t size = 0;
  };

  bool run_fits_at(Run run, std::string_view text, std::size_t at) const;

  // The pattern without its stars and escapes, lowered when case-insensitive so that only
  // the text is lowered per byte. A `?` keeps a placeholder byte here and a 1 in any_byte_.
  std::string literal_;
  std::vector<uint8_t> any_byte_;  // per byte of literal_; empty when the pattern has no `?`
  CaseRule case_rule_;
  bool exact_ = true;
  bool has_star_ = false;
  // With a star: head_ must open the text, tail_ must close it, and middle_ must occur in
  // between, in order, without overlapping. Without one, head_ is the whole pattern.
  Run head_;
  Run tail_;
  std::vector<Run> middle_;
  std::size_t fixed_bytes_ = 0;  // bytes the runs need: a shorter text never matches
};

}  // namespace ferry::balancer::routing
