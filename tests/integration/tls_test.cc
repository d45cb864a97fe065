// TLS listeners end to end, with real clients: curl and openssl s_client over loopback, raw
// sockets for bad input. Certificates are made at test time with the openssl command line.
#include <gtest/gtest.h>

#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "proxy/core/server.h"
#include "support/child_process.h"
#include "support/client.h"
#include "support/fake_backend.h"
#include "support/ferry_process.h"
#include "support/metrics_text.h"
#include "support/ports.h"
#include "support/proxy_fixture.h"
#include "support/scoped_thread.h"
#include "support/temp_dir.h"
#include "support/tls_client.h"
#include "support/upgraded_process.h"
#include "support/wait.h"

namespace ferry::testing {
namespace {

using namespace std::chrono_literals;

// Runs a shell command line; true when it exits 0.
CommandResult sh(const std::string& command, std::chrono::milliseconds limit = 30s) {
  return run_command({"/bin/sh", "-c", command}, limit);
}

// A private CA and leaves signed by it, in `dir`.
class Pki {
 public:
  explicit Pki(const std::string& dir) : dir_(dir) {
    ok_ = sh("cd " + dir_ +
             " && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key"
             " -out ca.pem -days 30 -subj /CN=ferry-test-ca 2>/dev/null")
              .exit_code == 0;
  }
  bool ok() const { return ok_; }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }

  // A leaf `name`.pem/.key for `dns_names` (the first is the CN); `rsa` for an RSA key;
  // `days` < 0 makes one that has already expired.
  bool leaf(const std::string& name, const std::vector<std::string>& dns_names, bool rsa = false,
            int days = 30) {
    std::string san = "subjectAltName=";
    for (std::size_t i = 0; i < dns_names.size(); ++i) san += (i ? ",DNS:" : "DNS:") + dns_names[i];
    const std::string key = rsa ? "-newkey rsa:2048" : "-newkey ec -pkeyopt ec_paramgen_curve:P-256";
    const std::string dates = days >= 0 ? "-days " + std::to_string(days)
                                        : "-not_before 20200101000000Z -not_after 20200201000000Z";
    const std::string cmd =
        "cd " + dir_ + " && openssl req -new " + key + " -nodes -keyout " + name + ".key -out " + name +
        ".csr -subj /CN=" + dns_names.front() + " 2>/dev/null && printf '%s\\n' '" + san + "' > " + name +
        ".ext && openssl x509 -req -in " + name + ".csr -CA ca.pem -CAkey ca.key -CAcreateserial " +
        dates + " -extfile " + name + ".ext -out " + name + ".pem 2>/dev/null";
    return sh(cmd).exit_code == 0;
  }

 private:
  std::string dir_;
  bool ok_ = false;
};

config::TlsCertificateFiles files(const Pki& pki, const std::string& name) {
  return {pki.path(name + ".pem"), pki.path(name + ".key"), 0, 0};
}

// One TLS listener on 127.0.0.1:0 in front of `backend`.
config::Config tls_config(const std::string& backend, std::vector<config::TlsCertificateFiles> certs,
                          config::Duration hsts = config::Duration{0}) {
  config::Config cfg = test_config({backend});
  config::ListenerConfig l;
  l.address = cfg.listen.front();
  l.tls = config::TlsSettings{};
  l.tls->certificates = std::move(certs);
  l.hsts = hsts;
  cfg.listeners = {l};
  return cfg;
}

// curl over TLS to `port`, with `host` resolving to 127.0.0.1 and the test CA trusted.
CommandResult curl_tls(const Pki& pki, uint16_t port, const std::string& host, const std::string& path = "/",
                       const std::string& extra = "") {
  const std::string p = std::to_string(port);
  return sh("curl -sS -i --max-time 10 --cacert " + pki.path("ca.pem") + " --resolve " + host + ":" + p +
            ":127.0.0.1 " + extra + " https://" + host + ":" + p + path);
}

// openssl s_client against `port`; stdin closed so it ends after the handshake.
CommandResult s_client(uint16_t port, const std::string& args) {
  return sh("openssl s_client -connect 127.0.0.1:" + std::to_string(port) + " " + args + " </dev/null 2>&1");
}

class Tls : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    ASSERT_TRUE(pki_.ok());
    ASSERT_TRUE(pki_.leaf("site", {"site.test", "*.site.test"}));
  }
  TempDir dir_{"ferry-tls-test"};
  Pki pki_{dir_.path()};
  FakeBackend backend_{"b1"};
};

