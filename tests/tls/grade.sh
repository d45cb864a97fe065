#!/usr/bin/env bash
# Grades ferry's TLS listener (the intermediate policy) with testssl.sh, over loopback only:
# a private CA and a localhost certificate made here, a small backend that answers like an
# application would, ferry in front of it, and testssl.sh pointed at 127.0.0.1 with no DNS
# lookups (--nodns none --ip 127.0.0.1). Fails on any finding of severity MEDIUM or worse.
#   tests/tls/grade.sh [FERRY_BINARY]     (default build/ferry)
# Ends with "N passed, N failed". Stops only the processes it started, by pid.
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
ferry="${1:-$root/build/ferry}"
passed=0
failed=0
ok() { echo "ok   - $*"; passed=$((passed + 1)); }
not_ok() { echo "FAIL - $*"; failed=$((failed + 1)); }
finish() {
  echo "$passed passed, $failed failed"
  [[ $failed -eq 0 ]]
  exit
}

for tool in testssl openssl python3 curl; do
  command -v "$tool" >/dev/null || { not_ok "$tool is not installed (scripts/install-deps.sh)"; finish; }
done
[[ -x $ferry ]] || { not_ok "no ferry binary at $ferry (build first)"; finish; }

work="$(mktemp -d /tmp/ferry-tls-grade.XXXXXX)"
pids=()
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# What a public certificate carries, so the grade is about ferry and not about a test
# certificate: a CA-signed leaf for localhost, server-auth only, a CRL distribution point (never
# fetched: testssl.sh does not phone out), 200 days of validity (under 398, over 60).
(
  cd "$work" &&
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 400 \
      -subj /CN=ferry-grade-ca -keyout ca.key -out ca.pem &&
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost \
      -keyout localhost.key -out localhost.csr &&
    printf '%s\n' 'subjectAltName=DNS:localhost' 'basicConstraints=critical,CA:FALSE' \
      'keyUsage=critical,digitalSignature' 'extendedKeyUsage=serverAuth' \
      'crlDistributionPoints=URI:http://localhost/ferry-grade-ca.crl' >leaf.ext &&
    openssl x509 -req -in localhost.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 200 \
      -extfile leaf.ext -out localhost.pem
) >"$work/openssl.log" 2>&1 || { cat "$work/openssl.log"; not_ok "could not make the test certificate"; finish; }

# The application: 200 with the headers a careful application sets itself (testssl.sh grades
# those too; they are the application's to send, not the proxy's).
backend_port="$(free_port)"
cat >"$work/backend.py" <<'PY'
import http.server, sys
class App(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        body = b"graded\n"
        self.send_response(200)
        for name, value in (("Content-Type", "text/plain"), ("Content-Length", str(len(body))),
                            ("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY"),
                            ("Content-Security-Policy", "default-src 'none'"),
                            ("Referrer-Policy", "no-referrer"), ("Cache-Control", "no-store")):
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)
    do_HEAD = do_GET
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), App).serve_forever()
PY
python3 "$work/backend.py" "$backend_port" &
pids+=($!)

port="$(free_port)"
cat >"$work/ferry.yaml" <<YAML
listeners:
  - address: "127.0.0.1:$port"
    tls:
      certificates:
        - cert: $work/localhost.pem
          key: $work/localhost.key
      policy: intermediate
    hsts: 8760h
backends: ["127.0.0.1:$backend_port"]
YAML
"$ferry" -c "$work/ferry.yaml" 2>"$work/ferry.log" &
pids+=($!)

up=0
for _ in $(seq 1 100); do
  if curl -sf --max-time 2 --cacert "$work/ca.pem" --resolve "localhost:$port:127.0.0.1" \
    "https://localhost:$port/" -o /dev/null; then
    up=1
    break
  fi
  sleep 0.1
done
if [[ $up -eq 1 ]]; then
  ok "ferry serves https://localhost:$port/ with the test CA"
else
  cat "$work/ferry.log"
  not_ok "ferry did not serve HTTPS on 127.0.0.1:$port"
  finish
fi

# Protocols, cipher categories, server defaults (certificate), cipher order, forward secrecy,
# the vulnerability checks and the HTTP headers. The client simulation (-c) is left out: it
# takes minutes and grades nothing the protocol and cipher checks do not.
start=$SECONDS
timeout 900 testssl --quiet --color 0 --warnings batch --nodns none --ip 127.0.0.1 \
  --add-ca "$work/ca.pem" --jsonfile "$work/grade.json" -p -s -S -P -f -U -h \
  "localhost:$port" >"$work/testssl.txt" 2>&1
rc=$?
echo "(testssl.sh: $((SECONDS - start))s, exit $rc)"
if [[ ! -s $work/grade.json ]]; then
  tail -40 "$work/testssl.txt"
  not_ok "testssl.sh wrote no findings (exit $rc)"
  finish
fi

python3 - "$work/grade.json" <<'PY' >"$work/verdict.txt"
import json, sys
findings = json.load(open(sys.argv[1]))
order = {"OK": 0, "INFO": 0, "LOW": 1, "MEDIUM": 2, "HIGH": 3, "CRITICAL": 4}
bad = [f for f in findings if order.get(f.get("severity"), 0) >= 2]
problems = [f for f in findings if f.get("severity") in ("FATAL",) or f.get("id") == "scanProblem"]
low = [f for f in findings if f.get("severity") == "LOW"]
by_id = {f["id"]: f for f in findings}
print(f"findings {len(findings)}")
for f in bad + problems:
    print(f"bad {f['severity']} {f['id']}: {f['finding']}")
for f in low:
    print(f"low {f['id']}: {f['finding']}")
for key in ("SSLv2", "SSLv3", "TLS1", "TLS1_1", "TLS1_2", "TLS1_3", "cipher_order"):
    if key in by_id:
        print(f"seen {key}: {by_id[key]['finding']}")
for f in findings:
    if f["id"].startswith("HSTS"):
        print(f"seen {f['id']}: {f['finding']}")
PY
cat "$work/verdict.txt"
if [[ $(grep -c '^findings ' "$work/verdict.txt") -ne 1 ]]; then
  not_ok "could not read testssl.sh's findings"
elif grep -q '^bad ' "$work/verdict.txt"; then
  not_ok "testssl.sh: findings of severity MEDIUM or worse (listed above)"
else
  ok "testssl.sh: no finding of severity MEDIUM or worse for the intermediate policy"
fi
# The protocol lines, checked by name too, so a renamed or missing check cannot pass silently.
seen() { grep -q "^seen $1: $2" "$work/verdict.txt"; }
if seen TLS1 "not offered" && seen TLS1_1 "not offered"; then
  ok "TLS 1.0 and 1.1 not offered"
else
  not_ok "TLS 1.0/1.1: $(grep -E '^seen TLS1(_1)?:' "$work/verdict.txt" | tr '\n' ' ')"
fi
if seen TLS1_2 "offered" && seen TLS1_3 "offered"; then
  ok "TLS 1.2 and 1.3 offered"
else
  not_ok "TLS 1.2/1.3: $(grep -E '^seen TLS1_[23]:' "$work/verdict.txt" | tr '\n' ' ')"
fi
if seen 'HSTS[_a-z]*' "365 days"; then
  ok "HSTS seen (365 days)"
else
  not_ok "HSTS: $(grep '^seen HSTS' "$work/verdict.txt")"
fi
finish
