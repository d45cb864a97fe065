# shellcheck shell=bash
# The processes under test: the nginx backend pair, and each target (ferry, nginx, haproxy,
# direct = straight to one backend). Configs are rendered from bench/conf/ into RUN_DIR.
# Sourced by bench/run.sh, which sets BENCH_DIR, RUN_DIR, FERRY_BIN, WORKERS,
# BACKEND_WORKERS and the PORT_* variables. Every process here is started by this script,
# tracked by pid, and stopped by that pid.

BACKEND_PID=""
TARGET_PID=""
# A command the proxies run under (bench/profile.sh: valgrind), and how long to wait for
# their first 200.
TARGET_WRAP=()
START_WAIT=10

# render TEMPLATE OUTPUT: fill in the @NAME@ placeholders.
render() {
  local user_directive=""
  # nginx as root would drop its workers to "nobody", who cannot read RUN_DIR.
  [[ $(id -u) -eq 0 ]] && user_directive="user root root;"
  sed -e "s|@RUN_DIR@|$RUN_DIR|g" \
    -e "s|@USER_DIRECTIVE@|$user_directive|g" \
    -e "s|@WORKERS@|$WORKERS|g" \
    -e "s|@BACKEND_WORKERS@|$BACKEND_WORKERS|g" \
    -e "s|@BACKEND_PORT_A@|$PORT_BACKEND_A|g" \
    -e "s|@BACKEND_PORT_B@|$PORT_BACKEND_B|g" \
    -e "s|@ADMIN_PORT@|$PORT_FERRY_ADMIN|g" \
    -e "s|@NOFILE@|$NOFILE|g" \
    -e "s|@NGINX_CONNS@|$((NOFILE - 64))|g" \
    -e "s|@MAXCONN@|$MAXCONN|g" \
    -e "s|@PORT@|$3|g" \
    "$1" >"$2"
}

render_all() {
  mkdir -p "$RUN_DIR/www"
  printf '<p>This is index page!</p>\n' >"$RUN_DIR/www/index.html"
  head -c 65536 /dev/zero | tr '\0' 'x' >"$RUN_DIR/www/64k"
  render "$BENCH_DIR/conf/backend-nginx.conf" "$RUN_DIR/backend-nginx.conf" ""
  render "$BENCH_DIR/conf/proxy-nginx.conf" "$RUN_DIR/nginx-proxy.conf" "$PORT_NGINX"
  render "$BENCH_DIR/conf/haproxy.cfg" "$RUN_DIR/haproxy.cfg" "$PORT_HAPROXY"
  render "$BENCH_DIR/conf/ferry.yaml" "$RUN_DIR/ferry.yaml" "$PORT_FERRY"

  nginx -t -q -p "$RUN_DIR" -c "$RUN_DIR/backend-nginx.conf" -e "$RUN_DIR/nginx-t.log" ||
    die "backend nginx config rejected (see $RUN_DIR/backend-nginx.conf)"
  nginx -t -q -p "$RUN_DIR" -c "$RUN_DIR/nginx-proxy.conf" -e "$RUN_DIR/nginx-t.log" ||
    die "proxy nginx config rejected (see $RUN_DIR/nginx-proxy.conf)"
  haproxy -c -q -f "$RUN_DIR/haproxy.cfg" || die "haproxy config rejected"
  "$FERRY_BIN" --check -c "$RUN_DIR/ferry.yaml" >/dev/null || die "ferry config rejected"
}

start_backend() {
  nginx -p "$RUN_DIR" -c "$RUN_DIR/backend-nginx.conf" -e "$RUN_DIR/backend-error.log" \
    >>"$RUN_DIR/backend.out" 2>&1 &
  BACKEND_PID=$!
  if ! wait_http "http://127.0.0.1:$PORT_BACKEND_A/health" 10 ||
    ! wait_http "http://127.0.0.1:$PORT_BACKEND_B/health" 10; then
    die "backend nginx did not come up; see $RUN_DIR/backend-error.log"
  fi
  local size
  size=$(curl -s "http://127.0.0.1:$PORT_BACKEND_A/" | wc -c)
  [[ $size -eq 27 ]] || die "backend / is $size bytes, expected 27"
  size=$(curl -s "http://127.0.0.1:$PORT_BACKEND_B/64k" | wc -c)
  [[ $size -eq 65536 ]] || die "backend /64k is $size bytes, expected 65536"
}

stop_backend() {
  stop_pid "$BACKEND_PID" "backend nginx"
  BACKEND_PID=""
}

# backend_counters: "accepts requests checks": the first two from the backend's stub_status
# (one nginx serves both ports, so these are totals over the pair; the read itself is one
# connection and request), then the health checks answered so far (lines of its /health log).
backend_counters() {
  local i out checks=0
  for ((i = 0; i < 5; i++)); do
    out=$(curl -s -m 2 "http://127.0.0.1:$PORT_BACKEND_A/nginx_status" |
      awk 'NR == 3 && $1 ~ /^[0-9]+$/ {print $1, $3}')
    if [[ -n $out ]]; then
      [[ -f $RUN_DIR/backend-health.log ]] && checks=$(wc -l <"$RUN_DIR/backend-health.log")
      printf '%s %s\n' "$out" "$checks"
      return 0
    fi
    sleep 0.5
  done
  die "the backend nginx stopped answering /nginx_status; see $RUN_DIR/backend-error.log"
}

target_port() {
  case $1 in
    ferry) echo "$PORT_FERRY" ;;
    nginx) echo "$PORT_NGINX" ;;
    haproxy) echo "$PORT_HAPROXY" ;;
    direct) echo "$PORT_BACKEND_A" ;;
  esac
}

# target_pids: the processes whose CPU and memory count for the current target.
target_pids() {
  pid_tree "$TARGET_PID"
}

# start_target NAME: start it (direct: the backend, already running) and wait for a 200.
start_target() {
  local name=$1 log="$RUN_DIR/$1.log"
  case $name in
    ferry)
      "${TARGET_WRAP[@]}" "$FERRY_BIN" -c "$RUN_DIR/ferry.yaml" >>"$log" 2>&1 &
      TARGET_PID=$!
      ;;
    nginx)
      "${TARGET_WRAP[@]}" nginx -p "$RUN_DIR" -c "$RUN_DIR/nginx-proxy.conf" \
        -e "$RUN_DIR/nginx-proxy-error.log" >>"$log" 2>&1 &
      TARGET_PID=$!
      ;;
    haproxy)
      "${TARGET_WRAP[@]}" haproxy -db -f "$RUN_DIR/haproxy.cfg" >>"$log" 2>&1 &
      TARGET_PID=$!
      ;;
    direct)
      TARGET_PID=$BACKEND_PID
      return 0
      ;;
    *) die "unknown target $name" ;;
  esac
  if ! wait_http "http://127.0.0.1:$(target_port "$name")/" "$START_WAIT"; then
    tail -n 20 "$log" >&2 || true
    die "$name did not answer 200 on port $(target_port "$name") within $START_WAIT s"
  fi
}

stop_target() {
  if [[ $1 != direct ]]; then
    stop_pid "$TARGET_PID" "$1"
  fi
  TARGET_PID=""
}
