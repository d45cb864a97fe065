// One-line logs to stderr, prefixed "ferry: ". Debug lines only with FERRY_DEBUG=1 in the
// environment. Any thread: each line is written with a single write(2).
#pragma once

namespace ferry::proxy {

void log_error(const char* format, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char* format, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char* format, ...) __attribute__((format(printf, 1, 2)));
bool debug_enabled();

}  // namespace ferry::proxy