TEST_F(Tls, CurlGetsThePageWithHstsAndTheBackendSeesHttps) {
  RunningProxy proxy(tls_config(backend_.address(), {files(pki_, "site")}, std::chrono::hours(1)));
  ASSERT_TRUE(proxy.started()) << proxy.error();
  const CommandResult r = curl_tls(pki_, proxy.port(), "site.test", "/hello");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("HTTP/1.1 200"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("hello from b1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Strict-Transport-Security: max-age=3600\r\n"), std::string::npos) << r.out;
  const std::vector<Request> seen = backend_.requests_seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].header("X-Forwarded-Proto"), "https");
  EXPECT_EQ(seen[0].target, "/hello");
}

TEST_F(Tls, PythonsSslModuleGetsThePageOverTls12And13) {
  // A third TLS stack beside curl's and s_client's use of OpenSSL: Python's ssl module with
  // certificate and host name verification on, each protocol version pinned in turn.
  RunningProxy proxy(tls_config(backend_.address(), {files(pki_, "site")}));
  ASSERT_TRUE(proxy.started()) << proxy.error();
  const std::string script =
      "import socket, ssl, sys\n"
      "for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):\n"
      "    ctx = ssl.create_default_context(cafile=sys.argv[1])\n"
      "    ctx.minimum_version = ctx.maximum_version = version\n"
      "    with socket.create_connection(('127.0.0.1', int(sys.argv[2])), timeout=10) as raw:\n"
      "        with ctx.wrap_socket(raw, server_hostname='www.site.test') as tls:\n"
      "            tls.sendall(b'GET /py HTTP/1.1\\r\\nHost: www.site.test\\r\\nConnection: close\\r\\n\\r\\n')\n"
      "            data = b''\n"
      "            while chunk := tls.recv(65536):\n"
      "                data += chunk\n"
      "            print(tls.version(), data.split(b'\\r\\n')[0].decode())\n";
  const std::string path = dir_.path() + "/client.py";
  write_file(path, script);
  const CommandResult r = run_command({"/usr/bin/python3", path, pki_.path("ca.pem"), std::to_string(proxy.port())});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "TLSv1.2 HTTP/1.1 200 OK\nTLSv1.3 HTTP/1.1 200 OK\n");
  EXPECT_EQ(backend_.requests(), 2);
}

TEST_F(Tls, FerrysOwnAnswersOverTlsCarryHstsToo) {
  RunningProxy proxy(tls_config("127.0.0.1:1", {files(pki_, "site")}, std::chrono::seconds(600)));
  ASSERT_TRUE(proxy.started()) << proxy.error();
  const CommandResult r = curl_tls(pki_, proxy.port(), "site.test");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("HTTP/1.1 502"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Strict-Transport-Security: max-age=600\r\n"), std::string::npos) << r.out;
}

TEST_F(Tls, PlainListenersBesideTlsOnesStayPlainWithoutHsts) {
  config::Config cfg = tls_config(backend_.address(), {files(pki_, "site")}, std::chrono::hours(1));
  config::ListenerConfig plain;
  plain.address = "127.0.0.1:0";
  cfg.listeners.push_back(plain);
  cfg.listen.push_back("127.0.0.1:0");
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started()) << proxy.error();
  const std::optional<Response> r = get(proxy.server().listen_ports().at(1), "/x");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("Strict-Transport-Security"), "");
  ASSERT_EQ(backend_.requests_seen().size(), 1u);
  EXPECT_EQ(backend_.requests_seen()[0].header("X-Forwarded-Proto"), "http");
}

