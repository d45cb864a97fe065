#!/usr/bin/env bash
# Soak test (not in CI): ferry in front of two gunicorn backends (deploy/app) under wrk load
# for a while, one backend killed (SIGKILL) and restarted every --kill-every seconds, ferry
# reloaded with SIGHUP every --reload-every seconds (the config alternates between two
# equivalent versions, so each reload really applies). Reports requests, errors by kind, and
# ferry's RSS and open descriptors at the start and the end.
#   tests/soak/soak.sh [--duration 300] [--kill-every 20] [--reload-every 30] [--connections 32]
#                      [--ferry PATH] [--workers 2]
# Everything listens on 127.0.0.1 ports picked at random; every process it starts is stopped
# (by pid) when it ends. Exit status: 0 when every response was a 2xx/3xx, no client saw a
# socket error, and nothing leaked (fds back to the start, RSS growth under 32 MiB); 1 otherwise.
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
duration=300
kill_every=20
reload_every=30
connections=32
workers=2
ferry="${FERRY_BIN:-}"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --duration) duration="$2"; shift 2 ;;
    --kill-every) kill_every="$2"; shift 2 ;;
    --reload-every) reload_every="$2"; shift 2 ;;
    --connections) connections="$2"; shift 2 ;;
    --workers) workers="$2"; shift 2 ;;
    --ferry) ferry="$2"; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "soak: unknown argument $1" >&2; exit 2 ;;
  esac
done
for tool in wrk gunicorn curl python3; do
  command -v "$tool" >/dev/null || { echo "soak: $tool not found" >&2; exit 2; }
done
if [[ -z "$ferry" ]]; then
  ferry="$root/build/ferry"
  if [[ ! -x $ferry ]]; then
    echo "soak: building ferry (Release) into build-soak"
    cmake -S "$root" -B "$root/build-soak" -DCMAKE_BUILD_TYPE=Release -DFERRY_TESTS=OFF -DFERRY_BENCH=OFF >/dev/null &&
      cmake --build "$root/build-soak" --target ferry -j2 >/dev/null || exit 2
    ferry="$root/build-soak/ferry"
  fi
fi

work="$(mktemp -d /tmp/ferry-soak.XXXXXX)"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port="$(free_port)"; admin="$(free_port)"; bport=("$(free_port)" "$(free_port)")
bpid=("" "")
ferry_pid=""
sampler_pid=""
killer_pid=""
reloader_pid=""

cleanup() {
  for p in "$killer_pid" "$reloader_pid"; do [[ -n $p ]] && kill "$p" 2>/dev/null; done
  [[ -n $ferry_pid ]] && kill "$ferry_pid" 2>/dev/null
  [[ -n ${sampler_pid:-} ]] && kill "$sampler_pid" 2>/dev/null
  # Backends restarted by the killer subshell left their current pid in backendN.pid.
  for i in 0 1; do
    [[ -f $work/backend$i.pid ]] && bpid[i]="$(cat "$work/backend$i.pid")"
    [[ -n ${bpid[$i]} ]] && kill -- "-${bpid[$i]}" 2>/dev/null
  done
  wait 2>/dev/null
}
trap cleanup EXIT

# Backend i in its own process group, so SIGKILL reaches the gunicorn master and its workers.
start_backend() {
  local i="$1"
  FERRY_INSTANCE="soak-backend-$((i + 1))" FERRY_APP_WORKERS=2 setsid gunicorn --chdir "$root/deploy/app" \
    -c "$root/deploy/app/gunicorn.conf.py" -b "127.0.0.1:${bport[$i]}" app:app \
    >>"$work/backend$i.log" 2>&1 &
  bpid[i]=$!
  echo "${bpid[$i]}" >"$work/backend$i.pid"
  for _ in $(seq 100); do
    curl -fs "http://127.0.0.1:${bport[$i]}/health" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "soak: backend $i did not come up" >&2
  return 1
}

write_config() {  # $1: client_idle value, so successive reloads differ
  cat >"$work/ferry.yaml" <<YAML
listen: "127.0.0.1:$port"
workers: $workers
admin: "127.0.0.1:$admin"
backends:
  - "127.0.0.1:${bport[0]}"
  - "127.0.0.1:${bport[1]}"
health_check:
  path: /health
  interval: 1s
  timeout: 500ms
  healthy_threshold: 2
  unhealthy_threshold: 2
timeouts:
  client_idle: $1
retries: 1
access_log: "off"
YAML
}

status_of() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
fds_of() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
metric() {  # sum of a metric's samples whose labels match $2 (a regex)
  curl -fs "http://127.0.0.1:$admin/metrics" | awk -v m="$1" -v l="$2" '
    index($0, m) == 1 && $0 ~ l { s += $NF } END { printf "%d\n", s }'
}

start_backend 0 || exit 1
start_backend 1 || exit 1
write_config 60s
"$ferry" --check -c "$work/ferry.yaml" >/dev/null || { echo "soak: config rejected" >&2; exit 1; }
"$ferry" -c "$work/ferry.yaml" >"$work/ferry.log" 2>&1 &
ferry_pid=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/" >/dev/null 2>&1 && break; sleep 0.1; done
# Warm up, so the start figures are those of a running proxy, not of an idle one.
wrk -t2 -c"$connections" -d3s "http://127.0.0.1:$port/" >/dev/null 2>&1
rss_start="$(status_of "$ferry_pid" VmRSS)"
fds_start="$(fds_of "$ferry_pid")"
echo "soak: ferry pid $ferry_pid on 127.0.0.1:$port, backends ${bport[*]}, ${duration}s, kill every ${kill_every}s, reload every ${reload_every}s"
echo "soak: start: ferry RSS ${rss_start} kB, ${fds_start} open fds"

