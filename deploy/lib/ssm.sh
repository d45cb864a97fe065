# shellcheck shell=bash
# Readiness through SSM: one run-command asks each new instance whether its service answers.

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
  local params start=$SECONDS rc cmd_id
  params=$(jq -cn --arg s "$script" '{commands: [$s]}')
  while :; do
    rc=0
    AWS_EXPECT="InvalidInstanceId" aws_cli ssm send-command --instance-ids "$@" \
      --document-name AWS-RunShellScript --parameters "$params" --timeout-seconds 900 \
      --comment "ferry-aws: installed and answering?" >"$FERRY_TMP/ssm-send.json" || rc=$?
    ((rc == 0)) && break
    ((rc == 100)) || return "$rc"
    ((SECONDS - start < FERRY_READY_TIMEOUT)) ||
      die "instances $* never registered with SSM within ${FERRY_READY_TIMEOUT}s (check the endpoints, the 443 rules, the instance profile)"
    sleep "$FERRY_POLL_SECONDS"
  done
  cmd_id=$(jq -r '.Command.CommandId' "$FERRY_TMP/ssm-send.json")
  local id status
  for id in "$@"; do
    while :; do
      rc=0
      AWS_EXPECT="InvocationDoesNotExist" aws_cli ssm get-command-invocation --command-id "$cmd_id" \
        --instance-id "$id" >"$FERRY_TMP/ssm-inv.json" || rc=$?
      if ((rc == 0)); then
        status=$(jq -r '.Status' "$FERRY_TMP/ssm-inv.json")
        case $status in
          Success) break ;;
          Pending | InProgress | Delayed) ;;
          *) die "instance $id is not ready ($status); the NAT stays up for a retry:" \
            "$(jq -r '.StandardOutputContent + .StandardErrorContent' "$FERRY_TMP/ssm-inv.json" | tail -n 20)" ;;
        esac
      elif ((rc != 100)); then
        return "$rc"
      fi
      ((SECONDS - start < FERRY_READY_TIMEOUT)) || die "instance $id not ready after ${FERRY_READY_TIMEOUT}s; the NAT stays up for a retry"
      sleep "$FERRY_POLL_SECONDS"
    done
  done
}
