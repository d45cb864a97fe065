// `acme`: the ACME server, account contact, names and storage of the certificates ferry obtains
// itself; and the rules tying it to the listeners.
#include <string>

#include "config/address.h"
#include "config/decode.h"
#include "config/fields.h"
#include "config/quote.h"
#include "config/validate.h"

namespace ferry::config {

namespace {

// RFC 1035 host names as a CA issues for them: letters, digits and hyphens in labels of 1 to
// 63 bytes, 253 bytes at most. Lower-cased on the way in.
bool is_domain_name(std::string_view name) {
  if (name.empty() || name.size() > 253 || name.front() == '.' || name.back() == '.') return false;
  std::size_t label = 0;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    if (c == '.') {
      if (label == 0 || name[i - 1] == '-') return false;
      label = 0;
      continue;
    }
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c == '-' && label > 0);
    if (!ok || ++label > 63) return false;
  }
  return name.back() != '-';
}

std::string lower(std::string text) {
  for (char& c : text)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c | 0x20);
  return text;
}

// The host of an http(s) URL ("https://host:port/path" -> "host"), or "" when there is none.
std::string_view url_host(std::string_view url) {
  const std::size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return {};
  std::string_view rest = url.substr(scheme + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (!rest.empty() && rest.front() == '[') return rest.substr(1, rest.find(']') - 1);
  return rest.substr(0, rest.find(':'));
}

void decode_directory(const Field& f, AcmeConfig& out, Diagnostics& d) {
  const std::optional<std::string> url = read_scalar(f, "the ACME server's directory URL (https://...)", d);
  if (!url) return;
  const std::string_view host = url_host(*url);
  const bool https = url->starts_with("https://");
  // Plain http only to a CA on this machine (a test server); a public CA is always HTTPS.
  const bool local_http = url->starts_with("http://") && is_loopback_host(host);
  if (host.empty() || (!https && !local_http) || url->find_first_of(" \t\r\n") != std::string::npos) {
    d.expected(f, "an https:// URL of an ACME directory (Let's Encrypt: "
                  "https://acme-v02.api.letsencrypt.org/directory)");
    return;
  }
  out.directory = *url;
}

void decode_email(const Field& f, AcmeConfig& out, Diagnostics& d) {
  const std::optional<std::string> text = read_scalar(f, "an e-mail address, or \"\"", d);
  if (!text) return;
  const std::size_t at = text->find('@');
  if (!text->empty() && (at == 0 || at == std::string::npos || at + 1 == text->size() ||
                         text->find_first_of(" \t\r\n,<>\"") != std::string::npos)) {
    d.expected(f, "an e-mail address (name@example.com), or \"\" for none");
    return;
  }
  out.email = *text;
}

void decode_domains(const Field& f, AcmeConfig& out, Diagnostics& d) {
  if (!f.value.IsSequence() || f.value.size() == 0) {
    d.expected(f, "a list of at least one domain name (example.com)");
    return;
  }
  std::vector<std::string> domains;
  std::size_t index = 0;
  for (const YAML::Node& node : f.value) {
    const Field item = f.item(index++, node);
    const std::optional<std::string> text = read_scalar(item, "a domain name (example.com)", d);
    if (!text) continue;
    const std::string name = lower(*text);
    if (name.starts_with("*.")) {
      d.error(item.mark(), item.path,
              "a wildcard needs the DNS-01 challenge, which ferry does not answer; list each name instead");
      continue;
    }
    if (!is_domain_name(name)) {
      d.expected(item, "a domain name (letters, digits, hyphens and dots, as in www.example.com)");
      continue;
    }
    bool repeated = false;
    for (const std::string& seen : domains) repeated = repeated || seen == name;
    if (repeated) {
      d.error(item.mark(), item.path, quote(name) + " is listed twice");
      continue;
    }
    domains.push_back(name);
  }
  out.domains = std::move(domains);
}

std::optional<std::string> read_acme_path(const Field& f, bool may_be_empty, Diagnostics& d) {
  const std::optional<std::string> text =
      read_scalar(f, may_be_empty ? "a file path, or \"\"" : "a directory path", d);
  if (!text) return std::nullopt;
  if ((text->empty() && !may_be_empty) || text->find('\0') != std::string::npos) {
    d.expected(f, may_be_empty ? "a file path, or \"\" for the system's trust store" : "a directory path");
    return std::nullopt;
  }
  return text;
}

constexpr std::array<Rule<AcmeConfig>, 5> kAcmeRules{{
    {"directory", decode_directory},
    {"email", decode_email},
    {"domains", decode_domains},
    {"storage",
     [](const Field& f, AcmeConfig& out, Diagnostics& d) {
       if (std::optional<std::string> path = read_acme_path(f, false, d)) out.storage = *path;
     }},
    {"ca_bundle",
     [](const Field& f, AcmeConfig& out, Diagnostics& d) {
       if (std::optional<std::string> path = read_acme_path(f, true, d)) out.ca_bundle = *path;
     }},
}};

}  // namespace

void decode_acme(const Field& field, Config& out, Diagnostics& diag) {
  if (!field.value.IsMap()) {
    diag.expected(field, "a map with directory, email, domains, storage and ca_bundle");
    return;
  }
  AcmeConfig acme;
  decode_map(field, kAcmeRules, acme, diag);
  if (!find_child(field, "domains"))
    diag.error(field.mark(), "acme.domains", "missing; list the names the certificate is for (example.com)");
  out.acme = std::move(acme);
}

void check_acme_layout(const Field& file, const Config& config, Diagnostics& diag) {
  const std::optional<Field> listeners = find_child(file, "listeners");
  bool plain_listener = !listeners.has_value();  // `listen` addresses are all plain HTTP
  for (std::size_t i = 0; i < config.listeners.size(); ++i) {
    const ListenerConfig& l = config.listeners[i];
    if (!l.tls) {
      plain_listener = true;
      continue;
    }
    if (!l.tls->certificates.empty() || config.acme || !listeners || !listeners->value.IsSequence() ||
        i >= listeners->value.size())
      continue;
    const Field item = listeners->item(i, listeners->value[i]);
    const std::optional<Field> tls = find_child(item, "tls");
    const Field& at = tls ? *tls : item;
    diag.error(at.mark(), at.path + ".certificates",
               "missing; give at least one {cert, key}, or an acme section so ferry obtains the "
               "certificate itself");
  }
  if (!config.acme || plain_listener) return;
  const std::optional<Field> acme = find_child(file, "acme");
  if (!acme) return;
  diag.error(acme->key_mark, "acme",
             "the CA checks HTTP-01 challenges over plain HTTP (port 80 for a public CA), and every "
             "listener speaks TLS; add a listener without tls, e.g. {address: \"0.0.0.0:80\"}");
}

}  // namespace ferry::config
