# shellcheck shell=bash
# The scenarios, and one measured run of a scenario against a target. Each run appends one
# JSON record to $OUT/runs.jsonl (bench/report.py turns those into the report) and keeps
# wrk's own output under $OUT/raw/. Sourced by bench/run.sh (needs common.sh, targets.sh).

# shellcheck disable=SC2034 # used by run.sh
ALL_SCENARIOS=(keepalive routes100 close 64k post4k c1000 idle10k tls-keepalive tls-full tls-resumed
  tls-idle10k)
# ferry only: nginx and HAProxy have no routes config in the bench. routes100 is keepalive's load
# on ferry's third listener, whose requests walk all 100 routes (the last one matches);
# keepalive-noroutes (bench/profile.sh only) is keepalive on ferry without routes at all.
FERRY_ONLY_SCENARIOS=(routes100 keepalive-noroutes)
IDLE_CONNS=${IDLE_CONNS:-10000}
IDLE_PARALLEL=${IDLE_PARALLEL:-256}
# openssl s_time processes run at once in tls-full and tls-resumed (each makes one connection
# at a time).
TLS_CLIENTS=${TLS_CLIENTS:-4}

# is_tls SCENARIO: true for the scenarios that go to the proxies' TLS listeners.
is_tls() { [[ $1 == tls-* ]]; }
# is_idle SCENARIO: true for the idle-connection (memory) scenarios.
is_idle() { [[ $1 == idle10k || $1 == tls-idle10k ]]; }
# is_ferry_only SCENARIO: true for the scenarios only ferry runs.
is_ferry_only() { [[ " ${FERRY_ONLY_SCENARIOS[*]} " == *" $1 "* ]]; }

scenario_describe() {
  case $1 in
    keepalive) echo "keep-alive, small responses: wrk -t1 -c64 GET / (27 bytes)" ;;
    routes100) echo "keep-alive, small responses, through 100 routes where the last one matches (ferry only): wrk -t1 -c64 GET / (27 bytes) to ferry's routes100 listener" ;;
    keepalive-noroutes) echo "keep-alive, small responses, ferry without routes (the config before routes100): wrk -t1 -c64 GET / (27 bytes)" ;;
    close) echo "new connection per request: wrk -t1 -c64 -H 'Connection: close' GET /" ;;
    64k) echo "64 KiB responses: wrk -t1 -c64 GET /64k" ;;
    post4k) echo "4 KiB POST bodies: wrk -t1 -c64 -s post4k.lua POST /post" ;;
    c1000) echo "1,000 concurrent connections: wrk -t2 -c1000 GET /" ;;
    idle10k) echo "$IDLE_CONNS idle keep-alive client connections (one GET each, then idle): RSS per connection" ;;
    tls-keepalive) echo "keep-alive over TLS, small responses: wrk -t1 -c64 GET https://.../ (27 bytes)" ;;
    tls-full) echo "a full TLS handshake per request: $TLS_CLIENTS x openssl s_time -new (GET / with Connection: close); req/s = handshakes/s" ;;
    tls-resumed) echo "a resumed TLS handshake per request (session ticket): $TLS_CLIENTS x openssl s_time -reuse (GET / with Connection: close); req/s = handshakes/s" ;;
    tls-idle10k) echo "$IDLE_CONNS idle keep-alive TLS client connections (handshake, one GET each, then idle): RSS per connection" ;;
  esac
}

# scenario_targets SCENARIO: which of the selected targets run it (no ceiling for idle10k,
# nor for TLS: the backends are plain HTTP; ferry alone for routes100 and keepalive-noroutes).
scenario_targets() {
  local t
  for t in "${TARGETS[@]}"; do
    is_ferry_only "$1" && [[ $t != ferry && $t != baseline ]] && continue
    { [[ $1 == idle10k ]] || is_tls "$1"; } && [[ $t == direct ]] && continue
    printf '%s\n' "$t"
  done
}

# scenario_port SCENARIO TARGET: the target's TLS port for TLS scenarios, else its plain one.
scenario_port() {
  if [[ $1 == routes100 && $2 =~ ^(ferry|baseline)$ ]]; then
    echo "$PORT_FERRY_ROUTES"
  elif is_tls "$1"; then
    target_tls_port "$2"
  else
    target_port "$2"
  fi
}

