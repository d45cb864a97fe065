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

std::string bool_text(bool value) { return value ? "true" : "false"; }

// ["a", "b"]: a flow list, every item quoted.
std::string quoted_list(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : ", ") + quote(item);
  return "[" + out + "]";
}

// {"X-Canary": "1"}: a flow map, names and values quoted.
std::string quoted_map(const std::vector<std::pair<std::string, std::string>>& pairs) {
  std::string out;
  for (const auto& [name, value] : pairs)
    out += (out.empty() ? "" : ", ") + quote(name) + ": " + quote(value);
  return "{" + out + "}";
}

// The list's items start at `indent` ("- " included), their other keys two columns further.
void print_backends(Writer& w, int indent, const std::vector<BackendConfig>& backends) {
  for (const BackendConfig& b : backends) {
    w.raw(std::string(static_cast<std::size_t>(indent) * 2, ' ') + "- address: " + quote(b.address) + "\n");
    w.line(indent + 1, "weight", std::to_string(b.weight));
  }
}

// A section present means checks on (load.h), so a disabled check is left out entirely.
void print_health_check(Writer& w, int indent, const HealthCheck& h) {
  if (!h.enabled) return;
  w.line(indent, "health_check", "");
  w.line(indent + 1, "path", quote(h.path));
  w.line(indent + 1, "interval", format_duration(h.interval));
  w.line(indent + 1, "timeout", format_duration(h.timeout));
  w.line(indent + 1, "healthy_threshold", std::to_string(h.healthy_threshold));
  w.line(indent + 1, "unhealthy_threshold", std::to_string(h.unhealthy_threshold));
  w.line(indent + 1, "expected_status", quote(h.expected_status));
  w.line(indent + 1, "host", quote(h.host));
  w.line(indent + 1, "fail_open", bool_text(h.fail_open));
}

// Pool names are quoted: a name such as "null" or "true" stays a string key.
void print_pool(Writer& w, const PoolConfig& p) {
  w.line(1, quote(p.name), "");
  w.line(2, "backends", p.backends.empty() ? "[]" : "");
  print_backends(w, 3, p.backends);
  w.line(2, "balancer", std::string(balancer_name(p.balancer)));
  w.line(2, "hash_key", quote(p.hash_key));
  print_health_check(w, 2, p.health_check);
  w.line(2, "retries", std::to_string(p.retries));
  w.line(2, "slow_start", format_duration(p.slow_start));
  w.line(2, "drain", format_duration(p.drain));
  if (p.stickiness) {
    w.line(2, "stickiness", "");
    w.line(3, "cookie", quote(p.stickiness->cookie));
    w.line(3, "duration", format_duration(p.stickiness->duration));
  } else {
    w.line(2, "stickiness", quote("off"));
  }
  if (p.tls) {
    w.line(2, "tls", "");
    w.line(3, "verify", bool_text(p.tls->verify));
    w.line(3, "ca", quote(p.tls->ca));
    w.line(3, "server_name", quote(p.tls->server_name));
  } else {
    w.line(2, "tls", quote("off"));
  }
  const auto protocol = static_cast<std::size_t>(p.protocol);
  w.line(2, "protocol",
         quote(protocol < kPoolProtocolNames.size() ? kPoolProtocolNames[protocol] : "unknown"));
}

void print_rate_limit(Writer& w, int indent, std::string_view key, const RateLimit& limit) {
  w.line(indent, key, "");
  w.line(indent + 1, "rate", std::to_string(limit.rate));
  w.line(indent + 1, "burst", std::to_string(limit.burst));
}

// Only the conditions given: an empty one means "not given", and a route without any has no
// match key at all (it takes every request).
void print_match(Writer& w, const RouteMatch& m) {
  const bool any = !m.host.empty() || !m.path.empty() || !m.method.empty() || !m.header.empty() ||
                   !m.query.empty() || !m.source.empty() || !m.listener.empty();
  if (!any) return;
  w.line(2, "match", "");
  if (!m.host.empty()) w.line(3, "host", quoted_list(m.host));
  if (!m.path.empty()) w.line(3, "path", quoted_list(m.path));
  if (!m.method.empty()) w.line(3, "method", quoted_list(m.method));
  if (!m.header.empty()) w.line(3, "header", quoted_map(m.header));
  if (!m.query.empty()) w.line(3, "query", quoted_map(m.query));
  if (!m.source.empty()) w.line(3, "source", quoted_list(m.source));
  if (!m.listener.empty()) w.line(3, "listener", quoted_list(m.listener));
}

