#!/usr/bin/env bash
# ferry side by side with nginx and HAProxy (and wrk straight to a backend as the ceiling).
#
#   bench/run.sh [--rounds N] [--duration S] [--scenarios a,b] [--targets a,b] [--micro]
#                [--quick] [--warmup S] [--workers N] [--ferry PATH] [--out DIR]
#                [--pin] [--proxy-cpus LIST] [--proxy-cap PCT] [--counts] [--baseline PATH]
#
# Builds ferry (Release, build-bench/), starts one nginx backend pair on loopback, then for
# each round runs every scenario against ferry, nginx, haproxy and direct in turn, the order
# rotated by one each round (A B C D, B C D A, ...), each proxy freshly started for its run.
# --pin puts the proxy alone on its cores (taskset) and wrk and the backends on the others;
# --proxy-cap also caps the proxy's CPU, so that it, not the load side, sets the pace.
# --counts adds bench/profile.sh's instruction and system-call counts per request.
# Writes results.md, results.json, chart.png and the raw wrk output to the output folder it
# names at the end.
# See bench/README.md.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
# shellcheck source=bench/lib/common.sh
source "$BENCH_DIR/lib/common.sh"
# shellcheck source=bench/lib/targets.sh
source "$BENCH_DIR/lib/targets.sh"
# shellcheck source=bench/lib/scenarios.sh
source "$BENCH_DIR/lib/scenarios.sh"
# shellcheck source=bench/lib/setup.sh
source "$BENCH_DIR/lib/setup.sh"
# shellcheck source=bench/lib/cpu_cap.sh
source "$BENCH_DIR/lib/cpu_cap.sh"

PY=/usr/bin/python3
ROUNDS=3
DURATION=10
WARMUP=1
WORKERS=1
BACKEND_WORKERS=${BACKEND_WORKERS:-1}
IDLE_SETTLE=2
QUIET_WAIT=5
QUIET_PCT=20
MICRO=false
OUT=""
FERRY_BIN=""
BASELINE_BIN=""
SCENARIOS=("${ALL_SCENARIOS[@]}")
TARGETS=(ferry nginx haproxy direct)
PORT_BASE=${BENCH_PORT_BASE:-18400}
BUILD_DIR="$ROOT/build-bench"
IDLE_PID=""
PIN=false
PROXY_CPUS=0
PROXY_CAP=""
COUNTS=false
COUNTS_DURATION=3
# Whether --rounds, --duration, --warmup or --quiet-wait were given (--pin changes the
# defaults of the others).
declare -A GIVEN=()

usage() {
  cat <<EOF
usage: bench/run.sh [options]

  --rounds N        rounds; each round runs every scenario on every target (default $ROUNDS)
  --duration S      seconds per measured wrk run (default $DURATION)
  --warmup S        seconds of untimed load before each measured run (default $WARMUP)
  --scenarios LIST  comma list from: ${ALL_SCENARIOS[*]} (default: all)
  --targets LIST    comma list from: ferry nginx haproxy direct (default: all)
  --workers N       worker processes/threads of every proxy (default $WORKERS)
  --quiet-wait S    before each run, wait up to S seconds for other work on the machine to
                    drop below $QUIET_PCT% CPU (default $QUIET_WAIT; 0 = do not wait)
  --quick           smoke run: 1 round of 2 s, no warm-up, no quiet wait
  --micro           also build and run the Google Benchmark micro-benchmarks
  --ferry PATH      use this ferry binary instead of building build-bench/ferry
  --baseline PATH   another ferry binary (say, built from the commit before a change), run as
                    target 'baseline' in every round beside the others, on ferry's ports and
                    config: an A/B under the same swings of the host, read as ferry ÷ baseline
  --out DIR         output folder (default bench/results/<timestamp>)
  --pin             the proxy alone on its cores (taskset -c PROXY_CPUS), wrk and the
                    backends on the others; defaults become 20 rounds of 2 s, 1 s warm-up,
                    2 s quiet wait (each still settable)
  --proxy-cpus LIST the proxy's cores with --pin (default $PROXY_CPUS; implies --pin)
  --proxy-cap PCT   also cap the proxy at PCT% of one CPU (a cgroup; needs root; implies
                    --pin). Pinned alone, the proxy's CPU is often not what runs out: on
                    2 CPUs, wrk and the backends fill theirs first, and req/s then measures
                    them. Capped, the proxy runs out first and req/s reads its requests per
                    CPU-second; the report's busy columns show which side was full
  --counts          afterwards, bench/profile.sh's instruction (callgrind) and system-call
                    (strace -c) counts per request for the same scenarios and proxies,
                    ${COUNTS_DURATION} s each, into OUT/profile; the report puts them beside
                    the ratios

Environment: BENCH_PORT_BASE (default 18400; ports BASE..BASE+9 on 127.0.0.1),
BACKEND_WORKERS (nginx backend workers, default 1), IDLE_CONNS (default 10000),
IDLE_PARALLEL (idle scenarios: connections being opened at once, default 256; the burst's
concurrency is what a proxy sizes its pools for), TLS_CLIENTS (openssl s_time processes in tls-full and tls-resumed, default 4).
EOF
}

