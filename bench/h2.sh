#!/usr/bin/env bash
# HTTP/2 side by side: h2load against ferry, nginx and HAProxy, each in front of the same nginx
# backend pair over HTTP/1.1, in two modes: h2c (prior knowledge on a plain port) and h2 over
# TLS (ALPN). 100 streams in flight over 10 connections (-c 10 -m 10), short rounds in rotated
# order, so the host's swings hit every proxy alike; per round: req/s, the proxy's CPU per
# request (utime+stime of its process over the round), and p99 latency from h2load's log.
# Reports the medians and the interquartile range of the per-round ratios against ferry.
#
#   bench/h2.sh [--rounds N] [--seconds S] [--pin] [--out DIR]
#
# --pin: the proxy alone on CPU 0, h2load and the backends on the rest (taskset). Needs
# build/ferry, nginx, haproxy, h2load (nghttp2-client). Loopback only; every process started
# here is stopped by its pid.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
rounds=10 seconds=3 pin=0 out=""
while (($#)); do
  case "$1" in
    --rounds) rounds="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --pin) pin=1; shift ;;
    --out) out="$2"; shift 2 ;;
    *) echo "usage: bench/h2.sh [--rounds N] [--seconds S] [--pin] [--out DIR]" >&2; exit 2 ;;
  esac
done
ferry_bin="$root/build/ferry"
[[ -x $ferry_bin ]] || { echo "bench/h2.sh: build ferry first (cmake --build build)" >&2; exit 1; }
run="$(mktemp -d /tmp/ferry-h2-bench.XXXXXX)"
out="${out:-$run}"
mkdir -p "$out"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

proxy_wrap=() load_wrap=()
if ((pin)); then
  proxy_wrap=(taskset -c 0)
  load_wrap=(taskset -c "1-$(($(nproc) - 1))")
fi
pa=19101 pb=19102 port_plain=19110 port_tls=19111
user_line=""
[[ $(id -u) -eq 0 ]] && user_line="user root root;"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$run/key.pem" -out "$run/cert.pem" \
  -days 2 -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 2>/dev/null
cat "$run/cert.pem" "$run/key.pem" >"$run/certkey.pem"

cat >"$run/backend.conf" <<CONF
$user_line
worker_processes 1; daemon off; pid $run/backend.pid; error_log $run/backend-error.log warn;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000; keepalive_timeout 75s;
  client_body_temp_path $run/b1; proxy_temp_path $run/b2; fastcgi_temp_path $run/b3; uwsgi_temp_path $run/b4; scgi_temp_path $run/b5;
  server { listen 127.0.0.1:$pa; listen 127.0.0.1:$pb;
    location = / { default_type text/html; return 200 "<p>This is index page!</p>\n"; } } }
CONF
cat >"$run/ferry.yaml" <<CONF
workers: 1
admin: "off"
listeners:
  - address: "127.0.0.1:$port_plain"
    protocols: [h2, http/1.1]
  - address: "127.0.0.1:$port_tls"
    protocols: [h2, http/1.1]
    tls:
      certificates: [{cert: "$run/cert.pem", key: "$run/key.pem"}]
backends: ["127.0.0.1:$pa", "127.0.0.1:$pb"]
CONF
cat >"$run/nginx.conf" <<CONF
$user_line
worker_processes 1; daemon off; pid $run/nginx.pid; error_log $run/nginx-error.log warn;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000; keepalive_timeout 75s;
  client_body_temp_path $run/n1; proxy_temp_path $run/n2; fastcgi_temp_path $run/n3; uwsgi_temp_path $run/n4; scgi_temp_path $run/n5;
  upstream pair { server 127.0.0.1:$pa; server 127.0.0.1:$pb; keepalive 64; }
  server { listen 127.0.0.1:$port_plain http2; listen 127.0.0.1:$port_tls ssl http2;
    ssl_certificate $run/cert.pem; ssl_certificate_key $run/key.pem; http2_max_concurrent_streams 128;
    location / { proxy_pass http://pair; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_set_header Host \$host; proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for; } } }
CONF
cat >"$run/haproxy.cfg" <<CONF
global
    nbthread 1
defaults
    mode http
    option http-keep-alive
    option forwardfor
    timeout connect 3s
    timeout client 60s
    timeout server 60s
frontend plain
    bind 127.0.0.1:$port_plain proto h2
    bind 127.0.0.1:$port_tls ssl crt $run/certkey.pem alpn h2,http/1.1
    default_backend pair
backend pair
    balance roundrobin
    http-reuse safe
    server a 127.0.0.1:$pa
    server b 127.0.0.1:$pb
CONF

"${load_wrap[@]}" nginx -c "$run/backend.conf" -p "$run" & pids+=($!)
sleep 0.5

start_target() {
  case "$1" in
    ferry) "${proxy_wrap[@]}" "$ferry_bin" -c "$run/ferry.yaml" 2>"$run/ferry.log" & ;;
    nginx) "${proxy_wrap[@]}" nginx -c "$run/nginx.conf" -p "$run" & ;;
    haproxy) "${proxy_wrap[@]}" haproxy -f "$run/haproxy.cfg" -db & ;;
  esac
  target_pid=$!
  for _ in $(seq 1 50); do
    curl -sf --http2-prior-knowledge "http://127.0.0.1:$port_plain/" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "bench/h2.sh: $1 did not start" >&2
  return 1
}
stop_target() {
  kill "$target_pid" 2>/dev/null || true
  wait "$target_pid" 2>/dev/null || true
  # nginx's workers are its children: wait for the port to be free.
  for _ in $(seq 1 50); do
    curl -s -o /dev/null --max-time 0.2 "http://127.0.0.1:$port_plain/" 2>/dev/null || return 0
    sleep 0.1
  done
}
# CPU seconds (user + system) of a process and its children so far.
cpu_of() {
  local total=0 p
  for p in $1 $(pgrep -P "$1" 2>/dev/null || true); do
    total=$(awk -v t="$total" '{ printf "%.4f", t + ($14 + $15) / 100 }' "/proc/$p/stat" 2>/dev/null || echo "$total")
  done
  echo "$total"
}

