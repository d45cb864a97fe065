#include "config/validate.h"

#include <arpa/inet.h>

#include <string>

namespace ferry::config {

namespace {

bool is_visible(char c) { return c > 0x20 && c < 0x7f; }

// A three-digit code within 100..599.
bool is_status_code(std::string_view text, unsigned* code) {
  if (text.size() != 3) return false;
  unsigned value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  *code = value;
  return value >= 100 && value <= 599;
}

bool is_status_item(std::string_view item) {
  const std::size_t dash = item.find('-');
  unsigned low = 0;
  unsigned high = 0;
  if (dash == std::string_view::npos) return is_status_code(item, &low);
  return is_status_code(item.substr(0, dash), &low) && is_status_code(item.substr(dash + 1), &high) &&
         low <= high;
}

}  // namespace

bool is_token(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && std::string_view("!#$%&'*+-.^_`|~").find(c) == std::string_view::npos) return false;
  }
  return true;
}

bool is_hash_key(std::string_view text) {
  if (text == "client_ip") return true;
  for (std::string_view prefix : {std::string_view("header:"), std::string_view("cookie:")})
    if (text.starts_with(prefix)) return is_token(text.substr(prefix.size()));
  return false;
}

bool is_status_spec(std::string_view text) {
  if (text.empty()) return false;
  while (true) {
    const std::size_t comma = text.find(',');
    if (!is_status_item(text.substr(0, comma))) return false;
    if (comma == std::string_view::npos) return true;
    text.remove_prefix(comma + 1);
  }
}

bool is_request_path(std::string_view text) {
  if (text.empty() || text.front() != '/') return false;
  for (char c : text)
    if (!is_visible(c)) return false;
  return true;
}

bool is_host_header(std::string_view text) {
  for (char c : text)
    if (!is_visible(c)) return false;
  return true;
}

bool is_name(std::string_view text) {
  if (text.empty() || text.size() > 64) return false;
  for (char c : text) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && c != '-' && c != '_') return false;
  }
  return true;
}

bool is_server_name(std::string_view text) {
  if (text.empty() || text.size() > 253) return false;
  for (char c : text) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

bool is_content_type(std::string_view text) {
  if (text.size() > 256) return false;
  const std::size_t slash = text.find('/');
  if (slash == std::string_view::npos || !is_token(text.substr(0, slash))) return false;
  const std::size_t end = text.find(';', slash);
  std::string_view subtype = text.substr(slash + 1, end == std::string_view::npos ? end : end - slash - 1);
  while (!subtype.empty() && subtype.back() == ' ') subtype.remove_suffix(1);  // "text/html ; q=1"
  if (!is_token(subtype)) return false;
  for (char c : text)
    if (c < 0x20 || c > 0x7e) return false;
  return true;
}

bool is_admin_token(std::string_view text) {
  if (text.empty()) return true;
  if (text.size() < 16 || text.size() > 256) return false;
  for (char c : text)
    if (c <= 0x20 || c >= 0x7f) return false;
  return true;
}

bool is_loopback_host(std::string_view host) {
  if (host == "localhost" || host == "::1") return true;
  in_addr v4{};
  const std::string text(host);
  return ::inet_pton(AF_INET, text.c_str(), &v4) == 1 && (ntohl(v4.s_addr) >> 24) == 127;
}

bool is_access_log(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) return false;
  }
  return true;
}

}  // namespace ferry::config
