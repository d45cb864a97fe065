// admin_token, and the rule that an admin listener beyond loopback needs one.
#include <gtest/gtest.h>

#include "config/load.h"
#include "config/print.h"

namespace ferry::config {
namespace {

using Messages = std::vector<std::string>;

Messages errors_of(std::string_view yaml) {
  Messages out;
  for (const LoadError& e : load_text(yaml, "ferry.yaml").errors) out.push_back(e.to_string());
  return out;
}

constexpr std::string_view kBackends = "backends: [\"10.0.0.1:80\"]\n";
constexpr std::string_view kToken = "0123456789abcdef0123456789abcdef";

TEST(AdminToken, IsReadAndRoundTrips) {
  const LoadResult r = load_text("admin: \"0.0.0.0:9901\"\nadmin_token: \"" + std::string(kToken) + "\"\n" +
                                     std::string(kBackends),
                                 "ferry.yaml");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.config.admin_token, kToken);
  const LoadResult again = load_text(print(r.config), "printed.yaml");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again.config.admin_token, kToken);
}

TEST(AdminToken, AnAdminBeyondLoopbackNeedsOne) {
  EXPECT_EQ(errors_of("admin: \"0.0.0.0:9901\"\n" + std::string(kBackends)),
            Messages{"ferry.yaml:1:8: admin: admin listens on 0.0.0.0:9901, beyond loopback, so its POST controls "
                     "(drain, ready) need a token: set admin_token (for example to the output of: openssl rand "
                     "-hex 32), or listen on 127.0.0.1"});
  EXPECT_EQ(errors_of("admin: \"10.0.0.5:9901\"\n" + std::string(kBackends)).size(), 1u);
  // Loopback needs none.
  for (const char* admin : {"127.0.0.1:9901", "127.1.2.3:9901", "[::1]:9901", "localhost:9901", "off"})
    EXPECT_EQ(errors_of("admin: \"" + std::string(admin) + "\"\n" + std::string(kBackends)), Messages{}) << admin;
}

TEST(AdminToken, MustBeLongAndPlain) {
  EXPECT_EQ(errors_of("admin_token: \"short\"\n" + std::string(kBackends)),
            Messages{"ferry.yaml:1:14: admin_token: expected a token of 16 to 256 visible ASCII characters, "
                     "without spaces (for example the output of: openssl rand -hex 32), or \"\" for none, found "
                     "\"short\""});
  EXPECT_EQ(errors_of("admin_token: \"0123456789 abcdef0123\"\n" + std::string(kBackends)).size(), 1u);
  EXPECT_EQ(errors_of("admin_token: \"\"\n" + std::string(kBackends)), Messages{});
}

}  // namespace
}  // namespace ferry::config
