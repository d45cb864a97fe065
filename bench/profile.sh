#!/usr/bin/env bash
# Where each proxy's CPU per request goes, in counts that do not drift on a shared machine:
#   - user-space instructions per request (valgrind --tool=callgrind), with ferry's split by
#     component (its own code, llhttp, libuv, libc, the allocator) and its top functions;
#   - system calls per request (strace -c), which is what the kernel half of the CPU pays for;
#   - CPU time per request split into user and kernel (/proc/PID/stat, a plain run): a time,
#     so it drifts with the machine, but the split shows which half the counts above explain;
#   - with --perf, where that time goes, kernel included: perf's cpu-clock samples by symbol
#     (shares of the proxy's samples, so they too hold on a shared machine).
#
#   bench/profile.sh [--scenarios keepalive,close,64k,post4k] [--targets ferry,nginx,haproxy]
#                    [--duration S] [--ferry PATH] [--out DIR] [--no-syscalls] [--perf]
#
# Scenarios: keepalive close 64k post4k (the default), c1000, tls-keepalive (to each proxy's
# TLS listener); ferry only: routes100 (keepalive through 100 routes, the last one matching)
# and keepalive-noroutes (keepalive on ferry's config without routes). Same backend pair,
# configs and wrk command lines as bench/run.sh (one worker each). Each target is started
# under the tool, warmed up, its counters zeroed, then loaded for S seconds (default 10);
# counts are divided by the requests wrk completed in that window.
# Writes profile.md (and the raw callgrind/strace output) to the folder it names at the end.
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

PY=/usr/bin/python3
DURATION=10
WORKERS=1
BACKEND_WORKERS=1
SYSCALLS=true
PERF=false
OUT=""
FERRY_BIN=""
SCENARIOS=(keepalive close 64k post4k)
TARGETS=(ferry nginx haproxy)
PORT_BASE=${BENCH_PORT_BASE:-18400}
BUILD_DIR="$ROOT/build-bench"
IDLE_CONNS=0

usage() {
  sed -n '2,18s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}

split_list() { tr ',' '\n' <<<"$1" | sed '/^$/d'; }

while (($#)); do
  case $1 in
    --scenarios) mapfile -t SCENARIOS < <(split_list "${2:?}"); shift 2 ;;
    --targets) mapfile -t TARGETS < <(split_list "${2:?}"); shift 2 ;;
    --duration) DURATION=${2:?}; shift 2 ;;
    --ferry) FERRY_BIN=${2:?}; shift 2 ;;
    --out) OUT=${2:?}; shift 2 ;;
    --no-syscalls) SYSCALLS=false; shift ;;
    --perf) PERF=true; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done
[[ $DURATION =~ ^[1-9][0-9]*$ ]] || die "--duration must be a whole number of seconds"
for s in "${SCENARIOS[@]}"; do
  [[ $s =~ ^(keepalive|close|64k|post4k|c1000|tls-keepalive|routes100|keepalive-noroutes)$ ]] ||
    die "unknown scenario '$s'"
done
for t in "${TARGETS[@]}"; do
  [[ $t =~ ^(ferry|nginx|haproxy)$ ]] || die "unknown target '$t'"