TEST_F(Tls, SniPicksTheCertificateByNameAndUnknownNamesGetTheDefault) {
  ASSERT_TRUE(pki_.leaf("other", {"other.test"}));
  RunningProxy proxy(tls_config(backend_.address(), {files(pki_, "site"), files(pki_, "other")}));
  ASSERT_TRUE(proxy.started()) << proxy.error();
  EXPECT_EQ(curl_tls(pki_, proxy.port(), "other.test").exit_code, 0);
  EXPECT_EQ(curl_tls(pki_, proxy.port(), "www.site.test").exit_code, 0);  // the wildcard
  const CommandResult unknown = s_client(proxy.port(), "-servername nobody.test");
  EXPECT_NE(unknown.out.find("CN = site.test"), std::string::npos) << unknown.out;
  const CommandResult upper = s_client(proxy.port(), "-servername OTHER.TEST");
  EXPECT_NE(upper.out.find("CN = other.test"), std::string::npos) << upper.out;
}

TEST_F(Tls, OldProtocolsAndWeakCiphersAreRefused) {
  RunningProxy proxy(tls_config(backend_.address(), {files(pki_, "site")}));
  ASSERT_TRUE(proxy.started()) << proxy.error();
  EXPECT_NE(s_client(proxy.port(), "-tls1_1").out.find("alert protocol version"), std::string::npos);
  EXPECT_NE(s_client(proxy.port(), "-tls1_2 -cipher ECDHE-ECDSA-AES128-SHA").out.find("handshake failure"),
            std::string::npos);
  const CommandResult good = s_client(proxy.port(), "-tls1_2 -servername site.test");
  EXPECT_NE(good.out.find("ECDHE-ECDSA-AES"), std::string::npos) << good.out;
}

TEST_F(Tls, FerrysCipherOrderWinsUnlessTheClientPutsChaCha20First) {
  RunningProxy proxy(tls_config(backend_.address(), {files(pki_, "site")}));
  ASSERT_TRUE(proxy.started()) << proxy.error();
  const CommandResult aes = s_client(
      proxy.port(), "-tls1_2 -cipher ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256");
  EXPECT_NE(aes.out.find("Cipher is ECDHE-ECDSA-AES128-GCM-SHA256"), std::string::npos) << aes.out;
  const CommandResult chacha = s_client(
      proxy.port(), "-tls1_2 -cipher ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256");
  EXPECT_NE(chacha.out.find("Cipher is ECDHE-ECDSA-CHACHA20-POLY1305"), std::string::npos) << chacha.out;
}

TEST_F(Tls, TheModernPolicyRefusesTls12) {
  config::Config cfg = tls_config(backend_.address(), {files(pki_, "site")});
  cfg.listeners[0].tls->policy = config::TlsPolicy::Modern;
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started()) << proxy.error();
  EXPECT_NE(s_client(proxy.port(), "-tls1_2").out.find("alert protocol version"), std::string::npos);
  EXPECT_NE(s_client(proxy.port(), "-tls1_3").out.find("TLSv1.3"), std::string::npos);
}

TEST_F(Tls, SessionsResumeAcrossWorkersWithTickets) {
  config::Config cfg = tls_config(backend_.address(), {files(pki_, "site")});
  cfg.workers = 2;
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started()) << proxy.error();
  const std::string sess = dir_.path() + "/session";
  for (const char* version : {"-tls1_2", "-tls1_3"}) {
    // stdin open a moment: TLS 1.3 tickets come after the handshake, and s_client saves the
    // session only if it is still reading when they arrive.
    ASSERT_EQ(sh("sleep 1 | openssl s_client -connect 127.0.0.1:" + std::to_string(proxy.port()) + " " + version +
                 " -sess_out " + sess + " >/dev/null 2>&1")
                  .exit_code,
              0);
    // Several connections: SO_REUSEPORT spreads them over both workers, and each resumes.
    int reused = 0;
    for (int i = 0; i < 6; ++i)
      if (s_client(proxy.port(), std::string(version) + " -sess_in " + sess).out.find("Reused,") != std::string::npos)
        ++reused;
    EXPECT_EQ(reused, 6) << version;
  }
}

