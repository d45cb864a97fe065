// ns per metrics update on the request path: a worker's per-backend counters (status code,
// latency bucket, count and sum) and its connection gauge. These are plain single-writer
// stores, no locked instruction and no lock; the scrape merges the workers' copies. A
// prometheus-cpp Histogram::Observe, which takes a mutex, is measured beside them for scale.
#include <benchmark/benchmark.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <cstdint>

#include "proxy/admin/metrics.h"

namespace ferry::proxy {
namespace {

// Latencies spread over the buckets, as a mixed workload's would be.
constexpr std::array<uint64_t, 8> kDurationsNs = {300'000,    900'000,   2'000'000,  4'000'000,
                                                  12'000'000, 60'000'000, 400'000'000, 3'000'000'000};

void BM_RecordResponse(benchmark::State& state) {
  WorkerMetrics metrics;
  BackendCounters* counters = metrics.backend(1);
  std::size_t i = 0;
  for (auto _ : state) {
    counters->record_response(i % 16 == 15 ? 503 : 200, kDurationsNs[i & 7]);
    ++i;
  }
  benchmark::DoNotOptimize(counters->duration_count.load());
}
BENCHMARK(BM_RecordResponse);

void BM_ConnectionGauge(benchmark::State& state) {
  WorkerMetrics metrics;
  for (auto _ : state) {
    adjust(metrics.client_connections, 1);
    adjust(metrics.client_connections, -1);
  }
  benchmark::DoNotOptimize(metrics.client_connections.load());
}
BENCHMARK(BM_ConnectionGauge);

void BM_PrometheusCppHistogramObserve(benchmark::State& state) {
  prometheus::Registry registry;
  auto& family = prometheus::BuildHistogram().Name("bench_seconds").Help("for scale").Register(registry);
  auto& histogram = family.Add({}, prometheus::Histogram::BucketBoundaries(kLatencyBuckets.begin(),
                                                                           kLatencyBuckets.end()));
  std::size_t i = 0;
  for (auto _ : state) {
    histogram.Observe(static_cast<double>(kDurationsNs[i++ & 7]) / 1e9);
  }
}
BENCHMARK(BM_PrometheusCppHistogramObserve);

}  // namespace
}  // namespace ferry::proxy
