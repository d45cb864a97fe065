#include "proxy/core/pool_tls.h"

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <atomic>
#include <cstdlib>

#include "config/address.h"
#include "proxy/tls/pem_file.h"

namespace ferry::proxy {

namespace {

// "FILE:LINE:COL: pools.NAME.tls: " before a message about one pool's TLS files.
std::string where(const config::Config& config, const config::PoolConfig& pool) {
  std::string at = config.source;
  if (pool.line > 0) at += ":" + std::to_string(pool.line) + ":" + std::to_string(pool.column);
  return at + ": pools." + pool.name + ".tls: ";
}

std::string sha256(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr) != 1) return {};
  return std::string(reinterpret_cast<const char*>(digest), length);
}

// Where SSL_CTX_set_default_verify_paths reads the system's bundle (Debian: the file
// update-ca-certificates writes).
std::string system_bundle() {
  const char* env = std::getenv(X509_get_default_cert_file_env());
  return env != nullptr && *env != '\0' ? env : X509_get_default_cert_file();
}

// What a context is made from, as bytes: two pools with the same trust share one context,
// and a reload reuses it while this stays the same. A file that cannot be read gives a key
// no build has, so the context is made again (and says why it failed).
std::string trust_key(const config::PoolTls& t) {
  if (!t.verify) return "no verification";
  const std::string file = t.ca.empty() ? system_bundle() : t.ca;
  std::string pem;
  std::string key = (t.ca.empty() ? "system store\n" : "ca\n") + file + '\n';
  if (!tls::read_pem_file(file, pem).empty()) return key + "unreadable";
  return key + sha256(pem);
}

uint64_t next_id() {
  static std::atomic<uint64_t> last{0};
  return last.fetch_add(1, std::memory_order_relaxed) + 1;
}

template <class T>
const T* find(const std::vector<std::pair<std::string, T>>& v, const std::string& key) {
  for (const auto& [k, value] : v)
    if (k == key) return &value;
  return nullptr;
}

}  // namespace

PoolTlsContexts build_pool_tls(const config::Config& config, const PoolTlsContexts* previous) {
  PoolTlsContexts out;
  std::vector<PoolTlsContexts::Pool> pools;
  for (const config::PoolConfig& pc : config::pools_of(config)) {
    PoolTlsContexts::Pool pool;
    if (pc.tls) {
      const std::string trust = trust_key(*pc.tls);
      const std::shared_ptr<const tls::ClientContext>* context = find(out.contexts, trust);
      if (context == nullptr && previous != nullptr) context = find(previous->contexts, trust);
      if (context != nullptr) {
        pool.context = *context;
      } else {
        tls::ClientOptions options;
        options.verify = pc.tls->verify;
        options.ca_file = pc.tls->ca;
        tls::ClientContext::Built built = tls::ClientContext::build(options);
        for (const std::string& e : built.errors) out.errors.push_back(where(config, pc) + e);
        pool.context = std::move(built.context);
      }
      if (find(out.contexts, trust) == nullptr && pool.context != nullptr) out.contexts.emplace_back(trust, pool.context);
      pool.server_name = pc.tls->server_name;
      const std::string named = trust + '\0' + pool.server_name;
      const uint64_t* id = find(out.ids, named);
      if (id == nullptr && previous != nullptr) id = find(previous->ids, named);
      pool.id = id != nullptr ? *id : next_id();
      if (find(out.ids, named) == nullptr) out.ids.emplace_back(named, pool.id);
    }
    pools.push_back(std::move(pool));
  }
  if (out.errors.empty()) {
    out.pools = std::move(pools);
  } else {
    out.contexts.clear();
    out.ids.clear();
  }
  return out;
}

void PoolTlsContexts::apply_to(Routing& routing) const {
  for (std::size_t i = 0; i < routing.pools.size() && i < pools.size(); ++i) {
    routing.pools[i].tls = pools[i].context;
    routing.pools[i].tls_server_name = pools[i].server_name;
    routing.pools[i].tls_id = pools[i].id;
  }
}

std::string backend_session_key(const PoolSettings& pool, const balancer::Backend& backend) {
  std::string key = std::to_string(pool.tls_id);
  key += ' ';
  key += backend_server_name(pool, backend);
  key += ' ';
  key += config::to_string(backend.address);
  return key;
}

}  // namespace ferry::proxy
