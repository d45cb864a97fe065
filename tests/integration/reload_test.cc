// Reloads (in-process and by SIGHUP to the real executable) and DNS re-resolution.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "support/child_process.h"
#include "support/checked.h"
#include "support/client.h"
#include "support/fake_backend.h"
#include "support/ferry_process.h"
#include "support/ports.h"
#include "support/proxy_fixture.h"
#include "support/scoped_thread.h"
#include "support/temp_dir.h"
#include "support/wait.h"

namespace ferry::testing {
namespace {

using namespace std::chrono_literals;

TEST(Reload, UnderLoadLosesNoRequestAndSwitchesBackends) {
  FakeBackend b1("b1"), b2("b2"), b3("b3");
  auto cfg = test_config({b1.address(), b2.address()});
  cfg.workers = 2;
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started());
  std::atomic<int> failures{0};
  std::atomic<int> done{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&] {
      for (int round = 0; round < 10; ++round) {
        Client c(proxy.port());
        for (int i = 0; i < 30; ++i) {
          if (!c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")) {
            ++failures;
            break;
          }
          auto r = c.read_response();
          if (!r || r->status != 200) ++failures;
          ++done;
        }
      }
    });
  }
  ASSERT_TRUE(eventually([&] { return done.load() > 300; }));
  auto next = cfg;
  next.backends = {{b2.address(), 1}, {b3.address(), 1}};
  std::string error;
  ASSERT_TRUE(proxy.server().reload(next, &error)) << error;
  for (auto& t : clients) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(done.load(), 1200);
  // Afterwards only the new set serves.
  const int b1_before = b1.requests();
  for (int i = 0; i < 10; ++i) {
    auto r = get(proxy.port(), "/");
    ASSERT_TRUE(r);
    EXPECT_NE(r->header("X-Backend"), "b1");
  }
  EXPECT_EQ(b1.requests(), b1_before);
  EXPECT_GT(b3.requests(), 0);
}

TEST(Reload, ChangedListenIsRefusedWhole) {
  FakeBackend b1("b1"), b2("b2");
  auto cfg = test_config({b1.address()});
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started());
  auto next = cfg;
  next.listen = {"127.0.0.1:1"};
  next.backends = {{b2.address(), 1}};
  std::string error;
  EXPECT_FALSE(proxy.server().reload(next, &error));
  EXPECT_NE(error.find("listen changed"), std::string::npos) << error;
  auto r = get(proxy.port(), "/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header("X-Backend"), "b1");  // the backends were not applied either
}

TEST(Reload, TimeoutsApplyToTheNextRequest) {
  FakeBackend b1("b1");
  b1.set_silent(true);
  auto cfg = test_config({b1.address()});
  cfg.retries = 0;
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started());
  auto next = cfg;
  next.timeouts.backend_response = 150ms;
  std::string error;
  ASSERT_TRUE(proxy.server().reload(next, &error)) << error;
  std::this_thread::sleep_for(20ms);  // the workers adopt the update on their loop
  auto r = get(proxy.port(), "/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 504);
}

// A resolver the test controls: "app.test" resolves to whatever `ips` holds.
struct FakeDns {
  std::mutex mutex;
  std::vector<std::string> ips;
  proxy::Resolver resolver() {
    return [this](const config::HostPort& hp, std::string* error) {
      std::vector<sockaddr_storage> out;
      if (hp.host != "app.test") return config::resolve(hp, error);
      std::lock_guard lock(mutex);
      for (const std::string& ip : ips) {
        sockaddr_storage ss{};
        auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
        sin->sin_family = AF_INET;
        sin->sin_port = htons(hp.port);
        inet_pton(AF_INET, ip.c_str(), &sin->sin_addr);
        out.push_back(ss);
      }
      if (out.empty()) *error = "NXDOMAIN";
      return out;
    };
  }
  void set(std::vector<std::string> v) {
    std::lock_guard lock(mutex);
    ips = std::move(v);
  }
};

