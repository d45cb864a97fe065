// consistent_hash through the proxy with a key taken from the request (hash_key: cookie:NAME
// and header:NAME): keys from one client spread over the backends, a key always reaches the
// same backend, and a request without the key is placed by its client address.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

#include "support/client.h"
#include "support/fake_backend.h"
#include "support/proxy_fixture.h"

namespace ferry::testing {
namespace {

struct KeyCase {
  const char* hash_key;
  const char* header_name;  // what carries the key
  // The header line that carries `value` as the key.
  std::string carry(const std::string& value) const {
    if (std::string(hash_key).rfind("cookie:", 0) == 0)
      return std::string(header_name) + ": theme=dark; sid=" + value + "; lang=en\r\n";
    return std::string(header_name) + ": " + value + "\r\n";
  }
};

void PrintTo(const KeyCase& k, std::ostream* os) { *os << "hash_key " << k.hash_key; }

config::Config hashed(const std::vector<std::string>& backends, const std::string& hash_key) {
  auto cfg = test_config(backends);
  cfg.balancer = config::BalancerKind::ConsistentHash;
  cfg.hash_key = hash_key;
  return cfg;
}

// The backend that answered one request sent over `c` with `extra` header lines ("" on failure).
std::string backend_of(Client& c, const std::string& extra) {
  if (!c.send("GET / HTTP/1.1\r\nHost: x\r\n" + extra + "\r\n")) return "";
  const auto r = c.read_response();
  if (!r || r->status != 200) return "";
  return r->header("X-Backend");
}

std::string backend_from(uint16_t port, const char* source_ip, const std::string& extra) {
  Client c(port, source_ip);
  if (!c.connected()) return "";
  return backend_of(c, extra);
}

class HashKey : public ::testing::TestWithParam<KeyCase> {};

TEST_P(HashKey, KeysFromOneClientSpreadAndEachKeyStaysOnItsBackend) {
  FakeBackend b1("b1"), b2("b2");
  RunningProxy proxy(hashed({b1.address(), b2.address()}, GetParam().hash_key));
  ASSERT_TRUE(proxy.started()) << proxy.error();
  // Every request comes from 127.0.0.1: only the key can spread them.
  std::map<std::string, std::set<std::string>> backends_by_key;
  for (int round = 0; round < 3; ++round) {
    Client c(proxy.port());
    ASSERT_TRUE(c.connected());
    for (int k = 0; k < 50; ++k) {
      const std::string key = "user-" + std::to_string(k * 7919);
      const std::string b = backend_of(c, GetParam().carry(key));
      ASSERT_FALSE(b.empty()) << key;
      backends_by_key[key].insert(b);
    }
  }
  std::map<std::string, int> keys_per_backend;
  for (const auto& [key, set] : backends_by_key) {
    EXPECT_EQ(set.size(), 1u) << key << " moved between backends";
    keys_per_backend[*set.begin()]++;
  }
  EXPECT_EQ(keys_per_backend.size(), 2u) << "50 distinct keys from one client all went to one backend: "
                                         << "the key is not what is hashed";
  // Maglev spreads keys about evenly; 50 keys leave each backend at least a handful.
  for (const auto& [backend, n] : keys_per_backend) EXPECT_GE(n, 10) << backend;
}

TEST_P(HashKey, ARequestWithoutTheKeyIsPlacedByItsClientAddress) {
  FakeBackend b1("b1"), b2("b2");
  RunningProxy keyed(hashed({b1.address(), b2.address()}, GetParam().hash_key));
  RunningProxy by_ip(hashed({b1.address(), b2.address()}, "client_ip"));
  ASSERT_TRUE(keyed.started()) << keyed.error();
  ASSERT_TRUE(by_ip.started()) << by_ip.error();
  // The same two backends in the same order: both proxies build the same table, so a request
  // without the key must land where the client_ip proxy puts the same client.
  std::set<std::string> used;
  for (int i = 10; i < 40; ++i) {
    const std::string ip = "127.0.0." + std::to_string(i);
    const std::string expected = backend_from(by_ip.port(), ip.c_str(), "");
    ASSERT_FALSE(expected.empty()) << ip;
    used.insert(expected);
    EXPECT_EQ(backend_from(keyed.port(), ip.c_str(), ""), expected) << ip << ", no key at all";
    // An empty key, or a carrier without it, is no key either.
    const std::string empty = std::string(GetParam().header_name) == "Cookie" ? "Cookie: sid=; other=1\r\n"
                                                                               : std::string(GetParam().header_name) + ":\r\n";
    EXPECT_EQ(backend_from(keyed.port(), ip.c_str(), empty), expected) << ip << ", empty key";
  }
  // Otherwise the comparison above would hold for any key whatever.
  EXPECT_EQ(used.size(), 2u) << "30 client addresses all hashed to one backend";
}

TEST_P(HashKey, TheSameKeyFromManyClientsReachesOneBackend) {
  FakeBackend b1("b1"), b2("b2");
  RunningProxy proxy(hashed({b1.address(), b2.address()}, GetParam().hash_key));
  ASSERT_TRUE(proxy.started()) << proxy.error();
  for (const char* key : {"alice", "bob", "carol", "dave"}) {
    std::set<std::string> seen;
    for (int i = 10; i < 30; ++i) {
      const std::string ip = "127.0.1." + std::to_string(i);
      const std::string b = backend_from(proxy.port(), ip.c_str(), GetParam().carry(key));
      ASSERT_FALSE(b.empty()) << key << " from " << ip;
      seen.insert(b);
    }
    EXPECT_EQ(seen.size(), 1u) << key << " followed the client address, not the key";
  }
}

INSTANTIATE_TEST_SUITE_P(Keys, HashKey,
                         ::testing::Values(KeyCase{"cookie:sid", "Cookie"}, KeyCase{"header:X-User", "X-User"}),
                         [](const ::testing::TestParamInfo<KeyCase>& param_info) {
                           return std::string(param_info.param.header_name) == "Cookie" ? "Cookie" : "Header";
                         });

TEST(HashKeyCookie, TheCookieIsFoundWhereverTheClientPutsIt) {
  FakeBackend b1("b1"), b2("b2");
  RunningProxy proxy(hashed({b1.address(), b2.address()}, "cookie:sid"));
  ASSERT_TRUE(proxy.started()) << proxy.error();
  std::set<std::string> used;
  for (int k = 0; k < 20; ++k) {
    const std::string v = "s" + std::to_string(k * 31337);
    Client c(proxy.port());
    const std::string plain = backend_of(c, "Cookie: sid=" + v + "\r\n");
    ASSERT_FALSE(plain.empty()) << v;
    used.insert(plain);
    EXPECT_EQ(backend_of(c, "Cookie: a=1;sid=" + v + ";b=2\r\n"), plain) << v;
    EXPECT_EQ(backend_of(c, "Cookie: a=1\r\nCookie: sid=" + v + "\r\n"), plain) << v << " in a second Cookie line";
    EXPECT_EQ(backend_of(c, "Cookie: sid=\"" + v + "\"\r\n"), plain) << v << " quoted";
    EXPECT_EQ(backend_of(c, "Cookie: xsid=other; sid=" + v + "\r\n"), plain) << v << " after a longer name";
  }
  EXPECT_EQ(used.size(), 2u);
}

}  // namespace
}  // namespace ferry::testing
