// Owning handles for OpenSSL objects (std::unique_ptr with the matching free function), so an
// early return frees whatever was made before it, and the OpenSSL error queue as a sentence.
#pragma once

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>

namespace ferry::proxy::tls {

template <auto FreeFn>
struct OpenSslFree {
  template <class T>
  void operator()(T* p) const {
    FreeFn(p);
  }
};

// STACK_OF(...) frees are macros; these give them an address.
void free_x509_stack(STACK_OF(X509) * stack);
void free_x509_name_stack(STACK_OF(X509_NAME) * stack);

using SslCtxPtr = std::unique_ptr<SSL_CTX, OpenSslFree<SSL_CTX_free>>;
using SslPtr = std::unique_ptr<SSL, OpenSslFree<SSL_free>>;
using SslSessionPtr = std::unique_ptr<SSL_SESSION, OpenSslFree<SSL_SESSION_free>>;
using X509Ptr = std::unique_ptr<X509, OpenSslFree<X509_free>>;
using X509StackPtr = std::unique_ptr<STACK_OF(X509), OpenSslFree<free_x509_stack>>;
using X509NameStackPtr = std::unique_ptr<STACK_OF(X509_NAME), OpenSslFree<free_x509_name_stack>>;
using X509StorePtr = std::unique_ptr<X509_STORE, OpenSslFree<X509_STORE_free>>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, OpenSslFree<EVP_PKEY_free>>;
using BioPtr = std::unique_ptr<BIO, OpenSslFree<BIO_free_all>>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, OpenSslFree<GENERAL_NAMES_free>>;

// The reasons OpenSSL queued on this thread, oldest first, joined with ": " (for example
// "no shared cipher"), or `fallback` when the queue is empty. Empties the queue, so the next
// call on this thread starts clean (OpenSSL requires that before SSL_get_error).
std::string take_openssl_errors(const char* fallback = "unknown OpenSSL error");

}  // namespace ferry::proxy::tls