split_list() { tr ',' '\n' <<<"$1" | sed '/^$/d'; }

while (($#)); do
  case $1 in
    --rounds) ROUNDS=${2:?}; GIVEN[rounds]=1; shift 2 ;;
    --duration) DURATION=${2:?}; GIVEN[duration]=1; shift 2 ;;
    --warmup) WARMUP=${2:?}; GIVEN[warmup]=1; shift 2 ;;
    --scenarios) mapfile -t SCENARIOS < <(split_list "${2:?}"); shift 2 ;;
    --targets) mapfile -t TARGETS < <(split_list "${2:?}"); shift 2 ;;
    --workers) WORKERS=${2:?}; shift 2 ;;
    --quiet-wait) QUIET_WAIT=${2:?}; GIVEN[quiet]=1; shift 2 ;;
    --quick)
      ROUNDS=1; DURATION=2; WARMUP=0; QUIET_WAIT=0
      GIVEN[rounds]=1; GIVEN[duration]=1; GIVEN[warmup]=1; GIVEN[quiet]=1
      shift
      ;;
    --pin) PIN=true; shift ;;
    --proxy-cpus) PROXY_CPUS=${2:?}; PIN=true; shift 2 ;;
    --proxy-cap) PROXY_CAP=${2:?}; PIN=true; shift 2 ;;
    --counts) COUNTS=true; shift ;;
    --micro) MICRO=true; shift ;;
    --ferry) FERRY_BIN=${2:?}; shift 2 ;;
    --baseline) BASELINE_BIN=${2:?}; shift 2 ;;
    --out) OUT=${2:?}; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done

if $PIN; then
  # Many short rounds: the host's speed swings within seconds, so the per-round ratios of
  # runs a few seconds apart, and their spread, are what a reader can trust.
  [[ -n ${GIVEN[rounds]:-} ]] || ROUNDS=20
  [[ -n ${GIVEN[duration]:-} ]] || DURATION=2
  [[ -n ${GIVEN[warmup]:-} ]] || WARMUP=1
  [[ -n ${GIVEN[quiet]:-} ]] || QUIET_WAIT=2
fi

for n in ROUNDS DURATION WARMUP WORKERS BACKEND_WORKERS IDLE_CONNS IDLE_PARALLEL TLS_CLIENTS QUIET_WAIT; do
  [[ ${!n} =~ ^[0-9]+$ ]] || die "$n must be a whole number, got '${!n}'"
done
((ROUNDS >= 1 && DURATION >= 1 && WORKERS >= 1 && TLS_CLIENTS >= 1)) ||
  die "rounds, duration, workers and TLS_CLIENTS must be >= 1"
for s in "${SCENARIOS[@]}"; do
  [[ " ${ALL_SCENARIOS[*]} " == *" $s "* ]] || die "unknown scenario '$s' (known: ${ALL_SCENARIOS[*]})"
done
if [[ -n $BASELINE_BIN ]]; then
  [[ -x $BASELINE_BIN ]] || die "--baseline $BASELINE_BIN is not an executable"
  BASELINE_BIN=$(realpath "$BASELINE_BIN")
  [[ " ${TARGETS[*]} " == *" baseline "* ]] || TARGETS+=(baseline)
fi
for t in "${TARGETS[@]}"; do
  [[ $t =~ ^(ferry|nginx|haproxy|direct|baseline)$ ]] || die "unknown target '$t'"
  [[ $t == baseline && -z $BASELINE_BIN ]] && die "target 'baseline' needs --baseline PATH"
done

