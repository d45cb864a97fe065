// ferry against Debian's pebble on loopback: real orders, real HTTP-01 validations of ferry's
// own plain listener, the certificate served on its TLS listener and verified against Pebble's
// root. Each test has its own Pebble, ports and storage, so ctest runs them side by side.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <chrono>
#include <string>

#include "acme_ferry.h"
#include "pebble.h"
#include "proxy/acme/jws.h"
#include "support/child_process.h"
#include "support/client.h"
#include "support/fake_backend.h"
#include "support/metrics_text.h"
#include "support/ports.h"
#include "support/temp_dir.h"
#include "support/tls_client.h"
#include "support/wait.h"

namespace ferry::testing {
namespace {

using namespace std::chrono_literals;

mode_t mode_of(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? (st.st_mode & 07777) : 0;
}

TEST(AcmePebble, ObtainsACertificateByHttp01AndServesItForEveryName) {
  const uint16_t http_port = free_port();
  // 40% of good nonces refused: every order meets badNonce and must retry through it.
  Pebble pebble({http_port, 0, 40});
  ASSERT_TRUE(pebble.ready()) << pebble.error();
  FakeBackend backend("b1");
  TempDir dir;
  const std::string storage = dir.path() + "/var/acme";
  // Every other plain request is redirected to HTTPS: the challenge is answered before routes.
  const std::string routes = "routes:\n  - match: {listener: \"127.0.0.1:" + std::to_string(http_port) +
                             "\"}\n    redirect: {location: \"https://#{host}/#{path}\", status: 301}\n"
                             "  - forward: default\n";
  AcmeFerry ferry({http_port, pebble.directory(), pebble.ca_bundle(), storage, backend.address(), routes});
  ASSERT_TRUE(ferry.started()) << ferry.error();
  ASSERT_TRUE(eventually([&] { return ferry.orders(true) == 1; }, 20s)) << ferry.backends_json() << pebble.log();
  EXPECT_EQ(ferry.orders(false), 0);

  const std::string root = pebble.root_file();
  ASSERT_FALSE(root.empty());
  const std::string serial = served_serial(ferry.tls_port(), root, "a.ferry.test");
  EXPECT_FALSE(serial.empty());
  EXPECT_EQ(served_serial(ferry.tls_port(), root, "b.ferry.test"), serial);
  TlsClient client(ferry.tls_port(), root, "b.ferry.test");
  ASSERT_TRUE(client.connected()) << client.error();
  ASSERT_TRUE(client.send("GET / HTTP/1.1\r\nHost: b.ferry.test\r\n\r\n"));
  const std::optional<Response> over_tls = client.read_response();
  ASSERT_TRUE(over_tls);
  EXPECT_EQ(over_tls->status, 200);

  const std::optional<Response> unknown = get(http_port, "/.well-known/acme-challenge/no-such-token");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);  // ferry's answer, not the redirect
  const std::optional<Response> other = get(http_port, "/page");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 301);

  EXPECT_EQ(mode_of(storage), 0700u);
  EXPECT_EQ(mode_of(storage + "/account.key"), 0600u);
  EXPECT_EQ(mode_of(storage + "/a.ferry.test.pem"), 0600u);
  EXPECT_GT(ferry.server().acme()->bad_nonce_retries(), 0u);
  EXPECT_GT(metric_value(ferry.server().collector()->render_text(),
                         "ferry_tls_certificate_expiry_timestamp_seconds{name=\"a.ferry.test\"}")
                .value_or(0),
            1.7e9);
  // A reload keeps serving the certificate in hand; a changed acme section needs a restart.
  std::string error;
  ASSERT_TRUE(ferry.server().reload(ferry.server().config(), &error)) << error;
  EXPECT_EQ(served_serial(ferry.tls_port(), root, "a.ferry.test"), serial);
  config::Config changed = ferry.server().config();
  changed.acme->domains.push_back("c.ferry.test");
  EXPECT_FALSE(ferry.server().reload(changed, &error));
  EXPECT_NE(error.find("acme changed; restart ferry"), std::string::npos) << error;
  const std::string json = ferry.backends_json();
  EXPECT_NE(json.find("\"names\": [\"a.ferry.test\", \"b.ferry.test\"]"), std::string::npos) << json;
  EXPECT_NE(json.find("\"last_order\": {\"result\": \"success\""), std::string::npos) << json;
}

