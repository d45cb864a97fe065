// The process's life under an operator: a SIGUSR2 upgrade under load, an upgrade that fails,
// socket activation and systemd's notifications, with the real executable.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "support/checked.h"
#include "support/client.h"
#include "support/fake_backend.h"
#include "support/ferry_process.h"
#include "support/ports.h"
#include "support/scoped_thread.h"
#include "support/temp_dir.h"
#include "support/upgraded_process.h"
#include "support/wait.h"

namespace ferry::testing {
namespace {

// The kernel's listening sockets on 127.0.0.1:`port` (their inode numbers, from /proc/net/tcp).
// The same set before and after an upgrade means the new process took over the very sockets,
// and no second SO_REUSEPORT group ever existed beside them to drop queued connections.
std::set<std::string> listening_sockets(uint16_t port) {
  std::set<std::string> inodes;
  std::istringstream table(file_contents("/proc/net/tcp"));
  char local[32];
  std::snprintf(local, sizeof local, "0100007F:%04X", port);
  std::string line;
  std::getline(table, line);  // the header
  while (std::getline(table, line)) {
    std::istringstream fields(line);
    std::vector<std::string> f;
    for (std::string x; fields >> x;) f.push_back(x);
    if (f.size() > 9 && f[1] == local && f[3] == "0A") inodes.insert(f[9]);
  }
  return inodes;
}

std::string config_text(uint16_t port, uint16_t admin, const std::vector<std::string>& backends) {
  std::string text = "listen: \"127.0.0.1:" + std::to_string(port) + "\"\nworkers: 2\nadmin: \"127.0.0.1:" +
                     std::to_string(admin) + "\"\ntimeouts:\n  shutdown_grace: 5s\nbackends:\n";
  for (const std::string& b : backends) text += "  - \"" + b + "\"\n";
  return text;
}

// Clients that never stop asking until told: keep-alive ones (reconnecting when the proxy says
// Connection: close, as wrk does) and ones that open a connection per request. A request that
// gets no whole 200 is a failure.
class Load {
 public:
  explicit Load(uint16_t port) : port_(port) {
    for (int i = 0; i < 3; ++i) threads_.emplace_back(std::make_unique<ScopedThread>(stop_, [this] { keep_alive(); }));
    for (int i = 0; i < 4; ++i) threads_.emplace_back(std::make_unique<ScopedThread>(stop_, [this] { one_shot(); }));
  }
  ~Load() { stop(); }
  void stop() {
    for (auto& t : threads_) t->join();
  }
  int served() const { return served_.load(); }
  int failures() const { return failures_.load(); }
  std::string first_failure() const {
    std::lock_guard lock(mutex_);
    return first_failure_;
  }

 private:
  void fail(const std::string& what) {
    ++failures_;
    std::lock_guard lock(mutex_);
    if (first_failure_.empty()) first_failure_ = what;
  }
  void keep_alive() {
    while (!stop_) {
      Client c(port_);
      if (!c.connected()) {
        fail("keep-alive connect");
        continue;
      }
      bool open = true;
      while (open && !stop_) {
        if (!c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")) {
          fail("keep-alive send");
          break;
        }
        auto r = c.read_response();
        if (!r || r->status != 200) {
          fail(r ? "keep-alive status " + std::to_string(r->status) : "keep-alive: no response");
          break;
        }
        ++served_;
        open = r->header("Connection") != "close";
      }
    }
  }
  void one_shot() {
    while (!stop_) {
      auto r = get(port_, "/");
      if (!r || r->status != 200) {
        fail(r ? "new connection status " + std::to_string(r->status) : "new connection: no response");
        continue;
      }
      ++served_;
    }
  }

