// The latest TLS session per backend, so a new connection to a backend resumes instead of
// paying a full handshake. One per worker; loop thread only (no lock). Sessions arrive from
// OpenSSL's new-session callback (after the handshake in TLS 1.2; with the server's
// NewSessionTicket, read after the handshake, in TLS 1.3) and replace the previous one.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>

#include "proxy/tls/openssl_handles.h"

namespace ferry::proxy::tls {

class ClientSessionCache {
 public:
  // Where a client SSL's new sessions go. Session::client attaches one to each SSL it makes
  // with a cache; it must live as long as the SSL.
  struct Destination {
    ClientSessionCache* cache = nullptr;
    std::string key;
  };
  static void attach(SSL* ssl, Destination* destination);
  // The new-session callback (SSL_CTX_sess_set_new_cb) ClientContext installs. Returns 1
  // when it kept the session (OpenSSL's convention), 0 when it did not.
  static int on_new_session(SSL* ssl, SSL_SESSION* session);

  // Takes the session; a session that cannot be resumed is dropped.
  void store(std::string_view key, SslSessionPtr session);
  // The latest session for `key` (owned by the cache; SSL_set_session takes its own
  // reference), or null.
  SSL_SESSION* find(std::string_view key) const;
  // Drops the session for `key` (a backend that went away, or whose session failed).
  void forget(std::string_view key);
  // Keeps only the sessions whose key `keep(std::string_view)` accepts (the backends still
  // configured), so a cache that outlives many backend sets stays the size of the current one.
  template <class Keep>
  void retain_if(Keep keep) {
    for (auto it = sessions_.begin(); it != sessions_.end();) {
      if (keep(std::string_view(it->first))) {
        ++it;
      } else {
        it = sessions_.erase(it);
      }
    }
  }
  void clear() { sessions_.clear(); }
  std::size_t size() const { return sessions_.size(); }

 private:
  struct KeyHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, SslSessionPtr, KeyHash, std::equal_to<>> sessions_;
};

}  // namespace ferry::proxy::tls
