// Checks of single string values whose form the contract fixes. Pure, so the rules can be
// tested as tables; decode.cc turns a false into a positioned message.
#pragma once

#include <string_view>

namespace ferry::config {

// An HTTP token (RFC 9110 tchar+): what a header or cookie name may be.
bool is_token(std::string_view text);

// client_ip | header:NAME | cookie:NAME, NAME a token.
bool is_hash_key(std::string_view text);

// A status code, a range or a comma list of them, every code within 100..599 and every range
// low-high: "200", "200-399", "200,204,300-399". No spaces, so the health checker's matcher
// sees exactly this grammar.
bool is_status_spec(std::string_view text);

// An origin-form request target for the health check: starts with '/', no spaces or control
// bytes (they would split or corrupt the request line).
bool is_request_path(std::string_view text);

// Visible ASCII without spaces: safe to send as a Host header value (no CR/LF injection).
bool is_host_header(std::string_view text);

// The admin bearer token: empty (none), or 16 to 256 visible ASCII characters without spaces,
// so it fits an Authorization header as is and is not guessable by being short.
bool is_admin_token(std::string_view text);

// A host that only this machine reaches: 127.0.0.0/8, ::1 or "localhost".
bool is_loopback_host(std::string_view host);

// "off", "stdout" or a non-empty file path without control bytes.
bool is_access_log(std::string_view text);

// A pool or route name: 1 to 64 letters, digits, '-' or '_', so it reads the same in a metric
// label, a log line and a YAML key without quoting.
bool is_name(std::string_view text);

// A name to send as SNI and check a backend's certificate against: 1 to 253 letters, digits,
// '-', '_' and '.' (no port).
bool is_server_name(std::string_view text);

// A media type for a response ferry writes itself: "type/subtype", both tokens, then optional
// parameters ("; charset=utf-8") in printable ASCII; at most 256 bytes. Nothing that could end
// the header line.
bool is_content_type(std::string_view text);

}  // namespace ferry::config