done
missing=()
tools_needed=(nginx haproxy wrk curl valgrind callgrind_control strace cmake)
$PERF && tools_needed+=(perf)
for tool in "${tools_needed[@]}"; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
((${#missing[@]} == 0)) ||
  die "missing: ${missing[*]} (run scripts/install-deps.sh as root; perf: apt-get install linux-perf)"

bench_limits
bench_ports
[[ -n $OUT ]] || OUT="$BENCH_DIR/results/profile-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$OUT/raw"
OUT=$(cd "$OUT" && pwd)
: >"$OUT/runs.jsonl"
RUN_DIR=$(mktemp -d /tmp/ferry-profile.XXXXXX)
chmod 755 "$RUN_DIR"
STRACE_PID=""
PERF_PID=""

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  [[ -n $STRACE_PID ]] && stop_pid "$STRACE_PID" "strace"
  [[ -n $PERF_PID ]] && stop_pid "$PERF_PID" "perf"
  [[ -n $TARGET_PID ]] && stop_pid "$TARGET_PID" "target"
  [[ -n $BACKEND_PID ]] && stop_pid "$BACKEND_PID" "backend nginx"
  if [[ -d $RUN_DIR ]]; then
    cp "$RUN_DIR"/*.log "$OUT/raw/" 2>/dev/null || true
    rm -rf "$RUN_DIR"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

bench_build_ferry false "$OUT/raw/build.log"
render_all
start_backend
log "backend nginx pair on 127.0.0.1:$PORT_BACKEND_A and :$PORT_BACKEND_B"

# measure SCENARIO TARGET TOOL: one window of load on a target started under TOOL
# (callgrind | strace); appends {"scenario","target","tool","requests","files"} to runs.jsonl.
measure() {
  local scen=$1 target=$2 tool=$3 port args warm pids p
  port=$(scenario_port "$scen" "$target")
  local tag="$scen-$target-$tool"
  rm -f "$OUT/raw/cg.$tag."*  # an earlier profile into the same folder must not be counted too
  mapfile -t args < <(wrk_args "$scen" "$DURATION" "$port")
  mapfile -t warm < <(wrk_args "$scen" 2 "$port")
  if [[ $tool == callgrind ]]; then
    # One output file per process (nginx: master and worker); threads summed.
    TARGET_WRAP=(valgrind --tool=callgrind -q --callgrind-out-file="$OUT/raw/cg.$tag.%p"
      --trace-children=yes --child-silent-after-fork=yes)
    START_WAIT=60
  else
    TARGET_WRAP=()
    START_WAIT=10
  fi
  set_ferry_conf "$scen"
  start_target "$target"
  timeout 40 wrk "${warm[@]}" >/dev/null 2>&1 || true
  sleep 1
  # ferry: requests per route in the window (which route served wrk's requests)
  local routes0=null routes1=null
  [[ $target == ferry ]] && routes0=$(ferry_route_counts)
  mapfile -t pids < <(target_pids)
  local before=(0 0) after=(0 0)
  case $tool in
    callgrind) for p in "${pids[@]}"; do callgrind_control -z "$p" >/dev/null; done ;;
    strace)
      strace -c -f -o "$OUT/raw/strace.$tag.txt" "${pids[@]/#/-p}" 2>/dev/null &
      STRACE_PID=$!
      sleep 1
      ;;
    cpu) read -r -a before < <(cpu_ticks_split "${pids[@]}") ;;
    perf)
      local joined
      joined=$(IFS=,; echo "${pids[*]}")
      perf record -q -e cpu-clock -F 2999 -o "$OUT/raw/perf.$tag.data" -p "$joined" >/dev/null 2>&1 &
      PERF_PID=$!
      sleep 1
      ;;
  esac
  timeout $((DURATION + 60)) wrk "${args[@]}" >"$OUT/raw/wrk.$tag.txt" 2>&1 || true
  case $tool in
    callgrind) for p in "${pids[@]}"; do callgrind_control -d "$p" >/dev/null; done ;;
    strace)
      kill -INT "$STRACE_PID" 2>/dev/null || true
      wait "$STRACE_PID" 2>/dev/null || true
      STRACE_PID=""
      ;;
    cpu) read -r -a after < <(cpu_ticks_split "${pids[@]}") ;;
    perf)
      kill -INT "$PERF_PID" 2>/dev/null || true
      wait "$PERF_PID" 2>/dev/null || true
      PERF_PID=""
      perf report -i "$OUT/raw/perf.$tag.data" --stdio --no-children --sort dso,sym 2>/dev/null |
        grep -v '^#' | sed '/^$/d' >"$OUT/raw/perf.$tag.txt" || true
      rm -f "$OUT/raw/perf.$tag.data"
      ;;
  esac
  [[ $target == ferry ]] && routes1=$(ferry_route_counts)
  stop_target "$target"
  local requests
  requests=$(sed -n 's/^WRKJSON .*"requests":\([0-9]*\).*/\1/p' "$OUT/raw/wrk.$tag.txt")
  printf '{"scenario":"%s","target":"%s","tool":"%s","requests":%d,"tag":"%s","user_ticks":%d,"sys_ticks":%d,"clk_tck":%d,"route_requests":{"before":%s,"after":%s}}\n' \
    "$scen" "$target" "$tool" "${requests:-0}" "$tag" $((after[0] - before[0])) \
    $((after[1] - before[1])) "$(getconf CLK_TCK)" "${routes0:-null}" "${routes1:-null}" \
    >>"$OUT/runs.jsonl"
  log "$(printf '%-9s %-8s %-9s %6d requests' "$scen" "$target" "$tool" "${requests:-0}")"
}

tools=(callgrind cpu)
$SYSCALLS && tools+=(strace)
$PERF && tools+=(perf)
for s in "${SCENARIOS[@]}"; do
  for t in "${TARGETS[@]}"; do
    is_ferry_only "$s" && [[ $t != ferry ]] && continue
    for tool in "${tools[@]}"; do
      measure "$s" "$t" "$tool"
    done
  done
done
stop_backend
BACKEND_PID=""

"$PY" "$BENCH_DIR/profile_report.py" "$OUT" "$FERRY_BIN"
printf '\nprofile: %s\n' "$OUT/profile.md"
