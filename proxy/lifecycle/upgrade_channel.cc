#include "proxy/lifecycle/upgrade_channel.h"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>

namespace ferry::proxy::lifecycle {

namespace {

constexpr std::size_t kMaxTicketRing = 4096;  // a ring is a few hundred bytes

}  // namespace

std::optional<UpgradeChannel> UpgradeChannel::from_environment() {
  const char* value = std::getenv(kUpgradeChannelVariable);
  if (value == nullptr) return std::nullopt;
  const std::string text = value;
  ::unsetenv(kUpgradeChannelVariable);
  int fd = -1;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), fd);
  if (ec != std::errc() || end != text.data() + text.size() || fd < 0) return std::nullopt;
  return UpgradeChannel(fd);
}

UpgradeChannel::~UpgradeChannel() {
  if (fd_ >= 0) ::close(fd_);
}

bool UpgradeChannel::receive(Handover* out, std::string* error, int timeout_ms) {
  // The message is small and written at once by the old process before it even waits for us,
  // so a blocking read with a deadline is enough here (no loop is running yet).
  std::string bytes;
  std::size_t want = 0;  // total length once the header line is known
  while (want == 0 || bytes.size() < want) {
    pollfd p{fd_, POLLIN, 0};
    const int ready = ::poll(&p, 1, timeout_ms);
    if (ready == 0) {
      *error = "the old process sent nothing within " + std::to_string(timeout_ms) + " ms";
      return false;
    }
    if (ready < 0 && errno == EINTR) continue;
    char buf[1024];
    const ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      *error = "the old process closed the upgrade channel before handing over";
      return false;
    }
    bytes.append(buf, static_cast<std::size_t>(n));
    if (want == 0) {
      const std::size_t nl = bytes.find('\n');
      if (nl == std::string::npos) {
        if (bytes.size() > 64) break;  // no header line this long: malformed
        continue;
      }
      if (nl <= kTicketKeysWord.size()) break;  // malformed: decode_handover says how
      std::size_t length = 0;
      const std::string_view count =
          std::string_view(bytes).substr(kTicketKeysWord.size() + 1, nl - kTicketKeysWord.size() - 1);
      std::from_chars(count.data(), count.data() + count.size(), length);
      if (length > kMaxTicketRing) break;
      want = nl + 1 + length;
    }
  }
  const std::optional<Handover> handover = decode_handover(bytes, error);
  std::fill(bytes.begin(), bytes.end(), '\0');
  if (!handover) return false;
  *out = *handover;
  return true;
}

void UpgradeChannel::report_ready() {
  if (fd_ < 0) return;
  const std::string line = std::string(kReadyWord) + " " + std::to_string(::getpid()) + "\n";
  // One small write on a socket nobody else writes to: it goes whole or the old process is gone.
  [[maybe_unused]] const ssize_t n = ::write(fd_, line.data(), line.size());
  ::close(std::exchange(fd_, -1));
}

std::vector<uint8_t> encode_handover(const Handover& handover) {
  const std::string header =
      std::string(kTicketKeysWord) + " " + std::to_string(handover.ticket_ring.size()) + "\n";
  std::vector<uint8_t> bytes(header.begin(), header.end());
  bytes.insert(bytes.end(), handover.ticket_ring.begin(), handover.ticket_ring.end());
  return bytes;
}

std::optional<Handover> decode_handover(std::string_view bytes, std::string* error) {
  const std::size_t nl = bytes.find('\n');
  const std::string_view header = bytes.substr(0, nl);
  if (nl == std::string_view::npos || header.substr(0, kTicketKeysWord.size() + 1) != std::string(kTicketKeysWord) + " ") {
    *error = "the upgrade channel's message does not start with \"ticket-keys N\"";
    return std::nullopt;
  }
  const std::string_view count = header.substr(kTicketKeysWord.size() + 1);
  std::size_t length = 0;
  const auto [end, ec] = std::from_chars(count.data(), count.data() + count.size(), length);
  if (ec != std::errc() || end != count.data() + count.size() || length > kMaxTicketRing) {
    *error = "the upgrade channel's ticket-keys length is not a number up to " + std::to_string(kMaxTicketRing);
    return std::nullopt;
  }
  if (bytes.size() - nl - 1 != length) {
    *error = "the upgrade channel's message has " + std::to_string(bytes.size() - nl - 1) + " bytes of keys, not " +
             std::to_string(length);
    return std::nullopt;
  }
  Handover out;
  const std::string_view ring = bytes.substr(nl + 1);
  out.ticket_ring.assign(ring.begin(), ring.end());
  return out;
}

}  // namespace ferry::proxy::lifecycle