TEST_F(Tls, SessionsResumeAcrossAZeroDowntimeUpgrade) {
  // The ticket key ring goes to the new process with the sockets, so a client's session made
  // with the old process resumes with the new one (without it, every client would do a full
  // handshake again after each upgrade).
  UpgradedProcess adopted;
  const uint16_t port = free_port();
  const std::string conf = dir_.path() + "/ferry.yaml";
  write_file(conf, "workers: 2\nadmin: \"127.0.0.1:" + std::to_string(free_port()) + "\"\nlisteners:\n  - address: \"127.0.0.1:" +
                       std::to_string(port) + "\"\n    tls:\n      certificates:\n        - cert: " +
                       pki_.path("site.pem") + "\n          key: " + pki_.path("site.key") + "\nbackends: [\"" +
                       backend_.address() + "\"]\n");
  FerryProcess ferry(conf, dir_.path() + "/ferry.log");
  ASSERT_TRUE(ferry.started());
  ASSERT_TRUE(eventually([&] { return TlsClient(port, pki_.path("ca.pem"), "site.test", 1s).connected(); }))
      << ferry.log();
  const std::string sess12 = dir_.path() + "/session12", sess13 = dir_.path() + "/session13";
  for (const auto& [version, sess] : {std::pair{"-tls1_2", sess12}, std::pair{"-tls1_3", sess13}}) {
    ASSERT_EQ(sh("sleep 1 | openssl s_client -connect 127.0.0.1:" + std::to_string(port) + " " + version +
                 " -sess_out " + sess + " >/dev/null 2>&1")
                  .exit_code,
              0);
  }
  ferry.signal(SIGUSR2);
  pid_t next = -1;
  ASSERT_TRUE(eventually([&] { return (next = UpgradedProcess::named_in(ferry.log())) > 0; })) << ferry.log();
  adopted.set(next);
  ASSERT_EQ(ferry.wait_exit(), 0);  // only the new process serves now
  for (const auto& [version, sess] : {std::pair{"-tls1_2", sess12}, std::pair{"-tls1_3", sess13}}) {
    const CommandResult r = s_client(port, std::string(version) + " -sess_in " + sess);
    EXPECT_NE(r.out.find("Reused,"), std::string::npos) << version << r.out;
  }
  ::kill(next, SIGTERM);
  EXPECT_EQ(adopted.wait_exit(), 0);
}

TEST_F(Tls, TicketsCanBeTurnedOff) {
  config::Config cfg = tls_config(backend_.address(), {files(pki_, "site")});
  cfg.listeners[0].tls->session_tickets = false;
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started()) << proxy.error();
  // -reconnect: five more connections offering the first one's session.
  for (const char* version : {"-tls1_2", "-tls1_3"}) {
    const CommandResult r = s_client(proxy.port(), std::string(version) + " -reconnect");
    EXPECT_EQ(r.out.find("Reused,"), std::string::npos) << version << r.out;
    EXPECT_NE(r.out.find("New,"), std::string::npos) << version << r.out;
  }
}

TEST_F(Tls, MutualTlsNeedsAClientCertificateFromTheCa) {
  ASSERT_TRUE(pki_.leaf("client", {"client-1"}));
  config::Config cfg = tls_config(backend_.address(), {files(pki_, "site")});
  cfg.listeners[0].tls->client_ca = pki_.path("ca.pem");
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started()) << proxy.error();
  EXPECT_NE(curl_tls(pki_, proxy.port(), "site.test").exit_code, 0);
  const CommandResult with_cert = curl_tls(pki_, proxy.port(), "site.test", "/",
                                           "--cert " + pki_.path("client.pem") + " --key " + pki_.path("client.key"));
  ASSERT_EQ(with_cert.exit_code, 0) << with_cert.err;
  EXPECT_NE(with_cert.out.find("HTTP/1.1 200"), std::string::npos);
  // The backend learns who the client is from ferry, never from the client.
  const CommandResult spoofed = curl_tls(pki_, proxy.port(), "site.test", "/",
                                         "--cert " + pki_.path("client.pem") + " --key " + pki_.path("client.key") +
                                             " -H 'X-Client-Cert-Subject: CN=admin'");
  ASSERT_EQ(spoofed.exit_code, 0) << spoofed.err;
  const std::vector<Request> seen = backend_.requests_seen();
  ASSERT_EQ(seen.size(), 2u);
  for (const Request& r : seen) {
    EXPECT_EQ(r.header("X-Client-Cert-Subject"), "CN=client-1");
    EXPECT_EQ(r.count("X-Client-Cert-Subject"), 1);
  }
}

