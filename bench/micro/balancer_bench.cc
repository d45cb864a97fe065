// ns per pick for every balancer at 2, 16 and 1000 backends, all healthy, with a pick and its
// release per iteration as a worker does. Outstanding counts are fixed and uneven (0..7) so the
// load-aware balancers compare real numbers; the *_busy runs leave no backend idle (1..8), which
// is least_outstanding's worst case: it stops scanning at the first idle backend.
// consistent_hash cycles through 4096 client IPs.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "balancer/balancer.h"
#include "balancer/consistent_hash.h"
#include "balancer/pick_key.h"
#include "balancer/random.h"
#include "config/config.h"

namespace ferry::balancer {
namespace {

using config::BalancerKind;

Snapshot make_snapshot(std::size_t n, uint32_t min_outstanding = 0) {
  Snapshot snap;
  snap.backend_set = 1;
  SplitMix64 rng(n);
  for (std::size_t i = 0; i < n; ++i) {
    Backend b;
    b.name = std::string("10.0.").append(std::to_string(i / 250)).append(".")
                 .append(std::to_string(i % 250 + 1)).append(":8000");
    b.weight = 1 + rng.below(5);
    b.load->outstanding.store(min_outstanding + rng.below(8));
    snap.backends.push_back(std::move(b));
  }
  snap.healthy.assign(n, 1);
  snap.finish();
  return snap;
}

std::vector<std::string> client_ips() {
  std::vector<std::string> ips;
  for (int i = 0; i < 4096; ++i)
    ips.push_back(std::string("192.168.").append(std::to_string(i / 256)).append(".")
                      .append(std::to_string(i % 256)));
  return ips;
}

void BM_Pick(benchmark::State& state, BalancerKind kind, uint32_t min_outstanding = 0) {
  const Snapshot snap = make_snapshot(static_cast<std::size_t>(state.range(0)), min_outstanding);
  const std::vector<std::string> keys = client_ips();
  auto balancer = make_balancer(kind, 0, 42);
  balancer->on_snapshot(snap);
  const TriedSet tried;
  std::size_t k = 0;
  for (auto _ : state) {
    auto index = balancer->pick(snap, keys[k++ & 4095], tried);
    benchmark::DoNotOptimize(index);
    balancer->release(*index, Outcome::Success);
  }
}

BENCHMARK_CAPTURE(BM_Pick, round_robin, BalancerKind::RoundRobin)->Arg(2)->Arg(16)->Arg(1000);
BENCHMARK_CAPTURE(BM_Pick, weighted_round_robin, BalancerKind::WeightedRoundRobin)
    ->Arg(2)->Arg(16)->Arg(1000);
BENCHMARK_CAPTURE(BM_Pick, least_outstanding, BalancerKind::LeastOutstanding)
    ->Arg(2)->Arg(16)->Arg(1000);
BENCHMARK_CAPTURE(BM_Pick, least_outstanding_busy, BalancerKind::LeastOutstanding, 1)
    ->Arg(2)->Arg(16)->Arg(1000);
BENCHMARK_CAPTURE(BM_Pick, power_of_two, BalancerKind::PowerOfTwo)->Arg(2)->Arg(16)->Arg(1000);
BENCHMARK_CAPTURE(BM_Pick, power_of_two_busy, BalancerKind::PowerOfTwo, 1)
    ->Arg(2)->Arg(16)->Arg(1000);
BENCHMARK_CAPTURE(BM_Pick, consistent_hash, BalancerKind::ConsistentHash)
    ->Arg(2)->Arg(16)->Arg(1000);

// What a backend-set change costs each worker for consistent_hash: one Maglev table build.
void BM_ConsistentHashBuild(benchmark::State& state) {
  Snapshot snap = make_snapshot(static_cast<std::size_t>(state.range(0)));
  ConsistentHash ch;
  for (auto _ : state) {
    ++snap.backend_set;
    ch.on_snapshot(snap);
    benchmark::DoNotOptimize(ch.table().data());
  }
}
BENCHMARK(BM_ConsistentHashBuild)->Arg(2)->Arg(16)->Arg(1000)->Unit(benchmark::kMicrosecond);

// Key extraction for hash_key: cookie:NAME from a typical request head.
void BM_PickKeyCookie(benchmark::State& state) {
  const KeySpec spec = *parse_key_spec("cookie:session", nullptr);
  const HeaderList headers{
      {"Host", "shop.example.com"},
      {"User-Agent", "Mozilla/5.0 (X11; Linux x86_64)"},
      {"Accept", "text/html,application/xhtml+xml"},
      {"Accept-Language", "en-US,en;q=0.9"},
      {"Cookie", "theme=dark; _ga=GA1.2.1234567890.1234567890; session=9f8e7d6c5b4a; lang=en"},
  };
  for (auto _ : state) benchmark::DoNotOptimize(pick_key(spec, Request{"GET", "/", "192.168.1.20", headers}));
}
BENCHMARK(BM_PickKeyCookie);

}  // namespace
}  // namespace ferry::balancer

BENCHMARK_MAIN();
