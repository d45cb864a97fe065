#include "proxy/admin/log.h"

#include <unistd.h>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <cstring>

namespace ferry::proxy {

namespace {

void write_line(const char* format, va_list args) {
  char line[1024];
  int n = std::snprintf(line, sizeof line, "ferry: ");
  const int m = std::vsnprintf(line + n, sizeof line - static_cast<std::size_t>(n) - 1, format, args);
  if (m > 0) n += std::min(m, static_cast<int>(sizeof line) - n - 2);
  line[n++] = '\n';
  // One write per line so lines from several threads never interleave mid-line.
  [[maybe_unused]] const ssize_t w = ::write(STDERR_FILENO, line, static_cast<std::size_t>(n));
}

}  // namespace

bool debug_enabled() {
  static const bool enabled = [] {
    const char* v = std::getenv("FERRY_DEBUG");
    return v != nullptr && std::strcmp(v, "0") != 0 && *v != '\0';
  }();
  return enabled;
}

void log_error(const char* format, ...) {
  va_list args;
  va_start(args, format);
  write_line(format, args);
  va_end(args);
}

void log_info(const char* format, ...) {
  va_list args;
  va_start(args, format);
  write_line(format, args);
  va_end(args);
}

void log_debug(const char* format, ...) {
  if (!debug_enabled()) return;
  va_list args;
  va_start(args, format);
  write_line(format, args);
  va_end(args);
}

}  // namespace ferry::proxy
