#!/usr/bin/env bash
# README command 1: ferry on 127.0.0.1:8888 in front of two dev backends (the seed's Flask app
# under gunicorn on 127.0.0.1:8001 and :8002). Installs and builds what is missing, runs in the
# foreground; Ctrl-C stops ferry and both backends.
#   scripts/dev-up.sh           plain HTTP on 127.0.0.1:8888
#   scripts/dev-up.sh --https   also HTTPS on 127.0.0.1:8443, with a certificate for localhost
#                               from a dev CA made once in build/dev-tls/ (ca.pem to trust)
#   scripts/dev-up.sh --routes  two apps by host and path, a 90/10 canary, a redirect and a
#                               fixed response (deploy/dev/ferry.dev-routes.yaml)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

config=deploy/dev/ferry.dev.yaml
ports=(8001 8002 8888 9901)
case "${1:-}" in
  "") ;;
  --https) config=deploy/dev/ferry.dev-https.yaml; ports+=(8443) ;;
  --routes) config=deploy/dev/ferry.dev-routes.yaml ;;
  *) echo "usage: scripts/dev-up.sh [--https | --routes]" >&2; exit 2 ;;
esac

"$root/scripts/install-deps.sh"

if [[ ! -x build/ferry ]] || [[ -n "$(find proxy config balancer health CMakeLists.txt -newer build/ferry -print -quit)" ]]; then
  echo "dev-up: building ferry (Release)"
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DFERRY_TESTS=OFF -DFERRY_BENCH=OFF >/dev/null
  cmake --build build --target ferry -j"$(nproc)"
fi

# A dev CA and a localhost certificate it signed (ECDSA P-256, 90 days), made once.
make_dev_certificate() {
  local dir=build/dev-tls
  if [[ -f $dir/localhost.pem && -f $dir/localhost.key ]] &&
     openssl x509 -checkend 86400 -noout -in "$dir/localhost.pem" >/dev/null; then
    return
  fi
  echo "dev-up: making a dev CA and a certificate for localhost in $dir"
  mkdir -p "$dir"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 365 \
    -subj "/CN=ferry dev CA" -keyout "$dir/ca.key" -out "$dir/ca.pem" 2>/dev/null
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost \
    -keyout "$dir/localhost.key" -out "$dir/localhost.csr" 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$dir/localhost.ext"
  openssl x509 -req -in "$dir/localhost.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial \
    -days 90 -extfile "$dir/localhost.ext" -out "$dir/localhost.pem" 2>/dev/null
  chmod 600 "$dir/ca.key" "$dir/localhost.key"
}
[[ $config == deploy/dev/ferry.dev-https.yaml ]] && make_dev_certificate

for port in "${ports[@]}"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "dev-up: 127.0.0.1:$port is already in use; stop whatever listens there first" >&2
    exit 1
  fi
done

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

for i in 1 2; do
  FERRY_INSTANCE="dev-backend-$i" /usr/bin/gunicorn --chdir "$root/deploy/app" \
    -c "$root/deploy/app/gunicorn.conf.py" -b "127.0.0.1:800$i" app:app &
  pids+=($!)
done

# Wait until both answer /health, so ferry starts with both in rotation.
for i in 1 2; do
  for _ in $(seq 1 50); do
    if curl -fsS "http://127.0.0.1:800$i/health" >/dev/null 2>&1; then break; fi
    sleep 0.2
  done
done

cat <<MSG
dev-up: backends dev-backend-1 (127.0.0.1:8001) and dev-backend-2 (127.0.0.1:8002) are up.
dev-up: ferry listens on 127.0.0.1:8888; try:
          curl -i localhost:8888/          (X-Backend alternates)
          curl localhost:9901/backends     (health and load per backend)
          http://localhost:9901/           (the status page, in a browser)
          curl localhost:9901/metrics      (Prometheus)
dev-up: Ctrl-C stops everything.
MSG
if [[ $config == deploy/dev/ferry.dev-routes.yaml ]]; then
  echo "dev-up: routes: curl -H 'Host: api.localhost' localhost:8888/ ; curl localhost:8888/api/health ;"
  echo "dev-up:         curl localhost:8888/canary ; curl -i localhost:8888/home ; curl -i localhost:8888/maintenance"
fi
if [[ $config == deploy/dev/ferry.dev-https.yaml ]]; then
  echo "dev-up: and HTTPS on 127.0.0.1:8443:  curl -i --cacert build/dev-tls/ca.pem https://localhost:8443/"
fi
build/ferry -c "$config" &
ferry_pid=$!
pids+=("$ferry_pid")
wait "$ferry_pid" || true
# After a SIGUSR2 upgrade the process that serves is a new one (no longer our child): follow it
# by the pid /healthz names, so Ctrl-C and the backends' lifetime still go with ferry.
while next=$(curl -fsS --max-time 2 http://127.0.0.1:9901/healthz 2>/dev/null |
  sed -n 's/.*"pid": *\([0-9][0-9]*\).*/\1/p') && [[ -n $next && $next != "$ferry_pid" ]]; do
  echo "dev-up: ferry was upgraded; pid $next serves now"
  ferry_pid=$next
  pids+=("$ferry_pid")
  while kill -0 "$ferry_pid" 2>/dev/null; do sleep 0.5; done
done
