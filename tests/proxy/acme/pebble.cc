#include "pebble.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>

#include "proxy/acme/http_client.h"
#include "support/ports.h"
#include "support/wait.h"

namespace ferry::testing {

namespace {

bool accepts(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

Pebble::Pebble(PebbleOptions options) {
  const TestCa::Files tls = ca_.issue("pebble", {"127.0.0.1", "localhost"});
  port_ = free_port();
  management_port_ = free_port();
  const uint16_t dns_port = free_port();
  const uint16_t management_dns = free_port();
  const std::string config = dir_.path() + "/pebble.json";
  std::string json = R"({"pebble": {"listenAddress": "127.0.0.1:)" + std::to_string(port_) +
                     R"(", "managementListenAddress": "127.0.0.1:)" + std::to_string(management_port_) +
                     R"(", "certificate": ")" + tls.cert + R"(", "privateKey": ")" + tls.key +
                     R"(", "httpPort": )" + std::to_string(options.http_port) + R"(, "tlsPort": )" +
                     std::to_string(free_port()) + R"(, "ocspResponderURL": "", "externalAccountBindingRequired": false)";
  if (options.validity_seconds > 0) json += ", \"certificateValidityPeriod\": " + std::to_string(options.validity_seconds);
  json += "}}\n";
  write_file(config, json);
  dns_ = std::make_unique<ChildProcess>(
      std::vector<std::string>{"/usr/bin/env", "pebble-challtestsrv", "-dns01", "127.0.0.1:" + std::to_string(dns_port),
                               "-http01", "", "-https01", "", "-tlsalpn01", "", "-management",
                               "127.0.0.1:" + std::to_string(management_dns), "-defaultIPv4", "127.0.0.1",
                               "-defaultIPv6", ""},
      dir_.path() + "/dns.log", dir_.path() + "/dns.log");
  // PEBBLE_VA_NOSLEEP: no 0-15 s pause before each validation. PEBBLE_AUTHZREUSE 0: every
  // order is validated again, so a renewal proves the challenge path once more.
  pebble_ = std::make_unique<ChildProcess>(
      std::vector<std::string>{"/usr/bin/env", "PEBBLE_VA_NOSLEEP=1", "PEBBLE_AUTHZREUSE=0",
                               "PEBBLE_WFE_NONCEREJECT=" + std::to_string(options.nonce_reject_percent), "pebble",
                               "-config", config, "-dnsserver", "127.0.0.1:" + std::to_string(dns_port)},
      dir_.path() + "/pebble.log", dir_.path() + "/pebble.log");
  ready_ = eventually([&] { return accepts(port_) && accepts(management_port_) && accepts(management_dns); },
                      std::chrono::seconds(15));
  if (!ready_) error_ = "pebble did not start: " + log();
}

Pebble::~Pebble() = default;

std::string Pebble::root_file() {
  const std::string path = dir_.path() + "/pebble-root.pem";
  proxy::acme::HttpClient http(ca_.ca_file(), {}, nullptr);
  const proxy::acme::HttpResponse r = http.request(
      proxy::acme::HttpClient::Method::Get, "https://127.0.0.1:" + std::to_string(management_port_) + "/roots/0");
  if (!r.ok()) return {};
  write_file(path, r.body);
  return path;
}

void Pebble::stop() { pebble_.reset(); }

std::string Pebble::log() const { return file_contents(dir_.path() + "/pebble.log"); }

}  // namespace ferry::testing