void print_route(Writer& w, const RouteConfig& r) {
  w.raw("  - name: " + quote(r.name) + "\n");
  print_match(w, r.match);
  switch (r.action) {
    case RouteAction::Forward:
      // One pool at weight 1 is what `forward: NAME` means; anything else needs the weights.
      if (r.forward.size() == 1 && r.forward.front().weight == 1) {
        w.line(2, "forward", quote(r.forward.front().pool));
      } else {
        std::string weights;
        for (const WeightedPool& p : r.forward)
          weights += (weights.empty() ? "" : ", ") + quote(p.pool) + ": " + std::to_string(p.weight);
        w.line(2, "forward", "");
        w.line(3, "weights", "{" + weights + "}");
      }
      w.line(2, "strip_prefix", quote(r.strip_prefix));
      break;
    case RouteAction::Redirect:
      w.line(2, "redirect", "");
      w.line(3, "location", quote(r.location));
      w.line(3, "status", std::to_string(r.status));
      break;
    case RouteAction::Respond:
      w.line(2, "respond", "");
      w.line(3, "status", std::to_string(r.status));
      w.line(3, "content_type", quote(r.content_type));
      w.line(3, "body", quote(r.body));
      break;
  }
  // Off (the default) is left out, as a route without conditions has no match key.
  if (r.rate_limit != RateLimit{}) print_rate_limit(w, 2, "rate_limit", r.rate_limit);
}

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
        w.line(3, "certificates", l.tls->certificates.empty() ? "[]" : "");
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
  if (!c.admin_token.empty()) w.line(0, "admin_token", quote(c.admin_token));
  // The top-level balancer, hash_key, backends, health_check and retries are the pool
  // "default"; a file with pools only has no such pool, and may not give those keys.
  const bool default_pool = !c.backends.empty() || c.pools.empty();
  if (default_pool) {
    w.line(0, "balancer", std::string(balancer_name(c.balancer)));
    w.line(0, "hash_key", quote(c.hash_key));
  }
  w.line(0, "resolve_interval", format_duration(c.resolve_interval));
  if (default_pool) {
    w.line(0, "backends", c.backends.empty() ? "[]" : "");
    print_backends(w, 1, c.backends);
    print_health_check(w, 0, c.health_check);
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
  print_rate_limit(w, 1, "per_client", c.limits.per_client);
  w.line(1, "http2_max_concurrent_streams", std::to_string(c.limits.http2_max_concurrent_streams));
  w.line(0, "buffers", "");
  w.line(1, "request", format_size(c.buffers.request));
  w.line(1, "response", format_size(c.buffers.response));
  if (default_pool) w.line(0, "retries", std::to_string(c.retries));
  w.line(0, "access_log", quote(c.access_log));
  if (!c.pools.empty()) {
    w.line(0, "pools", "");
    for (const PoolConfig& p : c.pools) print_pool(w, p);
  }
  if (!c.routes.empty()) {
    w.line(0, "routes", "");
    for (const RouteConfig& r : c.routes) print_route(w, r);
  }
  if (c.acme) {
    w.line(0, "acme", "");
    w.line(1, "directory", quote(c.acme->directory));
    w.line(1, "email", quote(c.acme->email));
    std::string domains;
    for (const std::string& d : c.acme->domains) domains += (domains.empty() ? "" : ", ") + quote(d);
    w.line(1, "domains", "[" + domains + "]");
    w.line(1, "storage", quote(c.acme->storage));
    w.line(1, "ca_bundle", quote(c.acme->ca_bundle));
  }
  return w.take();
}

}  // namespace ferry::config
