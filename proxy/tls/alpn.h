// ALPN (RFC 7301) lists in wire form and the server's choice. Pure; no OpenSSL.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ferry::proxy::tls {

// The protocols in wire form (each name after a one-byte length): {"h2", "http/1.1"} gives
// "\x02h2\x08http/1.1". Returns false (and leaves `out` empty) when a name is empty or longer
// than 255 bytes.
bool alpn_wire(const std::vector<std::string>& protocols, std::string& out);

// The first protocol of `ours` (wire form, in our order of preference) that `theirs` (wire
// form, from the ClientHello) also lists, as a view into `theirs`; "" when there is none or
// `theirs` is malformed. Server preference, as nginx and HAProxy choose: the server knows
// which protocol it serves best. (Not SSL_select_next_proto, which reads past its input on a
// malformed list in OpenSSL before 3.0.15: CVE-2024-5535.)
std::string_view select_alpn(std::string_view ours, std::string_view theirs);

}  // namespace ferry::proxy::tls
