// `acme`: decoding, its rules with the listeners, every mistake with its position, printing.
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

constexpr std::string_view kListeners = R"(listeners:
  - address: "0.0.0.0:80"
  - address: "0.0.0.0:443"
    tls: {}
backends: ["10.0.0.1:80"]
)";

TEST(ConfigAcme, ABlockWithEveryKeyDecodesAndATlsListenerWithoutCertificatesIsFine) {
  const LoadResult r = load_text(std::string(kListeners) + R"(acme:
  directory: "https://acme.example.net/dir"
  email: ops@example.com
  domains: [Example.COM, www.example.com]
  storage: /srv/acme
  ca_bundle: /etc/ca.pem
)",
                                 "f.yaml");
  ASSERT_TRUE(r.errors.empty()) << r.errors.front().to_string();
  ASSERT_TRUE(r.config.acme.has_value());
  EXPECT_EQ(r.config.acme->directory, "https://acme.example.net/dir");
  EXPECT_EQ(r.config.acme->email, "ops@example.com");
  EXPECT_EQ(r.config.acme->domains, (std::vector<std::string>{"example.com", "www.example.com"}));
  EXPECT_EQ(r.config.acme->storage, "/srv/acme");
  EXPECT_EQ(r.config.acme->ca_bundle, "/etc/ca.pem");
  EXPECT_TRUE(r.config.listeners[1].tls->certificates.empty());
}

TEST(ConfigAcme, DefaultsAreLetsEncryptAndVarLib) {
  const LoadResult r = load_text(std::string(kListeners) + "acme: {domains: [example.com]}\n", "f.yaml");
  ASSERT_TRUE(r.errors.empty()) << r.errors.front().to_string();
  EXPECT_EQ(r.config.acme->directory, "https://acme-v02.api.letsencrypt.org/directory");
  EXPECT_EQ(r.config.acme->storage, "/var/lib/ferry/acme");
  EXPECT_EQ(r.config.acme->email, "");
}

TEST(ConfigAcme, PrintThenLoadGivesTheSameConfig) {
  const LoadResult r = load_text(std::string(kListeners) + "acme: {domains: [a.example.com, b.example.com], "
                                                           "email: x@example.com}\n",
                                 "f.yaml");
  ASSERT_TRUE(r.errors.empty());
  const std::string text = print(r.config);
  const LoadResult again = load_text(text, "f.yaml");
  ASSERT_TRUE(again.errors.empty()) << again.errors.front().to_string() << "\n" << text;
  EXPECT_EQ(again.config.acme, r.config.acme);
  EXPECT_EQ(again.config.listeners, r.config.listeners);
}

TEST(ConfigAcme, EachMistakeIsReportedWhereItIsWithTheFix) {
  const std::string base(kListeners);
  EXPECT_EQ(errors_of(base + "acme: {domains: [\"*.example.com\"]}\n"),
            std::vector<std::string>{"f.yaml:6:18: acme.domains[0]: a wildcard needs the DNS-01 challenge, which "
                                     "ferry does not answer; list each name instead"});
  EXPECT_EQ(errors_of(base + "acme: {domains: [a.example.com, A.example.com]}\n"),
            std::vector<std::string>{"f.yaml:6:33: acme.domains[1]: \"a.example.com\" is listed twice"});
  EXPECT_EQ(errors_of(base + "acme: {domains: [\"exa mple.com\"]}\n"),
            std::vector<std::string>{"f.yaml:6:18: acme.domains[0]: expected a domain name (letters, digits, "
                                     "hyphens and dots, as in www.example.com), found \"exa mple.com\""});
  EXPECT_EQ(errors_of(base + "acme: {domains: []}\n"),
            std::vector<std::string>{"f.yaml:6:17: acme.domains: expected a list of at least one domain name "
                                     "(example.com), found an empty list"});
  EXPECT_EQ(errors_of(base + "acme: {email: a@b.c}\n"),
            std::vector<std::string>{"f.yaml:6:7: acme.domains: missing; list the names the certificate is for "
                                     "(example.com)"});
  EXPECT_EQ(errors_of(base + "acme: {domains: [a.example.com], directory: \"http://acme.example.net/dir\"}\n"),
            std::vector<std::string>{"f.yaml:6:45: acme.directory: expected an https:// URL of an ACME directory "
                                     "(Let's Encrypt: https://acme-v02.api.letsencrypt.org/directory), found "
                                     "\"http://acme.example.net/dir\""});
  EXPECT_EQ(errors_of(base + "acme: {domains: [a.example.com], email: nobody}\n"),
            std::vector<std::string>{"f.yaml:6:41: acme.email: expected an e-mail address (name@example.com), "
                                     "or \"\" for none, found \"nobody\""});
  EXPECT_EQ(errors_of(base + "acme: {domains: [a.example.com], storage: \"\"}\n"),
            std::vector<std::string>{"f.yaml:6:43: acme.storage: expected a directory path, found \"\""});
  const std::vector<std::string> typo = errors_of(base + "acme: {domains: [a.example.com], storag: /x}\n");
  ASSERT_EQ(typo.size(), 1u);
  EXPECT_NE(typo[0].find("did you mean \"storage\"?"), std::string::npos) << typo[0];
}

TEST(ConfigAcme, PlainHttpDirectoryIsOnlyForACaOnLoopback) {
  for (const char* url : {"http://127.0.0.1:14000/dir", "http://localhost:14000/dir", "http://[::1]:14000/dir"}) {
    EXPECT_TRUE(errors_of(std::string(kListeners) + "acme: {domains: [a.example.com], directory: \"" + url + "\"}\n")
                    .empty())
        << url;
  }
}

TEST(ConfigAcme, ATlsListenerWithoutCertificatesNeedsAcme) {
  EXPECT_EQ(errors_of(std::string(kListeners)),
            std::vector<std::string>{"f.yaml:4:10: listeners[1].tls.certificates: missing; give at least one "
                                     "{cert, key}, or an acme section so ferry obtains the certificate itself"});
  EXPECT_EQ(errors_of("listeners:\n  - address: \"0.0.0.0:443\"\n    tls: {certificates: []}\n  - address: "
                      "\"0.0.0.0:80\"\nbackends: [\"10.0.0.1:80\"]\n")
                .size(),
            1u);
}

TEST(ConfigAcme, AcmeNeedsAPlainListenerForHttp01) {
  EXPECT_EQ(errors_of("listeners:\n  - address: \"0.0.0.0:443\"\n    tls: {}\nbackends: [\"10.0.0.1:80\"]\n"
                      "acme: {domains: [a.example.com]}\n"),
            std::vector<std::string>{"f.yaml:5:1: acme: the CA checks HTTP-01 challenges over plain HTTP (port 80 "
                                     "for a public CA), and every listener speaks TLS; add a listener without tls, "
                                     "e.g. {address: \"0.0.0.0:80\"}"});
  // `listen` addresses are plain.
  EXPECT_TRUE(errors_of("listen: \"0.0.0.0:80\"\nbackends: [\"10.0.0.1:80\"]\nacme: {domains: [a.example.com]}\n")
                  .empty());
}

}  // namespace
}  // namespace ferry::config
