# shellcheck shell=bash
# The scenarios, and one measured run of a scenario against a target. Each run appends one
# JSON record to $OUT/runs.jsonl (bench/report.py turns those into the report) and keeps
# wrk's own output under $OUT/raw/. Sourced by bench/run.sh (needs common.sh, targets.sh).

# shellcheck disable=SC2034 # used by run.sh
ALL_SCENARIOS=(keepalive close 64k post4k c1000 idle10k)
IDLE_CONNS=${IDLE_CONNS:-10000}

scenario_describe() {
  case $1 in
    keepalive) echo "keep-alive, small responses: wrk -t1 -c64 GET / (27 bytes)" ;;
    close) echo "new connection per request: wrk -t1 -c64 -H 'Connection: close' GET /" ;;
    64k) echo "64 KiB responses: wrk -t1 -c64 GET /64k" ;;
    post4k) echo "4 KiB POST bodies: wrk -t1 -c64 -s post4k.lua POST /post" ;;
    c1000) echo "1,000 concurrent connections: wrk -t2 -c1000 GET /" ;;
    idle10k) echo "$IDLE_CONNS idle keep-alive client connections (one GET each, then idle): RSS per connection" ;;
  esac
}

# scenario_targets SCENARIO: which of the selected targets run it (no ceiling for idle10k).
scenario_targets() {
  local t
  for t in "${TARGETS[@]}"; do
    [[ $1 == idle10k && $t == direct ]] && continue
    printf '%s\n' "$t"
  done
}

