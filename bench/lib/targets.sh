# shellcheck shell=bash
# The processes under test: the nginx backend pair, and each target (ferry, nginx, haproxy,
# direct = straight to one backend). Configs are rendered from bench/conf/ into RUN_DIR.
# Sourced by bench/run.sh, which sets BENCH_DIR, RUN_DIR, FERRY_BIN, WORKERS,
# BACKEND_WORKERS and the PORT_* variables. Every process here is started by this script,
# tracked by pid, and stopped by that pid.

BACKEND_PID=""
TARGET_PID=""
# The config ferry runs with: ferry.yaml (with routes), or ferry-noroutes.yaml (profile.sh's
# keepalive-noroutes); render_all writes both. set_ferry_conf SCENARIO picks it.
FERRY_CONF=""
# Routes in ferry.yaml: the first matches the two existing listeners, the last everything;
# routes100's requests walk all of them (the ones between match nothing the bench sends).
ROUTES_TOTAL=100
# A command the proxies run under (bench/profile.sh: valgrind), and how long to wait for
# their first 200.
TARGET_WRAP=()
START_WAIT=10
# Commands the backend pair and the load (wrk, s_time, the idle helper) run under: bench/run.sh
# --pin keeps them off the proxy's cores (taskset).
BACKEND_WRAP=()
LOAD_WRAP=()

# TLS, the same for all three proxies: Mozilla's intermediate suites for TLS 1.2 (ECDHE with
# AEAD only, in ferry's order: ferry's intermediate policy, proxy/tls/policy.h) and TLS 1.3's
# three, the same groups. TLS_DIR holds the certificate render_all makes.
TLS_CIPHERS="ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
TLS_CIPHERSUITES="TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"
TLS_GROUPS="X25519:prime256v1:secp384r1"

# render TEMPLATE OUTPUT PORT [TLS_PORT]: fill in the @NAME@ placeholders.
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
    -e "s|@ROUTES_PORT@|$PORT_FERRY_ROUTES|g" \
    -e "s|@PORT@|$3|g" \
    -e "s|@TLS_PORT@|${4:-}|g" \
    -e "s|@TLS_DIR@|$RUN_DIR/tls|g" \
    -e "s|@TLS_CIPHERS@|$TLS_CIPHERS|g" \
    -e "s|@TLS_CIPHERSUITES@|$TLS_CIPHERSUITES|g" \
    -e "s|@TLS_GROUPS@|$TLS_GROUPS|g" \
    "$1" >"$2"
}

# make_cert: one self-signed ECDSA P-256 certificate for localhost and 127.0.0.1 in
# RUN_DIR/tls, served by all three proxies: cert.pem and key.pem (ferry, nginx), and both in
# one file, certkey.pem (HAProxy's crt).
make_cert() {
  local dir="$RUN_DIR/tls"
  mkdir -p "$dir"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 -days 30 \
    -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$dir/key.pem" -out "$dir/cert.pem" >"$RUN_DIR/openssl-req.log" 2>&1 ||
    die "openssl could not make the certificate; see $RUN_DIR/openssl-req.log"
  cat "$dir/cert.pem" "$dir/key.pem" >"$dir/certkey.pem"
}

# no_match_routes FIRST LAST: routes FIRST..LAST of ferry.yaml, each with a host and a path
# condition that no request of the bench fits (wrk's Host is 127.0.0.1:PORT, its path /).
no_match_routes() {
  local i
  for ((i = $1; i <= $2; i++)); do
    printf '  - name: no-match-%d\n    match: {host: "app-%d.example.com", path: "/svc-%d/*"}\n    forward: default\n' \
      "$i" "$i" "$i"
  done
}

# render_ferry: RUN_DIR/ferry.yaml (with the routes) and RUN_DIR/ferry-noroutes.yaml (the same
# without the routes and the routes100 listener: the config as it was before routes).
render_ferry() {
  render "$BENCH_DIR/conf/ferry.yaml" "$RUN_DIR/ferry.rendered" "$PORT_FERRY" "$PORT_FERRY_TLS"
  no_match_routes 2 $((ROUTES_TOTAL - 1)) >"$RUN_DIR/ferry-no-match-routes.yaml"
  awk -v f="$RUN_DIR/ferry-no-match-routes.yaml" '
    $0 == "@NO_MATCH_ROUTES@" { while ((getline l < f) > 0) print l; next }
    { print }' "$RUN_DIR/ferry.rendered" >"$RUN_DIR/ferry.yaml"
  render "$BENCH_DIR/conf/ferry.yaml" "$RUN_DIR/ferry-noroutes.yaml" "$PORT_FERRY" "$PORT_FERRY_TLS"
  sed -i -e "/^  - address: \"127.0.0.1:$PORT_FERRY_ROUTES\"\$/d" -e '/^# --- routes/,$d' \
    "$RUN_DIR/ferry-noroutes.yaml"
  rm -f "$RUN_DIR/ferry.rendered" "$RUN_DIR/ferry-no-match-routes.yaml"
  local n
  n=$(grep -c '^  - name: ' "$RUN_DIR/ferry.yaml")
  ((n == ROUTES_TOTAL)) || die "ferry.yaml has $n routes, expected $ROUTES_TOTAL"
  grep -q -e '^routes:' -e "$PORT_FERRY_ROUTES" "$RUN_DIR/ferry-noroutes.yaml" &&
    die "ferry-noroutes.yaml still has routes or the routes100 listener"
  FERRY_CONF="$RUN_DIR/ferry.yaml"
}

