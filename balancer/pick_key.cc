#include "balancer/pick_key.h"

namespace ferry::balancer {

namespace {

bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+': case '-':
    case '.': case '^': case '_': case '`': case '|': case '~':
      return true;
    default:
      return false;
  }
}

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!is_tchar(c)) return false;
  return true;
}

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

bool equals_ignore_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

std::optional<KeySpec> parse_key_spec(std::string_view text, std::string* error) {
  auto fail = [&](std::string message) -> std::optional<KeySpec> {
    if (error) *error = std::move(message);
    return std::nullopt;
  };
  if (text == "client_ip") return KeySpec{};
  for (auto [prefix, source] : {std::pair{std::string_view("header:"), KeySource::Header},
                                std::pair{std::string_view("cookie:"), KeySource::Cookie}}) {
    if (!text.starts_with(prefix)) continue;
    std::string_view name = text.substr(prefix.size());
    if (!is_token(name))
      return fail("hash_key " + std::string(text) + ": expected a " +
                  (source == KeySource::Header ? "header" : "cookie") + " name after '" +
                  std::string(prefix) + "' (letters, digits and !#$%&'*+-.^_`|~)");
    return KeySpec{source, std::string(name)};
  }
  return fail("hash_key " + std::string(text) +
              ": expected client_ip, header:NAME or cookie:NAME");
}

std::optional<std::string_view> cookie_value(std::string_view cookie_header,
                                             std::string_view name) {
  // cookie-string = cookie-pair *( ";" SP cookie-pair ); tolerate missing or extra spaces.
  while (!cookie_header.empty()) {
    const std::size_t semi = cookie_header.find(';');
    std::string_view pair = trim(cookie_header.substr(0, semi));
    cookie_header = semi == std::string_view::npos ? std::string_view{}
                                                   : cookie_header.substr(semi + 1);
    const std::size_t eq = pair.find('=');
    if (eq == std::string_view::npos) continue;
    if (trim(pair.substr(0, eq)) != name) continue;
    std::string_view value = trim(pair.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
      value = value.substr(1, value.size() - 2);
    return value;
  }
  return std::nullopt;
}

std::string_view pick_key(const KeySpec& spec, const Request& request) {
  switch (spec.source) {
    case KeySource::ClientIp:
      return request.client_ip;
    case KeySource::Header: {
      const std::string_view value = trim(request.headers.nth(spec.name, 0).value_or(""));
      return value.empty() ? request.client_ip : value;
    }
    case KeySource::Cookie:
      for (std::size_t n = 0;; ++n) {
        const std::optional<std::string_view> header = request.headers.nth("cookie", n);
        if (!header) break;
        if (auto value = cookie_value(*header, spec.name); value && !value->empty()) return *value;
      }
      return request.client_ip;
  }
  return request.client_ip;
}

}  // namespace ferry::balancer
