#include "proxy/lifecycle/upgrade_channel.h"

#include <openssl/crypto.h>
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
constexpr std::size_t kMaxHandover = 1 << 20;   // the ring and every drained backend's line

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
      std::size_t length = 0;
      if (nl > kHandoverWord.size()) {
        const std::string_view count = std::string_view(bytes).substr(kHandoverWord.size() + 1, nl - kHandoverWord.size() - 1);
        std::from_chars(count.data(), count.data() + count.size(), length);
      }
      if (length == 0 || length > kMaxHandover) break;  // malformed: decode_handover says how
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
  std::string body;
  for (const auto& [pool, address] : handover.drained)
    body += std::string(kDrainedWord) + " " + pool + " " + address + "\n";
  body += std::string(kTicketKeysWord) + " " + std::to_string(handover.ticket_ring.size()) + "\n";
  body.append(handover.ticket_ring.begin(), handover.ticket_ring.end());
  const std::string header = std::string(kHandoverWord) + " " + std::to_string(body.size()) + "\n";
  std::vector<uint8_t> bytes(header.begin(), header.end());
  bytes.insert(bytes.end(), body.begin(), body.end());
  OPENSSL_cleanse(body.data(), body.size());
  return bytes;
}

std::optional<Handover> decode_handover(std::string_view bytes, std::string* error) {
  auto fail = [&](const std::string& why) -> std::optional<Handover> {
    *error = "the upgrade channel's message: " + why;
    return std::nullopt;
  };
  // Takes the next line (without its newline) off the front of `bytes`.
  auto next_line = [&](std::string_view* line) {
    const std::size_t nl = bytes.find('\n');
    if (nl == std::string_view::npos) return false;
    *line = bytes.substr(0, nl);
    bytes.remove_prefix(nl + 1);
    return true;
  };
  // "WORD N" -> N.
  auto counted = [](std::string_view line, std::string_view word, std::size_t* n) {
    if (line.size() <= word.size() + 1 || line.substr(0, word.size()) != word || line[word.size()] != ' ') return false;
    const std::string_view digits = line.substr(word.size() + 1);
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), *n);
    return ec == std::errc() && end == digits.data() + digits.size();
  };
  std::string_view line;
  std::size_t length = 0;
  if (!next_line(&line) || !counted(line, kHandoverWord, &length)) return fail("it does not start with \"handover N\"");
  if (bytes.size() != length) return fail("it has " + std::to_string(bytes.size()) + " bytes, not " + std::to_string(length));
  Handover out;
  while (next_line(&line)) {
    std::size_t ring = 0;
    if (counted(line, kTicketKeysWord, &ring)) {
      if (ring > kMaxTicketRing || bytes.size() != ring) return fail("the ticket-keys length is wrong");
      out.ticket_ring.assign(bytes.begin(), bytes.end());
      return out;
    }
    const std::string prefix = std::string(kDrainedWord) + " ";
    const std::size_t space = line.find(' ', prefix.size());
    if (line.substr(0, prefix.size()) != prefix || space == std::string_view::npos || space + 1 >= line.size())
      return fail("\"" + std::string(line.substr(0, 80)) + "\" is neither \"drained POOL ADDRESS\" nor \"ticket-keys N\"");
    out.drained.emplace_back(std::string(line.substr(prefix.size(), space - prefix.size())),
                             std::string(line.substr(space + 1)));
  }
  return fail("it has no ticket-keys line");
}

}  // namespace ferry::proxy::lifecycle
