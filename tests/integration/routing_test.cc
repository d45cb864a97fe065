// Pools and routes through the whole proxy, over real sockets: every action, the weighted
// split, strip_prefix, slow start, drain on reload, stickiness, and what /metrics and
// /backends show of them. The table's own rules are tested without sockets in
// tests/balancer/routing/.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "support/checked.h"
#include "support/client.h"
#include "support/fake_backend.h"
#include "support/proxy_fixture.h"
#include "support/wait.h"

namespace ferry::testing {
namespace {

using namespace std::chrono_literals;

config::PoolConfig pool(const std::string& name, const std::vector<const FakeBackend*>& backends) {
  config::PoolConfig p;
  p.name = name;
  for (const FakeBackend* b : backends) p.backends.push_back({b->address(), 1});
  return p;
}

config::RouteConfig forward(const std::string& name, const std::string& to) {
  config::RouteConfig r;
  r.name = name;
  r.action = config::RouteAction::Forward;
  r.forward = {{to, 1}};
  return r;
}

// A config with `pools` and `routes` instead of top-level backends, and an admin listener.
config::Config routed(std::vector<config::PoolConfig> pools, std::vector<config::RouteConfig> routes) {
  config::Config cfg = test_config({});
  cfg.backends.clear();
  cfg.pools = std::move(pools);
  cfg.routes = std::move(routes);
  cfg.admin = "127.0.0.1:0";
  return cfg;
}

Response request(uint16_t port, const std::string& head) {
  Client c(port);
  EXPECT_TRUE(c.send(head));
  return checked(c.read_response(head.rfind("HEAD ", 0) == 0));
}

std::string metrics(RunningProxy& proxy) { return checked(get(proxy.server().admin_port(), "/metrics")).body; }

TEST(Routing, ByHostAndByPathToTwoApps) {
  FakeBackend web("web"), api("api");
  config::RouteConfig by_host = forward("api-host", "api");
  by_host.match.host = {"api.example.com"};
  config::RouteConfig by_path = forward("api-path", "api");
  by_path.match.path = {"/api/*"};
  by_path.strip_prefix = "/api";
  RunningProxy proxy(routed({pool("web", {&web}), pool("api", {&api})},
                            {by_host, by_path, forward("site", "web")}));
  ASSERT_TRUE(proxy.started()) << proxy.error();

  Response r = request(proxy.port(), "GET /x HTTP/1.1\r\nHost: API.Example.com:8080\r\n\r\n");
  EXPECT_EQ(r.header("X-Backend"), "api");  // host: case-insensitive, port ignored
  r = request(proxy.port(), "GET /api/users?id=7 HTTP/1.1\r\nHost: www.example.com\r\n\r\n");
  EXPECT_EQ(r.header("X-Backend"), "api");
  ASSERT_FALSE(api.requests_seen().empty());
  EXPECT_EQ(api.requests_seen().back().target, "/users?id=7");  // strip_prefix
  r = request(proxy.port(), "GET /API/users HTTP/1.1\r\nHost: www.example.com\r\n\r\n");
  EXPECT_EQ(r.header("X-Backend"), "web");  // path: case-sensitive
  EXPECT_EQ(web.requests_seen().back().target, "/API/users");

  const std::string m = metrics(proxy);
  EXPECT_NE(m.find("ferry_route_requests_total{route=\"api-host\",code=\"200\"} 1"), std::string::npos) << m;
  EXPECT_NE(m.find("ferry_route_requests_total{route=\"api-path\",code=\"200\"} 1"), std::string::npos);
  EXPECT_NE(m.find("ferry_route_requests_total{route=\"site\",code=\"200\"} 1"), std::string::npos);
  EXPECT_NE(m.find("ferry_requests_total{pool=\"api\",backend=\"" + api.address() + "\",code=\"200\"} 2"),
            std::string::npos);
  const std::string backends = checked(get(proxy.server().admin_port(), "/backends")).body;
  EXPECT_NE(backends.find("{\"name\": \"web\""), std::string::npos) << backends;
  EXPECT_NE(backends.find("{\"name\": \"api\""), std::string::npos);
}

TEST(Routing, NoMatchingRouteIs404AndTheConnectionStaysUsable) {
  FakeBackend web("web");
  config::RouteConfig only = forward("only", "web");
  only.match.host = {"www.example.com"};
  RunningProxy proxy(routed({pool("web", {&web})}, {only}));
  ASSERT_TRUE(proxy.started()) << proxy.error();
  Client c(proxy.port());
  ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: other.example.com\r\n\r\n"));
  Response r = checked(c.read_response());
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, "no route matched\n");
  EXPECT_FALSE(r.header("X-Request-Id").empty());
  ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: www.example.com\r\n\r\n"));
  EXPECT_EQ(checked(c.read_response()).header("X-Backend"), "web");
  EXPECT_EQ(web.requests(), 1);
}

TEST(Routing, RedirectFillsThePlaceholders) {
  FakeBackend web("web");
  config::RouteConfig redirect;
  redirect.name = "to-https";
  redirect.action = config::RouteAction::Redirect;
  redirect.location = "https://#{host}:443/#{path}?#{query}";
  redirect.status = 308;
  RunningProxy proxy(routed({pool("web", {&web})}, {redirect}));
  ASSERT_TRUE(proxy.started()) << proxy.error();
  Response r = request(proxy.port(), "GET /a/b?x=1&y=2 HTTP/1.1\r\nHost: shop.example.com:8888\r\n\r\n");
  EXPECT_EQ(r.status, 308);
  EXPECT_EQ(r.header("Location"), "https://shop.example.com:443/a/b?x=1&y=2");
  EXPECT_EQ(r.header("Content-Length"), "0");
  r = request(proxy.port(), "GET /plain HTTP/1.1\r\nHost: shop.example.com\r\n\r\n");
  EXPECT_EQ(r.header("Location"), "https://shop.example.com:443/plain");  // no dangling '?'
  r = request(proxy.port(), "GET /v6 HTTP/1.1\r\nHost: [::1]:8888\r\n\r\n");
  EXPECT_EQ(r.header("Location"), "https://[::1]:443/v6");
  // A Host that is more than a host never shapes a Location.
  EXPECT_EQ(request(proxy.port(), "GET / HTTP/1.1\r\nHost: evil.example/x?\r\n\r\n").status, 400);
  EXPECT_EQ(request(proxy.port(), "GET / HTTP/1.1\r\nHost: a@evil.example\r\n\r\n").status, 400);
  EXPECT_EQ(web.requests(), 0);
}

TEST(Routing, RespondAnswersWithTheConfiguredResponse) {
  FakeBackend web("web");
  config::RouteConfig maintenance;
  maintenance.name = "maintenance";
  maintenance.match.path = {"/maintenance"};
  maintenance.action = config::RouteAction::Respond;
  maintenance.status = 503;
  maintenance.content_type = "text/plain";
  maintenance.body = "back soon\n";
  RunningProxy proxy(routed({pool("web", {&web})}, {maintenance, forward("site", "web")}));
  ASSERT_TRUE(proxy.started()) << proxy.error();
  Client c(proxy.port());
  ASSERT_TRUE(c.send("GET /maintenance HTTP/1.1\r\nHost: x\r\n\r\n"));
  Response r = checked(c.read_response());
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.header("Content-Type"), "text/plain");
  EXPECT_EQ(r.body, "back soon\n");
  ASSERT_TRUE(c.send("HEAD /maintenance HTTP/1.1\r\nHost: x\r\n\r\n"));
  r = checked(c.read_response(true));
  EXPECT_EQ(r.header("Content-Length"), "10");
  EXPECT_EQ(r.body, "");
  ASSERT_TRUE(c.send("GET /other HTTP/1.1\r\nHost: x\r\n\r\n"));  // same connection goes on
  EXPECT_EQ(checked(c.read_response()).header("X-Backend"), "web");
  EXPECT_NE(metrics(proxy).find("ferry_route_requests_total{route=\"maintenance\",code=\"503\"} 2"), std::string::npos);
}

