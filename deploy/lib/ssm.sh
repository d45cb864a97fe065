# shellcheck shell=bash
# Commands on the instances through SSM run-command: readiness after `up` (ssm_check), and the
# sending and awaiting that it shares with `drain` and `ready` (lib/control.sh).

# ssm_send PATIENCE COMMENT SCRIPT IDS...: one AWS-RunShellScript run-command of SCRIPT on the
# instances; sets SSM_COMMAND_ID. Instances SSM does not know yet (InvalidInstanceId: not
# registered) are waited for up to PATIENCE seconds; past that the status is 100.
SSM_COMMAND_ID=""
ssm_send() {
  local patience=$1 comment=$2 params start=$SECONDS rc
  params=$(jq -cn --arg s "$3" '{commands: [$s]}')
  shift 3
  while :; do
    rc=0
    AWS_EXPECT="InvalidInstanceId" aws_cli ssm send-command --instance-ids "$@" \
      --document-name AWS-RunShellScript --parameters "$params" --timeout-seconds 900 \
      --comment "$comment" >"$FERRY_TMP/ssm-send.json" || rc=$?
    if ((rc == 0)); then
      SSM_COMMAND_ID=$(jq -r '.Command.CommandId' "$FERRY_TMP/ssm-send.json")
      return 0
    fi
    ((rc == 100 && SECONDS - start < patience)) || return "$rc"
    sleep "$FERRY_POLL_SECONDS"
  done
}

# ssm_wait ID DEADLINE: polls the invocation of SSM_COMMAND_ID on instance ID until it has ended
# or SECONDS reaches DEADLINE; prints its final status (Success, Failed, ...), nothing at the
# deadline. The invocation stays in $FERRY_TMP/ssm-inv.json (ssm_output reads it).
ssm_wait() {
  local id=$1 deadline=$2 rc status
  while :; do
    rc=0
    AWS_EXPECT="InvocationDoesNotExist" aws_cli ssm get-command-invocation --command-id "$SSM_COMMAND_ID" \
      --instance-id "$id" >"$FERRY_TMP/ssm-inv.json" || rc=$?
    if ((rc == 0)); then
      status=$(jq -r '.Status' "$FERRY_TMP/ssm-inv.json")
      case $status in
        Pending | InProgress | Delayed) ;;
        *) echo "$status"; return 0 ;;
      esac
    elif ((rc != 100)); then
      return "$rc"
    fi
    ((SECONDS < deadline)) || return 0
    sleep "$FERRY_POLL_SECONDS"
  done
}
ssm_output() { jq -r '.StandardOutputContent + .StandardErrorContent' "$FERRY_TMP/ssm-inv.json"; }

# ssm_check IDS...: one run-command on all instances, each checking its own service (the
# backend's Flask app, or ferry on a ferry instance, over HTTP and HTTPS: -k, as the
# certificate may be self-signed); waits until each passes or fails.
ssm_check() {
  local script="cloud-init status --wait >/dev/null 2>&1 || true
port=$FERRY_BACKEND_PORT unit=ferry-app tls=
if systemctl cat ferry.service >/dev/null 2>&1; then port=$FERRY_PROXY_PORT unit=ferry tls=$FERRY_PROXY_TLS_PORT; fi
for i in \$(seq 1 60); do
  if curl -fsS -o /dev/null http://127.0.0.1:\$port$FERRY_HEALTH_PATH &&
    { [ -z \"\$tls\" ] || curl -fsSk -o /dev/null https://127.0.0.1:\$tls$FERRY_HEALTH_PATH; }; then
    echo \"\$unit ready\"; exit 0
  fi
  sleep 5
done
systemctl status \$unit --no-pager || true
tail -n 30 /var/log/cloud-init-output.log || true
exit 1"
  local start=$SECONDS rc=0 id status
  ssm_send "$FERRY_READY_TIMEOUT" "ferry-aws: installed and answering?" "$script" "$@" || rc=$?
  ((rc != 100)) ||
    die "instances $* never registered with SSM within ${FERRY_READY_TIMEOUT}s (check the endpoints, the 443 rules, the instance profile)"
  ((rc == 0)) || return "$rc"
  for id in "$@"; do
    status=$(ssm_wait "$id" $((start + FERRY_READY_TIMEOUT))) || return
    case $status in
      Success) ;;
      "") die "instance $id not ready after ${FERRY_READY_TIMEOUT}s; the NAT stays up for a retry" ;;
      *) die "instance $id is not ready ($status); the NAT stays up for a retry:" "$(ssm_output | tail -n 20)" ;;
    esac
  done
}
