// Reading a PEM file into memory with an error that names it. Shared by certificate and CA
// loading, so every message reads the same way: "<path>: cannot read: <strerror>".
#pragma once

#include <string>

namespace ferry::proxy::tls {

// Reads the whole file at `path` into `out`. Returns "" or the error, prefixed with the path.
// Refuses anything larger than a few MiB (a PEM file never is; a mistyped path to a disk
// image should not be read into memory). Blocks: main thread.
std::string read_pem_file(const std::string& path, std::string& out);

}  // namespace ferry::proxy::tls
