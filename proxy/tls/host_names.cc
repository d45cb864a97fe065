#include "proxy/tls/host_names.h"

namespace ferry::proxy::tls {
namespace {

constexpr std::size_t kMaxHostLength = 253;
constexpr std::size_t kMaxLabelLength = 63;

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool host_byte(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

}  // namespace

std::string canonical_host(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (name.empty() || name.size() > kMaxHostLength) return {};
  std::string out;
  out.reserve(name.size());
  std::size_t label = 0;
  for (const char raw : name) {
    const char c = lower(raw);
    if (c == '.') {
      if (label == 0) return {};
      label = 0;
    } else {
      if (!host_byte(c) || ++label > kMaxLabelLength) return {};
    }
    out.push_back(c);
  }
  if (label == 0) return {};
  return out;
}

std::string canonical_certificate_name(std::string_view name) {
  std::string out(name);
  for (char& c : out) c = lower(c);
  return out;
}

std::string_view wildcard_base(std::string_view certificate_name) {
  if (certificate_name.size() < 3 || certificate_name.substr(0, 2) != "*.") return {};
  return certificate_name.substr(2);
}

std::string_view parent_of(std::string_view host) {
  const std::size_t dot = host.find('.');
  if (dot == std::string_view::npos || dot == 0) return {};
  return host.substr(dot + 1);
}

bool covers(std::string_view certificate_name, std::string_view host) {
  if (host.empty()) return false;
  if (certificate_name == host) return true;
  const std::string_view base = wildcard_base(certificate_name);
  return !base.empty() && parent_of(host) == base;
}

}  // namespace ferry::proxy::tls