TEST_F(Tls, WithoutMutualTlsAClientsOwnCertificateSubjectHeaderIsDropped) {
  RunningProxy proxy(tls_config(backend_.address(), {files(pki_, "site")}));
  ASSERT_TRUE(proxy.started()) << proxy.error();
  const CommandResult r =
      curl_tls(pki_, proxy.port(), "site.test", "/", "-H 'X-Client-Cert-Subject: CN=admin'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(backend_.requests_seen().size(), 1u);
  EXPECT_EQ(backend_.requests_seen()[0].count("X-Client-Cert-Subject"), 0);
}

TEST_F(Tls, PlainHttpToATlsPortGetsAClearAnswer) {
  RunningProxy proxy(tls_config(backend_.address(), {files(pki_, "site")}));
  ASSERT_TRUE(proxy.started()) << proxy.error();
  Client c(proxy.port(), 5s);
  ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  const auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(r->body, "A plain HTTP request was sent to an HTTPS port.\r\n");
  // Framed by its Content-Length: nothing follows the body but the close.
  EXPECT_EQ(c.read_all(), "");
  EXPECT_TRUE(c.closed_by_peer());
  EXPECT_EQ(backend_.requests(), 0);
}

TEST_F(Tls, GarbageAndStalledHandshakesAreClosed) {
  config::Config cfg = tls_config(backend_.address(), {files(pki_, "site")});
  cfg.timeouts.client_header = config::Duration{400};
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started()) << proxy.error();
  {
    Client garbage(proxy.port(), 5s);
    ASSERT_TRUE(garbage.send(std::string("\x16\x03\x01\x00\x08garbage!", 13)));
    const auto start = std::chrono::steady_clock::now();
    garbage.read_all();  // an alert, then the close
    EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  }
  {
    Client stalled(proxy.port(), 5s);
    ASSERT_TRUE(stalled.send(std::string("\x16\x03\x01\x02", 4)));  // half a record header
    const auto start = std::chrono::steady_clock::now();
    EXPECT_TRUE(stalled.closed_by_peer());
    EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  }
  EXPECT_EQ(backend_.requests(), 0);
}

TEST_F(Tls, AKeyThatDoesNotMatchItsCertificateFailsTheStartNamingTheFiles) {
  ASSERT_TRUE(pki_.leaf("other", {"other.test"}));
  RunningProxy proxy(tls_config(backend_.address(), {{pki_.path("site.pem"), pki_.path("other.key"), 7, 11}}));
  ASSERT_FALSE(proxy.started());
  EXPECT_NE(proxy.error().find("other.key"), std::string::npos) << proxy.error();
  EXPECT_NE(proxy.error().find("site.pem"), std::string::npos) << proxy.error();
  EXPECT_NE(proxy.error().find(":7:11: listeners[0].tls: "), std::string::npos) << proxy.error();
}

TEST_F(Tls, AReloadSwapsCertificatesAndABadOneKeepsTheOld) {
  ASSERT_TRUE(pki_.leaf("renewed", {"site.test"}, /*rsa=*/true));
  config::Config cfg = tls_config(backend_.address(), {files(pki_, "site")});
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started()) << proxy.error();
  EXPECT_NE(s_client(proxy.port(), "-servername site.test").out.find("ECDSA"), std::string::npos);

  config::Config bad = cfg;
  bad.listeners[0].tls->certificates = {{pki_.path("missing.pem"), pki_.path("missing.key"), 3, 9}};
  std::string error;
  EXPECT_FALSE(proxy.server().reload(bad, &error));
  EXPECT_NE(error.find("missing.pem"), std::string::npos) << error;
  EXPECT_EQ(curl_tls(pki_, proxy.port(), "site.test").exit_code, 0);  // still serving

  config::Config renewed = cfg;
  renewed.listeners[0].tls->certificates = {files(pki_, "renewed")};
  ASSERT_TRUE(proxy.server().reload(renewed, &error)) << error;
  const CommandResult after = s_client(proxy.port(), "-servername site.test");
  EXPECT_NE(after.out.find("Peer signature type: RSA"), std::string::npos) << after.out;
}