# --- tools -----------------------------------------------------------------------------
missing=()
for tool in nginx haproxy wrk gnuplot curl ss pgrep cmake openssl timeout taskset; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
[[ -x $PY ]] || missing+=("$PY")
((${#missing[@]} == 0)) || die "missing: ${missing[*]} (run scripts/install-deps.sh as root)"

bench_limits
bench_ports
if $PIN; then
  # The proxy's cores, and the rest for wrk, the backends and the helpers.
  mapfile -t all_cpus < <(cpu_list "$(taskset -pc $$ | sed 's/.*: //')")
  mapfile -t proxy_cpus < <(cpu_list "$PROXY_CPUS")
  ((${#proxy_cpus[@]})) || die "--proxy-cpus '$PROXY_CPUS' names no CPU"
  rest=()
  for c in "${all_cpus[@]}"; do
    [[ " ${proxy_cpus[*]} " == *" $c "* ]] || rest+=("$c")
  done
  for c in "${proxy_cpus[@]}"; do
    [[ " ${all_cpus[*]} " == *" $c "* ]] || die "CPU $c is not available to this shell"
  done
  ((${#rest[@]})) || die "--pin needs a CPU left over for wrk and the backends"
  LOAD_CPUS=$(IFS=,; echo "${rest[*]}")
  PROXY_CPUS=$(IFS=,; echo "${proxy_cpus[*]}")
  TARGET_WRAP=(taskset -c "$PROXY_CPUS")
  BACKEND_WRAP=(taskset -c "$LOAD_CPUS")
  LOAD_WRAP=(taskset -c "$LOAD_CPUS")
  log "pinned: the proxy on CPU $PROXY_CPUS; wrk and the backends on CPU $LOAD_CPUS"
fi

# --- output and cleanup ----------------------------------------------------------------
[[ -n $OUT ]] || OUT="$BENCH_DIR/results/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$OUT/raw" "$OUT/conf"
OUT=$(cd "$OUT" && pwd)
: >"$OUT/runs.jsonl"
RUN_DIR=$(mktemp -d /tmp/ferry-bench.XXXXXX)
chmod 755 "$RUN_DIR"

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  [[ -n $IDLE_PID ]] && stop_pid "$IDLE_PID" "idle_conns.py"
  [[ -n $TARGET_PID && $TARGET_PID != "$BACKEND_PID" ]] && stop_pid "$TARGET_PID" "target"
  [[ -n $BACKEND_PID ]] && stop_pid "$BACKEND_PID" "backend nginx"
  cap_remove
  if [[ -d $RUN_DIR ]]; then
    cp "$RUN_DIR"/*.log "$OUT/raw/" 2>/dev/null || true
    rm -rf "$RUN_DIR"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM
if [[ -n $PROXY_CAP ]]; then
  cap_create "$PROXY_CAP"
  mapfile -t -O "${#TARGET_WRAP[@]}" TARGET_WRAP < <(cap_wrap)
  log "capped: the proxy gets $PROXY_CAP% of one CPU ($CAP_DIR)"
fi

# --- build -----------------------------------------------------------------------------
bench_build_ferry "$MICRO" "$OUT/raw/build.log"

# --- micro-benchmarks (first, while the machine is otherwise quiet) ----------------------
MICRO_STATUS=skipped
if $MICRO; then
  MICRO_STATUS=failed
  micro_bin="$BUILD_DIR/bench/ferry_micro_bench"
  log "building and running the micro-benchmarks"
  if cmake --build "$BUILD_DIR" --target ferry_micro_bench -j "$(nproc)" >>"$OUT/raw/build.log" 2>&1 &&
    [[ -x $micro_bin ]]; then
    if timeout 900 "$micro_bin" --benchmark_out="$OUT/micro.json" --benchmark_out_format=json \
      >"$OUT/micro.txt" 2>&1; then
      MICRO_STATUS=ok
      cat "$OUT/micro.txt" >&2
    else
      log "WARNING: ferry_micro_bench failed; see $OUT/micro.txt"
    fi
  else
    log "WARNING: could not build ferry_micro_bench; see $OUT/raw/build.log"
  fi
fi

# --- configs, backend ------------------------------------------------------------------
render_all
cp "$RUN_DIR"/backend-nginx.conf "$RUN_DIR"/nginx-proxy.conf "$RUN_DIR"/haproxy.cfg \
  "$RUN_DIR"/ferry.yaml "$OUT/conf/"
start_backend
log "backend nginx pair on 127.0.0.1:$PORT_BACKEND_A and :$PORT_BACKEND_B (pid $BACKEND_PID)"

git_rev=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
[[ -n $(git -C "$ROOT" status --porcelain 2>/dev/null) ]] && git_rev="$git_rev (dirty tree)"
{
  printf '{"started":%s,"git":%s,' "$(json_str "$(date -Is)")" "$(json_str "$git_rev")"
  printf '"rounds":%d,"duration_s":%d,"warmup_s":%d,"workers":%d,"backend_workers":%d,' \
    "$ROUNDS" "$DURATION" "$WARMUP" "$WORKERS" "$BACKEND_WORKERS"
  printf '"idle_conns":%d,"tls_clients":%d,"quiet_wait_s":%d,"quiet_pct":%d,"micro":%s,' \
    "$IDLE_CONNS" "$TLS_CLIENTS" "$QUIET_WAIT" "$QUIET_PCT" "$(json_str "$MICRO_STATUS")"
  if $PIN; then
    printf '"pin":{"proxy_cpus":%s,"load_cpus":%s,"proxy_cap_pct":%s},' "$(json_str "$PROXY_CPUS")" \
      "$(json_str "$LOAD_CPUS")" "${PROXY_CAP:-null}"
  fi
  printf '"load_at_start":%s,' "$(json_str "$(cut -d' ' -f1-3 /proc/loadavg)")"
  printf '"scenarios":[%s],' "$(printf '"%s",' "${SCENARIOS[@]}" | sed 's/,$//')"
  printf '"targets":[%s],' "$(printf '"%s",' "${TARGETS[@]}" | sed 's/,$//')"
  printf '"scenario_text":{'
  for s in "${SCENARIOS[@]}"; do printf '"%s":%s,' "$s" "$(json_str "$(scenario_describe "$s")")"; done |
    sed 's/,$//'
  printf '},"machine":{"cpus":%d,"kernel":%s,"cpu_model":%s},' "$(nproc)" \
    "$(json_str "$(uname -r)")" \
    "$(json_str "$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)")"
  printf '"versions":{"ferry":%s,"nginx":%s,"haproxy":%s,"wrk":%s,"openssl":%s}}\n' \
    "$(json_str "$("$FERRY_BIN" --version 2>&1 | head -n1)")" \
    "$(json_str "$(nginx -v 2>&1 | head -n1)")" \
    "$(json_str "$(haproxy -v 2>&1 | head -n1)")" \
    "$(json_str "$(wrk -v 2>&1 | head -n1)")" \
    "$(json_str "$(openssl version 2>&1 | head -n1)")"
} >"$OUT/meta.json"

# --- the rounds ------------------------------------------------------------------------
total=0
for s in "${SCENARIOS[@]}"; do
  total=$((total + ROUNDS * $(scenario_targets "$s" | wc -l)))
done
log "$total runs: ${ROUNDS} round(s) x scenarios (${SCENARIOS[*]}) x targets (${TARGETS[*]}), ${DURATION} s each"
n=0
for ((round = 1; round <= ROUNDS; round++)); do
  for s in "${SCENARIOS[@]}"; do
    mapfile -t scen_targets < <(scenario_targets "$s")
    # Each round starts one target further on, so no target always runs first (after the
    # warm start of a fresh backend) or always follows the same peer.
    k=$(((round - 1) % ${#scen_targets[@]}))
    scen_targets=("${scen_targets[@]:k}" "${scen_targets[@]:0:k}")
    for t in "${scen_targets[@]}"; do
      n=$((n + 1))
      printf -v prefix '[%3d/%d] round %d/%d %-13s %-8s' "$n" "$total" "$round" "$ROUNDS" "$s" "$t"
      if is_idle "$s"; then
        run_idle "$round" "$s" "$t"
      else
        run_http "$round" "$s" "$t"
      fi
      log "$prefix $(tail -n 1 "$OUT/runs.jsonl" | "$PY" "$BENCH_DIR/report.py" line)"
    done
  done
done

stop_backend
BACKEND_PID=""
if $COUNTS; then
  # The same scenarios and proxies, under callgrind and strace -c (not pinned: counts do not
  # depend on the cores). profile.sh starts its own backend pair on the same ports.
  counted=()
  for s in "${SCENARIOS[@]}"; do
    [[ $s =~ ^(keepalive|close|64k|post4k|c1000|tls-keepalive|routes100)$ ]] && counted+=("$s")
  done
  proxies=()
  for t in "${TARGETS[@]}"; do [[ $t != direct && $t != baseline ]] && proxies+=("$t"); done
  # With perf at hand, also where the CPU time goes, kernel included (shares of samples).
  perf_flag=()
  command -v perf >/dev/null && perf_flag=(--perf)
  if ((${#counted[@]} && ${#proxies[@]})); then
    log "counts per request (bench/profile.sh): ${counted[*]} on ${proxies[*]}"
    "$BENCH_DIR/profile.sh" --scenarios "$(IFS=,; echo "${counted[*]}")" "${perf_flag[@]}" \
      --targets "$(IFS=,; echo "${proxies[*]}")" --duration "$COUNTS_DURATION" \
      --ferry "$FERRY_BIN" --out "$OUT/profile" >"$OUT/raw/profile.log" 2>&1 ||
      log "WARNING: bench/profile.sh failed; see $OUT/raw/profile.log"
  fi
fi
"$PY" "$BENCH_DIR/report.py" report "$OUT"
printf '\nresults: %s\n' "$OUT"
printf '  %s\n' "$OUT/results.md" "$OUT/results.json" "$OUT/chart.png"
