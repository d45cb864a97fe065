#!/usr/bin/env bash
# tests/deploy/run.sh: every test of deploy/, offline. Ends with the line "N passed, N failed"
# and exits non-zero when anything failed.
#
#   static     bash -n and shellcheck of every script, one AWS wrapper, ferry.yaml vs settings
#   userdata   the user-data scripts run into a scratch root (stubbed apt-get/systemctl), units
#              verified, the installed app started on loopback and asked / and /health
#   moto.*     deploy/ferry-aws with Debian's AWS CLI against local moto servers (four lanes in
#              parallel, a server each: --ha, one ferry instance in two, --domain), never against AWS
#   e2e.*      netns_e2e.sh: the seed layout in network namespaces with the real build/ferry
#
# Environment: FERRY_TEST_NO_FORKSERVER=1 runs /usr/bin/aws afresh for every call (slower);
# FERRY_TEST_UPDATE_GOLDEN=1 rewrites golden/*; FERRY_TEST_KEEP_LOGS=1 keeps the logs.
# Network: AWS calls go to 127.0.0.1 only (proxy variables point at a dead loopback port, so a
# call that missed the endpoint fails at once); e2e traffic stays inside its namespaces.
set -uo pipefail
TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$TESTS_DIR/../.." && pwd)
export TESTS_DIR REPO

ROOT_TMP=$(mktemp -d "${TMPDIR:-/tmp}/ferry-deploy-tests.XXXXXX")
export FERRY_TEST_LOGS=$ROOT_TMP/logs
mkdir -p "$FERRY_TEST_LOGS"
STARTED=()
cleanup() {
  local pid _
  any_alive() {
    local p
    for p in "${STARTED[@]}"; do kill -0 "$p" 2>/dev/null && return 0; done
    return 1
  }
  # moto's server stops on SIGINT (not SIGTERM); anything still there after 5s is killed.
  for pid in "${STARTED[@]}"; do kill -INT "$pid" 2>/dev/null; done
  for _ in $(seq 1 50); do
    any_alive || break
    sleep 0.1
  done
  for pid in "${STARTED[@]}"; do kill -KILL "$pid" 2>/dev/null; done
  for pid in "${STARTED[@]}"; do wait "$pid" 2>/dev/null; done
  if [[ ${FERRY_TEST_KEEP_LOGS:-0} == 1 || ${FAILED:-0} != 0 ]]; then
    echo "logs: $FERRY_TEST_LOGS" >&2
    find "$ROOT_TMP" -mindepth 1 -maxdepth 1 ! -name logs -exec rm -rf {} +
  else
    rm -rf "$ROOT_TMP"
  fi
}
trap cleanup EXIT
export TMPDIR=$ROOT_TMP

RESULTS=$ROOT_TMP/results
mkdir -p "$RESULTS"
note() { printf '%s\n' "$*" >>"$RESULTS/00-prereq"; }
start_time=$SECONDS

# --- the offline AWS environment ------------------------------------------------------------
# Fake credentials, no config files, no instance metadata, proxies that lead nowhere except
# for loopback: whatever escapes --endpoint-url fails instead of reaching AWS.
unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN AWS_SECURITY_TOKEN AWS_ROLE_ARN \
  AWS_WEB_IDENTITY_TOKEN_FILE AWS_CONTAINER_CREDENTIALS_RELATIVE_URI AWS_CONTAINER_CREDENTIALS_FULL_URI \
  AWS_ENDPOINT_URL AWS_CA_BUNDLE
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true
export AWS_MAX_ATTEMPTS=1 AWS_RETRY_MODE=standard AWS_PAGER=""
export HTTPS_PROXY=http://127.0.0.1:9 HTTP_PROXY=http://127.0.0.1:9 https_proxy=http://127.0.0.1:9 http_proxy=http://127.0.0.1:9
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
export FERRY_AWS_CLI=$TESTS_DIR/bin/aws-logged FERRY_TEST_REAL_AWS=/usr/bin/aws
export FERRY_POLL_SECONDS=0.1 FERRY_WAIT_TIMEOUT=30 FERRY_READY_TIMEOUT=30
FERRY_TEST_RUNNER_PGID=$(ps -o pgid= -p $$ | tr -d ' ')
export FERRY_TEST_RUNNER_PGID
# The binary `up` publishes: a small stand-in (the moto cases never run it).
printf '#!/bin/sh\necho "config OK"\n' >"$ROOT_TMP/ferry-artifact"
chmod +x "$ROOT_TMP/ferry-artifact"
export FERRY_BINARY=$ROOT_TMP/ferry-artifact

# --- moto ---------------------------------------------------------------------------------
moto_ok=1
if [[ ! -x /usr/bin/aws ]]; then
  moto_ok=0
  note "SKIP moto: /usr/bin/aws (Debian's awscli v2) is not installed; scripts/install-deps.sh installs it"
