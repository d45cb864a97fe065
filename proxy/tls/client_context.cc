#include "proxy/tls/client_context.h"

#include <openssl/err.h>

#include <ctime>

#include "proxy/tls/alpn.h"
#include "proxy/tls/certificates.h"
#include "proxy/tls/client_session_cache.h"
#include "proxy/tls/pem_file.h"
#include "proxy/tls/policy.h"

namespace ferry::proxy::tls {

ClientContext::Built ClientContext::build(const ClientOptions& options) {
  Built built;
  ERR_clear_error();
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) {
    built.errors.push_back("client context: " + take_openssl_errors("out of memory"));
    return built;
  }
  if (std::string error = apply_client_policy(ctx.get()); !error.empty()) {
    built.errors.push_back("client policy: " + error);
    return built;
  }
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_read_ahead(ctx.get(), 1);
  // Sessions go to the caller's ClientSessionCache, never OpenSSL's own store: the cache is
  // per worker and keyed by backend, which OpenSSL's is not.
  SSL_CTX_set_session_cache_mode(ctx.get(),
                                 SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(ctx.get(), &ClientSessionCache::on_new_session);

  if (options.verify) {
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
    if (!options.ca_file.empty()) {
      std::string pem;
      if (std::string error = read_pem_file(options.ca_file, pem); !error.empty()) {
        built.errors.push_back(std::move(error));
      } else if (SSL_CTX_load_verify_file(ctx.get(), options.ca_file.c_str()) != 1) {
        built.errors.push_back(options.ca_file +
                               ": no CA certificate loaded: " + take_openssl_errors());
      }
    } else if (SSL_CTX_set_default_verify_paths(ctx.get()) != 1) {
      built.errors.push_back("system trust store: " + take_openssl_errors());
    }
  } else {
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  }

  std::string alpn;
  if (!alpn_wire(options.alpn, alpn)) {
    built.errors.emplace_back("alpn: every protocol name must be 1 to 255 bytes");
  } else if (!alpn.empty() &&
             SSL_CTX_set_alpn_protos(ctx.get(), reinterpret_cast<const unsigned char*>(alpn.data()),
                                     static_cast<unsigned int>(alpn.size())) != 0) {
    built.errors.push_back("alpn: " + take_openssl_errors());
  }

  if (options.cert_file.empty() != options.key_file.empty()) {
    built.errors.emplace_back("client certificate: give both cert and key, or neither");
  } else if (!options.cert_file.empty()) {
    CertificateLoad load = CertificateSet::load({{options.cert_file, options.key_file}},
                                                static_cast<int64_t>(std::time(nullptr)));
    if (!load.set) {
      for (std::string& e : load.errors) built.errors.push_back(std::move(e));
    } else {
      const Certificate& c = load.set->certificates().front();
      if (SSL_CTX_use_cert_and_key(ctx.get(), c.leaf.get(), c.key.get(), c.chain.get(), 1) != 1) {
        built.errors.push_back(options.cert_file +
                               ": cannot use this certificate: " + take_openssl_errors());
      }
    }
  }
  ERR_clear_error();
  if (built.errors.empty()) built.context.reset(new ClientContext(std::move(ctx), options.verify));
  return built;
}

}  // namespace ferry::proxy::tls