# For the background loops: a sleep that SIGTERM ends at once (bash runs a trap during `wait`,
# not while a foreground child runs), so stopping a loop leaves no orphan sleep behind.
nap() {
  sleep "$1" &
  nap_pid=$!
  wait "$nap_pid"
}
loop_trap() { trap '[[ -n ${nap_pid:-} ]] && kill "$nap_pid" 2>/dev/null; exit 0' TERM; }

# Kill one backend (alternating) every kill_every seconds; it comes back 3s later.
(
  loop_trap
  i=0
  while nap "$kill_every"; do
    kill -9 -- "-${bpid[$i]}" 2>/dev/null
    echo "$(date +%T) killed backend $i (pgid ${bpid[$i]})" >>"$work/events.log"
    nap 3
    start_backend "$i" && echo "$(date +%T) restarted backend $i (pgid ${bpid[$i]})" >>"$work/events.log"
    i=$((1 - i))
  done
) 2>>"$work/events.log" &  # bash reports each killed backend job; keep that out of the report
killer_pid=$!
(
  loop_trap
  n=0
  while nap "$reload_every"; do
    n=$((n + 1))
    if ((n % 2)); then write_config 61s; else write_config 60s; fi
    kill -HUP "$ferry_pid" && echo "$(date +%T) SIGHUP" >>"$work/events.log"
  done
) &
reloader_pid=$!
# RSS and fds every 10s, to see a trend rather than two points.
(
  loop_trap
  while kill -0 "$ferry_pid" 2>/dev/null; do
    echo "$(date +%T) rss_kb=$(status_of "$ferry_pid" VmRSS) fds=$(fds_of "$ferry_pid")" >>"$work/samples.log"
    nap 10
  done
) &
sampler_pid=$!

cat >"$work/count.lua" <<'LUA'
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) counts = {} end
function response(status, headers, body) counts[status] = (counts[status] or 0) + 1 end
function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    for status, n in pairs(t:get("counts")) do total[status] = (total[status] or 0) + n end
  end
  local line = "status counts:"
  for status, n in pairs(total) do line = line .. " " .. status .. "=" .. n end
  print(line)
end
LUA
wrk -t2 -c"$connections" -d"${duration}s" --timeout 5s --latency -s "$work/count.lua" \
  "http://127.0.0.1:$port/" >"$work/wrk.log" 2>&1
kill "$killer_pid" "$reloader_pid" 2>/dev/null
wait "$killer_pid" "$reloader_pid" 2>/dev/null
killer_pid="" reloader_pid=""
sleep 6  # pooled connections pass backend_idle (4s) and close: fds settle
rss_end="$(status_of "$ferry_pid" VmRSS)"
fds_end="$(fds_of "$ferry_pid")"
rss_max="$(status_of "$ferry_pid" VmHWM)"
kill "$sampler_pid" 2>/dev/null

requests="$(awk '/requests in/ {print $1}' "$work/wrk.log")"
rps="$(awk '/Requests\/sec/ {print $2}' "$work/wrk.log")"
socket_errors="$(grep 'Socket errors' "$work/wrk.log" | sed 's/^ *//')"
non2xx="$(awk '/Non-2xx/ {print $NF}' "$work/wrk.log")"
statuses="$(grep '^status counts' "$work/wrk.log")"
kills="$(grep -c killed "$work/events.log" 2>/dev/null)"
reloads="$(grep -c SIGHUP "$work/events.log" 2>/dev/null)"
kills="${kills:-0}" reloads="${reloads:-0}"

echo
echo "===== soak results (${duration}s, $connections connections, $workers workers)"
echo "requests:        ${requests:-0} (${rps:-0} req/s)"
echo "wrk errors:      ${socket_errors:-Socket errors: none}"
echo "non-2xx/3xx:     ${non2xx:-0}"
echo "by status:       ${statuses#status counts: }"
echo "backend kills:   $kills (each down ~3s), SIGHUP reloads: $reloads"
echo "ferry reloads:   ok $(metric ferry_config_reloads_total 'result="success"'), failed $(metric ferry_config_reloads_total 'result="failure"')"
echo "backend errors:  connect $(metric ferry_backend_errors_total 'kind="connect"'), reset $(metric ferry_backend_errors_total 'kind="reset"'), timeout $(metric ferry_backend_errors_total 'kind="timeout"'), malformed $(metric ferry_backend_errors_total 'kind="malformed"')"
echo "ferry RSS:       start ${rss_start} kB, end ${rss_end} kB, peak ${rss_max} kB"
echo "ferry open fds:  start ${fds_start}, end ${fds_end}"
echo "latency:         $(grep -E '^ +(50|99)%' "$work/wrk.log" | tr -s ' ' | tr '\n' ' ')"
echo "samples:         $work/samples.log; events: $work/events.log; wrk: $work/wrk.log; ferry log: $work/ferry.log"

# Every request here is an idempotent GET: a backend killed before or while answering is
# retried on the other one (ferry holds a response head until its body follows, so a kill
# between gunicorn's head and body writes is retried too). Any socket error is a failure.
ok=1
[[ -z "$non2xx" || "$non2xx" == 0 ]] || ok=0
[[ -z "$socket_errors" ]] || { echo "soak: client socket errors: $socket_errors"; ok=0; }
kill -0 "$ferry_pid" 2>/dev/null || { echo "soak: ferry died"; ok=0; }
(( fds_end <= fds_start + 2 )) || { echo "soak: open fds grew"; ok=0; }
(( rss_end - rss_start < 32768 )) || { echo "soak: RSS grew by more than 32 MiB"; ok=0; }
[[ $ok == 1 ]] && echo "soak: PASS" || echo "soak: FAIL"
[[ $ok == 1 ]]
