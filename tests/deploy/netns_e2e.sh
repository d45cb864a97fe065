#!/usr/bin/env bash
# The seed layout for real, in network namespaces this script makes and removes itself:
#
#   client ns  10.20.1.100 --- 10.20.1.10   ferry ns  (build/ferry, no arguments: the seed default)
#                                10.20.10.1 --- 10.20.10.31  backend ns 1 (gunicorn, my-service-01)
#                                10.20.20.1 --- 10.20.20.32  backend ns 2 (gunicorn, my-service-02)
#
# A client curls ferry and sees the round robin; a backend is killed and leaves the rotation.
# The veth pairs are created inside the namespaces, never in the host's; nothing starts unless
# the namespaces exist and the host has no 10.20.x route or address. Needs root and `ip`;
# skips (saying why) where namespaces cannot be made. Prints PASS/FAIL/SKIP lines.
#
# FERRY_E2E_BIN: the ferry binary (default build/ferry; built into FERRY_E2E_BUILD_DIR when
# missing, never into the project's own build/ directory).
set -uo pipefail
TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$TESTS_DIR/lib.sh"
# shellcheck source=../../deploy/lib/common.sh
source "$REPO/deploy/lib/common.sh"
load_settings "$REPO/deploy/settings.env"

B1=$FERRY_BACKEND_1_NAME B2=$FERRY_BACKEND_2_NAME
IP1=$FERRY_BACKEND_1_IP IP2=$FERRY_BACKEND_2_IP PORT=$FERRY_BACKEND_PORT
FERRY_IP=10.20.1.10 CLIENT_IP=10.20.1.100
URL="http://$FERRY_IP:$FERRY_PROXY_PORT"
id=$$
NS_FERRY=ferry-e2e-fy-$id NS_B1=ferry-e2e-b1-$id NS_B2=ferry-e2e-b2-$id NS_CLIENT=ferry-e2e-cl-$id
ALL_NS=("$NS_FERRY" "$NS_B1" "$NS_B2" "$NS_CLIENT")
PIDS=()
work=$(mktemp -d "${TMPDIR:-/tmp}/ferry-e2e.XXXXXX")

ns_exists() {
  local list
  list=$(ip netns list 2>/dev/null)
  grep -qw "^$1" <<<"$list"
}
cleanup() {
  local pid ns
  for pid in "${PIDS[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null; done
  for ns in "${ALL_NS[@]}"; do
    if ns_exists "$ns"; then ip netns del "$ns"; fi
  done
  rm -rf "$work"
}
trap cleanup EXIT

# --- what is needed -----------------------------------------------------------------------
if [[ $(id -u) != 0 ]]; then skip e2e.netns "needs root to make network namespaces"; exit 0; fi
if ! command -v ip >/dev/null; then skip e2e.netns "ip (iproute2) not installed"; exit 0; fi
if [[ ! -x /usr/bin/gunicorn ]] || ! /usr/bin/python3 -c 'import flask' 2>/dev/null; then
  skip e2e.netns "gunicorn / python3-flask missing (scripts/install-deps.sh)"
  exit 0
fi

bin=${FERRY_E2E_BIN:-$REPO/build/ferry}
if [[ ! -x $bin ]]; then
  build=${FERRY_E2E_BUILD_DIR:-/var/tmp/ferry-deploy-e2e-build} # kept between runs: incremental
  if [[ ! -f $REPO/proxy/main.cc ]] || ! command -v cmake >/dev/null; then
    skip e2e.netns "no build/ferry and it cannot be built here (proxy/main.cc or cmake missing)"
    exit 0
  fi
  if ! timeout 900 cmake -S "$REPO" -B "$build" -DCMAKE_BUILD_TYPE=Release -DFERRY_TESTS=OFF -DFERRY_BENCH=OFF \
    >"$LOGS/e2e-build.log" 2>&1 || ! timeout 900 cmake --build "$build" --target ferry -j 2 >>"$LOGS/e2e-build.log" 2>&1; then
    skip e2e.netns "build/ferry missing and building it failed (see $LOGS/e2e-build.log)"
    exit 0
  fi
  bin=$build/ferry
fi

