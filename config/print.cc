#include "config/print.h"

#include "config/duration.h"
#include "config/quote.h"

namespace ferry::config {

namespace {

// Hand-written rather than YAML::Emitter so the layout is fixed: the contract's key order,
// addresses and free text always quoted (a path like "off" or "yes" stays a string to every
// YAML reader), durations and buffer sizes in the forms a user writes.
class Writer {
 public:
  void line(int indent, std::string_view key, const std::string& value) {
    out_.append(static_cast<std::size_t>(indent) * 2, ' ');
    out_ += key;
    out_ += ':';
    if (!value.empty()) out_ += ' ' + value;
    out_ += '\n';
  }
  void raw(const std::string& text) { out_ += text; }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

}  // namespace

std::string print(const Config& c) {
  Writer w;
  w.raw("# ferry effective configuration, from " + quote(c.source) + "\n");
  if (!c.listeners.empty()) {
    w.line(0, "listeners", "");
    for (const ListenerConfig& l : c.listeners) {
      w.raw("  - address: " + quote(l.address) + "\n");
      std::string protocols;
      for (const std::string& p : l.protocols) protocols += (protocols.empty() ? "" : ", ") + quote(p);
      w.line(2, "protocols", "[" + protocols + "]");
      if (l.tls) {
        w.line(2, "tls", "");
        w.line(3, "certificates", "");
        for (const TlsCertificateFiles& f : l.tls->certificates) {
          w.raw("        - cert: " + quote(f.cert) + "\n");
          w.line(5, "key", quote(f.key));
        }
        w.line(3, "policy", std::string(tls_policy_name(l.tls->policy)));
        w.line(3, "session_tickets", l.tls->session_tickets ? "true" : "false");
        w.line(3, "client_ca", quote(l.tls->client_ca));
      } else {
        w.line(2, "tls", quote("off"));
      }
      w.line(2, "hsts", format_duration(l.hsts));
    }
  } else if (c.listen.size() == 1) {
    w.line(0, "listen", quote(c.listen.front()));
  } else {
    w.line(0, "listen", c.listen.empty() ? "[]" : "");
    for (const std::string& address : c.listen) w.raw("  - " + quote(address) + "\n");
  }
  w.line(0, "workers", std::to_string(c.workers));
  w.line(0, "admin", quote(c.admin.empty() ? "off" : c.admin));
  w.line(0, "balancer", std::string(balancer_name(c.balancer)));
  w.line(0, "hash_key", quote(c.hash_key));
  w.line(0, "resolve_interval", format_duration(c.resolve_interval));
  w.line(0, "backends", c.backends.empty() ? "[]" : "");
  for (const BackendConfig& b : c.backends) {
    w.raw("  - address: " + quote(b.address) + "\n");
    w.line(2, "weight", std::to_string(b.weight));
  }
  // A section present means checks on (load.h), so a disabled check is left out entirely.
  if (c.health_check.enabled) {
    const HealthCheck& h = c.health_check;
    w.line(0, "health_check", "");
    w.line(1, "path", quote(h.path));
    w.line(1, "interval", format_duration(h.interval));
    w.line(1, "timeout", format_duration(h.timeout));
    w.line(1, "healthy_threshold", std::to_string(h.healthy_threshold));
    w.line(1, "unhealthy_threshold", std::to_string(h.unhealthy_threshold));
    w.line(1, "expected_status", quote(h.expected_status));
    w.line(1, "host", quote(h.host));
    w.line(1, "fail_open", h.fail_open ? "true" : "false");
  }
  const Timeouts& t = c.timeouts;
  w.line(0, "timeouts", "");
  w.line(1, "connect", format_duration(t.connect));
  w.line(1, "client_header", format_duration(t.client_header));
  w.line(1, "client_idle", format_duration(t.client_idle));
  w.line(1, "backend_response", format_duration(t.backend_response));
  w.line(1, "backend_idle", format_duration(t.backend_idle));
  w.line(1, "shutdown_grace", format_duration(t.shutdown_grace));
  // Limits stay plain byte counts, as the contract writes them; buffers use size units.
  w.line(0, "limits", "");
  w.line(1, "max_connections", std::to_string(c.limits.max_connections));
  w.line(1, "max_header_bytes", std::to_string(c.limits.max_header_bytes));
  w.line(1, "max_body_bytes", std::to_string(c.limits.max_body_bytes));
  w.line(0, "buffers", "");
  w.line(1, "request", format_size(c.buffers.request));
  w.line(1, "response", format_size(c.buffers.response));
  w.line(0, "retries", std::to_string(c.retries));
  w.line(0, "access_log", quote(c.access_log));
  return w.take();
}

}  // namespace ferry::config
