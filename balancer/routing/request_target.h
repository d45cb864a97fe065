// The pieces of a request-target and a Host header that routing reads, as views into the
// bytes the client sent: no decoding, no normalisation, no allocation. Paths and queries are
// compared raw, as an ALB compares them: "/%61pi" is not "/api", and "/a/../b" is not "/b".
#pragma once

#include <string_view>

namespace ferry::balancer::routing {

struct TargetParts {
  // An absolute-form target ("http://h:81/p?q", RFC 9112 §3.2.2) splits into "http://h:81"
  // and "h:81"; both are empty for an origin-form target ("/p?q").
  std::string_view scheme_and_authority;
  std::string_view authority;
  // Up to the first '?' or '#': "/p". Empty when an absolute-form target has no path
  // ("http://h?q"); the asterisk-form "*" is its own path.
  std::string_view path;
  std::string_view query;  // between the '?' and a '#' or the end, without either
  // What follows the path, as sent ("?q", "?q#f" or ""), so a rewrite can put it back.
  std::string_view after_path;
};

TargetParts split_target(std::string_view target);

// The host of a Host header (or authority) without its port: "example.com:8080" is
// "example.com", "[::1]:80" is "[::1]" (an IPv6 literal keeps its brackets, as in a URL).
// A userinfo part ("user@host", which HTTP forbids but absolute-form targets may carry) is
// dropped too.
std::string_view host_without_port(std::string_view host);

// Walks a query ("a=1&b=2") pair by pair. Empty pieces ("&&", a leading or trailing '&')
// are skipped; a piece without '=' is a key with an empty value; a piece's first '=' ends its
// key, so "a=b=c" is key "a" with value "b=c". Nothing is decoded ('+' and "%20" stay).
class QueryPairs {
 public:
  explicit QueryPairs(std::string_view query) : rest_(query) {}

  // The next pair into *key and *value; false when there are no more.
  bool next(std::string_view* key, std::string_view* value);

 private:
  std::string_view rest_;
};

}  // namespace ferry::balancer::routing
