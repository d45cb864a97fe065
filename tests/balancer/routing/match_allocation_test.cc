// RouteTable::match runs for every request on a worker's loop, where ferry never allocates.
// This binary counts every operator new, so the claim is checked rather than trusted; the
// replacement is global but only this folder's test binary links it.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <vector>

#include "balancer/routing/route_table.h"
#include "balancer/routing/routes_for_tests.h"
#include "balancer/routing/test_peers.h"

namespace {
std::atomic<std::size_t> allocations{0};
}  // namespace

// Kept out of line: inlined into a caller, GCC sees new's malloc reach delete's free through
// the standard library and reports a new/free mismatch that is not there.
[[gnu::noinline]] void* operator new(std::size_t size) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* memory = std::malloc(size == 0 ? 1 : size)) return memory;
  throw std::bad_alloc();
}
[[gnu::noinline]] void operator delete(void* memory) noexcept { std::free(memory); }
[[gnu::noinline]] void operator delete(void* memory, std::size_t) noexcept { std::free(memory); }

namespace ferry::balancer::routing {
namespace {

TEST(MatchAllocation, MatchingNeverAllocates) {
  std::vector<config::RouteConfig> routes;
  for (int i = 0; i < 20; ++i)
    routes.push_back(forward("r" + std::to_string(i),
                             Conditions()
                                 .host({"*.svc" + std::to_string(i) + ".example.com"})
                                 .path({"/v?/*/items/*"})
                                 .method({"GET", "POST"})
                                 .header({{"X-Tenant", "t-*"}})
                                 .query({{"debug", "*"}, {"", "on"}})
                                 .source({"10.0.0.0/8", "2001:db8::/32"})
                                 .listener({"[::]:443"}),
                             {{"web", 90}, {"canary", 10}}));
  routes.push_back(forward("tail", {}));
  const RouteTable table = RouteTable::from(config_with(std::move(routes)));

  const sockaddr_storage peer = ipv6_peer("::ffff:10.3.2.1");
  const HeaderList headers{{"Host", "a.svc19.example.com"}, {"X-Tenant", "x"},
                           {"x-tenant", " T-blue "}};
  const std::vector<Request> requests{
      Request{"GET", "/v1/a/items/7?debug=1&mode=on", "10.3.2.1", headers,
              "a.svc19.example.com:443", 1, &peer},
      Request{"POST", "http://a.svc3.example.com/v2/b/items/?mode=ON&debug", "10.3.2.1",
              headers, "ignored", 1, &peer},
      Request{"GET", "/nothing/matches/here?x=1&&y", "10.3.2.1", headers, "[::1]:8080", 0,
              nullptr},
  };

  std::vector<const Route*> matched(requests.size());
  const std::size_t before = allocations.load();
  for (int round = 0; round < 100; ++round)
    for (std::size_t i = 0; i < requests.size(); ++i) matched[i] = table.match(requests[i]);
  const std::size_t during = allocations.load() - before;

  EXPECT_EQ(during, 0u);
  ASSERT_NE(matched[0], nullptr);
  EXPECT_EQ(matched[0]->name, "r19");
  ASSERT_NE(matched[1], nullptr);
  EXPECT_EQ(matched[1]->name, "r3");
  ASSERT_NE(matched[2], nullptr);
  EXPECT_EQ(matched[2]->name, "tail");
}

TEST(MatchAllocation, TheCounterSeesAllocations) {
  const std::size_t before = allocations.load();
  int* volatile number = new int(7);  // volatile: a new/delete pair may otherwise be elided
  EXPECT_GT(allocations.load(), before);
  delete number;
}

}  // namespace
}  // namespace ferry::balancer::routing
