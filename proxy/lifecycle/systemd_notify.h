// systemd's readiness protocol without libsystemd: one datagram of newline-separated
// KEY=VALUE lines to the socket named in $NOTIFY_SOCKET (a path, or "@name" in the abstract
// namespace). Without the variable (not under a Type=notify unit) every call is a no-op.
//
// ferry sends READY=1 once it serves, RELOADING=1 then READY=1 around a reload or an upgrade,
// MAINPID= naming the new process once an upgrade has handed over (so the service follows it
// instead of dying with the old one), and STOPPING=1 when it begins to shut down. Debian 12's
// systemd 252 has no Type=notify-reload, so nothing here sends MONOTONIC_USEC=.
#pragma once

#include <string>
#include <string_view>

namespace ferry::proxy::lifecycle {

// Sends `message`; false with *error if $NOTIFY_SOCKET is set but the datagram could not go.
// True (and nothing sent) without $NOTIFY_SOCKET.
bool notify_systemd(std::string_view message, std::string* error);

// The same, logging a failure instead of returning it.
void notify_systemd(std::string_view message);

}  // namespace ferry::proxy::lifecycle