elif ! command -v jq >/dev/null; then
  moto_ok=0
  note "SKIP moto: jq is not installed (apt-get install jq)"
elif ! python3 -c 'import moto.server, boto3' 2>/dev/null; then
  moto_ok=0
  note "SKIP moto: python3 ($(command -v python3)) has no moto server (pip install 'moto[server]'; PyPI is not reachable here)"
fi

port_of_free() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
MOTO_EP=""
start_moto() { # LANE: sets MOTO_EP (not in a subshell: STARTED must keep the pid for cleanup)
  local lane=$1 port
  port=$(port_of_free)
  env MOTO_IAM_LOAD_MANAGED_POLICIES=true MOTO_AMIS_PATH="$TESTS_DIR/moto-amis.json" MOTO_ACM_VALIDATION_WAIT=1 \
    MOTO_ENABLE_AMI_VALIDATION=true MOTO_EC2_ENABLE_INSTANCE_TYPE_VALIDATION=true \
    python3 -m moto.server -H 127.0.0.1 -p "$port" >"$FERRY_TEST_LOGS/moto-$lane.log" 2>&1 &
  STARTED+=("$!")
  MOTO_EP="http://127.0.0.1:$port"
}
MOTO_LANES=(ha single single-errors domain) # one moto server each (cases_moto.sh LANE)
declare -A EP=()
if ((moto_ok)); then
  for l in "${MOTO_LANES[@]}"; do
    start_moto "$l"
    EP[$l]=$MOTO_EP
  done
  if [[ ${FERRY_TEST_NO_FORKSERVER:-0} != 1 ]]; then
    export FERRY_TEST_AWS_SOCKET=$ROOT_TMP/awsfs.sock
    "$(head -n 1 /usr/bin/aws | sed 's/^#! *//; s/ .*//')" "$TESTS_DIR/bin/awsfs.py" serve "$FERRY_TEST_AWS_SOCKET" /usr/bin/aws \
      >"$FERRY_TEST_LOGS/awsfs.log" 2>&1 &
    STARTED+=("$!")
  fi
  for ep in "${EP[@]}"; do
    for _ in $(seq 1 100); do
      curl -s --noproxy '*' -o /dev/null --max-time 1 "$ep/moto-api/" && break
      sleep 0.2
    done
  done
  for _ in $(seq 1 50); do [[ -z ${FERRY_TEST_AWS_SOCKET:-} || -S $FERRY_TEST_AWS_SOCKET ]] && break; sleep 0.1; done
fi

# --- the lanes, in parallel -----------------------------------------------------------------
lane() { # NAME TIMEOUT COMMAND...: output to results/NAME
  local name=$1 limit=$2
  shift 2
  (
    began=$SECONDS
    timeout --kill-after=10 "$limit" "$@" >"$RESULTS/$name" 2>"$FERRY_TEST_LOGS/lane-$name.err"
    rc=$?
    if ((rc == 124 || rc == 137)); then echo "FAIL lane.$name: timed out after ${limit}s" >>"$RESULTS/$name"; fi
    echo "$name $((SECONDS - began))s" >>"$ROOT_TMP/lane-times"
  ) &
  LANES+=("$!")
}
LANES=()
lane static 600 bash "$TESTS_DIR/cases_static.sh"
lane userdata 600 bash "$TESTS_DIR/cases_userdata.sh"
if ((moto_ok)); then
  for l in "${MOTO_LANES[@]}"; do
    lane "moto-$l" 900 env FERRY_AWS_ENDPOINT_URL="${EP[$l]}" bash "$TESTS_DIR/cases_moto.sh" "$l"
  done
fi
for pid in "${LANES[@]}"; do wait "$pid"; done
# The namespace test last, on a quieter machine: its checks are about timing.
if [[ -x $REPO/build/ferry ]]; then e2e_limit=240; else e2e_limit=1500; fi # it may have to build ferry
lane e2e "$e2e_limit" bash "$TESTS_DIR/netns_e2e.sh"
wait "${LANES[-1]}"

# --- the tally --------------------------------------------------------------------------------
cat "$RESULTS"/* | grep -E '^(PASS|FAIL|SKIP) ' >"$ROOT_TMP/all" || true
grep '^SKIP ' "$ROOT_TMP/all" || true
grep '^FAIL ' "$ROOT_TMP/all" || true
PASSED=$(grep -c '^PASS ' "$ROOT_TMP/all" || true)
FAILED=$(grep -c '^FAIL ' "$ROOT_TMP/all" || true)
if [[ ${FERRY_TEST_VERBOSE:-0} == 1 ]]; then grep '^PASS ' "$ROOT_TMP/all"; fi
echo "tests/deploy: $((SECONDS - start_time))s (lanes: $(sort "$ROOT_TMP/lane-times" 2>/dev/null | paste -sd, - | sed 's/,/, /g'); load average now $(cut -d' ' -f1-3 /proc/loadavg))"
echo "$PASSED passed, $FAILED failed"
((FAILED == 0))
