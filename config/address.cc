#include "config/address.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <cstring>

namespace ferry::config {

namespace {

bool is_ipv4(const std::string& host) {
  in_addr a{};
  return inet_pton(AF_INET, host.c_str(), &a) == 1;
}

bool is_ipv6(const std::string& host) {
  in6_addr a{};
  return inet_pton(AF_INET6, host.c_str(), &a) == 1;
}

bool is_host_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_';
}

// Checks the host of an unbracketed "host:port"; returns the "expected ..." sentence or "".
std::string host_problem(const std::string& host) {
  if (host.empty()) return "expected a host before the port";
  for (char c : host)
    if (!is_host_name_char(c)) return "expected a host name or an IPv4 address before the port";
  // Digits and dots only can't be a DNS name, so it has to be a complete IPv4 address; otherwise
  // "10.0.0" would go to the resolver and fail later, far from the file.
  if (host.find_first_not_of("0123456789.") == std::string::npos && !is_ipv4(host))
    return "expected an IPv4 address of four numbers from 0 to 255";
  return "";
}

std::optional<HostPort> parse(std::string_view text, uint16_t min_port, std::string* error) {
  const std::string port_problem =
      "expected a port from " + std::to_string(min_port) + " to 65535 after the colon";
  HostPort hp;
  std::string_view rest;
  if (!text.empty() && text.front() == '[') {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos) {
      *error = "expected a closing bracket after the IPv6 address, as [::1]:80";
      return std::nullopt;
    }
    hp.host = std::string(text.substr(1, close - 1));
    if (!is_ipv6(hp.host)) {
      *error = "expected an IPv6 address inside the brackets, as [::1]:80";
      return std::nullopt;
    }
    rest = text.substr(close + 1);
    if (rest.empty() || rest.front() != ':') {
      *error = "expected host:port with a port after the brackets, as [::1]:80";
      return std::nullopt;
    }
    rest.remove_prefix(1);
  } else {
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      *error = "expected host:port with a port";
      return std::nullopt;
    }
    hp.host = std::string(text.substr(0, colon));
    // "::1:80" or "2001:db8::1" read as an IPv6 address with the port lost in it: say so
    // rather than complain about the host name.
    if (hp.host.find(':') != std::string::npos && (is_ipv6(hp.host) || is_ipv6(std::string(text)))) {
      *error = "expected an IPv6 address in brackets, as [::1]:80";
      return std::nullopt;
    }
    if (std::string problem = host_problem(hp.host); !problem.empty()) {
      *error = std::move(problem);
      return std::nullopt;
    }
    rest = text.substr(colon + 1);
  }
  if (rest.empty() || rest.size() > 5 || rest.find_first_not_of("0123456789") != std::string_view::npos) {
    *error = port_problem;
    return std::nullopt;
  }
  unsigned port = 0;
  for (char c : rest) port = port * 10 + static_cast<unsigned>(c - '0');
  if (port < min_port || port > 65535) {
    *error = port_problem;
    return std::nullopt;
  }
  hp.port = static_cast<uint16_t>(port);
  return hp;
}

bool same_address(const sockaddr_storage& a, const sockaddr_storage& b) {
  if (a.ss_family != b.ss_family) return false;
  if (a.ss_family == AF_INET) {
    const auto* x = reinterpret_cast<const sockaddr_in*>(&a);
    const auto* y = reinterpret_cast<const sockaddr_in*>(&b);
    return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
  }
  if (a.ss_family == AF_INET6) {
    const auto* x = reinterpret_cast<const sockaddr_in6*>(&a);
    const auto* y = reinterpret_cast<const sockaddr_in6*>(&b);
    return x->sin6_port == y->sin6_port && x->sin6_scope_id == y->sin6_scope_id &&
           std::memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(in6_addr)) == 0;
  }
  return false;
}

}  // namespace

std::optional<HostPort> parse_host_port(std::string_view text, std::string* error) {
  return parse(text, 1, error);
}

std::optional<HostPort> parse_bind_address(std::string_view text, std::string* error) {
  return parse(text, 0, error);
}

std::vector<sockaddr_storage> resolve(const HostPort& hp, std::string* error) {
  std::vector<sockaddr_storage> out;
  sockaddr_storage addr{};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&addr);
  if (inet_pton(AF_INET, hp.host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(hp.port);
    out.push_back(addr);
    return out;
  }
  addr = {};
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&addr);
  if (inet_pton(AF_INET6, hp.host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(hp.port);
    out.push_back(addr);
    return out;
  }

  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* list = nullptr;
  const int rc = getaddrinfo(hp.host.c_str(), nullptr, &hints, &list);
  if (rc != 0) {
    *error = "cannot resolve \"" + hp.host + "\": " + gai_strerror(rc);
    return out;
  }
  for (const addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
    if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) || ai->ai_addrlen > sizeof(addr)) continue;
    addr = {};
    std::memcpy(&addr, ai->ai_addr, ai->ai_addrlen);
    if (addr.ss_family == AF_INET)
      reinterpret_cast<sockaddr_in*>(&addr)->sin_port = htons(hp.port);
    else
      reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port = htons(hp.port);
    // A resolver can answer one address twice (/etc/hosts and DNS both list it), and each
    // copy would become a backend of its own.
    bool seen = false;
    for (const sockaddr_storage& known : out) seen = seen || same_address(known, addr);
    if (!seen) out.push_back(addr);
  }
  freeaddrinfo(list);
  if (out.empty()) *error = "cannot resolve \"" + hp.host + "\": no IPv4 or IPv6 address";
  return out;
}

std::string to_string(const sockaddr_storage& addr) {
  char text[INET6_ADDRSTRLEN] = {};
  if (addr.ss_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&addr);
    inet_ntop(AF_INET, &v4->sin_addr, text, sizeof(text));
    return std::string(text) + ":" + std::to_string(ntohs(v4->sin_port));
  }
  if (addr.ss_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&addr);
    inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof(text));
    return "[" + std::string(text) + "]:" + std::to_string(ntohs(v6->sin6_port));
  }
  return "<address family " + std::to_string(addr.ss_family) + ">";
}

std::string to_string(const HostPort& hp) {
  std::string host = hp.host;
  in_addr a4{};
  in6_addr a6{};
  char text[INET6_ADDRSTRLEN] = {};
  if (inet_pton(AF_INET, hp.host.c_str(), &a4) == 1) {
    host = inet_ntop(AF_INET, &a4, text, sizeof(text));
  } else if (inet_pton(AF_INET6, hp.host.c_str(), &a6) == 1) {
    host = "[" + std::string(inet_ntop(AF_INET6, &a6, text, sizeof(text))) + "]";
  } else {
    for (char& c : host)
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return host + ":" + std::to_string(hp.port);
}

uint16_t port_of(const sockaddr_storage& addr) {
  return addr.ss_family == AF_INET6 ? ntohs(reinterpret_cast<const sockaddr_in6&>(addr).sin6_port)
                                    : ntohs(reinterpret_cast<const sockaddr_in&>(addr).sin_port);
}

}  // namespace ferry::config