# set_ferry_conf SCENARIO: the config ferry starts with for SCENARIO.
set_ferry_conf() {
  if [[ $1 == keepalive-noroutes ]]; then
    FERRY_CONF="$RUN_DIR/ferry-noroutes.yaml"
  else
    FERRY_CONF="$RUN_DIR/ferry.yaml"
  fi
}

render_all() {
  mkdir -p "$RUN_DIR/www"
  printf '<p>This is index page!</p>\n' >"$RUN_DIR/www/index.html"
  head -c 65536 /dev/zero | tr '\0' 'x' >"$RUN_DIR/www/64k"
  make_cert
  render "$BENCH_DIR/conf/backend-nginx.conf" "$RUN_DIR/backend-nginx.conf" ""
  render "$BENCH_DIR/conf/proxy-nginx.conf" "$RUN_DIR/nginx-proxy.conf" "$PORT_NGINX" "$PORT_NGINX_TLS"
  render "$BENCH_DIR/conf/haproxy.cfg" "$RUN_DIR/haproxy.cfg" "$PORT_HAPROXY" "$PORT_HAPROXY_TLS"
  render_ferry

  nginx -t -q -p "$RUN_DIR" -c "$RUN_DIR/backend-nginx.conf" -e "$RUN_DIR/nginx-t.log" ||
    die "backend nginx config rejected (see $RUN_DIR/backend-nginx.conf)"
  nginx -t -q -p "$RUN_DIR" -c "$RUN_DIR/nginx-proxy.conf" -e "$RUN_DIR/nginx-t.log" ||
    die "proxy nginx config rejected (see $RUN_DIR/nginx-proxy.conf)"
  haproxy -c -q -f "$RUN_DIR/haproxy.cfg" || die "haproxy config rejected"
  "$FERRY_BIN" --check -c "$RUN_DIR/ferry.yaml" >"$RUN_DIR/ferry-check.log" 2>&1 ||
    die "ferry config rejected: $(cat "$RUN_DIR/ferry-check.log")"
  "$FERRY_BIN" --check -c "$RUN_DIR/ferry-noroutes.yaml" >/dev/null ||
    die "ferry config without routes rejected"
}

start_backend() {
  "${BACKEND_WRAP[@]}" nginx -p "$RUN_DIR" -c "$RUN_DIR/backend-nginx.conf" \
    -e "$RUN_DIR/backend-error.log" >>"$RUN_DIR/backend.out" 2>&1 &
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
    ferry | baseline) echo "$PORT_FERRY" ;;
    nginx) echo "$PORT_NGINX" ;;
    haproxy) echo "$PORT_HAPROXY" ;;
    direct) echo "$PORT_BACKEND_A" ;;
  esac
}

# target_tls_port NAME: the proxy's TLS listener (direct has none: the backends are plain).
target_tls_port() {
  case $1 in
    ferry | baseline) echo "$PORT_FERRY_TLS" ;;
    nginx) echo "$PORT_NGINX_TLS" ;;
    haproxy) echo "$PORT_HAPROXY_TLS" ;;
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
    ferry | baseline)
      local bin=$FERRY_BIN
      [[ $name == baseline ]] && bin=$BASELINE_BIN
      "${TARGET_WRAP[@]}" "$bin" -c "${FERRY_CONF:-$RUN_DIR/ferry.yaml}" >>"$log" 2>&1 &
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
  # The TLS listener is in the same process, so it is up too: check that it serves.
  # (Under valgrind a handshake can take longer than one try's 2 s: retry up to START_WAIT.)
  if ! wait_http "https://127.0.0.1:$(target_tls_port "$name")/" "$START_WAIT"; then
    tail -n 20 "$log" >&2 || true
    die "$name did not answer 200 over TLS on port $(target_tls_port "$name")"
  fi
  # ferry with routes: the routes100 listener must serve too (through its last route).
  if [[ $name =~ ^(ferry|baseline)$ && ${FERRY_CONF:-$RUN_DIR/ferry.yaml} == "$RUN_DIR/ferry.yaml" &&
    $(http_status "http://127.0.0.1:$PORT_FERRY_ROUTES/") != 200 ]]; then
    tail -n 20 "$log" >&2 || true
    die "ferry did not answer 200 on its routes100 listener, port $PORT_FERRY_ROUTES"
  fi
}

# ferry_route_counts: ferry's requests answered per route so far (ferry_route_requests_total
# on its admin listener, summed over status codes), as a JSON object {"ROUTE": N, ...}; {} when
# the admin listener does not answer.
ferry_route_counts() {
  { curl -s -m 20 "http://127.0.0.1:$PORT_FERRY_ADMIN/metrics" 2>/dev/null || true; } |
    awk '/^ferry_route_requests_total\{/ && match($0, /route="[^"]*"/) {
        n[substr($0, RSTART + 7, RLENGTH - 8)] += $NF
      }
      END {
        printf "{"
        sep = ""
        for (r in n) { printf "%s\"%s\":%d", sep, r, n[r]; sep = "," }
        printf "}\n"
      }'
}

stop_target() {
  if [[ $1 != direct ]]; then
    stop_pid "$TARGET_PID" "$1"
  fi
  TARGET_PID=""
}