# wrk_args SCENARIO DURATION PORT: the wrk command line (after "wrk").
wrk_args() {
  local scen=$1 dur=$2 url="http://127.0.0.1:$3"
  is_tls "$scen" && url="https://127.0.0.1:$3"
  local common=(--latency --timeout 5s -d "${dur}s" -s "$BENCH_DIR/lua/report.lua")
  case $scen in
    keepalive | routes100 | keepalive-noroutes) printf '%s\n' -t1 -c64 "${common[@]}" "$url/" ;;
    close) printf '%s\n' -t1 -c64 -H "Connection: close" "${common[@]}" "$url/" ;;
    64k) printf '%s\n' -t1 -c64 "${common[@]}" "$url/64k" ;;
    post4k)
      printf '%s\n' -t1 -c64 --latency --timeout 5s -d "${dur}s" \
        -s "$BENCH_DIR/lua/post4k.lua" "$url/post"
      ;;
    c1000) printf '%s\n' -t2 -c1000 "${common[@]}" "$url/" ;;
    tls-keepalive) printf '%s\n' -t1 -c64 "${common[@]}" "$url/" ;;
  esac
}

# The request s_time sends. Its -www PATH goes into "GET PATH HTTP/1.0\r\n\r\n"; a bare
# HTTP/1.0 request without Host makes nginx send the backend an HTTP/1.1 request without Host
# (proxy_set_header Host $http_host, empty), which the backend answers 400. This PATH makes
# it the request wrk sends with "Connection: close" (plus one ignored header):
#   GET / HTTP/1.1 | Host: localhost | Connection: close | X-Pad: HTTP/1.0
STIME_PATH=$'/ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nX-Pad:'

# tls_status PORT: the status line the TLS listener on PORT answers s_time's request with.
tls_status() {
  printf 'GET %s HTTP/1.0\r\n\r\n' "$STIME_PATH" |
    timeout 5 openssl s_client -quiet -connect "127.0.0.1:$1" 2>/dev/null | head -n 1 | tr -d '\r'
}

