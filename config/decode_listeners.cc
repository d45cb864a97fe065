// `listeners`: the listening addresses with their protocols and TLS settings.
#include <string>

#include "config/decode.h"
#include "config/did_you_mean.h"
#include "config/fields.h"
#include "config/quote.h"

namespace ferry::config {

namespace {

// HSTS max-age: Mozilla recommends two years; ten is past any sane setting.
constexpr Duration::rep kMaxHstsMs = 10LL * 365 * 24 * 3600'000;

constexpr std::array<std::string_view, 2> kProtocolNames{"http/1.1", "h2"};

void decode_protocols(const Field& f, ListenerConfig& out, Diagnostics& d) {
  const std::string what = "a list of protocols (h2, http/1.1)";
  if (!f.value.IsSequence() || f.value.size() == 0) {
    d.expected(f, what);
    return;
  }
  std::vector<std::string> protocols;
  std::size_t index = 0;
  for (const YAML::Node& node : f.value) {
    const Field item = f.item(index++, node);
    const std::optional<std::string> name = read_scalar(item, "a protocol name (h2 or http/1.1)", d);
    if (!name) continue;
    if (*name != "http/1.1" && *name != "h2") {
      std::string message = "expected h2 or http/1.1, found " + describe(node);
      if (const std::optional<std::string_view> hint = closest_name(*name, kProtocolNames))
        message += "; did you mean " + quote(*hint) + "?";
      d.error(item.mark(), item.path, message);
      continue;
    }
    for (const std::string& seen : protocols) {
      if (seen == *name) d.error(item.mark(), item.path, "listed twice");
    }
    protocols.push_back(*name);
  }
  if (!protocols.empty()) out.protocols = std::move(protocols);
}

void decode_policy(const Field& f, TlsSettings& out, Diagnostics& d) {
  const std::string expected = "intermediate or modern";
  const std::optional<std::string> name = read_scalar(f, expected, d);
  if (!name) return;
  for (std::size_t i = 0; i < kTlsPolicyNames.size(); ++i) {
    if (kTlsPolicyNames[i] == *name) {
      out.policy = static_cast<TlsPolicy>(i);
      return;
    }
  }
  std::string message = "expected " + expected + ", found " + describe(f.value);
  if (const std::optional<std::string_view> hint = closest_name(*name, kTlsPolicyNames))
    message += "; did you mean " + quote(*hint) + "?";
  d.error(f.mark(), f.path, message);
}

// A file path: non-empty, no NUL (the file itself is read when the listener's TLS is set up,
// at load and at every reload, where a missing or bad file is reported with its name).
std::optional<std::string> read_path(const Field& f, Diagnostics& d) {
  const std::optional<std::string> text = read_scalar(f, "a file path", d);
  if (!text) return std::nullopt;
  if (text->empty() || text->find('\0') != std::string::npos) {
    d.expected(f, "a file path");
    return std::nullopt;
  }
  return text;
}

struct CertificateDraft {
  TlsCertificateFiles files;
  bool has_cert = false;
  bool has_key = false;
};

constexpr std::array<Rule<CertificateDraft>, 2> kCertificateRules{{
    {"cert",
     [](const Field& f, CertificateDraft& out, Diagnostics& d) {
       out.has_cert = true;
       assign(out.files.cert, read_path(f, d));
     }},
    {"key",
     [](const Field& f, CertificateDraft& out, Diagnostics& d) {
       out.has_key = true;
       assign(out.files.key, read_path(f, d));
     }},
}};

void decode_certificates(const Field& f, TlsSettings& out, Diagnostics& d) {
  // An empty list, like none at all, means the certificate comes from `acme` (checked once the
  // whole file is read).
  if (!f.value.IsSequence()) {
    d.expected(f, "a list of {cert, key}, or [] for the certificate from acme");
    return;
  }
  std::size_t index = 0;
  for (const YAML::Node& node : f.value) {
    const Field item = f.item(index++, node);
    if (!node.IsMap()) {
      d.expected(item, "a map with cert and key (PEM file paths)");
      continue;
    }
    CertificateDraft draft;
    decode_map(item, kCertificateRules, draft, d);
    if (!draft.has_cert) d.error(item.mark(), item.path, "missing key \"cert\" (the certificate chain, PEM)");
    if (!draft.has_key) d.error(item.mark(), item.path, "missing key \"key\" (the private key, PEM)");
    draft.files.line = item.mark().line + 1;
    draft.files.column = item.mark().column + 1;
    out.certificates.push_back(std::move(draft.files));
  }
}

constexpr std::array<Rule<TlsSettings>, 4> kTlsRules{{
    {"certificates", decode_certificates},
    {"policy", decode_policy},
    {"session_tickets", bool_rule<&TlsSettings::session_tickets>},
    {"client_ca",
     [](const Field& f, TlsSettings& out, Diagnostics& d) {
       const std::optional<std::string> text = read_scalar(f, "a CA bundle file path, or \"\"", d);
       if (text) out.client_ca = *text;
     }},
}};

struct ListenerDraft {
  ListenerConfig listener;
  bool has_address = false;
  SeenAddresses* seen = nullptr;
  std::optional<Field> hsts;  // checked against tls once every key is read
};

constexpr std::array<Rule<ListenerDraft>, 4> kListenerRules{{
    {"address",
     [](const Field& f, ListenerDraft& out, Diagnostics& d) {
       out.has_address = true;
       assign(out.listener.address, read_bind_address(f, out.seen, d));
     }},
    {"protocols", [](const Field& f, ListenerDraft& out, Diagnostics& d) { decode_protocols(f, out.listener, d); }},
    {"tls",
     [](const Field& f, ListenerDraft& out, Diagnostics& d) {
       if (f.value.IsScalar() && f.value.Scalar() == "off") return;
       if (!f.value.IsMap()) {
         d.expected(f, "a map with certificates (and policy, session_tickets, client_ca), or \"off\"");
         return;
       }
       TlsSettings tls;
       decode_map(f, kTlsRules, tls, d);
       out.listener.tls = std::move(tls);
     }},
    {"hsts",
     [](const Field& f, ListenerDraft& out, Diagnostics& d) {
       out.hsts = f;
       assign(out.listener.hsts, read_duration(f, Duration{0}, Duration{kMaxHstsMs}, d));
     }},
}};

}  // namespace

void decode_listeners(const Field& field, Config& out, Diagnostics& diag) {
  if (!field.value.IsSequence() || field.value.size() == 0) {
    diag.expected(field, "a list of at least one listener ({address, protocols, tls, hsts})");
    return;
  }
  SeenAddresses seen;
  std::vector<ListenerConfig> listeners;
  std::size_t index = 0;
  for (const YAML::Node& node : field.value) {
    const Field item = field.item(index++, node);
    if (!node.IsMap()) {
      diag.expected(item, "a map with address (and protocols, tls, hsts)");
      continue;
    }
    ListenerDraft draft;
    draft.seen = &seen;
    decode_map(item, kListenerRules, draft, diag);
    if (!draft.has_address) {
      diag.error(item.mark(), item.path, "missing key \"address\" (host:port to listen on)");
      continue;
    }
    if (draft.hsts && draft.listener.hsts.count() > 0 && !draft.listener.tls)
      diag.error(draft.hsts->mark(), draft.hsts->path,
                 "Strict-Transport-Security is only sent over TLS; give this listener tls, or leave hsts out");
    if (!draft.listener.address.empty()) listeners.push_back(std::move(draft.listener));
  }
  out.listen.clear();
  for (const ListenerConfig& l : listeners) out.listen.push_back(l.address);
  out.listeners = std::move(listeners);
}

}  // namespace ferry::config