TEST(AcmePebble, RenewsAtTwoThirdsAndKeepsServingWhenTheCaIsDown) {
  const uint16_t http_port = free_port();
  Pebble pebble({http_port, 3600, 0});
  ASSERT_TRUE(pebble.ready()) << pebble.error();
  FakeBackend backend("b1");
  TempDir dir;
  TestClock clock;
  AcmeFerry ferry({http_port, pebble.directory(), pebble.ca_bundle(), dir.path() + "/acme", backend.address(), ""},
                  &clock);
  ASSERT_TRUE(ferry.started()) << ferry.error();
  ASSERT_TRUE(eventually([&] { return ferry.orders(true) == 1; }, 20s)) << ferry.backends_json();
  const std::string root = pebble.root_file();
  const std::string first = served_serial(ferry.tls_port(), root, "a.ferry.test");
  ASSERT_FALSE(first.empty());

  // Before two thirds (2400 s of 3600, ±72 s of jitter): nothing to do.
  clock.offset = 2200;
  ferry.server().acme()->wake();
  ASSERT_TRUE(eventually([&] { return ferry.backends_json().find("\"next_attempt\": null") == std::string::npos; }));
  EXPECT_EQ(ferry.orders(true), 1);
  // Past it: renewed, and the new certificate serves at once, with no reload. (Pebble issues
  // on its own clock, so to the moved one each new certificate is due at once too: renewals
  // go on until the CA goes away below.)
  clock.offset = 2500;
  ferry.server().acme()->wake();
  ASSERT_TRUE(eventually([&] { return ferry.orders(true) >= 2; }, 20s)) << ferry.backends_json();

  // The CA goes away; the next renewal fails, and the certificate in hand keeps serving.
  pebble.stop();
  ASSERT_TRUE(eventually([&] { return ferry.orders(false) >= 1; }, 20s)) << ferry.backends_json();
  const std::string second = served_serial(ferry.tls_port(), root, "b.ferry.test");
  EXPECT_FALSE(second.empty());
  EXPECT_NE(second, first);
  const std::string json = ferry.backends_json();
  EXPECT_NE(json.find("\"last_order\": {\"result\": \"failure\""), std::string::npos) << json;
  const std::optional<Response> plain = get(ferry.http_port(), "/");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->status, 200);
}

TEST(AcmePebble, ARestartServesTheStoredCertificateAndOrdersNothing) {
  const uint16_t http_port = free_port();
  Pebble pebble({http_port, 0, 0});
  ASSERT_TRUE(pebble.ready()) << pebble.error();
  FakeBackend backend("b1");
  TempDir dir;
  const AcmeSetup setup{http_port, pebble.directory(), pebble.ca_bundle(), dir.path() + "/acme", backend.address(), ""};
  const std::string root = pebble.root_file();
  std::string serial;
  {
    AcmeFerry first(setup);
    ASSERT_TRUE(first.started()) << first.error();
    ASSERT_TRUE(eventually([&] { return first.orders(true) == 1; }, 20s)) << first.backends_json();
    serial = served_serial(first.tls_port(), root, "a.ferry.test");
    ASSERT_FALSE(serial.empty());
  }
  const std::string account = file_contents(dir.path() + "/acme/account.key");
  AcmeFerry second(setup);
  ASSERT_TRUE(second.started()) << second.error();
  // Served from the first handshake, before the ACME thread has done anything.
  EXPECT_EQ(served_serial(second.tls_port(), root, "b.ferry.test"), serial);
  // Once the thread has looked at the schedule, it plans the renewal and orders nothing.
  ASSERT_TRUE(eventually([&] { return second.backends_json().find("\"next_attempt\": null") == std::string::npos; }));
  EXPECT_EQ(second.orders(true), 0);
  EXPECT_EQ(second.orders(false), 0);
  EXPECT_EQ(file_contents(dir.path() + "/acme/account.key"), account);
}

TEST(AcmePebble, AnUnreachablePort80IsOneCountedShownFailureAndTlsRefusesMeanwhile) {
  const uint16_t http_port = free_port();
  // Pebble validates on another port, where nothing listens: "port 80 unreachable".
  Pebble pebble({free_port(), 0, 0});
  ASSERT_TRUE(pebble.ready()) << pebble.error();
  FakeBackend backend("b1");
  TempDir dir;
  AcmeFerry ferry({http_port, pebble.directory(), pebble.ca_bundle(), dir.path() + "/acme", backend.address(), ""});
  ASSERT_TRUE(ferry.started()) << ferry.error();
  ASSERT_TRUE(eventually([&] { return ferry.orders(false) == 1; }, 20s)) << ferry.backends_json();
  const std::string json = ferry.backends_json();
  EXPECT_NE(json.find("urn:ietf:params:acme:error:connection"), std::string::npos) << json;
  EXPECT_NE(json.find("\"certificate\": null"), std::string::npos) << json;
  EXPECT_EQ(served_serial(ferry.tls_port(), pebble.root_file(), "a.ferry.test"), "");
  EXPECT_GE(ferry.failed_handshakes(), 1);
  const std::optional<Response> plain = get(ferry.http_port(), "/");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->status, 200);
}

}  // namespace
}  // namespace ferry::testing
