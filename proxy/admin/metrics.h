// Request metrics without a shared write on the request path: each worker bumps its own
// counters (single writer, relaxed atomics, so a scrape on another thread reads them without a
// data race and without a lock), and the scrape adds them up (proxy/admin/metrics_collector.h).
// prometheus-cpp's own Counter/Histogram would lock or contend on every Observe.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>


namespace ferry::proxy {

inline constexpr std::array<double, 13> kLatencyBuckets = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

// Single-writer increment: a plain load and store, no locked instruction.
inline void bump(std::atomic<uint64_t>& counter, uint64_t by = 1) {
  counter.store(counter.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
}

inline void adjust(std::atomic<int64_t>& gauge, int64_t by) {
  gauge.store(gauge.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
}

// ferry_backend_errors_total{kind}: the label values, in the order of BackendCounters::errors.
enum class BackendErrorKind : uint8_t { Connect, Timeout, Reset, Malformed };
inline constexpr std::array<const char*, 4> kBackendErrorKinds = {"connect", "timeout", "reset",
                                                                   "malformed"};

// One backend's counters on one worker.
struct BackendCounters {
  static constexpr std::size_t kCodes = 16;
  struct CodeCount {
    std::atomic<uint32_t> code{0};  // 0 = unused slot
    std::atomic<uint64_t> count{0};
  };
  std::array<CodeCount, kCodes> codes{};
  std::atomic<uint64_t> other_codes{0};  // past kCodes distinct codes
  std::array<std::atomic<uint64_t>, kLatencyBuckets.size() + 1> buckets{};  // last is +Inf
  std::atomic<uint64_t> duration_count{0};
  std::atomic<uint64_t> duration_sum_ns{0};
  std::array<std::atomic<uint64_t>, kBackendErrorKinds.size()> errors{};  // by BackendErrorKind

  void record_response(int status, uint64_t duration_ns);
  void record_error(BackendErrorKind kind) { bump(errors[static_cast<std::size_t>(kind)]); }
};

// ferry_tls_handshakes_total{result, version}: the label values.
enum class TlsResult : uint8_t { Full, Resumed, Failed };
inline constexpr std::array<const char*, 3> kTlsResults = {"full", "resumed", "failed"};
// The versions ferry's policies allow; a failed handshake has none ("").
inline constexpr std::array<const char*, 3> kTlsVersions = {"TLSv1.2", "TLSv1.3", ""};

// One listener's TLS handshakes on one worker, by result and version.
struct TlsCounters {
  std::array<std::array<std::atomic<uint64_t>, kTlsVersions.size()>, kTlsResults.size()> handshakes{};
};

// A worker's metrics. Written by its worker, read by the scrape.
class WorkerMetrics {
 public:
  WorkerMetrics() = default;
  ~WorkerMetrics();
  WorkerMetrics(const WorkerMetrics&) = delete;
  WorkerMetrics& operator=(const WorkerMetrics&) = delete;

  // Worker thread. Counters for `slot`, created on first use; nullptr past the slot limit.
  BackendCounters* backend(uint32_t slot);
  // Any thread. nullptr if the worker never touched `slot`.
  const BackendCounters* peek(uint32_t slot) const;

  // Worker thread. A route's counters (ferry_route_requests_total: codes only), by route slot;
  // nullptr past the slot limit.
  BackendCounters* route(uint32_t slot) { return counters(route_chunks_, slot); }
  // Any thread. nullptr if the worker never counted for that route.
  const BackendCounters* peek_route(uint32_t slot) const { return peek_counters(route_chunks_, slot); }

  // Worker thread. `version` is "TLSv1.2" or "TLSv1.3" (anything else counts as "").
  void count_tls_handshake(uint32_t listener, TlsResult result, std::string_view version);
  // Any thread. nullptr past the listeners this worker counted for.
  const TlsCounters* tls(uint32_t listener) const;

  // Worker thread: a request that came in on listener `listener` got 429 from a rate limit.
  void count_rate_limited(uint32_t listener);
  // Any thread: ferry_rate_limited_total of `listener` on this worker.
  uint64_t rate_limited(uint32_t listener) const;
  // Worker thread: an HTTP/2 stream carrying a request opened on listener `listener`.
  void count_http2_stream(uint32_t listener);
  // Any thread: ferry_http2_streams_total of `listener` on this worker.
  uint64_t http2_streams(uint32_t listener) const;

  std::atomic<int64_t> client_connections{0};   // open now (single writer)
  std::atomic<int64_t> backend_connections{0};  // open now (single writer)

 private:
  static constexpr std::size_t kChunkSize = 64;
  static constexpr std::size_t kChunks = 256;  // 16384 backends
  struct Chunk {
    std::array<BackendCounters, kChunkSize> slots;
  };
  using Chunks = std::array<std::atomic<Chunk*>, kChunks>;
  static BackendCounters* counters(Chunks& chunks, uint32_t slot);
  static const BackendCounters* peek_counters(const Chunks& chunks, uint32_t slot);
  Chunks chunks_{};
  Chunks route_chunks_{};
  // Listeners are fixed for the life of the process (a reload cannot change them), so a
  // fixed array is enough; past it, handshakes go uncounted rather than racing a resize.
  static constexpr std::size_t kMaxTlsListeners = 64;
  std::array<TlsCounters, kMaxTlsListeners> tls_{};
  // By listener, with the same fixed bound as tls_ and for the same reason.
  std::array<std::atomic<uint64_t>, kMaxTlsListeners> rate_limited_{};
  std::array<std::atomic<uint64_t>, kMaxTlsListeners> http2_streams_{};
};

// One backend's metric labels: its pool and its address as written.
struct BackendLabel {
  std::string pool;
  std::string backend;
  uint32_t slot = 0;
};

// Metric slots by (pool, backend name), process-wide. Slot 0 is "none" (pool ""): responses
// ferry gave without a backend (400, 404, 408, 413, 431, 503). A backend keeps its slot for the
// life of the process, so counters survive reloads; one address in two pools has two slots.
class MetricSlots {
 public:
  MetricSlots();
  uint32_t slot_for(const std::string& pool, const std::string& name);  // any thread (mutex; load/reload)
  std::vector<BackendLabel> all() const;

 private:
  mutable std::mutex mutex_;
  std::unordered_map<std::string, uint32_t> slots_;  // "pool\0name"
  std::vector<BackendLabel> labels_;
};

// Metric slots by route name, process-wide, as MetricSlots (slot 0 unused).
class RouteSlots {
 public:
  uint32_t slot_for(const std::string& route);  // any thread (mutex; load/reload)
  std::vector<std::pair<std::string, uint32_t>> all() const;

 private:
  mutable std::mutex mutex_;
  std::unordered_map<std::string, uint32_t> slots_;
  std::vector<std::string> names_{""};
};

inline constexpr uint32_t kNoBackendSlot = 0;

}  // namespace ferry::proxy