# A private copy: the project may rebuild build/ferry while this runs.
cp "$bin" "$work/ferry"
bin=$work/ferry

# --- the namespaces -----------------------------------------------------------------------
# (outputs are captured before grep: with pipefail, grep -q closing a pipe early would
# make the producer fail and the test answer wrongly)
host_has_10_20() {
  local routes addrs
  routes=$(ip -4 route show) && addrs=$(ip -4 addr show) || return 0 # unknown: assume the worst
  grep -q '10\.20\.' <<<"$routes" || grep -q 'inet 10\.20\.' <<<"$addrs"
}
if host_has_10_20; then
  skip e2e.netns "the host itself has a 10.20.x route or address; refusing to add the seed layout next to it"
  exit 0
fi
for ns in "${ALL_NS[@]}"; do
  if ! ip netns add "$ns" 2>"$work/netns.err"; then
    skip e2e.netns "cannot create network namespaces here: $(head -n 1 "$work/netns.err")"
    exit 0
  fi
  ip -n "$ns" link set lo up
done
# link NS_A IF_A ADDR_A NS_B IF_B ADDR_B: a veth pair made inside NS_A with its peer in NS_B.
link() {
  ip -n "$1" link add "$2" type veth peer name "$5" netns "$4" &&
    ip -n "$1" addr add "$3" dev "$2" && ip -n "$4" addr add "$6" dev "$5" &&
    ip -n "$1" link set "$2" up && ip -n "$4" link set "$5" up
}
if ! { link "$NS_FERRY" fy-b1 10.20.10.1/24 "$NS_B1" eth0 "$IP1/24" &&
  link "$NS_FERRY" fy-b2 10.20.20.1/24 "$NS_B2" eth0 "$IP2/24" &&
  link "$NS_FERRY" fy-cl "$FERRY_IP/24" "$NS_CLIENT" eth0 "$CLIENT_IP/24" &&
  ip -n "$NS_B1" route add default via 10.20.10.1 && ip -n "$NS_B2" route add default via 10.20.20.1; } 2>"$work/link.err"; then
  fail e2e.netns-setup "veth setup failed: $(head -n 2 "$work/link.err" | tr '\n' ' ')"
  exit 0
fi

# The guard: every namespace exists, the 10.20.x routes are inside them, none on the host.
guard_ok() {
  local ns
  for ns in "${ALL_NS[@]}"; do
    ns_exists "$ns" || { WHY="namespace $ns missing"; return 1; }
  done
  if host_has_10_20; then WHY="a 10.20.x route or address appeared on the host"; return 1; fi
  local routes
  routes=$(ip -n "$NS_FERRY" -4 route show)
  if ! grep -q "^10\.20\.10\.0/24" <<<"$routes" || ! grep -q "^10\.20\.20\.0/24" <<<"$routes"; then
    WHY="routes missing in $NS_FERRY"
    return 1
  fi
}
if ! guard_ok; then
  fail e2e.netns-guard "$WHY; nothing started"
  exit 0
fi
pass e2e.netns-guard

# --- the processes ------------------------------------------------------------------------
# start NS NAME CMD...: in its own process group (so a kill takes its workers too).
start() {
  local ns=$1 name=$2
  shift 2
  ip netns exec "$ns" setsid "$@" >"$LOGS/e2e-$name.log" 2>&1 &
  PIDS+=("$!")
}
unset HTTP_PROXY HTTPS_PROXY http_proxy https_proxy
app=(/usr/bin/gunicorn --chdir "$REPO/deploy/app" -c "$REPO/deploy/app/gunicorn.conf.py")
start "$NS_B1" "$B1" env FERRY_INSTANCE="$B1" "${app[@]}" -b "$IP1:$PORT" app:app
b1_pid=${PIDS[-1]}
start "$NS_B2" "$B2" env FERRY_INSTANCE="$B2" "${app[@]}" -b "$IP2:$PORT" app:app
b2_pid=${PIDS[-1]}
start "$NS_FERRY" ferry "$bin"
ferry_pid=${PIDS[-1]}

