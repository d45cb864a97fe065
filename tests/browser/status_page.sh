#!/usr/bin/env bash
# The admin status page in a real browser. The real ferry binary runs from a config file on
# loopback, in front of two python http.server backends (one has /health, the other answers
# it 404 and turns unhealthy); headless Chromium loads the admin's GET / and its DOM must show
# both pools, both backends and their states; a screenshot must be a real picture, not a blank
# one. Ends with "N passed, N failed"; a few seconds.
#   tests/browser/status_page.sh [FERRY]    FERRY defaults to build/ferry (the unit stage's build)
#   FERRY_SCREENSHOT=FILE                   also keep the screenshot there
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
ferry="${1:-$root/build/ferry}"
passed=0
failed=0

pass() { echo "ok: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
summary() { echo "$passed passed, $failed failed"; }

if ! command -v chromium >/dev/null; then
  fail "chromium is not installed (scripts/install-deps.sh installs it)"
  summary
  exit 1
fi
if [[ ! -x $ferry ]]; then
  fail "no ferry binary at $ferry (build it first: the unit stage does)"
  summary
  exit 1
fi

tmp="$(mktemp -d)"
pids=()
cleanup() {
  # Only what this script started, by pid.
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

# N 127.0.0.1 ports that were free a moment ago (bound together, so all different).
free_ports() {
  python3 -c 'import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))' "$1"
}

# Polls `$@` every 100ms for up to 10 s.
wait_for() {
  for _ in $(seq 1 100); do
    "$@" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

read -r listen_port admin_port good_port bad_port <<<"$(free_ports 4)"
for name in good bad; do
  mkdir -p "$tmp/$name"
  echo "hello from $name" >"$tmp/$name/index.html"
done
echo ok >"$tmp/good/health"  # only "good" answers GET /health with 200
python3 -m http.server "$good_port" --bind 127.0.0.1 --directory "$tmp/good" >"$tmp/good.log" 2>&1 &
pids+=($!)
python3 -m http.server "$bad_port" --bind 127.0.0.1 --directory "$tmp/bad" >"$tmp/bad.log" 2>&1 &
pids+=($!)
good="127.0.0.1:$good_port"
bad="127.0.0.1:$bad_port"

cat >"$tmp/ferry.yaml" <<YAML
listen: "127.0.0.1:$listen_port"
workers: 1
admin: "127.0.0.1:$admin_port"
pools:
  web:
    backends: ["$good", "$bad"]
    health_check: {path: /health, interval: 200ms, timeout: 150ms, healthy_threshold: 1, unhealthy_threshold: 1}
  api:
    backends: ["$good"]
routes:
  - name: api
    match: {path: "/api/*"}
    forward: api
    strip_prefix: /api
  - name: site
    forward: web
YAML

wait_for curl -fsS -o /dev/null "http://$good/health" || fail "backend $good did not start"
"$ferry" -c "$tmp/ferry.yaml" 2>"$tmp/ferry.log" &
pids+=($!)
admin="http://127.0.0.1:$admin_port"
backends_say() { curl -fsS "$admin/backends" 2>/dev/null | grep -q "$1"; }
if wait_for backends_say '"state": "unhealthy"'; then
  pass "ferry started and its checks marked $bad unhealthy"
else
  fail "ferry did not mark $bad unhealthy; its log:"
  cat "$tmp/ferry.log"
fi
for path in / / / / /api/; do curl -sS -o /dev/null "http://127.0.0.1:$listen_port$path" || true; done

# Chromium as root needs --no-sandbox; a profile of its own keeps it from any other run's. The proxy setting sends anything not on loopback (which
# Chromium never proxies) to a closed port, so the browser reaches nothing but ferry.
browser=(timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run
  --disable-background-networking --disable-component-update --disable-sync --hide-scrollbars
  --proxy-server=127.0.0.1:9 --user-data-dir="$tmp/profile")

# One run for both: loading the page twice would double the test's time.
if "${browser[@]}" --dump-dom --screenshot="$tmp/shot.png" --window-size=1280,900 "$admin/" \
    >"$tmp/dom.html" 2>"$tmp/chromium.log"; then
  pass "chromium loaded $admin/"
else
  fail "chromium failed; its log:"
  tail -20 "$tmp/chromium.log"
fi

# Each backend row as "pool address state", from the DOM Chromium built.
python3 - "$tmp/dom.html" >"$tmp/rows.txt" <<'PY'
import sys
from html.parser import HTMLParser

class Rows(HTMLParser):
    def __init__(self):
        super().__init__()
        self.pool = None
        self.in_h2 = False
        self.cells = None
        self.text = ""
        self.depth_td = 0

    def handle_starttag(self, tag, attrs):
        if tag == "h2":
            self.in_h2, self.text = True, ""
        elif tag == "tr" and dict(attrs).get("data-state"):
            self.cells = []
        elif tag == "td" and self.cells is not None:
            self.depth_td, self.text = 1, ""

    def handle_endtag(self, tag):
        if tag == "h2" and self.in_h2:
            self.in_h2 = False
            self.pool = self.text.strip()
        elif tag == "td" and self.cells is not None:
            self.cells.append(self.text.strip())
        elif tag == "tr" and self.cells is not None:
            print(self.pool, self.cells[0], self.cells[2])
            self.cells = None

    def handle_data(self, data):
        self.text += data

Rows().feed(open(sys.argv[1]).read())
PY
expect_row() {
  if grep -qxF "$1" "$tmp/rows.txt"; then pass "the page shows: $1"; else fail "the page does not show: $1"; fi
}
expect_row "Pool web $good healthy"
expect_row "Pool web $bad unhealthy"
expect_row "Pool api $good healthy"
if [[ $(wc -l <"$tmp/rows.txt") -eq 3 ]]; then pass "three backend rows"; else fail "rows: $(cat "$tmp/rows.txt")"; fi
if grep -q 'GET /health answered 404' "$tmp/dom.html"; then
  pass "the failing check's result is on the page"
else
  fail "no 'GET /health answered 404' on the page"
fi

# A real picture: a 1280x900 PNG, and its pixels are not one colour (a blank page would be).
if python3 - "$tmp/shot.png" <<'PY'
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
width, height = struct.unpack(">II", data[16:24])
assert (width, height) == (1280, 900), f"{width}x{height}"
assert len(data) > 20_000, f"only {len(data)} bytes"
idat, pos = b"", 8
while pos < len(data):
    length, kind = struct.unpack(">I4s", data[pos:pos + 8])
    if kind == b"IDAT":
        idat += data[pos + 8:pos + 8 + length]
    pos += 12 + length
raw = zlib.decompress(idat)
stride = len(raw) // height
# Rows (filter byte dropped) that differ from the most common one: text, tables, colours.
rows = [raw[y * stride + 1:(y + 1) * stride] for y in range(height)]
common = max(set(rows), key=rows.count)
varied = sum(1 for r in rows if r != common)
assert varied > height // 4, f"only {varied} of {height} rows differ: blank?"
print(f"{width}x{height}, {len(data)} bytes, {varied} varied rows")
PY
then
  pass "the screenshot is a real 1280x900 picture"
else
  fail "the screenshot is missing, small or blank"
fi
[[ -n ${FERRY_SCREENSHOT:-} && -f $tmp/shot.png ]] && cp "$tmp/shot.png" "$FERRY_SCREENSHOT"

summary
[[ $failed -eq 0 ]]
