// The conversation between a ferry and the binary it starts on SIGUSR2, over one socketpair
// the new process inherits (its descriptor named in FERRY_UPGRADE_FD):
//
//   old -> new   "handover N\n" and N bytes: a line "drained POOL ADDRESS" for each backend
//                drained from the admin API (so it stays out of rotation), then
//                "ticket-keys K\n" and K bytes: the session-ticket key ring, so clients
//                resume their TLS sessions across the upgrade (K is 0 without TLS)
//   new -> old   "ready PID\n" once the new process serves; the old one then stops accepting
//                and drains. End of stream without it means the new process failed.
//
// Secrets travel only over this socket, never in the environment or a file.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ferry::proxy::lifecycle {

inline constexpr const char* kUpgradeChannelVariable = "FERRY_UPGRADE_FD";
inline constexpr std::string_view kReadyWord = "ready";
inline constexpr std::string_view kTicketKeysWord = "ticket-keys";
inline constexpr std::string_view kHandoverWord = "handover";
inline constexpr std::string_view kDrainedWord = "drained";

// What the old process hands over besides its sockets.
struct Handover {
  std::vector<std::pair<std::string, std::string>> drained;  // (pool, address as written)
  std::vector<uint8_t> ticket_ring;  // TicketKeys::export_ring(); empty: none
};

// The new process's end.
class UpgradeChannel {
 public:
  // The channel named by FERRY_UPGRADE_FD (the variable is taken out of the environment);
  // nullopt when this process was not started by an upgrading ferry.
  static std::optional<UpgradeChannel> from_environment();
  explicit UpgradeChannel(int fd) : fd_(fd) {}
  UpgradeChannel(UpgradeChannel&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UpgradeChannel& operator=(UpgradeChannel&&) = delete;
  ~UpgradeChannel();

  // Reads the handover; waits at most `timeout_ms`. False with *error on a malformed or late
  // message (the process should then exit: the old one keeps serving).
  bool receive(Handover* out, std::string* error, int timeout_ms = 5000);
  // Tells the old process this one serves, and closes the channel.
  void report_ready();

 private:
  int fd_ = -1;
};

// The old process's message, as bytes (wiped by the caller once written).
std::vector<uint8_t> encode_handover(const Handover& handover);
// Parses one; nullopt (and *error) unless `bytes` is exactly one well-formed message.
std::optional<Handover> decode_handover(std::string_view bytes, std::string* error);

}  // namespace ferry::proxy::lifecycle
