// `match` of a route: the conditions a request must meet, each checked against an ALB's rules
// for the same condition (character sets, 128-character patterns).
#include <array>
#include <string>

#include "config/address.h"
#include "config/cidr.h"
#include "config/decode.h"
#include "config/fields.h"
#include "config/quote.h"
#include "config/route_patterns.h"
#include "config/validate.h"

namespace ferry::config {

namespace {

// The methods RFC 9110 and RFC 5789 define: a lowercase one is surely meant in capitals, since
// methods are matched case-sensitively and no client sends "get".
constexpr std::array<std::string_view, 9> kStandardMethods{"GET",     "HEAD",    "POST",  "PUT",  "DELETE",
                                                           "CONNECT", "OPTIONS", "TRACE", "PATCH"};

struct MatchDraft {
  RouteMatch match;
  const std::vector<std::string>* listen = nullptr;  // the listening addresses, as written
};

// The string at `f`, or each item of the non-empty list there.
std::vector<Field> one_or_more(const Field& f, const std::string& what, Diagnostics& d) {
  std::vector<Field> items;
  if (f.value.IsScalar()) {
    items.push_back(f);
  } else if (f.value.IsSequence() && f.value.size() > 0) {
    std::size_t index = 0;
    for (const YAML::Node& node : f.value) items.push_back(f.item(index++, node));
  } else {
    d.expected(f, what + ", or a list of at least one");
  }
  return items;
}

// Every string of `f` (one or a list) that `valid` accepts, into `out`.
void read_patterns(const Field& f, const std::string& what, bool (*valid)(std::string_view),
                   std::vector<std::string>& out, Diagnostics& d) {
  for (const Field& item : one_or_more(f, what, d)) {
    const std::optional<std::string> text = read_scalar(item, what, d);
    if (!text) continue;
    if (!valid(*text)) {
      d.expected(item, what);
      continue;
    }
    out.push_back(*text);
  }
}

std::string upper(std::string text) {
  for (char& c : text)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return text;
}

void decode_methods(const Field& f, MatchDraft& out, Diagnostics& d) {
  const std::string what = "an HTTP method (a token such as GET)";
  for (const Field& item : one_or_more(f, what, d)) {
    const std::optional<std::string> method = read_scalar(item, what, d);
    if (!method) continue;
    if (!is_token(*method)) {
      d.expected(item, what);
      continue;
    }
    bool lowercase_standard = false;
    for (std::string_view standard : kStandardMethods)
      lowercase_standard = lowercase_standard || (standard != *method && standard == upper(*method));
    if (lowercase_standard) {
      d.error(item.mark(), item.path,
              "methods are matched case-sensitively and clients send them in capitals; did you mean " +
                  quote(upper(*method)) + "?");
      continue;
    }
    out.match.method.push_back(*method);
  }
}

// NAME: VALUE conditions (header, query), every NAME accepted by `valid_name` and every VALUE by
// `valid_value`.
void read_pairs(const Field& f, const std::string& what, const std::string& name_what,
                bool (*valid_name)(std::string_view), const std::string& value_what,
                bool (*valid_value)(std::string_view), std::vector<std::pair<std::string, std::string>>& out,
                Diagnostics& d) {
  if (!f.value.IsMap() || f.value.size() == 0) {
    d.expected(f, what);
    return;
  }
  for (const NamedEntry& entry : named_entries(f, what, d)) {
    if (!valid_name(entry.name)) {
      d.error(entry.field.key_mark, f.path, "expected " + name_what + ", found " + quote(entry.name));
      continue;
    }
    const std::optional<std::string> value = read_scalar(entry.field, value_what, d);
    if (!value) continue;
    if (!valid_value(*value)) {
      d.expected(entry.field, value_what);
      continue;
    }
    out.emplace_back(entry.name, *value);
  }
}

// A header name to match: a token, and no '*' (a token may hold one, but here it would read as
// a wildcard, which ALB and ferry allow in values only).
bool is_header_name(std::string_view text) {
  return is_token(text) && text.find('*') == std::string_view::npos;
}

void decode_sources(const Field& f, MatchDraft& out, Diagnostics& d) {
  const std::string what = "an IP address or a CIDR range (10.0.0.0/8, 2001:db8::/32)";
  for (const Field& item : one_or_more(f, what, d)) {
    const std::optional<std::string> text = read_scalar(item, what, d);
    if (!text) continue;
    std::string problem;
    if (!parse_cidr(*text, &problem)) {
      // A malformed text gets "expected ..., found X"; bits past the prefix get their own message.
      if (problem.starts_with("expected"))
        d.expected_sentence(item, problem);
      else
        d.error(item.mark(), item.path, problem);
      continue;
    }
    out.match.source.push_back(*text);
  }
}

// The address of `listen` that `text` names: the same text, or the same address written another
// way ("[0::1]:80" for "[::1]:80"). It is returned as `listen` writes it, so the routing table can
// compare plain strings.
std::optional<std::string> listening_address(const std::string& text,
                                             const std::vector<std::string>& listen) {
  for (const std::string& address : listen)
    if (address == text) return address;
  std::string problem;
  const std::optional<HostPort> wanted = parse_bind_address(text, &problem);
  if (!wanted) return std::nullopt;
  for (const std::string& address : listen) {
    const std::optional<HostPort> candidate = parse_bind_address(address, &problem);
    if (candidate && to_string(*candidate) == to_string(*wanted)) return address;
  }
  return std::nullopt;
}

void decode_listeners_condition(const Field& f, MatchDraft& out, Diagnostics& d) {
  std::string known;
  for (const std::string& address : *out.listen) known += (known.empty() ? "" : ", ") + quote(address);
  const std::string what = "one of the listening addresses (" + known + ")";
  for (const Field& item : one_or_more(f, what, d)) {
    const std::optional<std::string> text = read_scalar(item, what, d);
    if (!text) continue;
    if (const std::optional<std::string> address = listening_address(*text, *out.listen))
      out.match.listener.push_back(*address);
    else
      d.expected(item, what);
  }
}

constexpr std::array<Rule<MatchDraft>, 7> kMatchRules{{
    {"host",
     [](const Field& f, MatchDraft& out, Diagnostics& d) {
       read_patterns(
           f,
           "a host name pattern: up to 128 letters, digits, '-', '.' and the wildcards '*' and '?', "
           "without a port",
           is_host_pattern, out.match.host, d);
     }},
    {"path",
     [](const Field& f, MatchDraft& out, Diagnostics& d) {
       read_patterns(f, "a path pattern: up to 128 visible ASCII characters starting with \"/\" or \"*\"",
                     is_path_pattern, out.match.path, d);
     }},
    {"method", decode_methods},
    {"header",
     [](const Field& f, MatchDraft& out, Diagnostics& d) {
       read_pairs(
           f, "a map of header NAME: VALUE pattern, e.g. {X-Canary: \"1\"}",
           "a header name (an HTTP token; wildcards belong in the value)", is_header_name,
           "a header value pattern: 1 to 128 printable ASCII characters, with the wildcards '*' and '?'",
           is_header_value_pattern, out.match.header, d);
     }},
    {"query",
     [](const Field& f, MatchDraft& out, Diagnostics& d) {
       read_pairs(
           f, "a map of query parameter NAME: VALUE pattern, e.g. {version: \"2\"}",
           "a query parameter name: up to 128 visible ASCII characters without '&', '=', '#', '*' or '?'",
           is_query_name,
           "a query value pattern: 1 to 128 visible ASCII characters without '&' or '#', with the "
           "wildcards '*' and '?'",
           is_query_value_pattern, out.match.query, d);
     }},
    {"source", decode_sources},
    {"listener", decode_listeners_condition},
}};

}  // namespace

void decode_route_match(const Field& field, const std::vector<std::string>& listen, RouteMatch& out,
                        Diagnostics& diag) {
  MatchDraft draft;
  draft.listen = &listen;
  decode_map(field, kMatchRules, draft, diag);
  out = std::move(draft.match);
}

}  // namespace ferry::config
