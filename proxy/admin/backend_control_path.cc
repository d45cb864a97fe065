#include "proxy/admin/backend_control_path.h"

namespace ferry::proxy {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Takes the text up to the next '/' off the front of `rest`.
std::string_view next_segment(std::string_view& rest) {
  const std::size_t slash = rest.find('/');
  const std::string_view segment = rest.substr(0, slash);
  rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
  return segment;
}

}  // namespace

std::optional<std::string> percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;  // "%" or "%A" at the end
    const int hi = hex_value(text[i + 1]);
    const int lo = hex_value(text[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    const char decoded = static_cast<char>(hi * 16 + lo);
    if (static_cast<unsigned char>(decoded) < 0x20 || decoded == 0x7f) return std::nullopt;
    out.push_back(decoded);
    i += 2;
  }
  return out;
}

std::optional<BackendControlPath> parse_backend_control(std::string_view path) {
  if (path.empty() || path.front() != '/') return std::nullopt;
  std::string_view rest = path.substr(1);
  if (next_segment(rest) != "pools") return std::nullopt;
  const std::string_view pool = next_segment(rest);
  if (next_segment(rest) != "backends") return std::nullopt;
  const std::string_view address = next_segment(rest);
  const std::string_view action = next_segment(rest);
  if (!rest.empty() || pool.empty() || address.empty() || (action != "drain" && action != "ready")) return std::nullopt;
  std::optional<std::string> pool_name = percent_decode(pool);
  std::optional<std::string> address_text = percent_decode(address);
  if (!pool_name || !address_text || pool_name->empty() || address_text->empty()) return std::nullopt;
  return BackendControlPath{std::move(*pool_name), std::move(*address_text), action == "drain"};
}

}  // namespace ferry::proxy
