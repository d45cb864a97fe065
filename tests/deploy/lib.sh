# shellcheck shell=bash
# Helpers shared by the tests/deploy case scripts. Every case prints one line:
#   PASS NAME | FAIL NAME: WHY | SKIP NAME: WHY
# and run.sh counts them.

TESTS_DIR=${TESTS_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}
REPO=${REPO:-$(cd "$TESTS_DIR/../.." && pwd)}
LOGS=${FERRY_TEST_LOGS:-${TMPDIR:-/tmp}/ferry-deploy-logs}
mkdir -p "$LOGS"

pass() { echo "PASS $1"; }
fail() {
  local name=$1
  shift
  echo "FAIL $name: $*"
}
skip() {
  local name=$1
  shift
  echo "SKIP $name: $*"
}

# check NAME CONDITION-COMMAND... : PASS when the command succeeds, else FAIL with $WHY.
WHY=""
check() {
  local check_name__=$1 # (a name no condition uses)
  shift
  if "$@"; then pass "$check_name__"; else fail "$check_name__" "${WHY:-$*}"; fi
  WHY=""
}

# free_port: an unused loopback TCP port.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_http URL SECONDS: until URL answers 2xx (loopback only).
wait_http() {
  local url=$1 deadline=$((SECONDS + $2))
  until curl -fsS --noproxy '*' -o /dev/null --max-time 2 "$url" 2>/dev/null; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

# --- running ferry-aws against moto ------------------------------------------------------
# fa TAG ARGS...: run deploy/ferry-aws; RC, MUT (mutating calls), CALLS (all calls); output in
# $LOGS/TAG.{out,err,calls}.
# shellcheck disable=SC2034  # read by the case scripts
RC=0 MUT=0 CALLS=0
# shellcheck disable=SC2034
fa() {
  local tag=$1 log
  shift
  log=$LOGS/$tag.calls
  : >"$log"
  : >"$log.args"
  RC=0
  FERRY_TEST_CALL_LOG=$log "$REPO/deploy/ferry-aws" "$@" >"$LOGS/$tag.out" 2>"$LOGS/$tag.err" || RC=$?
  MUT=$(grep -c '^mutating' "$log" || true)
  CALLS=$(grep -c . "$log" || true)
}
# fa_killable TAG ARGS...: the same in a process group of its own (the CLI double may kill it).
# shellcheck disable=SC2034  # RC, MUT, CALLS are read by the case scripts
fa_killable() {
  local tag=$1 log
  shift
  log=$LOGS/$tag.calls
  : >"$log"
  : >"$log.args"
  RC=0
  FERRY_TEST_CALL_LOG=$log setsid --wait "$REPO/deploy/ferry-aws" "$@" >"$LOGS/$tag.out" 2>"$LOGS/$tag.err" || RC=$?
  MUT=$(grep -c '^mutating' "$log" || true)
  CALLS=$(grep -c . "$log" || true)
}
# out_has TAG TEXT / err_has TAG TEXT: TEXT in the output, runs of spaces counting as one.
# (no pipe into grep -q: with pipefail an early exit of grep would fail the producer)
squeezed_has() {
  local text needle
  text=$(tr -s ' ' <"$1")
  needle=$(tr -s ' ' <<<"$2")
  grep -qF -- "$needle" <<<"$text"
}
out_has() { squeezed_has "$LOGS/$1.out" "$2"; }
err_has() { squeezed_has "$LOGS/$1.err" "$2"; }
tail_err() { tail -n 3 "$LOGS/$1.err" | tr '\n' ' '; }

fixture() { python3 "$TESTS_DIR/fixture.py" "$FERRY_AWS_ENDPOINT_URL" "$@"; }
