#include "proxy/tls/pem_file.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ferry::proxy::tls {
namespace {

constexpr off_t kMaxPemBytes = 8 * 1024 * 1024;

std::string cannot_read(const std::string& path, int error) {
  return path + ": cannot read: " + std::strerror(error);
}

}  // namespace

std::string read_pem_file(const std::string& path, std::string& out) {
  out.clear();
  if (path.empty()) return "(empty path): cannot read: no file named";
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return cannot_read(path, errno);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int error = errno;
    ::close(fd);
    return cannot_read(path, error);
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    return cannot_read(path, EISDIR);
  }
  if (st.st_size > kMaxPemBytes) {
    ::close(fd);
    return path + ": cannot read: larger than " + std::to_string(kMaxPemBytes) + " bytes";
  }
  // Sized up front so a key's bytes are not left behind in buffers freed by growth.
  out.reserve(static_cast<std::size_t>(st.st_size));
  char buf[16384];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      out.append(buf, static_cast<std::size_t>(n));
      if (out.size() > static_cast<std::size_t>(kMaxPemBytes)) {
        ::close(fd);
        OPENSSL_cleanse(buf, sizeof buf);
        return path + ": cannot read: larger than " + std::to_string(kMaxPemBytes) + " bytes";
      }
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    const int error = n < 0 ? errno : 0;
    ::close(fd);
    OPENSSL_cleanse(buf, sizeof buf);
    return error == 0 ? std::string() : cannot_read(path, error);
  }
}

}  // namespace ferry::proxy::tls
