#include "proxy/acme/storage.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>

namespace ferry::proxy::acme {

namespace {

constexpr mode_t kDirectoryMode = 0700;
constexpr mode_t kFileMode = 0600;
constexpr std::size_t kMaxFileBytes = 1 << 20;

std::string why(const std::string& path) { return path + ": " + std::strerror(errno); }

}  // namespace

std::string Storage::path(std::string_view name) const { return directory_ + "/" + std::string(name); }

std::string Storage::certificate_file(std::string_view first_domain) {
  return std::string(first_domain) + ".pem";
}

bool Storage::prepare(std::string* error) const {
  // Parents first; only the storage directory itself is made private.
  for (std::size_t slash = directory_.find('/', 1); slash != std::string::npos;
       slash = directory_.find('/', slash + 1)) {
    const std::string parent = directory_.substr(0, slash);
    if (::mkdir(parent.c_str(), 0755) != 0 && errno != EEXIST) {
      *error = why(parent);
      return false;
    }
  }
  if (::mkdir(directory_.c_str(), kDirectoryMode) != 0 && errno != EEXIST) {
    *error = why(directory_);
    return false;
  }
  struct stat st {};
  if (::stat(directory_.c_str(), &st) != 0) {
    *error = why(directory_);
    return false;
  }
  if (!S_ISDIR(st.st_mode)) {
    *error = directory_ + ": not a directory";
    return false;
  }
  if ((st.st_mode & 0777) != kDirectoryMode && ::chmod(directory_.c_str(), kDirectoryMode) != 0) {
    *error = why(directory_);
    return false;
  }
  return true;
}

std::optional<std::string> Storage::read(std::string_view name) const {
  const std::string file = path(name);
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string content;
  char buf[8192];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) break;
    // A read error, or a file far larger than any key or chain: not ours to trust.
    if (n < 0 || content.size() + static_cast<std::size_t>(n) > kMaxFileBytes) {
      ::close(fd);
      return std::nullopt;
    }
    content.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return content;
}

bool Storage::write(std::string_view name, std::string_view content, std::string* error) const {
  const std::string file = path(name);
  std::random_device random;
  const std::string temp = file + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(random());
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, kFileMode);
  if (fd < 0) {
    *error = why(temp);
    return false;
  }
  bool ok = ::fchmod(fd, kFileMode) == 0;  // whatever the umask
  for (std::size_t done = 0; ok && done < content.size();) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<std::size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  if (!ok) *error = why(temp);
  ::close(fd);
  if (ok && ::rename(temp.c_str(), file.c_str()) != 0) {
    *error = why(file);
    ok = false;
  }
  if (!ok) ::unlink(temp.c_str());
  return ok;
}

}  // namespace ferry::proxy::acme