TEST(Dns, ReResolutionAddsAndRemovesBackends) {
  FakeBackend a("a", "127.0.0.2", 0);
  FakeBackend b("b", "127.0.0.3", a.port());
  FakeDns dns;
  dns.set({"127.0.0.2"});
  auto cfg = test_config({"app.test:" + std::to_string(a.port())});
  proxy::Server server(cfg, dns.resolver());
  std::string error;
  ASSERT_TRUE(server.start(&error)) << error;
  const uint16_t port = server.listen_ports()[0];
  for (int i = 0; i < 4; ++i) EXPECT_EQ(checked(get(port, "/")).header("X-Backend"), "a");
  const void* load_of_a = server.publisher().latest()->backends[0].load.get();

  dns.set({"127.0.0.2", "127.0.0.3"});
  ASSERT_TRUE(server.resolve_now(&error)) << error;
  std::this_thread::sleep_for(20ms);
  std::set<std::string> seen;
  for (int i = 0; i < 4; ++i) seen.insert(checked(get(port, "/")).header("X-Backend"));
  EXPECT_EQ(seen, (std::set<std::string>{"a", "b"}));
  EXPECT_EQ(server.publisher().latest()->backends[0].load.get(), load_of_a);  // a kept its state

  dns.set({"127.0.0.3"});
  ASSERT_TRUE(server.resolve_now(&error)) << error;
  std::this_thread::sleep_for(20ms);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(checked(get(port, "/")).header("X-Backend"), "b");

  dns.set({});
  EXPECT_FALSE(server.resolve_now(&error));  // a failed lookup keeps the last addresses
  EXPECT_EQ(checked(get(port, "/")).header("X-Backend"), "b");
  server.drain();
  server.wait();
}

// ---- the real executable, driven by signals ----

TEST(ReloadBySignal, EditingTheFileAndSighupChangesTheRotationWithoutFailures) {
  FakeBackend b1("b1"), b2("b2"), b3("b3");
  const TempDir temp("ferry-reload");
  ASSERT_FALSE(temp.path().empty());
  const std::filesystem::path dir = temp.path();
  const std::string conf = (dir / "ferry.yaml").string();
  const uint16_t port = free_port();
  const uint16_t admin = free_port();
  const std::string head = "listen: \"127.0.0.1:" + std::to_string(port) + "\"\nworkers: 1\nadmin: \"127.0.0.1:" +
                           std::to_string(admin) + "\"\n";
  write_file(conf, head + "backends:\n  - \"" + b1.address() + "\"\n  - \"" + b2.address() + "\"\n");
  FerryProcess ferry(conf, (dir / "ferry.log").string());
  ASSERT_TRUE(ferry.started());
  ASSERT_TRUE(eventually([&] { return get(port, "/").has_value(); })) << ferry.log();

  std::atomic<bool> stop{false};
  std::atomic<int> failures{0}, served{0};
  // Stopped and joined on every way out: a joinable std::thread left by a failed ASSERT would
  // abort the whole binary.
  ScopedThread load(stop, [&] {
    while (!stop) {
      Client c(port);
      for (int i = 0; i < 20 && !stop; ++i) {
        c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        auto r = c.read_response();
        if (!r || r->status != 200) ++failures;
        ++served;
      }
    }
  });
  ASSERT_TRUE(eventually([&] { return served.load() > 50; }));

  // A broken file is rejected with its errors logged; the old configuration keeps serving.
  write_file(conf, head + "backends:\n  - \"" + b3.address() + "\"\n  bogus: [\n");
  ferry.signal(SIGHUP);
  ASSERT_TRUE(eventually([&] { return ferry.log().find("reload rejected") != std::string::npos; }));
  EXPECT_NE(ferry.log().find("ferry.yaml:"), std::string::npos) << ferry.log();
  const int before = served.load();
  ASSERT_TRUE(eventually([&] { return served.load() > before + 50; }));

  write_file(conf, head + "backends:\n  - \"" + b3.address() + "\"\n");
  ferry.signal(SIGHUP);
  ASSERT_TRUE(eventually([&] { return ferry.log().find("reloaded") != std::string::npos; }));
  const int b1_after_reload = b1.requests();
  ASSERT_TRUE(eventually([&] { return b3.requests() > 50; }));
  load.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_LE(b1.requests() - b1_after_reload, 1);  // at most a request already in flight

  auto metrics = get(admin, "/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("ferry_config_reloads_total{result=\"success\"} 1"), std::string::npos);
  EXPECT_NE(metrics->body.find("ferry_config_reloads_total{result=\"failure\"} 1"), std::string::npos);

  ferry.signal(SIGTERM);
  EXPECT_EQ(ferry.wait_exit(), 0);
}

}  // namespace
}  // namespace ferry::testing
