#include "proxy/tls/alpn.h"

namespace ferry::proxy::tls {
namespace {

// Calls fn(name) for each name of a wire list; false when the list is malformed.
template <class Fn>
bool each_protocol(std::string_view wire, Fn&& fn) {
  std::size_t at = 0;
  while (at < wire.size()) {
    const std::size_t length = static_cast<unsigned char>(wire[at]);
    if (length == 0 || at + 1 + length > wire.size()) return false;
    if (fn(wire.substr(at + 1, length))) return true;
    at += 1 + length;
  }
  return true;
}

}  // namespace

bool alpn_wire(const std::vector<std::string>& protocols, std::string& out) {
  out.clear();
  for (const std::string& p : protocols) {
    if (p.empty() || p.size() > 255) {
      out.clear();
      return false;
    }
    out.push_back(static_cast<char>(p.size()));
    out += p;
  }
  return true;
}

std::string_view select_alpn(std::string_view ours, std::string_view theirs) {
  // Validate theirs once, so a malformed list never yields a partial match.
  if (!each_protocol(theirs, [](std::string_view) { return false; })) return {};
  std::string_view chosen;
  each_protocol(ours, [&](std::string_view mine) {
    return each_protocol(theirs,
                         [&](std::string_view offered) {
                           if (offered != mine) return false;
                           chosen = offered;
                           return true;
                         }) &&
           !chosen.empty();
  });
  return chosen;
}

}  // namespace ferry::proxy::tls
