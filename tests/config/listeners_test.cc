// `listeners`: decoding, every mistake with its position, and printing.
#include <gtest/gtest.h>

#include <string>

#include "config/load.h"
#include "config/print.h"

namespace ferry::config {
namespace {

std::vector<std::string> errors_of(const std::string& yaml) {
  std::vector<std::string> out;
  for (const LoadError& e : load_text(yaml, "f.yaml").errors) out.push_back(e.to_string());
  return out;
}

TEST(Listeners, ATlsAndAPlainListenerDecodeAndSetListen) {
  const LoadResult r = load_text(R"(listeners:
  - address: "0.0.0.0:443"
    tls:
      certificates:
        - cert: /etc/a.pem
          key: /etc/a.key
        - {cert: /etc/b.pem, key: /etc/b.key}
      policy: modern
      session_tickets: false
      client_ca: /etc/ca.pem
    hsts: 17520h
  - address: "0.0.0.0:80"
backends: ["10.0.0.1:80"]
)", "f.yaml");
  ASSERT_TRUE(r.ok()) << r.errors.front().to_string();
  const Config& c = r.config;
  EXPECT_EQ(c.listen, (std::vector<std::string>{"0.0.0.0:443", "0.0.0.0:80"}));
  ASSERT_EQ(c.listeners.size(), 2u);
  ASSERT_TRUE(c.listeners[0].tls);
  const TlsSettings& tls = *c.listeners[0].tls;
  ASSERT_EQ(tls.certificates.size(), 2u);
  EXPECT_EQ(tls.certificates[1].cert, "/etc/b.pem");
  EXPECT_EQ(tls.certificates[1].key, "/etc/b.key");
  EXPECT_EQ(tls.certificates[0].line, 5);  // where the entry is, for errors reading its files
  EXPECT_EQ(tls.policy, TlsPolicy::Modern);
  EXPECT_FALSE(tls.session_tickets);
  EXPECT_EQ(tls.client_ca, "/etc/ca.pem");
  EXPECT_EQ(c.listeners[0].hsts, std::chrono::hours(17520));
  EXPECT_FALSE(c.listeners[1].tls);
  EXPECT_EQ(c.listeners[1].protocols, std::vector<std::string>{"http/1.1"});
  // Printing gives a file that loads to the same thing.
  const LoadResult again = load_text(print(c), "printed.yaml");
  ASSERT_TRUE(again.ok()) << again.errors.front().to_string() << "\n" << print(c);
  EXPECT_EQ(again.config.listeners.size(), 2u);
  EXPECT_EQ(again.config.listeners[0].tls->certificates[0].cert, "/etc/a.pem");
  EXPECT_EQ(again.config.listeners[0].hsts, c.listeners[0].hsts);
  EXPECT_EQ(again.config.listen, c.listen);
}

TEST(Listeners, EveryMistakeIsNamedWithItsPosition) {
  const std::vector<std::string> errors = errors_of(R"(listen: "127.0.0.1:1"
listeners:
  - address: "127.0.0.1:8443"
    protocols: [h2, http/1.2]
    tls:
      certificates:
        - cert: /tmp/site.pem
      policy: moden
  - address: "127.0.0.1:8443"
    hsts: 1s
  - protocols: [http/1.1]
backends: ["127.0.0.1:9000"]
)");
  const std::vector<std::string> expected = {
      "f.yaml:2:1: listeners: a file gives either listen (plain addresses) or listeners, not both; move each "
      "listen address into listeners as {address: ...}",
      "f.yaml:4:21: listeners[0].protocols[1]: expected h2 or http/1.1, found \"http/1.2\"; did you mean \"http/1.1\"?",
      "f.yaml:7:11: listeners[0].tls.certificates[0]: missing key \"key\" (the private key, PEM)",
      "f.yaml:8:15: listeners[0].tls.policy: expected intermediate or modern, found \"moden\"; did you mean "
      "\"modern\"?",
      "f.yaml:9:14: listeners[1].address: duplicate address \"127.0.0.1:8443\", first listed at line 3",
      "f.yaml:10:11: listeners[1].hsts: Strict-Transport-Security is only sent over TLS; give this listener "
      "tls, or leave hsts out",
      "f.yaml:11:5: listeners[2]: missing key \"address\" (host:port to listen on)",
  };
  EXPECT_EQ(errors, expected);
}

TEST(Listeners, ATlsListenerNeedsCertificatesAndAListNeedsAnEntry) {
  EXPECT_EQ(errors_of("listeners: []\nbackends: [\"10.0.0.1:80\"]\n"),
            std::vector<std::string>{"f.yaml:1:12: listeners: expected a list of at least one listener "
                                     "({address, protocols, tls, hsts}), found an empty list"});
  const std::vector<std::string> no_certs =
      errors_of("listeners:\n  - address: \"127.0.0.1:1\"\n    tls: {policy: modern}\nbackends: [\"10.0.0.1:80\"]\n");
  ASSERT_EQ(no_certs.size(), 1u);
  EXPECT_NE(no_certs[0].find("listeners[0].tls.certificates: missing; give at least one {cert, key}, or an acme section"),
            std::string::npos)
      << no_certs[0];
  EXPECT_NE(errors_of("listeners:\n  - address: \"127.0.0.1:1\"\n    tls: {certificates: [{cert: a, key: b}], "
                      "polcy: modern}\nbackends: [\"10.0.0.1:80\"]\n")
                .at(0)
                .find("did you mean \"policy\"?"),
            std::string::npos);
}

}  // namespace
}  // namespace ferry::config
