# shellcheck shell=bash
# shellcheck disable=SC2034 # sets globals for the script that sources it
# Set-up shared by bench/run.sh and bench/profile.sh: descriptor limits, the loopback ports,
# and the Release build of ferry. Sourced (needs common.sh); sets the globals named below.

# bench_limits: raise ulimit -n for 1,000 wrk and 10,000 idle connections; sets NOFILE,
# MAXCONN (client connections every proxy admits) and CLK_TCK. Needs IDLE_CONNS.
bench_limits() {
  ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
  if (($(ulimit -n) < IDLE_CONNS + 2000)); then
    log "WARNING: ulimit -n is $(ulimit -n); $IDLE_CONNS idle connections may not fit"
  fi
  NOFILE=$(ulimit -n)
  MAXCONN=$((IDLE_CONNS + 5000))
  CLK_TCK=$(getconf CLK_TCK)
}

# bench_ports: PORT_* from PORT_BASE (ten consecutive ports), each checked free. Each proxy
# has a plain port and, in the same process, a TLS port (PORT_*_TLS); ferry has a third, plain
# one for routes100 (PORT_FERRY_ROUTES), whose requests walk all its routes.
bench_ports() {
  PORT_BACKEND_A=$PORT_BASE
  PORT_BACKEND_B=$((PORT_BASE + 1))
  PORT_FERRY=$((PORT_BASE + 2))
  PORT_NGINX=$((PORT_BASE + 3))
  PORT_HAPROXY=$((PORT_BASE + 4))
  PORT_FERRY_ADMIN=$((PORT_BASE + 5))
  PORT_FERRY_TLS=$((PORT_BASE + 6))
  PORT_NGINX_TLS=$((PORT_BASE + 7))
  PORT_HAPROXY_TLS=$((PORT_BASE + 8))
  PORT_FERRY_ROUTES=$((PORT_BASE + 9))
  local p
  for p in "$PORT_BACKEND_A" "$PORT_BACKEND_B" "$PORT_FERRY" "$PORT_NGINX" "$PORT_HAPROXY" \
    "$PORT_FERRY_ADMIN" "$PORT_FERRY_TLS" "$PORT_NGINX_TLS" "$PORT_HAPROXY_TLS" \
    "$PORT_FERRY_ROUTES"; do
    port_in_use "$p" && die "port $p is in use; set BENCH_PORT_BASE to a free range"
  done
  return 0
}

# bench_build_ferry WITH_MICRO LOG: unless FERRY_BIN is set, build ferry (Release, symbols
# kept: the profile names functions) in BUILD_DIR and set FERRY_BIN.
bench_build_ferry() {
  local with_micro=$1 build_log=$2 bench_opt=OFF
  if [[ -z $FERRY_BIN ]]; then
    $with_micro && bench_opt=ON
    log "building ferry (Release) in $BUILD_DIR"
    cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DFERRY_TESTS=OFF \
      -DFERRY_BENCH=$bench_opt >"$build_log" 2>&1 ||
      die "cmake configure failed; see $build_log"
    cmake --build "$BUILD_DIR" --target ferry -j "$(nproc)" >>"$build_log" 2>&1 ||
      die "ferry build failed; see $build_log"
    FERRY_BIN="$BUILD_DIR/ferry"
  fi
  [[ -x $FERRY_BIN ]] || die "no ferry binary at $FERRY_BIN"
}
