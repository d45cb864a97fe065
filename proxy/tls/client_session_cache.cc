#include "proxy/tls/client_session_cache.h"

namespace ferry::proxy::tls {
namespace {

int destination_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

}  // namespace

void ClientSessionCache::attach(SSL* ssl, Destination* destination) {
  SSL_set_ex_data(ssl, destination_index(), destination);
}

int ClientSessionCache::on_new_session(SSL* ssl, SSL_SESSION* session) {
  auto* destination = static_cast<Destination*>(SSL_get_ex_data(ssl, destination_index()));
  if (destination == nullptr || destination->cache == nullptr) return 0;
  if (SSL_SESSION_is_resumable(session) != 1) return 0;
  destination->cache->store(destination->key, SslSessionPtr(session));
  return 1;
}

void ClientSessionCache::store(std::string_view key, SslSessionPtr session) {
  if (!session || SSL_SESSION_is_resumable(session.get()) != 1) return;
  if (const auto it = sessions_.find(key); it != sessions_.end()) {
    it->second = std::move(session);
    return;
  }
  sessions_.emplace(std::string(key), std::move(session));
}

SSL_SESSION* ClientSessionCache::find(std::string_view key) const {
  const auto it = sessions_.find(key);
  return it == sessions_.end() ? nullptr : it->second.get();
}

void ClientSessionCache::forget(std::string_view key) {
  if (const auto it = sessions_.find(key); it != sessions_.end()) sessions_.erase(it);
}

}  // namespace ferry::proxy::tls
