#include "proxy/tls/certificate_choice.h"

#include <algorithm>

#include "proxy/tls/host_names.h"

namespace ferry::proxy::tls {
namespace {

void add(std::vector<uint32_t>& list, uint32_t index) {
  if (std::find(list.begin(), list.end(), index) == list.end()) list.push_back(index);
}

}  // namespace

CertificateChoice::CertificateChoice(const CertificateSet& set) {
  const std::vector<Certificate>& certificates = set.certificates();
  for (uint32_t i = 0; i < certificates.size(); ++i) {
    const Certificate& c = certificates[i];
    keys_.push_back({c.key_type, c.curve_nid});
    for (const std::string& name : c.names) {
      const std::string_view base = wildcard_base(name);
      if (!base.empty()) {
        add(wildcard_[std::string(base)], i);
      } else {
        add(exact_[name], i);
      }
    }
  }
  if (!certificates.empty()) {
    const std::vector<std::string>& first_names = certificates.front().names;
    if (!first_names.empty()) {
      const std::string& name = first_names.front();
      for (uint32_t i = 0; i < certificates.size(); ++i) {
        const std::vector<std::string>& names = certificates[i].names;
        if (std::find(names.begin(), names.end(), name) != names.end()) add(default_group_, i);
      }
    }
    add(default_group_, 0);
  }
}

std::span<const uint32_t> CertificateChoice::matching(std::string_view host) const {
  if (host.empty()) return {};
  if (const auto it = exact_.find(host); it != exact_.end()) return it->second;
  const std::string_view parent = parent_of(host);
  if (parent.empty()) return {};
  if (const auto it = wildcard_.find(parent); it != wildcard_.end()) return it->second;
  return {};
}

std::size_t CertificateChoice::choose(const ClientOffer& offer) const {
  std::span<const uint32_t> group = matching(canonical_host(offer.server_name));
  if (group.empty()) group = default_group_;
  if (group.size() == 1) return group.front();
  for (const KeyType type : {KeyType::Ecdsa, KeyType::Rsa}) {
    for (const uint32_t i : group) {
      if (keys_[i].type == type && can_use(offer, type, keys_[i].curve_nid)) return i;
    }
  }
  return group.front();
}

}  // namespace ferry::proxy::tls
