// The TLS side of every listener, built from the configuration at start, at every reload and
// by --check: certificates read and checked, one tls::ServerContext per TLS listener.
// Building is all or nothing, so a reload with a bad file keeps the old certificates.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "proxy/tls/published_context.h"
#include "proxy/tls/server_context.h"
#include "proxy/tls/ticket_keys.h"

namespace ferry::proxy {

struct ListenerTls {
  // One per address of config.listen, in order; null for plain listeners. Empty on errors.
  std::vector<std::shared_ptr<const tls::ServerContext>> contexts;
  // Likewise, for TLS listeners without certificates: the ACME certificate, published at run
  // time (null for the others).
  std::vector<std::shared_ptr<tls::PublishedContext>> published;
  // "FILE:LINE:COL: listeners[0].tls: /etc/x.key: key does not match ..."; none on success.
  std::vector<std::string> errors;
  // Loaded anyway (an expired certificate), in the same form.
  std::vector<std::string> warnings;

  bool ok() const { return errors.empty(); }
  bool any() const;  // some listener speaks TLS
  bool is_tls(std::size_t index) const {
    return (index < contexts.size() && contexts[index]) || (index < published.size() && published[index]);
  }
  // (first name, notAfter) of every certificate served, for the expiry metric.
  std::vector<std::pair<std::string, int64_t>> expiry() const;
};

// Reads every TLS listener's files (main thread: blocks on file reads). `ticket_keys` is the
// process's ring, used by listeners with session_tickets.
ListenerTls build_listener_tls(const config::Config& config,
                               const std::shared_ptr<const tls::TicketKeys>& ticket_keys, int64_t now);

}  // namespace ferry::proxy
