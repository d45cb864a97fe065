#!/usr/bin/env bash
# Installs every Debian package ferry needs to build, run its dev backends, test and
# benchmark. Idempotent: a second run installs nothing new. Needs root (apt-get).
set -euo pipefail

packages=(
  # build
  build-essential cmake pkg-config
  libuv1-dev libssl-dev node-llhttp libyaml-cpp-dev prometheus-cpp-dev libxxhash-dev libgtest-dev libgmock-dev libbenchmark-dev libnghttp2-dev liburing-dev
  libcurl4-openssl-dev nlohmann-json3-dev
  # dev backends (the seed's Flask app under gunicorn with a keep-alive worker)
  python3 python3-flask gunicorn python3-gevent
  # tests: real clients and peers (chromium: the status page in a real browser; systemd:
  # systemd-socket-activate, for socket activation)
  curl openssl testssl.sh nginx haproxy prometheus iproute2 procps chromium systemd
  # HTTP/2 and gRPC clients and peers (nghttp, h2load; frame-level tests; a gRPC server)
  nghttp2-client python3-h2 python3-grpcio
  # ACME tests: a local test CA and its DNS/challenge helper
  pebble
  # deploy tests
  awscli shellcheck jq
  # bench (strace: bench/profile.sh's system-call counts)
  wrk gnuplot-nox valgrind strace
  # hardening: libFuzzer and sanitizers
  clang libclang-rt-14-dev
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: missing packages: ${missing[*]}" >&2
  echo "install-deps: run as root (or: sudo $0) to install them" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