results="$out/rounds.tsv"
echo -e "round\tmode\ttarget\treq_per_s\tcpu_us_per_req\tp99_ms" >"$results"
targets=(ferry nginx haproxy)
for ((r = 0; r < rounds; r++)); do
  for mode in h2c h2tls; do
    url="http://127.0.0.1:$port_plain/"
    [[ $mode == h2tls ]] && url="https://127.0.0.1:$port_tls/"
    for ((i = 0; i < ${#targets[@]}; i++)); do
      t="${targets[$(((i + r) % ${#targets[@]}))]}"
      start_target "$t"
      "${load_wrap[@]}" h2load -c 10 -m 10 -D 1 "$url" >/dev/null 2>&1 || true  # warm-up
      before="$(cpu_of "$target_pid")"
      log="$run/h2load-$t.log"
      "${load_wrap[@]}" h2load -c 10 -m 10 -D "$seconds" --log-file="$log" "$url" >"$run/h2load-$t.out" 2>&1 || true
      after="$(cpu_of "$target_pid")"
      stop_target
      rps="$(sed -n 's/.*finished in [0-9.]*s, \([0-9.]*\) req\/s.*/\1/p' "$run/h2load-$t.out")"
      ok="$(sed -n 's/^requests: .* \([0-9]*\) succeeded.*/\1/p' "$run/h2load-$t.out")"
      p99="$(awk -F'\t' '{print $3}' "$log" | sort -n | awk '{a[NR]=$1} END {if (NR) printf "%.3f", a[int(NR*0.99)]/1000; else print "nan"}')"
      cpu="$(awk -v a="$after" -v b="$before" -v n="${ok:-0}" 'BEGIN { if (n > 0) printf "%.2f", (a - b) * 1e6 / n; else print "nan" }')"
      echo -e "$r\t$mode\t$t\t${rps:-0}\t$cpu\t$p99" >>"$results"
      echo "round $r $mode $t: ${rps:-0} req/s, $cpu us CPU/req, p99 $p99 ms (${ok:-0} ok)"
    done
  done
done

/usr/bin/python3 - "$results" "$pin" "$(uptime)" >"$out/report.md" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
def q(v):
    v = sorted(v)
    if not v: return (float("nan"),) * 3
    return statistics.median(v), v[len(v) // 4], v[(3 * len(v)) // 4]
print(f"# HTTP/2: h2load -c 10 -m 10 (100 streams over 10 connections), {'pinned' if sys.argv[2] == '1' else 'unpinned'}\n")
print(f"Load at the end: {sys.argv[3].strip()}\n")
print("| mode | ferry ÷ nginx req/s | ferry ÷ HAProxy req/s | ferry CPU/req ÷ nginx | ÷ HAProxy | p99 ms ferry / nginx / HAProxy | req/s ferry / nginx / HAProxy |")
print("| --- | --- | --- | --- | --- | --- | --- |")
for mode in ("h2c", "h2tls"):
    by = {}
    for r in rows:
        if r["mode"] == mode: by.setdefault(r["round"], {})[r["target"]] = r
    ratio = lambda key, other: [float(v["ferry"][key]) / float(v[other][key]) for v in by.values()
                                if "ferry" in v and other in v and float(v[other][key] or 0) > 0]
    med = lambda t, key: statistics.median([float(v[t][key]) for v in by.values() if t in v])
    cells = []
    for key, other in (("req_per_s", "nginx"), ("req_per_s", "haproxy"), ("cpu_us_per_req", "nginx"), ("cpu_us_per_req", "haproxy")):
        m, lo, hi = q(ratio(key, other))
        cells.append(f"{m:.2f} (IQR {lo:.2f}-{hi:.2f})")
    p99 = " / ".join(f"{med(t, 'p99_ms'):.2f}" for t in ("ferry", "nginx", "haproxy"))
    rps = " / ".join(f"{med(t, 'req_per_s'):.0f}" for t in ("ferry", "nginx", "haproxy"))
    print(f"| {mode} | " + " | ".join(cells) + f" | {p99} | {rps} |")
print(f"\n{len({r['round'] for r in rows})} rounds; ratios are medians of per-round ratios.")
PY
cat "$out/report.md"
