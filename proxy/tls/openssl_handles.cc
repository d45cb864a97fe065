#include "proxy/tls/openssl_handles.h"

#include <openssl/err.h>

namespace ferry::proxy::tls {

void free_x509_stack(STACK_OF(X509) * stack) { sk_X509_pop_free(stack, X509_free); }

void free_x509_name_stack(STACK_OF(X509_NAME) * stack) {
  sk_X509_NAME_pop_free(stack, X509_NAME_free);
}

std::string take_openssl_errors(const char* fallback) {
  std::string out;
  const char* data = nullptr;
  int flags = 0;
  while (const unsigned long code = ERR_get_error_all(nullptr, nullptr, nullptr, &data, &flags)) {
    std::string part;
    if (const char* reason = ERR_reason_error_string(code)) {
      part = reason;
    } else {
      char buf[128];
      ERR_error_string_n(code, buf, sizeof buf);
      part = buf;
    }
    // Extra text some errors carry, e.g. the file name of a failed load.
    if ((flags & ERR_TXT_STRING) != 0 && data != nullptr && *data != '\0') {
      part += " (";
      part += data;
      part += ')';
    }
    // One failure often queues the same reason at several levels; say it once.
    if (out.find(part) != std::string::npos) continue;
    if (!out.empty()) out += ": ";
    out += part;
  }
  return out.empty() ? std::string(fallback) : out;
}

}  // namespace ferry::proxy::tls
