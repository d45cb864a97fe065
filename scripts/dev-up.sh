#!/usr/bin/env bash
# README command 1: ferry on 127.0.0.1:8888 in front of two dev backends (the seed's Flask app
# under gunicorn on 127.0.0.1:8001 and :8002). Installs and builds what is missing, runs in the
# foreground; Ctrl-C stops ferry and both backends.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

"$root/scripts/install-deps.sh"

if [[ ! -x build/ferry ]] || [[ -n "$(find proxy config balancer health CMakeLists.txt -newer build/ferry -print -quit)" ]]; then
  echo "dev-up: building ferry (Release)"
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DFERRY_TESTS=OFF -DFERRY_BENCH=OFF >/dev/null
  cmake --build build --target ferry -j"$(nproc)"
fi

for port in 8001 8002 8888 9901; do
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
          curl localhost:9901/metrics      (Prometheus)
dev-up: Ctrl-C stops everything.
MSG
build/ferry -c deploy/dev/ferry.dev.yaml &
pids+=($!)
wait "${pids[-1]}"
