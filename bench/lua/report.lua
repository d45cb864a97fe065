-- Shared by every bench scenario: after the run, print one machine-readable line
--   WRKJSON {...}
-- with the totals and latency percentiles (microseconds). bench/lib/scenarios.sh picks it
-- out of wrk's output; wrk's usual text report (with --latency) is kept alongside it.

local function pct(latency, p)
  local v = latency:percentile(p)
  return v and math.floor(v) or 0
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"min":%d,"mean":%.1f,"max":%d,"p50":%d,"p90":%d,"p99":%d,"p999":%d}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency.max,
    pct(latency, 50), pct(latency, 90), pct(latency, 99), pct(latency, 99.9)))
end
