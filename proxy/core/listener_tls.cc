#include "proxy/core/listener_tls.h"

#include "proxy/tls/certificates.h"
#include "proxy/tls/policy.h"

namespace ferry::proxy {

namespace {

// "FILE:LINE:COL: listeners[i].tls: " before a message about one listener's TLS files.
std::string where(const config::Config& config, std::size_t index, const config::TlsSettings& tls) {
  std::string at = config.source;
  if (!tls.certificates.empty() && tls.certificates.front().line > 0) {
    at += ":" + std::to_string(tls.certificates.front().line) + ":" +
          std::to_string(tls.certificates.front().column);
  }
  return at + ": listeners[" + std::to_string(index) + "].tls: ";
}

}  // namespace

bool ListenerTls::any() const {
  for (std::size_t i = 0; i < contexts.size(); ++i)
    if (is_tls(i)) return true;
  return false;
}

std::vector<std::pair<std::string, int64_t>> ListenerTls::expiry() const {
  std::vector<std::pair<std::string, int64_t>> out;
  std::vector<std::shared_ptr<const tls::ServerContext>> serving = contexts;
  for (const auto& p : published)
    if (p != nullptr) serving.push_back(p->current());
  for (const auto& context : serving) {
    if (context == nullptr) continue;
    for (const tls::Certificate& c : context->certificates().certificates())
      out.emplace_back(std::string(c.first_name()), c.not_after);
  }
  return out;
}

ListenerTls build_listener_tls(const config::Config& config,
                               const std::shared_ptr<const tls::TicketKeys>& ticket_keys, int64_t now) {
  ListenerTls out;
  std::vector<std::shared_ptr<const tls::ServerContext>> contexts(config.listen.size());
  std::vector<std::shared_ptr<tls::PublishedContext>> published(config.listen.size());
  for (std::size_t i = 0; i < config.listeners.size() && i < contexts.size(); ++i) {
    const config::ListenerConfig& listener = config.listeners[i];
    if (!listener.tls) continue;
    const config::TlsSettings& settings = *listener.tls;
    const std::string prefix = where(config, i, settings);
    tls::ServerOptions options;
    options.policy = settings.policy == config::TlsPolicy::Modern ? tls::Policy::Modern : tls::Policy::Intermediate;
    options.alpn = listener.protocols;
    if (settings.session_tickets) options.ticket_keys = ticket_keys;
    options.client_ca = settings.client_ca;
    if (settings.certificates.empty()) {  // the certificate from acme (config/ checked there is one)
      published[i] = std::make_shared<tls::PublishedContext>(std::move(options));
      continue;
    }
    std::vector<tls::CertificateFiles> files;
    for (const config::TlsCertificateFiles& f : settings.certificates) files.push_back({f.cert, f.key});
    tls::CertificateLoad loaded = tls::CertificateSet::load(files, now);
    for (const std::string& w : loaded.warnings) out.warnings.push_back(prefix + w);
    if (!loaded.set) {
      for (const std::string& e : loaded.errors) out.errors.push_back(prefix + e);
      continue;
    }
    tls::ServerContext::Built built = tls::ServerContext::build(std::move(loaded.set), std::move(options));
    if (!built.context) {
      for (const std::string& e : built.errors) out.errors.push_back(prefix + e);
      continue;
    }
    contexts[i] = std::move(built.context);
  }
  if (out.errors.empty()) {
    out.contexts = std::move(contexts);
    out.published = std::move(published);
  }
  return out;
}

}  // namespace ferry::proxy