TEST_F(Tls, CheckReadsTheCertificateFiles) {
  const std::string file = dir_.path() + "/ferry.yaml";
  const std::string yaml = "listeners:\n  - address: \"127.0.0.1:0\"\n    tls:\n      certificates:\n        - cert: " +
                           pki_.path("site.pem") + "\n          key: " + pki_.path("nope.key") +
                           "\nbackends: [\"127.0.0.1:1\"]\n";
  ASSERT_EQ(sh("printf '%s' '" + yaml + "' > " + file).exit_code, 0);
  const CommandResult bad = run_command({FERRY_BINARY, "--check", "-c", file});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find(file + ":5:11: listeners[0].tls: "), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("nope.key"), std::string::npos) << bad.err;
  ASSERT_EQ(sh("cp " + pki_.path("site.key") + " " + pki_.path("nope.key")).exit_code, 0);
  const CommandResult good = run_command({FERRY_BINARY, "--check", "-c", file});
  EXPECT_EQ(good.exit_code, 0) << good.err;
  EXPECT_EQ(good.out, "config OK\n");
}

TEST_F(Tls, HandshakesAndExpiryAreInTheMetrics) {
  config::Config cfg = tls_config(backend_.address(), {files(pki_, "site")});
  cfg.admin = "127.0.0.1:0";
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started()) << proxy.error();
  ASSERT_EQ(s_client(proxy.port(), "-tls1_3").exit_code, 0);
  s_client(proxy.port(), "-tls1_1");
  const std::string text = scrape_metrics(proxy.server().admin_port());
  const std::string series = "ferry_tls_handshakes_total{listener=\"" + cfg.listen.front() + "\",";
  EXPECT_EQ(metric_value(text, series + "result=\"full\",version=\"TLSv1.3\"}"), 1) << text;
  EXPECT_EQ(metric_value(text, series + "result=\"failed\",version=\"\"}"), 1) << text;
  const std::optional<double> expiry =
      metric_value(text, "ferry_tls_certificate_expiry_timestamp_seconds{name=\"site.test\"}");
  ASSERT_TRUE(expiry) << text;
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
      std::chrono::system_clock::now().time_since_epoch());
  EXPECT_GT(*expiry, static_cast<double>(now.count()));
  EXPECT_LT(*expiry, static_cast<double>((now + std::chrono::hours(24 * 31)).count()));
}

