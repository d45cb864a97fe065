#!/usr/bin/env bash
# TCP segments per request on loopback, for one ferry binary against another: a count, so it
# does not drift with the machine. A second ferry (BACKEND_BIN, default the first) answers
# every request itself (a `respond` route), so nothing else sends segments; wrk loads the
# ferry under test for a few seconds, and the kernel's TcpOutSegs (nstat) over that window,
# divided by the requests wrk completed, is the figure: both directions, both sides of both
# connections (client-ferry and ferry-backend), SYNs, ACKs and FINs included.
#
#   bench/segments.sh [--mode close|keepalive] [--duration S] [--backend BACKEND_BIN] FERRY_BIN...
#
# Prints one line per binary: requests, segments, segments per request. Other traffic on
# loopback during the window counts too: run it on a quiet machine, or twice.
set -euo pipefail

MODE=close
DURATION=3
BACKEND_BIN=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --mode) MODE=${2:?}; shift 2 ;;
    --duration) DURATION=${2:?}; shift 2 ;;
    --backend) BACKEND_BIN=${2:?}; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    -*) echo "segments.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
[[ $# -ge 1 ]] || { echo "usage: bench/segments.sh [--mode close|keepalive] [--duration S] [--backend BIN] FERRY_BIN..." >&2; exit 2; }
# shellcheck source=bench/lib/common.sh
. "$(dirname "$0")/lib/common.sh"
for tool in wrk nstat; do
  command -v "$tool" > /dev/null || die "$tool not found (bash scripts/install-deps.sh)"
done
BACKEND_BIN=${BACKEND_BIN:-$1}

WORK=$(mktemp -d)
BACKEND_PID=""
PROXY_PID=""
stop_both() {
  stop_pid "$PROXY_PID" "ferry under test"
  stop_pid "$BACKEND_PID" "backend ferry"
  PROXY_PID=""
  BACKEND_PID=""
}
trap 'stop_both; rm -rf "$WORK"' EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

HEADER=()
[[ $MODE == close ]] && HEADER=(-H 'Connection: close')

for bin in "$@"; do
  backend_port=$(free_port)
  proxy_port=$(free_port)
  cat > "$WORK/backend.yaml" <<EOF
listeners: [{address: "127.0.0.1:$backend_port"}]
workers: 1
admin: "off"
access_log: "off"
backends: ["127.0.0.1:$backend_port"]
routes:
  - name: answer
    respond: {status: 200, body: "27 bytes, as bench/run.sh\n"}
EOF
  cat > "$WORK/proxy.yaml" <<EOF
listeners: [{address: "127.0.0.1:$proxy_port"}]
workers: 1
admin: "off"
access_log: "off"
backends: ["127.0.0.1:$backend_port"]
EOF
  "$BACKEND_BIN" -c "$WORK/backend.yaml" > "$WORK/backend.log" 2>&1 &
  BACKEND_PID=$!
  "$bin" -c "$WORK/proxy.yaml" > "$WORK/proxy.log" 2>&1 &
  PROXY_PID=$!
  # The backend answers any path; through the proxy, so does the pair once both are up.
  wait_http "http://127.0.0.1:$proxy_port/" 10 || die "$bin: no answer on $proxy_port"
  wrk -t1 -c8 -d1 "${HEADER[@]}" "http://127.0.0.1:$proxy_port/" > /dev/null  # warm-up
  nstat -n > /dev/null
  out=$(wrk -t1 -c8 -d"$DURATION" "${HEADER[@]}" "http://127.0.0.1:$proxy_port/")
  segments=$(nstat -z TcpOutSegs | awk '$1 == "TcpOutSegs" { print $2 }')
  requests=$(awk '/requests in/ { print $1 }' <<< "$out")
  awk -v b="$bin" -v r="$requests" -v s="$segments" -v m="$MODE" \
    'BEGIN { printf "%s (%s): %d requests, %d segments, %.2f segments per request\n", b, m, r, s, s / r }'
  stop_both
done
