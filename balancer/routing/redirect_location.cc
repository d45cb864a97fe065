// expand_location(): a redirect's Location from its template (declared in route_table.h).
#include <optional>

#include "balancer/routing/route_table.h"

namespace ferry::balancer::routing {

namespace {

std::optional<std::string_view> placeholder(std::string_view name, const RedirectParts& parts) {
  if (name == "protocol") return parts.protocol;
  if (name == "host") return parts.host;
  if (name == "port") return parts.port;
  if (name == "path") return parts.path;
  if (name == "query") return parts.query;
  return std::nullopt;
}

// Where the fragment of `url` starts: its first '#' that does not open a placeholder left as
// written, or the end.
std::size_t fragment_at(std::string_view url, std::size_t from) {
  for (std::size_t at = url.find('#', from); at != std::string_view::npos;
       at = url.find('#', at + 1))
    if (at + 1 == url.size() || url[at + 1] != '{') return at;
  return url.size();
}

// A template such as "https://#{host}/#{path}?#{query}" leaves a bare '?' when the request had
// no query; "https://h/p?" and "https://h/p" mean the same to most servers but not to all
// caches, and the bare '?' looks like a bug. So a '?' whose query is empty goes, whether it
// ends the URL or stands before a fragment ("...?#{query}#top").
void drop_empty_query(std::string* out, std::size_t start) {
  const std::string_view url(out->data() + start, out->size() - start);
  const std::size_t question = url.find('?');
  if (question == std::string_view::npos) return;
  if (fragment_at(url, question + 1) != question + 1) return;
  out->erase(start + question, 1);
}

}  // namespace

void expand_location(std::string_view location, const RedirectParts& parts, std::string* out) {
  const std::size_t start = out->size();
  std::size_t at = 0;
  while (at < location.size()) {
    const std::size_t open = location.find("#{", at);
    if (open == std::string_view::npos) break;
    out->append(location.substr(at, open - at));
    const std::size_t close = location.find('}', open + 2);
    const std::optional<std::string_view> value =
        close == std::string_view::npos
            ? std::nullopt
            : placeholder(location.substr(open + 2, close - open - 2), parts);
    if (value) {
      out->append(*value);
      at = close + 1;
    } else {
      // Not a placeholder ferry knows: keep the '#' and read on from the '{', so a known one
      // inside ("#{x#{host}") still expands.
      out->push_back('#');
      at = open + 1;
    }
  }
  if (at < location.size()) out->append(location.substr(at));
  drop_empty_query(out, start);
}

}  // namespace ferry::balancer::routing
