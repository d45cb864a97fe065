#include "proxy/admin/metrics.h"

namespace ferry::proxy {

void BackendCounters::record_response(int status, uint64_t duration_ns) {
  const auto code = static_cast<uint32_t>(status);
  bool counted = false;
  for (CodeCount& c : codes) {
    const uint32_t have = c.code.load(std::memory_order_relaxed);
    if (have == code) {
      bump(c.count);
      counted = true;
      break;
    }
    if (have == 0) {
      // Publish the count before the code, so a scrape never sees the code with a stale zero.
      bump(c.count);
      c.code.store(code, std::memory_order_release);
      counted = true;
      break;
    }
  }
  if (!counted) bump(other_codes);
  const double seconds = static_cast<double>(duration_ns) / 1e9;
  std::size_t b = 0;
  while (b < kLatencyBuckets.size() && seconds > kLatencyBuckets[b]) ++b;
  bump(buckets[b]);
  bump(duration_count);
  bump(duration_sum_ns, duration_ns);
}

void WorkerMetrics::count_tls_handshake(uint32_t listener, TlsResult result, std::string_view version) {
  if (listener >= kMaxTlsListeners) return;
  std::size_t v = kTlsVersions.size() - 1;
  if (result != TlsResult::Failed) {
    for (std::size_t i = 0; i + 1 < kTlsVersions.size(); ++i)
      if (version == kTlsVersions[i]) v = i;
  }
  bump(tls_[listener].handshakes[static_cast<std::size_t>(result)][v]);
}

const TlsCounters* WorkerMetrics::tls(uint32_t listener) const {
  return listener < kMaxTlsListeners ? &tls_[listener] : nullptr;
}

void WorkerMetrics::count_rate_limited(uint32_t listener) {
  if (listener < rate_limited_.size()) bump(rate_limited_[listener]);
}

void WorkerMetrics::count_http2_stream(uint32_t listener) {
  if (listener < http2_streams_.size()) bump(http2_streams_[listener]);
}

uint64_t WorkerMetrics::http2_streams(uint32_t listener) const {
  return listener < http2_streams_.size() ? http2_streams_[listener].load(std::memory_order_relaxed) : 0;
}

uint64_t WorkerMetrics::rate_limited(uint32_t listener) const {
  return listener < rate_limited_.size() ? rate_limited_[listener].load(std::memory_order_relaxed) : 0;
}

WorkerMetrics::~WorkerMetrics() {
  for (auto& c : chunks_) delete c.load(std::memory_order_relaxed);
  for (auto& c : route_chunks_) delete c.load(std::memory_order_relaxed);
}

BackendCounters* WorkerMetrics::backend(uint32_t slot) { return counters(chunks_, slot); }

const BackendCounters* WorkerMetrics::peek(uint32_t slot) const { return peek_counters(chunks_, slot); }

BackendCounters* WorkerMetrics::counters(Chunks& chunks, uint32_t slot) {
  const std::size_t chunk = slot / kChunkSize;
  if (chunk >= kChunks) return nullptr;
  Chunk* c = chunks[chunk].load(std::memory_order_relaxed);
  if (c == nullptr) {
    c = new Chunk();
    chunks[chunk].store(c, std::memory_order_release);
  }
  return &c->slots[slot % kChunkSize];
}

const BackendCounters* WorkerMetrics::peek_counters(const Chunks& chunks, uint32_t slot) {
  const std::size_t chunk = slot / kChunkSize;
  if (chunk >= kChunks) return nullptr;
  const Chunk* c = chunks[chunk].load(std::memory_order_acquire);
  return c == nullptr ? nullptr : &c->slots[slot % kChunkSize];
}

MetricSlots::MetricSlots() {
  slots_.emplace(std::string("\0none", 5), kNoBackendSlot);
  labels_.push_back(BackendLabel{"", "none", kNoBackendSlot});
}

uint32_t MetricSlots::slot_for(const std::string& pool, const std::string& name) {
  std::string key = pool;
  key.push_back('\0');
  key += name;
  std::lock_guard lock(mutex_);
  auto [it, inserted] = slots_.emplace(std::move(key), static_cast<uint32_t>(labels_.size()));
  if (inserted) labels_.push_back(BackendLabel{pool, name, it->second});
  return it->second;
}

std::vector<BackendLabel> MetricSlots::all() const {
  std::lock_guard lock(mutex_);
  return labels_;
}

uint32_t RouteSlots::slot_for(const std::string& route) {
  std::lock_guard lock(mutex_);
  auto [it, inserted] = slots_.emplace(route, static_cast<uint32_t>(names_.size()));
  if (inserted) names_.push_back(route);
  return it->second;
}

std::vector<std::pair<std::string, uint32_t>> RouteSlots::all() const {
  std::lock_guard lock(mutex_);
  std::vector<std::pair<std::string, uint32_t>> out;
  for (uint32_t i = 1; i < names_.size(); ++i) out.emplace_back(names_[i], i);
  return out;
}

}  // namespace ferry::proxy