  uint16_t port_;
  std::atomic<bool> stop_{false};
  std::atomic<int> served_{0}, failures_{0};
  mutable std::mutex mutex_;
  std::string first_failure_;
  std::vector<std::unique_ptr<ScopedThread>> threads_;
};

TEST(Upgrade, UnderLoadNoRequestFailsAndThePidChanges) {
  UpgradedProcess adopted;
  FakeBackend b1("b1"), b2("b2");
  const TempDir temp("ferry-upgrade");
  const std::string conf = temp.path() + "/ferry.yaml";
  const uint16_t port = free_port();
  const uint16_t admin = free_port();
  write_file(conf, config_text(port, admin, {b1.address(), b2.address()}));
  FerryProcess ferry(conf, temp.path() + "/ferry.log");
  ASSERT_TRUE(ferry.started());
  ASSERT_TRUE(eventually([&] { return get(port, "/").has_value(); })) << ferry.log();

  // A backend drained from the admin API stays drained in the new process.
  {
    Client c(admin);
    ASSERT_TRUE(c.send("POST /pools/default/backends/" + b1.address() + "/drain HTTP/1.1\r\nHost: a\r\n\r\n"));
    ASSERT_EQ(checked(c.read_response()).status, 200);
  }
  const std::set<std::string> sockets_before = listening_sockets(port);
  EXPECT_EQ(sockets_before.size(), 2u);  // one per worker
  Load load(port);
  ASSERT_TRUE(eventually([&] { return load.served() > 2000; })) << ferry.log();
  ferry.signal(SIGUSR2);
  pid_t next = -1;
  ASSERT_TRUE(eventually([&] { return (next = UpgradedProcess::named_in(ferry.log())) > 0; })) << ferry.log();
  adopted.set(next);
  // The old process drains and exits 0 while the load goes on, now served by the new one.
  EXPECT_EQ(ferry.wait_exit(), 0) << ferry.log();
  const int after_exit = load.served();
  ASSERT_TRUE(eventually([&] { return load.served() > after_exit + 2000; })) << ferry.log();
  load.stop();
  EXPECT_EQ(load.failures(), 0) << load.first_failure() << "\n" << ferry.log();
  EXPECT_EQ(listening_sockets(port), sockets_before);
  EXPECT_NE(ferry.log().find("took over 2 socket(s) from upgrade"), std::string::npos) << ferry.log();

  // The admin listener moved too: the new process answers on the same port.
  auto backends = get(admin, "/backends");
  ASSERT_TRUE(backends);
  EXPECT_EQ(backends->status, 200);
  EXPECT_NE(backends->body.find("\"address\": \"" + b1.address() + "\", \"pool\": \"default\", \"resolved\": \"" +
                                b1.address() + "\", \"state\": \"drained\""),
            std::string::npos)
      << backends->body;
  auto healthz = get(admin, "/healthz");
  ASSERT_TRUE(healthz);
  EXPECT_NE(healthz->body.find("\"pid\": " + std::to_string(next)), std::string::npos) << healthz->body;
  ::kill(next, SIGTERM);
  EXPECT_EQ(adopted.wait_exit(), 0);
}

TEST(Upgrade, ABadConfigOrAMissingBinaryLeavesTheOldProcessServing) {
  UpgradedProcess adopted;
  FakeBackend b1("b1");
  const TempDir temp("ferry-upgrade-fail");
  // A copy of the binary this test can delete, as a package removal would.
  const std::string binary = temp.path() + "/ferry";
  std::filesystem::copy_file(FERRY_BINARY, binary);
  const std::string conf = temp.path() + "/ferry.yaml";
  const uint16_t port = free_port();
  const uint16_t admin = free_port();
  const std::string good = config_text(port, admin, {b1.address()});
  write_file(conf, good);
  const std::string log_path = temp.path() + "/ferry.log";
  ChildProcess ferry({binary, "-c", conf}, "", log_path);
  ASSERT_TRUE(ferry.started());
  ASSERT_TRUE(eventually([&] { return get(port, "/").has_value(); })) << file_contents(log_path);

  write_file(conf, good + "bogus: 1\n");
  ferry.signal(SIGUSR2);
  ASSERT_TRUE(eventually([&] { return file_contents(log_path).find("upgrade failed") != std::string::npos; }))
      << file_contents(log_path);
  EXPECT_NE(file_contents(log_path).find("exited with status 1 before it served"), std::string::npos);
  EXPECT_NE(file_contents(log_path).find("ferry.yaml:8:1: bogus: unknown key"), std::string::npos)
      << file_contents(log_path);
  EXPECT_FALSE(ferry.wait_exit(std::chrono::milliseconds(0)).has_value());
  EXPECT_EQ(checked(get(port, "/")).status, 200);
  EXPECT_EQ(checked(get(admin, "/backends")).status, 200);

  write_file(conf, good);
  std::filesystem::remove(binary);
  ferry.signal(SIGUSR2);
  ASSERT_TRUE(eventually([&] {
    const std::string log = file_contents(log_path);
    return log.find("upgrade failed: starting " + binary) != std::string::npos;
  })) << file_contents(log_path);
  EXPECT_FALSE(ferry.wait_exit(std::chrono::milliseconds(0)).has_value());
  EXPECT_EQ(checked(get(port, "/")).status, 200);
  EXPECT_EQ(UpgradedProcess::named_in(file_contents(log_path)), -1);

  ferry.signal(SIGTERM);
  EXPECT_EQ(ferry.wait_exit(), 0);
}

// A datagram socket standing in for systemd's notification socket.
class NotifySocket {
 public:
  explicit NotifySocket(const std::string& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
    bound_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    timeval tv{0, 100'000};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~NotifySocket() {
    ::close(fd_);
    ::unlink(path_.c_str());
  }
  bool bound() const { return bound_; }
  // Every message received so far, in order, each as sent.
  const std::vector<std::string>& messages() {
    char buf[4096];
    ssize_t n;
    while ((n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT)) > 0) messages_.emplace_back(buf, static_cast<std::size_t>(n));
    return messages_;
  }
  bool received(const std::string& part) {
    for (const std::string& m : messages())
      if (m.find(part) != std::string::npos) return true;
    return false;
  }