# wrk_args SCENARIO DURATION PORT: the wrk command line (after "wrk").
wrk_args() {
  local scen=$1 dur=$2 url="http://127.0.0.1:$3"
  local common=(--latency --timeout 5s -d "${dur}s" -s "$BENCH_DIR/lua/report.lua")
  case $scen in
    keepalive) printf '%s\n' -t1 -c64 "${common[@]}" "$url/" ;;
    close) printf '%s\n' -t1 -c64 -H "Connection: close" "${common[@]}" "$url/" ;;
    64k) printf '%s\n' -t1 -c64 "${common[@]}" "$url/64k" ;;
    post4k)
      printf '%s\n' -t1 -c64 --latency --timeout 5s -d "${dur}s" \
        -s "$BENCH_DIR/lua/post4k.lua" "$url/post"
      ;;
    c1000) printf '%s\n' -t2 -c1000 "${common[@]}" "$url/" ;;
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
  local round=$1 scen=$2 target=$3 port raw args pids
  port=$(target_port "$target")
  raw="raw/r${round}-${scen}-${target}.txt"
  mapfile -t args < <(wrk_args "$scen" "$DURATION" "$port")

  local quiet=-1
  ((QUIET_WAIT > 0)) && quiet=$(wait_quiet "$QUIET_WAIT" "$QUIET_PCT")
  start_target "$target"
  if ((WARMUP > 0)); then
    local warm
    mapfile -t warm < <(wrk_args "$scen" "$WARMUP" "$port")
    timeout $((WARMUP + 20)) wrk "${warm[@]}" >/dev/null 2>&1 || true
  fi

  mapfile -t pids < <(target_pids)
  local acc0 req0 chk0
  read -r acc0 req0 chk0 < <(backend_counters)
  reset_hwm "${pids[@]}"
  # The target's CPU, and everything else the machine does during the run: busy CPU minus the
  # target, the backend and wrk (this shell's children). High values mean other work competed
  # with the bench. Read together, right around wrk, so all of them cover the same window.
  local cpu0 cpu1 k0 k1 be0=0 be1=0 mb0 mt0 ms0 mb1 mt1 ms1 bpids=()
  [[ $target != direct ]] && mapfile -t bpids < <(pid_tree "$BACKEND_PID")
  ((${#bpids[@]})) && be0=$(cpu_ticks "${bpids[@]}")
  k0=$(children_ticks)
  read -r mb0 mt0 ms0 < <(machine_ticks)
  cpu0=$(cpu_ticks "${pids[@]}")

  {
    printf '# wrk %s\n' "${args[*]}"
    timeout $((DURATION + 30)) wrk "${args[@]}" 2>&1 || printf '# wrk exit status %s\n' "$?"
  } >"$OUT/$raw"

  local alive=true hwm=0 rss=0 acc1 req1 chk1
  if target_alive "$target"; then
    mapfile -t pids < <(target_pids)
    cpu1=$(cpu_ticks "${pids[@]}")
    read -r mb1 mt1 ms1 < <(machine_ticks)
    k1=$(children_ticks)
    ((${#bpids[@]})) && be1=$(cpu_ticks "${bpids[@]}")
    hwm=$(status_kb VmHWM "${pids[@]}")
    rss=$(status_kb VmRSS "${pids[@]}")
  else
    alive=false
    cpu1=$cpu0
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
  printf '{"round":%d,"scenario":"%s","target":"%s","alive":%s,"wrk":%s,"cpu_ticks":%d,"clk_tck":%d,"peak_rss_kb":%d,"rss_kb":%d,"backend_accepts":%d,"backend_requests":%d,"backend_checks":%d,"other_cpu_pct":%s,"steal_pct":%s,"busy_before_pct":%d,"cpus":%d,"machine_ticks":%d,"idle_ticks":%d,"backend_cpu_ticks":%d,"wrk_cpu_ticks":%d,"raw":"%s"}\n' \
    "$round" "$scen" "$target" "$alive" "$wrkjson" $((cpu1 - cpu0)) "$CLK_TCK" "$hwm" "$rss" \
    $((acc1 - acc0 - 1)) $((req1 - req0 - 1)) $((chk1 - chk0)) "$other_pct" "$steal_pct" "$quiet" \
    "$(nproc)" "$span" "$idle" $((be1 - be0)) $((k1 - k0)) "$raw" \
    >>"$OUT/runs.jsonl"
}

# run_idle ROUND TARGET: hold IDLE_CONNS keep-alive connections open through the target and
# measure the target's RSS before and after; appends a record to runs.jsonl.
run_idle() {
  local round=$1 target=$2 port pids helper_out helper_pid
  port=$(target_port "$target")
  helper_out="$OUT/raw/r${round}-idle10k-${target}.txt"

  local quiet=-1
  ((QUIET_WAIT > 0)) && quiet=$(wait_quiet "$QUIET_WAIT" "$QUIET_PCT")
  start_target "$target"
  if ((WARMUP > 0)); then
    local warm
    mapfile -t warm < <(wrk_args keepalive "$WARMUP" "$port")
    timeout $((WARMUP + 20)) wrk "${warm[@]}" >/dev/null 2>&1 || true
  fi
  sleep 1
  mapfile -t pids < <(target_pids)
  local cpu0 rss0 acc0 req0 chk0
  cpu0=$(cpu_ticks "${pids[@]}")
  rss0=$(status_kb VmRSS "${pids[@]}")
  read -r acc0 req0 chk0 < <(backend_counters)
  reset_hwm "${pids[@]}"

  /usr/bin/python3 "$BENCH_DIR/idle_conns.py" 127.0.0.1 "$port" "$IDLE_CONNS" \
    --open-timeout 60 --hold 120 >"$helper_out" 2>&1 &
  helper_pid=$!
  IDLE_PID=$helper_pid
  local i ready=""
  for ((i = 0; i < 900; i++)); do
    ready=$(grep -m1 '^READY' "$helper_out" || true)
    [[ -n $ready ]] && break
    kill -0 "$helper_pid" 2>/dev/null || break
    sleep 0.1
  done
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
  printf '{"round":%d,"scenario":"idle10k","target":"%s","alive":%s,"idle":{"requested":%d,"open":%d,"failed":%d,"open_seconds":%s,"still_open":%d,"rss_before_kb":%d,"rss_after_kb":%d},"cpu_ticks":%d,"clk_tck":%d,"peak_rss_kb":%d,"rss_kb":%d,"backend_accepts":%d,"backend_requests":%d,"backend_checks":%d,"busy_before_pct":%d,"raw":"raw/r%d-idle10k-%s.txt"}\n' \
    "$round" "$target" "$alive" "$IDLE_CONNS" "${opened:-0}" "${failed:-$IDLE_CONNS}" \
    "${secs:-0}" "${still:-0}" "$rss0" "$rss1" $((cpu1 - cpu0)) "$CLK_TCK" "$hwm" "$rss1" \
    $((acc1 - acc0 - 1)) $((req1 - req0 - 1)) $((chk1 - chk0)) "$quiet" "$round" "$target" \
    >>"$OUT/runs.jsonl"
}