// The renewal every operator does: new files in place, SIGHUP, under load. New handshakes get
// the new certificate at once, connections already open keep theirs, and no request fails.
TEST_F(Tls, ASighupCertificateSwapUnderLoadDropsNoRequest) {
  ASSERT_TRUE(pki_.leaf("renewed", {"site.test", "*.site.test"}, /*rsa=*/true));
  namespace fs = std::filesystem;
  const std::string live_pem = pki_.path("live.pem"), live_key = pki_.path("live.key");
  // Puts `name`'s pair where the config points, each file replaced whole by a rename.
  auto install = [&](const std::string& name) {
    fs::copy_file(pki_.path(name + ".key"), live_key + ".new", fs::copy_options::overwrite_existing);
    fs::copy_file(pki_.path(name + ".pem"), live_pem + ".new", fs::copy_options::overwrite_existing);
    fs::rename(live_key + ".new", live_key);
    fs::rename(live_pem + ".new", live_pem);
  };
  install("site");
  const uint16_t port = free_port(), admin = free_port();
  const std::string conf = dir_.path() + "/ferry.yaml";
  write_file(conf, "workers: 2\nadmin: \"127.0.0.1:" + std::to_string(admin) +
                       "\"\nlisteners:\n  - address: \"127.0.0.1:" + std::to_string(port) +
                       "\"\n    tls:\n      certificates:\n        - cert: " + live_pem + "\n          key: " +
                       live_key + "\nbackends: [\"" + backend_.address() + "\"]\n");
  FerryProcess ferry(conf, dir_.path() + "/ferry.log");
  ASSERT_TRUE(ferry.started());
  const std::string ca = pki_.path("ca.pem");
  ASSERT_TRUE(eventually([&] { return TlsClient(port, ca, "site.test", 1s).connected(); })) << ferry.log();
  const std::string first_serial = TlsClient(port, ca, "site.test").peer_serial();
  ASSERT_FALSE(first_serial.empty());

  TlsClient kept(port, ca, "site.test");  // opened before any swap, used after all of them
  ASSERT_TRUE(kept.connected()) << kept.error();
  ASSERT_TRUE(kept.send("GET /kept HTTP/1.1\r\nHost: site.test\r\n\r\n"));
  ASSERT_TRUE(kept.read_response());

  std::atomic<bool> stop{false};
  std::atomic<int> failures{0}, served{0};
  std::string first_failure;  // written once, by whichever thread fails first
  std::atomic<bool> failure_noted{false};
  auto note_failure = [&](const std::string& why) {
    if (!failure_noted.exchange(true)) first_failure = why;
    ++failures;
  };
  // Two clients that open a new connection (a full handshake) for every request.
  auto handshaking_load = [&] {
    while (!stop) {
      TlsClient c(port, ca, "site.test");
      if (!c.connected()) {
        note_failure("handshake: " + c.error());
        continue;
      }
      const std::optional<Response> r =
          c.send("GET / HTTP/1.1\r\nHost: site.test\r\nConnection: close\r\n\r\n") ? c.read_response()
                                                                                    : std::nullopt;
      if (!r || r->status != 200) note_failure(r ? "status " + std::to_string(r->status) : "no response");
      ++served;
    }
  };
  ScopedThread load_a(stop, handshaking_load);
  ScopedThread load_b(stop, handshaking_load);

  const std::string renewed_serial = [&] {
    install("renewed");
    ferry.signal(SIGHUP);
    EXPECT_TRUE(eventually([&] { return ferry.log().find("reloaded") != std::string::npos; })) << ferry.log();
    // The log line comes when the reload is published; each worker takes it up on its next
    // turn, so a handshake at that very moment may still get the old certificate.
    std::string serial;
    EXPECT_TRUE(eventually([&] {
      serial = TlsClient(port, ca, "site.test").peer_serial();
      return !serial.empty() && serial != first_serial;
    })) << "the new handshakes still get the old certificate";
    return serial;
  }();
  EXPECT_NE(renewed_serial, first_serial);
  // Back and forth under load: every swap is seen by the next handshake.
  for (int swap = 0; swap < 4; ++swap) {
    const int before = served.load();
    ASSERT_TRUE(eventually([&] { return served.load() > before + 20; }));
    const bool to_renewed = swap % 2 == 1;
    install(to_renewed ? "renewed" : "site");
    ferry.signal(SIGHUP);
    const std::string want = to_renewed ? renewed_serial : first_serial;
    EXPECT_TRUE(eventually([&] { return TlsClient(port, ca, "site.test").peer_serial() == want; }))
        << "swap " << swap;
  }
  const int before = served.load();
  ASSERT_TRUE(eventually([&] { return served.load() > before + 20; }));
  load_a.join();
  load_b.join();
  EXPECT_EQ(failures.load(), 0) << first_failure;
  EXPECT_GT(served.load(), 100);

  // The connection opened first still works, on the certificate it started with.
  ASSERT_TRUE(kept.send("GET /kept HTTP/1.1\r\nHost: site.test\r\n\r\n"));
  const std::optional<Response> still = kept.read_response();
  ASSERT_TRUE(still);
  EXPECT_EQ(still->status, 200);
  EXPECT_EQ(kept.peer_serial(), first_serial);

  const std::optional<Response> metrics = get(admin, "/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metric_value(metrics->body, "ferry_config_reloads_total{result=\"success\"}").value_or(-1), 5);
  EXPECT_EQ(metric_value(metrics->body, "ferry_config_reloads_total{result=\"failure\"}").value_or(0), 0);
  const std::string listener = "listener=\"127.0.0.1:" + std::to_string(port) + "\"";
  EXPECT_EQ(metric_value(metrics->body, "ferry_tls_handshakes_total{" + listener + ",result=\"failed\",version=\"\"}"),
            0)
      << metric_lines(metrics->body, "ferry_tls_handshakes_total");
  EXPECT_GT(metric_value(metrics->body, "ferry_tls_handshakes_total{" + listener + ",result=\"full\",version=\"TLSv1.3\"}")
                .value_or(0),
            100);
  ferry.signal(SIGTERM);
  EXPECT_EQ(ferry.wait_exit(), 0);
}

}  // namespace
}  // namespace ferry::testing
