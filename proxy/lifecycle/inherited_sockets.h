// Listening sockets a process is born with instead of binding its own: from systemd's socket
// activation (LISTEN_FDS, valid only when LISTEN_PID is this process; names in LISTEN_FDNAMES)
// or from the ferry it replaces on a zero-downtime upgrade (FERRY_LISTEN_FDS). Taking over the
// very same sockets, rather than binding a second SO_REUSEPORT group beside the old one, is what
// keeps connections queued during the handover from being reset.
#pragma once

#include <sys/socket.h>

#include <string>
#include <string_view>
#include <vector>

namespace ferry::proxy::lifecycle {

// The variable an upgrading ferry names its sockets in: "FD=NAME;FD=NAME", NAME being the
// listen address as the old configuration wrote it, or "admin@" and the admin address.
inline constexpr const char* kUpgradeSocketsVariable = "FERRY_LISTEN_FDS";

// The name the admin listener's socket goes by: the address as written, so a new file that
// moves the admin listener does not take the old socket.
inline std::string admin_socket_name(std::string_view written) { return "admin@" + std::string(written); }

// A listening socket handed to a new process on an upgrade, and the name it goes by there.
struct HandoverSocket {
  int fd = -1;
  std::string name;  // the listen address as written, or admin_socket_name()
};

struct InheritedSocket {
  int fd = -1;
  std::string name;            // as handed over; empty when systemd gave none
  sockaddr_storage address{};  // where it is bound (getsockname)
};

class InheritedSockets {
 public:
  // Reads the sockets named in the environment and takes the variables out of it, so a process
  // this one starts never mistakes them for its own. Sets FD_CLOEXEC on each. An fd that is not
  // a listening stream socket is an error (*error says which); none at all is no error.
  static InheritedSockets from_environment(std::string* error);
  // Tests: sockets the caller made.
  explicit InheritedSockets(std::vector<InheritedSocket> sockets = {}, std::string source = "")
      : sockets_(std::move(sockets)), source_(std::move(source)) {}

  // Takes every socket named `name`; if none is, every one bound to `address` (a wildcard
  // address matches the other family's wildcard on the same port: systemd's ListenStream=8888
  // is [::]:8888). The caller owns the fds it gets.
  std::vector<int> take(std::string_view name, const sockaddr_storage& address);
  // Closes the sockets nobody took and says which they were, for the log.
  std::vector<std::string> close_rest();

  bool empty() const { return sockets_.empty(); }
  // "systemd socket activation", "upgrade" or "" (none).
  const std::string& source() const { return source_; }

 private:
  std::vector<InheritedSocket> sockets_;
  std::string source_;
};

// The same address and port; wildcards of either family count as one.
bool same_listen_address(const sockaddr_storage& a, const sockaddr_storage& b);

}  // namespace ferry::proxy::lifecycle