in_client() { ip netns exec "$NS_CLIENT" "$@"; }
backend_of() { # one request on a new connection: "CODE BACKEND"
  in_client curl -s --noproxy '*' --max-time 3 -o /dev/null -D - -w '%{http_code}\n' "$URL$1" 2>/dev/null |
    tr -d '\r' | awk 'tolower($1) == "x-backend:" {b = $2} /^[0-9][0-9][0-9]$/ {c = $1} END {print (c ? c : "000"), (b ? b : "-")}'
}

ready=0
for _ in $(seq 1 75); do
  if ip netns exec "$NS_B1" curl -sf --noproxy '*' -o /dev/null "http://$IP1:$PORT/health" &&
    ip netns exec "$NS_B2" curl -sf --noproxy '*' -o /dev/null "http://$IP2:$PORT/health" &&
    [[ $(backend_of /health) == "200 "* ]]; then
    ready=1
    break
  fi
  kill -0 "$ferry_pid" 2>/dev/null || break
  sleep 0.2
done
if ((!ready)); then
  fail e2e.ferry-answers "no 200 through ferry within 15s; ferry log: $(tail -n 3 "$LOGS/e2e-ferry.log" | tr '\n' ' ')"
  exit 0
fi
pass e2e.ferry-answers

# Round robin on one keep-alive connection: strictly alternating.
urls=()
for _ in 1 2 3 4 5 6; do urls+=("$URL/"); done
seq_=$(in_client curl -s --noproxy '*' --max-time 10 -D - -o /dev/null "${urls[@]}" | tr -d '\r' |
  awk 'tolower($1) == "x-backend:" {printf "%s ", $2}')
WHY="backends in order: $seq_"
check e2e.round-robin-on-one-connection eval '[[ $seq_ == "$B1 $B2 $B1 $B2 $B1 $B2 " || $seq_ == "$B2 $B1 $B2 $B1 $B2 $B1 " ]]'

# Round robin over new connections: both serve, evenly enough.
n1=0 n2=0 other=0
for _ in $(seq 1 10); do
  case $(backend_of /) in
    "200 $B1") n1=$((n1 + 1)) ;;
    "200 $B2") n2=$((n2 + 1)) ;;
    *) other=$((other + 1)) ;;
  esac
done
WHY="$B1: $n1, $B2: $n2, other: $other of 10"
check e2e.round-robin-over-connections eval '((n1 >= 3 && n2 >= 3 && other == 0))'

body=$(in_client curl -s --noproxy '*' --max-time 3 "$URL/")
WHY="GET / gave '$body'"
check e2e.index-page-through-ferry eval '[[ $body == "<p>This is index page!</p>" ]]'

# Kill my-service-02 (its whole process group): it leaves the rotation.
kill -KILL -- "-$b2_pid" 2>/dev/null
wait "$b2_pid" 2>/dev/null
start_kill=$SECONDS streak=0 seen=()
while ((SECONDS - start_kill < 20 && streak < 10)); do
  r=$(backend_of /)
  seen+=("${r// /:}")
  if [[ $r == "200 $B1" ]]; then streak=$((streak + 1)); else streak=0; fi
done
WHY="after the kill: ${seen[*]:0:20}"
check e2e.killed-backend-leaves-the-rotation eval '((streak >= 10))'
bad=0
for s in "${seen[@]}"; do [[ $s == "200:$B1" ]] || bad=$((bad + 1)); done
WHY="$bad of ${#seen[@]} requests after the kill were not answered by $B1: ${seen[*]:0:12}"
check e2e.no-failed-request-after-the-kill eval '((bad == 0))'

metrics=$(ip netns exec "$NS_FERRY" curl -s --noproxy '*' --max-time 3 "http://127.0.0.1:9901/metrics")
WHY="$(grep ferry_backend_up <<<"$metrics" | tr '\n' ' ')"
check e2e.metrics-show-the-killed-backend-down eval 'grep -qE "^ferry_backend_up\{pool=\"default\",backend=\"$IP2:$PORT\"\} 0" <<<"$metrics" &&
  grep -qE "^ferry_backend_up\{pool=\"default\",backend=\"$IP1:$PORT\"\} 1" <<<"$metrics"'

kill -0 "$b1_pid" 2>/dev/null || fail e2e.backend-1-alive "my-service-01 died"
