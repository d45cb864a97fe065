// RFC 9773 renewal information. Debian's pebble 2.4.0 has none, so a stub stands in front of
// it: it serves Pebble's directory plus a renewalInfo URL of its own and answers that, while
// orders, challenges and certificates are Pebble's.
#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <string>
#include <vector>

#include "acme_ferry.h"
#include "pebble.h"
#include "proxy/acme/http_client.h"
#include "proxy/acme/jws.h"
#include "support/child_process.h"
#include "support/fake_backend.h"
#include "support/ports.h"
#include "support/temp_dir.h"
#include "support/wait.h"

namespace ferry::testing {
namespace {

using namespace std::chrono_literals;

class AriStub {
 public:
  // `directory`: Pebble's directory document.
  explicit AriStub(const std::string& pebble_directory) : stub_("ari") {
    directory_ = "{\"renewalInfo\": \"http://" + stub_.address() + "/ari/\", " + pebble_directory.substr(
                     pebble_directory.find('{') + 1);
    stub_.set_handler([this](BackendConn& conn, const Request& r) { serve(conn, r); });
  }
  std::string url() const { return "http://" + stub_.address() + "/dir"; }
  std::vector<std::string> asked() const {
    std::lock_guard lock(mutex_);
    return asked_;
  }

 private:
  void serve(BackendConn& conn, const Request& r) {
    std::string body = directory_;
    std::string extra;
    if (r.target.rfind("/ari/", 0) == 0) {
      const std::string id = r.target.substr(5);
      std::lock_guard lock(mutex_);
      // The first certificate: renew now (a window in the past). Any later one: in 2099.
      const bool first = asked_.empty() || asked_.front() == id;
      asked_.push_back(id);
      body = first ? R"({"suggestedWindow": {"start": "2001-01-01T00:00:00Z", "end": "2001-01-02T00:00:00Z"}})"
                   : R"({"suggestedWindow": {"start": "2099-01-01T00:00:00Z", "end": "2099-01-02T00:00:00Z"}})";
      extra = "Retry-After: 21600\r\n";
    }
    conn.send("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" + extra +
              "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
    conn.close_now();
  }

  FakeBackend stub_;
  std::string directory_;
  mutable std::mutex mutex_;
  std::vector<std::string> asked_;
};

TEST(AcmeAri, RenewsInTheWindowTheCaSuggestsForTheCertificateItNames) {
  const uint16_t http_port = free_port();
  Pebble pebble({http_port, 0, 0});
  ASSERT_TRUE(pebble.ready()) << pebble.error();
  proxy::acme::HttpClient http(pebble.ca_bundle(), {}, nullptr);
  const proxy::acme::HttpResponse dir = http.request(proxy::acme::HttpClient::Method::Get, pebble.directory());
  ASSERT_TRUE(dir.ok()) << dir.error;
  AriStub stub(dir.body);
  FakeBackend backend("b1");
  TempDir storage;
  AcmeFerry ferry({http_port, stub.url(), pebble.ca_bundle(), storage.path() + "/acme", backend.address(), ""});
  ASSERT_TRUE(ferry.started()) << ferry.error();
  // Pebble's 5-year certificate is nowhere near two thirds: only the window makes it renew.
  // The new certificate's window is in 2099: it is planned there.
  ASSERT_TRUE(eventually(
      [&] {
        return ferry.orders(true) == 2 && stub.asked().size() >= 2 &&
               ferry.backends_json().find("\"renew_at\": \"2099-01-01") != std::string::npos;
      },
      20s))
      << ferry.backends_json();
  const std::vector<std::string> asked = stub.asked();
  EXPECT_NE(asked[0], asked[1]);
  const std::optional<proxy::acme::CertificateFacts> now_served =
      proxy::acme::certificate_facts(file_contents(storage.path() + "/acme/a.ferry.test.pem"));
  ASSERT_TRUE(now_served);
  EXPECT_EQ(asked.back(), now_served->ari_id);
  EXPECT_EQ(ferry.orders(true), 2);
}

}  // namespace
}  // namespace ferry::testing