 private:
  std::string path_;
  int fd_ = -1;
  bool bound_ = false;
  std::vector<std::string> messages_;
};

// Sets an environment variable for the processes this test starts, and takes it back.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) { ::setenv(name, value.c_str(), 1); }
  ~ScopedEnv() { ::unsetenv(name_); }

 private:
  const char* name_;
};

TEST(Systemd, NotifiesReadyReloadUpgradeAndStop) {
  UpgradedProcess adopted;
  FakeBackend b1("b1");
  const TempDir temp("ferry-notify");
  NotifySocket notify(temp.path() + "/notify");
  ASSERT_TRUE(notify.bound());
  const ScopedEnv env("NOTIFY_SOCKET", temp.path() + "/notify");
  const std::string conf = temp.path() + "/ferry.yaml";
  const uint16_t port = free_port();
  write_file(conf, config_text(port, free_port(), {b1.address()}));
  FerryProcess ferry(conf, temp.path() + "/ferry.log");
  ASSERT_TRUE(ferry.started());
  ASSERT_TRUE(eventually([&] { return notify.received("READY=1"); })) << ferry.log();
  EXPECT_EQ(checked(get(port, "/")).status, 200);  // ready means serving

  ferry.signal(SIGHUP);
  ASSERT_TRUE(eventually([&] { return notify.messages().size() >= 3; })) << ferry.log();
  EXPECT_NE(notify.messages()[1].find("RELOADING=1"), std::string::npos);
  EXPECT_NE(notify.messages()[2].find("READY=1"), std::string::npos);

  ferry.signal(SIGUSR2);
  pid_t next = -1;
  ASSERT_TRUE(eventually([&] { return (next = UpgradedProcess::named_in(ferry.log())) > 0; })) << ferry.log();
  adopted.set(next);
  ASSERT_TRUE(eventually([&] { return notify.received("MAINPID=" + std::to_string(next) + "\nREADY=1"); }))
      << notify.messages().back();
  EXPECT_NE(notify.messages()[3].find("RELOADING=1"), std::string::npos);
  EXPECT_EQ(ferry.wait_exit(), 0);
  // The old process, no longer the main one, says nothing of stopping: under
  // NotifyAccess=all that would stop the service.
  EXPECT_FALSE(notify.received("STOPPING=1"));

  ::kill(next, SIGTERM);
  ASSERT_TRUE(eventually([&] { return notify.received("STOPPING=1"); }));
  EXPECT_EQ(adopted.wait_exit(), 0);
}

// The command line of ferry under systemd-socket-activate, which binds `listen`, then execs
// ferry in place with LISTEN_FDS=1 and LISTEN_PID.
std::vector<std::string> socket_activated(const std::string& listen, const std::string& conf) {
  return {"/usr/bin/systemd-socket-activate", "-l", listen, FERRY_BINARY, "-c", conf};
}

bool answers(uint16_t port) {
  return eventually([&] {
    auto r = get(port, "/");
    return r && r->status == 200;
  });
}

TEST(Systemd, TakesTheListeningSocketFromSocketActivation) {
  if (::access("/usr/bin/systemd-socket-activate", X_OK) != 0) GTEST_SKIP() << "systemd-socket-activate missing";
  FakeBackend b1("b1");
  const TempDir temp("ferry-activate");
  const std::string conf = temp.path() + "/ferry.yaml";
  const uint16_t port = free_port();
  write_file(conf, config_text(port, free_port(), {b1.address()}));
  const std::string log_path = temp.path() + "/ferry.log";
  ChildProcess ferry(socket_activated("127.0.0.1:" + std::to_string(port), conf), "", log_path);
  ASSERT_TRUE(ferry.started());
  // Its first connection starts ferry; both workers then accept on the one socket.
  ASSERT_TRUE(answers(port)) << file_contents(log_path);
  EXPECT_NE(file_contents(log_path).find("took over 1 socket(s) from systemd socket activation"), std::string::npos)
      << file_contents(log_path);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(checked(get(port, "/")).status, 200);
  ferry.signal(SIGTERM);
  EXPECT_EQ(ferry.wait_exit(), 0) << file_contents(log_path);
}

// systemd's sockets are dual-stack unless BindIPv6Only= says otherwise (ferry's own IPv6
// sockets are IPv6-only): an IPv4 client of one arrives IPv4-mapped, and is reported the way
// inet_ntop writes it, for every request on its connection.
TEST(Systemd, AnIPv4ClientOfADualStackSocketIsReportedIPv4Mapped) {
  if (::access("/usr/bin/systemd-socket-activate", X_OK) != 0) GTEST_SKIP() << "systemd-socket-activate missing";
  const int probe = ::socket(AF_INET6, SOCK_STREAM, 0);
  if (probe < 0) GTEST_SKIP() << "no IPv6";
  ::close(probe);
  FakeBackend b1("b1");
  const TempDir temp("ferry-activate-v6");
  const std::string conf = temp.path() + "/ferry.yaml";
  const uint16_t port = free_port();
  std::string text = config_text(port, free_port(), {b1.address()});
  text.replace(text.find("127.0.0.1:" + std::to_string(port)), 10 + std::to_string(port).size(),
               "[::]:" + std::to_string(port));
  write_file(conf, text);
  const std::string log_path = temp.path() + "/ferry.log";
  ChildProcess ferry(socket_activated("[::]:" + std::to_string(port), conf), "", log_path);
  ASSERT_TRUE(ferry.started());
  ASSERT_TRUE(answers(port)) << file_contents(log_path);
  Client c(port, "127.0.0.1");
  ASSERT_TRUE(c.connected());
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(c.send("GET /mapped HTTP/1.1\r\nHost: example.test\r\n\r\n"));
    ASSERT_TRUE(c.read_response()) << i;
    const std::vector<Request> all = b1.requests_seen();
    ASSERT_FALSE(all.empty());
    EXPECT_EQ(all.back().header("X-Forwarded-For"), "::ffff:127.0.0.1") << i;
  }
  ferry.signal(SIGTERM);
  EXPECT_EQ(ferry.wait_exit(), 0) << file_contents(log_path);
}

}  // namespace
}  // namespace ferry::testing