# handshake_load MODE SECONDS PORT: TLS_CLIENTS `openssl s_time` processes at once, each
# making one connection after another (handshake, GET / as above, read to the close):
# MODE "new" = a full handshake each time, "reuse" = each resumes the session of its first
# connection. wrk cannot do either: it resumes its previous session when it reconnects (so
# `-H "Connection: close"` over https is a resumed handshake per request) and has no
# full-handshake mode. s_time prints one character per connection it completes ('r' when
# the session was resumed, '*' when not) and flushes it at once; each process is stopped
# after SECONDS (s_time's own -time only ends on a whole-second clock tick), so the count is
# what was done in SECONDS. Prints the s_time output, then a WRKJSON line as report.lua does
# (no latencies; "handshakes" gives the resumed and full counts; errors.connect counts
# clients that quit before the time was up: s_time stops at its first failed connection).
# s_time does not look at the responses: one request made first with s_client must get 200,
# else every request of the run counts as non-2xx (errors.status).
handshake_load() {
  local mode=$1 dur=$2 port=$3 i rc t0 t1 early=0 pids=() dir status
  dir=$(mktemp -d "$RUN_DIR/s_time.XXXXXX")
  status=$(tls_status "$port")
  printf '# status check (s_client, the same request): %s\n' "${status:-no answer}"
  t0=$(date +%s%N)
  for ((i = 0; i < TLS_CLIENTS; i++)); do
    "${LOAD_WRAP[@]}" timeout -s TERM "$dur" openssl s_time -connect "127.0.0.1:$port" "-$mode" -www "$STIME_PATH" \
      -time $((dur + 60)) >"$dir/$i.txt" 2>&1 &
    pids+=("$!")
  done
  for i in "${pids[@]}"; do
    rc=0
    wait "$i" || rc=$?
    ((rc == 124)) || early=$((early + 1))
  done
  t1=$(date +%s%N)
  local resumed full
  for i in "$dir"/*.txt; do
    printf '# --- s_time client %s\n' "$(basename "$i" .txt)"
    cat "$i"
    printf '\n'
  done
  # the progress lines: nothing but r and *. Each file's last line lacks its newline (the
  # process was stopped), so grep the files one by one rather than concatenated.
  resumed=$( (grep -hE '^[r*]+$' "$dir"/*.txt || true) | tr -cd 'r' | wc -c)
  full=$( (grep -hE '^[r*]+$' "$dir"/*.txt || true) | tr -cd '*' | wc -c)
  rm -rf "$dir"
  local bad=0
  [[ $status == "HTTP/1.1 200"* ]] || bad=$((resumed + full))
  printf 'WRKJSON {"requests":%d,"duration_us":%d,"bytes":0,"errors":{"connect":%d,"read":0,"write":0,"status":%d,"timeout":0},"latency_us":null,"handshakes":{"resumed":%d,"full":%d,"clients":%d}}\n' \
    $((resumed + full)) $(((t1 - t0) / 1000)) "$early" "$bad" "$resumed" "$full" "$TLS_CLIENTS"
}

# run_load SCENARIO SECONDS PORT: the scenario's load for SECONDS (wrk, or s_time for the
# handshake scenarios), its output on stdout.
run_load() {
  local scen=$1 dur=$2 port=$3 args
  case $scen in
    tls-full) handshake_load new "$dur" "$port" ;;
    tls-resumed) handshake_load reuse "$dur" "$port" ;;
    *)
      mapfile -t args < <(wrk_args "$scen" "$dur" "$port")
      printf '# wrk %s\n' "${args[*]}"
      "${LOAD_WRAP[@]}" timeout $((dur + 30)) wrk "${args[@]}" 2>&1 || printf '# wrk exit status %s\n' "$?"
      ;;
  esac
}

# target_alive NAME: false (and a logged report) when the target process died during a run.
target_alive() {
  [[ $1 == direct ]] && return 0
  kill -0 "$TARGET_PID" 2>/dev/null && return 0
  local rc=0
  wait "$TARGET_PID" 2>/dev/null || rc=$?
  log "ERROR: $1 (pid $TARGET_PID) died during the run, exit status $rc; log tail:"
  tail -n 30 "$RUN_DIR/$1.log" >&2 2>/dev/null || true
  cp "$RUN_DIR/$1.log" "$OUT/raw/" 2>/dev/null || true
  TARGET_PID=""
  return 1
}

# run_http ROUND SCENARIO TARGET: one measured wrk run; appends a record to runs.jsonl.
run_http() {
  local round=$1 scen=$2 target=$3 port raw pids
  port=$(scenario_port "$scen" "$target")
  raw="raw/r${round}-${scen}-${target}.txt"

  local quiet=-1
  ((QUIET_WAIT > 0)) && quiet=$(wait_quiet "$QUIET_WAIT" "$QUIET_PCT")
  set_ferry_conf "$scen"
  start_target "$target"
  if ((WARMUP > 0)); then
    run_load "$scen" "$WARMUP" "$port" >/dev/null 2>&1 || true
  fi

  # ferry: requests per route over the measured run (which route served wrk's requests),
  # read outside the CPU and memory window.
  local routes0=null routes1=null
  [[ $target == ferry ]] && routes0=$(ferry_route_counts)
  mapfile -t pids < <(target_pids)
  local acc0 req0 chk0
  read -r acc0 req0 chk0 < <(backend_counters)
  reset_hwm "${pids[@]}"
  # The target's CPU, and everything else the machine does during the run: busy CPU minus the
  # target, the backend and wrk (this shell's children). High values mean other work competed
  # with the bench. Read together, right around wrk, so all of them cover the same window.
  local cpu0 cpu1 k0 k1 be0=0 be1=0 mb0 mt0 ms0 mb1 mt1 ms1 bpids=() user0 sys0 user1 sys1
  [[ $target != direct ]] && mapfile -t bpids < <(pid_tree "$BACKEND_PID")
  ((${#bpids[@]})) && be0=$(cpu_ticks "${bpids[@]}")
  k0=$(children_ticks)
  read -r mb0 mt0 ms0 < <(machine_ticks)
  # Split into user and kernel time: the kernel's part (TCP work shared by every proxy) is
  # the floor under the proxy's CPU per request that no user-space saving goes below.
  read -r user0 sys0 < <(cpu_ticks_split "${pids[@]}")
  cpu0=$((user0 + sys0))

  run_load "$scen" "$DURATION" "$port" >"$OUT/$raw"

  local alive=true hwm=0 rss=0 acc1 req1 chk1
  if target_alive "$target"; then
    mapfile -t pids < <(target_pids)
    read -r user1 sys1 < <(cpu_ticks_split "${pids[@]}")
    cpu1=$((user1 + sys1))
    read -r mb1 mt1 ms1 < <(machine_ticks)
    k1=$(children_ticks)
    ((${#bpids[@]})) && be1=$(cpu_ticks "${bpids[@]}")
    hwm=$(status_kb VmHWM "${pids[@]}")
    rss=$(status_kb VmRSS "${pids[@]}")
    [[ $target == ferry ]] && routes1=$(ferry_route_counts)
  else
    alive=false
    cpu1=$cpu0
    sys1=$sys0
    read -r mb1 mt1 ms1 < <(machine_ticks)
    k1=$(children_ticks)
  fi
  local span=$((mt1 - mt0 > 0 ? mt1 - mt0 : 1))
  local other=$((mb1 - mb0 - (cpu1 - cpu0) - (be1 - be0) - (k1 - k0)))
  ((other < 0)) && other=0
  # Idle: neither busy nor stolen. High idle with no process near a full core means the run
  # was bound by round trips between the three processes, not by anyone's CPU.
  local idle=$((span - (mb1 - mb0) - (ms1 - ms0)))
  ((idle < 0)) && idle=0
  local other_pct steal_pct
  other_pct=$(awk -v o="$other" -v t="$span" 'BEGIN {printf "%.1f", 100 * o / t}')
  steal_pct=$(awk -v o="$((ms1 - ms0))" -v t="$span" 'BEGIN {printf "%.1f", 100 * o / t}')
  read -r acc1 req1 chk1 < <(backend_counters)
  [[ $alive == true ]] && stop_target "$target"

  local wrkjson
  wrkjson=$(sed -n 's/^WRKJSON //p' "$OUT/$raw" | tail -n 1)
  [[ -n $wrkjson ]] || wrkjson=null
  printf '{"round":%d,"scenario":"%s","target":"%s","alive":%s,"wrk":%s,"cpu_ticks":%d,"cpu_sys_ticks":%d,"clk_tck":%d,"peak_rss_kb":%d,"rss_kb":%d,"backend_accepts":%d,"backend_requests":%d,"backend_checks":%d,"other_cpu_pct":%s,"steal_pct":%s,"busy_before_pct":%d,"cpus":%d,"machine_ticks":%d,"idle_ticks":%d,"backend_cpu_ticks":%d,"wrk_cpu_ticks":%d,"route_requests":{"before":%s,"after":%s},"raw":"%s"}\n' \
    "$round" "$scen" "$target" "$alive" "$wrkjson" $((cpu1 - cpu0)) $((sys1 - sys0)) "$CLK_TCK" "$hwm" "$rss" \
    $((acc1 - acc0 - 1)) $((req1 - req0 - 1)) $((chk1 - chk0)) "$other_pct" "$steal_pct" "$quiet" \
    "$(nproc)" "$span" "$idle" $((be1 - be0)) $((k1 - k0)) "${routes0:-null}" "${routes1:-null}" "$raw" \
    >>"$OUT/runs.jsonl"
}

# helper_line PATTERN FILE PID SECONDS: the first line of FILE matching PATTERN, once the
# idle helper (PID) has printed it; empty if the helper exits or SECONDS + 30 pass first.
helper_line() {
  local pattern=$1 file=$2 pid=$3 limit=$4 i line=""
  for ((i = 0; i < (limit + 30) * 10; i++)); do
    line=$(grep -m1 "$pattern" "$file" || true)
    [[ -n $line ]] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  printf '%s' "$line"
}

# run_idle ROUND SCENARIO TARGET: hold IDLE_CONNS keep-alive connections (tls-idle10k: over
# TLS) open through the target and measure the target's RSS before and after; appends a
# record to runs.jsonl.
run_idle() {
  local round=$1 scen=$2 target=$3 port pids helper_out helper_pid tls_opt=() open_limit=60
  port=$(scenario_port "$scen" "$target")
  # The helper's side of a TLS handshake costs about as much as the proxy's: 10,000 of them
  # take it tens of seconds on a busy 2-core machine (plain connections: about one second).
  is_tls "$scen" && tls_opt=(--tls) && open_limit=240
  helper_out="$OUT/raw/r${round}-${scen}-${target}.txt"

  local quiet=-1
  ((QUIET_WAIT > 0)) && quiet=$(wait_quiet "$QUIET_WAIT" "$QUIET_PCT")
  set_ferry_conf "$scen"
  start_target "$target"
  if ((WARMUP > 0)); then
    local warm
    # keep-alive load to the same listener (plain or TLS)
    local warm_scen=keepalive
    is_tls "$scen" && warm_scen=tls-keepalive
    mapfile -t warm < <(wrk_args "$warm_scen" "$WARMUP" "$port")
    "${LOAD_WRAP[@]}" timeout $((WARMUP + 20)) wrk "${warm[@]}" >/dev/null 2>&1 || true
  fi
  sleep 1
  mapfile -t pids < <(target_pids)
  local cpu0 rss0 acc0 req0 chk0
  cpu0=$(cpu_ticks "${pids[@]}")
  rss0=$(status_kb VmRSS "${pids[@]}")
  read -r acc0 req0 chk0 < <(backend_counters)
  reset_hwm "${pids[@]}"

  # Half the connections first, then the rest: the RSS the second half adds is what one more
  # idle connection costs, apart from what a proxy sizes once for the opening burst (pools of
  # request state, pooled backend connections).
  local half=$((IDLE_CONNS / 2))
  "${LOAD_WRAP[@]}" /usr/bin/python3 "$BENCH_DIR/idle_conns.py" 127.0.0.1 "$port" "$IDLE_CONNS" \
    --open-timeout "$open_limit" --hold 120 --pause-at "$half" --parallel "$IDLE_PARALLEL" "${tls_opt[@]}" >"$helper_out" 2>&1 &
  helper_pid=$!
  IDLE_PID=$helper_pid
  local ready="" halfway="" rss_half=0
  halfway=$(helper_line '^HALF' "$helper_out" "$helper_pid" "$open_limit")
  sleep "$IDLE_SETTLE"
  target_alive "$target" && rss_half=$(status_kb VmRSS "${pids[@]}")
  kill -USR2 "$helper_pid" 2>/dev/null || true
  ready=$(helper_line '^READY' "$helper_out" "$helper_pid" "$open_limit")
  sleep "$IDLE_SETTLE"

  local alive=true rss1=0 hwm=0 cpu1=0 still=0
  if target_alive "$target"; then
    mapfile -t pids < <(target_pids)
    rss1=$(status_kb VmRSS "${pids[@]}")
    hwm=$(status_kb VmHWM "${pids[@]}")
    cpu1=$(cpu_ticks "${pids[@]}")
  else
    alive=false
  fi
  kill -USR1 "$helper_pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    kill -0 "$helper_pid" 2>/dev/null || break
    sleep 0.1
  done
  stop_pid "$helper_pid" "idle_conns.py"
  # shellcheck disable=SC2034 # read by run.sh's cleanup
  IDLE_PID=""
  still=$(sed -n 's/^STILL_OPEN //p' "$helper_out")
  local acc1 req1 chk1
  read -r acc1 req1 chk1 < <(backend_counters)
  [[ $alive == true ]] && stop_target "$target"

  local opened failed secs
  opened=$(sed -n 's/.*open=\([0-9]*\).*/\1/p' <<<"$ready")
  failed=$(sed -n 's/.*failed=\([0-9]*\).*/\1/p' <<<"$ready")
  secs=$(sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' <<<"$ready")
  local half_open
  half_open=$(sed -n 's/.*open=\([0-9]*\).*/\1/p' <<<"$halfway")
  printf '{"round":%d,"scenario":"%s","target":"%s","alive":%s,"idle":{"requested":%d,"open":%d,"failed":%d,"open_seconds":%s,"still_open":%d,"rss_before_kb":%d,"rss_after_kb":%d,"half_open":%d,"rss_half_kb":%d},"cpu_ticks":%d,"clk_tck":%d,"peak_rss_kb":%d,"rss_kb":%d,"backend_accepts":%d,"backend_requests":%d,"backend_checks":%d,"busy_before_pct":%d,"raw":"raw/r%d-%s-%s.txt"}\n' \
    "$round" "$scen" "$target" "$alive" "$IDLE_CONNS" "${opened:-0}" "${failed:-$IDLE_CONNS}" \
    "${secs:-0}" "${still:-0}" "$rss0" "$rss1" "${half_open:-0}" "$rss_half" $((cpu1 - cpu0)) "$CLK_TCK" "$hwm" "$rss1" \
    $((acc1 - acc0 - 1)) $((req1 - req0 - 1)) $((chk1 - chk0)) "$quiet" "$round" "$scen" "$target" \
    >>"$OUT/runs.jsonl"
}