TEST(Routing, WeightedSplitHoldsExactlyPerWorkerAndInSum) {
  FakeBackend stable("stable"), canary("canary");
  config::RouteConfig split;
  split.name = "split";
  split.action = config::RouteAction::Forward;
  split.forward = {{"stable", 90}, {"canary", 10}};
  config::Config cfg = routed({pool("stable", {&stable}), pool("canary", {&canary})}, {split});
  cfg.workers = 2;
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started()) << proxy.error();
  std::atomic<int> failures{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&] {
      Client c(proxy.port());
      for (int i = 0; i < 500; ++i) {
        if (!c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n") || !c.read_response()) ++failures;
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(stable.requests() + canary.requests(), 2000);
  // Each worker walks a 9:1 cycle, so its count is off by at most one: the sum by two.
  EXPECT_NEAR(canary.requests(), 200, 2);
}

TEST(Routing, StickinessSendsAClientBackAndRepicksWhenItsBackendDies) {
  auto a = std::make_unique<FakeBackend>("a");
  FakeBackend b("b");
  config::PoolConfig sticky = pool("app", {a.get(), &b});
  sticky.stickiness = config::Stickiness{"ferry_app", 600s};
  sticky.retries = 1;
  RunningProxy proxy(routed({sticky}, {}));
  ASSERT_TRUE(proxy.started()) << proxy.error();

  Response first = request(proxy.port(), "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  const std::string cookie = first.header("Set-Cookie");
  ASSERT_EQ(cookie.rfind("ferry_app=", 0), 0u) << cookie;
  EXPECT_NE(cookie.find("; Max-Age=600; Path=/; HttpOnly"), std::string::npos) << cookie;
  const std::string value = cookie.substr(10, cookie.find(';') - 10);
  EXPECT_EQ(value.find("127.0.0.1"), std::string::npos);  // opaque: no address
  EXPECT_EQ(value.find(std::to_string(a->port())), std::string::npos);
  const std::string home = first.header("X-Backend");
  for (int i = 0; i < 10; ++i) {
    Response r = request(proxy.port(), "GET / HTTP/1.1\r\nHost: x\r\nCookie: theme=dark; ferry_app=" + value + "\r\n\r\n");
    EXPECT_EQ(r.header("X-Backend"), home);
    EXPECT_EQ(r.header("Set-Cookie"), cookie);  // refreshed every time
  }
  // A forged value is a fresh pick with a real cookie, never an error.
  Response forged = request(proxy.port(), "GET / HTTP/1.1\r\nHost: x\r\nCookie: ferry_app=00000000000000000000000000000000\r\n\r\n");
  EXPECT_EQ(forged.status, 200);
  EXPECT_EQ(forged.header("Set-Cookie").size(), cookie.size());

  // The home backend dies: the request is retried elsewhere and the cookie moves with it.
  FakeBackend* dying = home == "a" ? a.get() : &b;
  dying->stop();
  Response moved = request(proxy.port(), "GET / HTTP/1.1\r\nHost: x\r\nCookie: ferry_app=" + value + "\r\n\r\n");
  EXPECT_EQ(moved.status, 200);
  EXPECT_NE(moved.header("X-Backend"), home);
  EXPECT_NE(moved.header("Set-Cookie"), cookie);
  EXPECT_EQ(moved.header("Set-Cookie").rfind("ferry_app=", 0), 0u);
}

// Shares of `b` among the requests sent during `window`, one at a time on one connection.
double share_of(uint16_t port, const FakeBackend& b, std::chrono::milliseconds window) {
  Client c(port);
  int total = 0;
  int hits = 0;
  const auto end = std::chrono::steady_clock::now() + window;
  while (std::chrono::steady_clock::now() < end) {
    if (!c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")) break;
    std::optional<Response> r = c.read_response();
    if (!r) break;
    ++total;
    hits += r->header("X-Backend") == b.name() ? 1 : 0;
    std::this_thread::sleep_for(2ms);
  }
  return total == 0 ? -1 : static_cast<double>(hits) / total;
}

TEST(Routing, SlowStartRampsANewBackendUpLinearly) {
  FakeBackend a("a"), b("b");
  config::PoolConfig app = pool("app", {&a});
  app.slow_start = 4s;
  RunningProxy proxy(routed({app}, {}));
  ASSERT_TRUE(proxy.started()) << proxy.error();
  ASSERT_EQ(checked(get(proxy.port(), "/")).header("X-Backend"), "a");
  config::Config next = proxy.server().config();
  next.pools[0].backends.push_back({b.address(), 1});
  std::string error;
  ASSERT_TRUE(proxy.server().reload(next, &error)) << error;
  // Round robin alternates, and b's turn stands with its share of the ramp: b gets about half
  // of its share of all requests. Early on that is close to nothing, at the end half.
  const double early = share_of(proxy.port(), b, 600ms);   // ramp 0..15%
  std::this_thread::sleep_for(900ms);
  const double middle = share_of(proxy.port(), b, 800ms);  // ramp 37..57%
  std::this_thread::sleep_for(2000ms);
  const double full = share_of(proxy.port(), b, 800ms);    // ramp over
  EXPECT_LT(early, 0.12) << early << " " << middle << " " << full;
  EXPECT_GT(middle, early);
  EXPECT_GT(middle, 0.12);
  EXPECT_LT(middle, 0.40);
  EXPECT_NEAR(full, 0.5, 0.05);
}

TEST(Routing, ABackendRemovedByReloadDrainsWithNoFailedRequest) {
  FakeBackend a("a"), b("b");
  std::atomic<int> slow_in_flight{0};
  // a answers slowly, so requests are in flight on it when the reload takes it away.
  a.set_handler([&](BackendConn& c, const Request& req) {
    ++slow_in_flight;
    std::this_thread::sleep_for(300ms);
    c.send(FakeBackend::default_response("a", req));
    --slow_in_flight;
  });
  config::PoolConfig app = pool("app", {&a, &b});
  app.drain = 10s;
  config::Config cfg = routed({app}, {});
  cfg.workers = 2;
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started()) << proxy.error();
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::atomic<int> done{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 6; ++t) {
    clients.emplace_back([&] {
      Client c(proxy.port());
      while (!stop) {
        std::optional<Response> r;
        if (c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")) r = c.read_response();
        if (!r || r->status != 200) ++failures;
        ++done;
      }
    });
  }
  ASSERT_TRUE(eventually([&] { return slow_in_flight.load() >= 2; }));
  config::Config next = proxy.server().config();
  next.pools[0].backends = {{b.address(), 1}};
  std::string error;
  ASSERT_TRUE(proxy.server().reload(next, &error)) << error;
  // While a finishes what it has, /backends shows it draining.
  const std::string during = checked(get(proxy.server().admin_port(), "/backends")).body;
  EXPECT_NE(during.find("\"state\": \"draining\""), std::string::npos) << during;
  const int a_at_reload = a.requests();
  ASSERT_TRUE(eventually([&] { return slow_in_flight.load() == 0; }));
  std::this_thread::sleep_for(300ms);
  stop = true;
  for (auto& t : clients) t.join();
  EXPECT_EQ(failures.load(), 0);
  // Only what workers picked before the reload reached them: a worker reads the new snapshot at
  // its next loop turn, and in the turn it arrives may first pick for each request it read, at
  // most one per client connection (under TSan's slowness that was 3 once, past a bound of 2).
  // A worker that kept picking a would add hundreds here.
  EXPECT_LE(a.requests(), a_at_reload + static_cast<int>(clients.size()));
  // Its last request done, a leaves the set (the health thread ends drains every 500ms).
  EXPECT_TRUE(eventually([&] {
    return checked(get(proxy.server().admin_port(), "/backends")).body.find(a.address()) == std::string::npos;
  }));
}

TEST(Routing, ADrainThatRunsOutCutsWhatIsStillOpen) {
  FakeBackend a("a"), b("b");
  a.set_handler([](BackendConn& c, const Request& req) {
    std::this_thread::sleep_for(4s);
    c.send(FakeBackend::default_response("a", req));
  });
  config::PoolConfig app = pool("app", {&a, &b});
  app.drain = 500ms;
  RunningProxy proxy(routed({app}, {}));
  ASSERT_TRUE(proxy.started()) << proxy.error();
  // Round robin: the first request goes to a and hangs there.
  Client stuck(proxy.port(), 8000ms);
  ASSERT_TRUE(stuck.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(eventually([&] { return a.requests() == 1; }));
  config::Config next = proxy.server().config();
  next.pools[0].backends = {{b.address(), 1}};
  std::string error;
  ASSERT_TRUE(proxy.server().reload(next, &error)) << error;
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(stuck.closed_by_peer());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);  // at the drain time, not a's 4s
  EXPECT_EQ(checked(get(proxy.port(), "/")).header("X-Backend"), "b");
}

TEST(Routing, AReloadThatRenamesAndReweightsPoolsUnderLoadLosesNothing) {
  FakeBackend blue("blue"), green("green"), canary("canary");
  config::RouteConfig split;
  split.name = "split";
  split.action = config::RouteAction::Forward;
  split.forward = {{"blue", 1}, {"green", 1}};
  config::Config cfg = routed({pool("blue", {&blue}), pool("green", {&green})}, {split});
  cfg.workers = 2;
  RunningProxy proxy(cfg);
  ASSERT_TRUE(proxy.started()) << proxy.error();
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::atomic<int> done{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&] {
      while (!stop) {
        Client c(proxy.port());
        for (int i = 0; i < 20 && !stop; ++i) {
          std::optional<Response> r;
          if (c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")) r = c.read_response();
          if (!r || r->status != 200) ++failures;
          ++done;
        }
      }
    });
  }
  ASSERT_TRUE(eventually([&] { return done.load() > 200; }));
  config::Config next = cfg;
  next.pools = {pool("green", {&green}), pool("canary", {&canary})};
  next.routes[0].forward = {{"green", 80}, {"canary", 20}};
  std::string error;
  ASSERT_TRUE(proxy.server().reload(next, &error)) << error;
  const int after_reload = done.load();
  ASSERT_TRUE(eventually([&] { return done.load() > after_reload + 500; }));
  stop = true;
  for (auto& t : clients) t.join();
  EXPECT_EQ(failures.load(), 0);
  const int blue_before = blue.requests();
  for (int i = 0; i < 20; ++i) EXPECT_NE(checked(get(proxy.port(), "/")).header("X-Backend"), "blue");
  EXPECT_EQ(blue.requests(), blue_before);
  EXPECT_GT(canary.requests(), 0);
}

TEST(Routing, OneAddressInTwoPoolsIsTwoBackends) {
  FakeBackend shared("shared");
  config::RouteConfig to_a = forward("to-a", "a");
  to_a.match.path = {"/a"};
  RunningProxy proxy(routed({pool("a", {&shared}), pool("b", {&shared})}, {to_a, forward("to-b", "b")}));
  ASSERT_TRUE(proxy.started()) << proxy.error();
  EXPECT_EQ(checked(get(proxy.port(), "/a")).status, 200);
  EXPECT_EQ(checked(get(proxy.port(), "/b")).status, 200);
  EXPECT_EQ(checked(get(proxy.port(), "/b")).status, 200);
  const std::string m = metrics(proxy);
  EXPECT_NE(m.find("ferry_requests_total{pool=\"a\",backend=\"" + shared.address() + "\",code=\"200\"} 1"), std::string::npos) << m;
  EXPECT_NE(m.find("ferry_requests_total{pool=\"b\",backend=\"" + shared.address() + "\",code=\"200\"} 2"), std::string::npos);
  EXPECT_NE(m.find("ferry_backend_up{pool=\"a\",backend=\"" + shared.address() + "\"} 1"), std::string::npos);
  EXPECT_NE(m.find("ferry_backend_up{pool=\"b\",backend=\"" + shared.address() + "\"} 1"), std::string::npos);
}

}  // namespace
}  // namespace ferry::testing
