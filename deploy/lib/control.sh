# shellcheck shell=bash
# ferry-aws drain|ready BACKEND [--pool NAME]: take a backend out of rotation on every running
# ferry instance, or put it back, through ferry's admin endpoint (POST
# /pools/POOL/backends/ADDRESS/drain or .../ready on FERRY_PROXY_ADMIN), run there by SSM
# run-command. When the instance's ferry.yaml sets admin_token, the instance reads it itself
# (ferry --print-config) and hands it to curl on standard input: the token is in no command line,
# here or there, and not in the SSM command.

# backend_address BACKEND: sets BACKEND_ADDRESS to the backend as ferry.yaml writes it: BACKEND
# itself (HOST:PORT), or for a backend instance's Name tag its address from the settings.
BACKEND_ADDRESS=""
backend_address() {
  case $1 in
    "$FERRY_BACKEND_1_NAME") BACKEND_ADDRESS=$FERRY_BACKEND_1_IP:$FERRY_BACKEND_PORT ;;
    "$FERRY_BACKEND_2_NAME") BACKEND_ADDRESS=$FERRY_BACKEND_2_IP:$FERRY_BACKEND_PORT ;;
    *)
      [[ $1 =~ ^([^][:space:]/?#@]+|\[[0-9A-Fa-f:.]+\]):[0-9]{1,5}$ ]] ||
        die "$EXIT_USAGE" "$CMD: '$1' is neither a backend address as ferry.yaml writes it (HOST:PORT," \
          "e.g. $FERRY_BACKEND_1_IP:$FERRY_BACKEND_PORT) nor a backend's name ($FERRY_BACKEND_1_NAME, $FERRY_BACKEND_2_NAME)"
      BACKEND_ADDRESS=$1
      ;;
  esac
}

# url_encode TEXT: every byte but A-Z a-z 0-9 . _ ~ - as %XX (so the result is safe in a URL
# and inside single quotes of a shell script).
url_encode() {
  local LC_ALL=C text=$1 out="" c i
  for ((i = 0; i < ${#text}; i++)); do
    c=${text:i:1}
    case $c in
      [A-Za-z0-9._~-]) out+=$c ;;
      *) printf -v c '%%%02X' "'$c"; out+=$c ;;
    esac
  done
  printf '%s\n' "$out"
}

# control_script drain|ready POOL ADDRESS: the POSIX sh script the instance runs. Its first
# output line is "ferry-admin-status: CODE" (000 when the admin endpoint did not answer), the
# rest ferry's answer; it exits 0 once ferry has answered, whatever the code.
control_script() {
  local facts bin conf url
  facts=$(ferry_unit_facts)
  bin=$(sed -n 's/^BIN=//p' <<<"$facts")
  conf=$(sed -n 's/^CONF=//p' <<<"$facts")
  url="http://$FERRY_PROXY_ADMIN/pools/$(url_encode "$2")/backends/$(url_encode "$3")/$1"
  cat <<EOF
bin='$bin' conf='$conf'
url='$url'
# admin_token, if the file sets one, as ferry itself reads it ("admin_token: \"...\"").
token=\$("\$bin" --print-config -c "\$conf" 2>/dev/null | sed -n 's/^admin_token: "\\(.*\\)"\$/\\1/p' | sed 's/\\\\\\(.\\)/\\1/g')
body=\$(mktemp)
if [ -n "\$token" ]; then
  code=\$(printf 'Authorization: Bearer %s\\n' "\$token" | curl -sS -o "\$body" -w '%{http_code}' -X POST -H @- "\$url")
else
  code=\$(curl -sS -o "\$body" -w '%{http_code}' -X POST "\$url")
fi
rc=\$?
echo "ferry-admin-status: \${code:-000}"
cat "\$body"
rm -f "\$body"
exit "\$rc"
EOF
}

# cmd_control drain|ready: the command for every running ferry instance, then each answer.
cmd_control() {
  local action=$1
  ((${#ARGS[@]} == 1)) || die "$EXIT_USAGE" "usage: ferry-aws $action BACKEND [--pool NAME]"
  [[ -n $POOL ]] || die "$EXIT_USAGE" "--pool needs a pool name"
  backend_address "${ARGS[0]}"
  require_cli
  command -v jq >/dev/null || die "$EXIT_MISSING" "jq is needed (apt-get install jq)"
  # My-VPC and the running ferry instances by name, in one round; those in My-VPC count.
  fetch vpcs ec2 describe-vpcs --filters "Name=tag:Name,Values=$FERRY_VPC_NAME"
  fetch instances ec2 describe-instances --filters "Name=tag:Name,Values=$FERRY_PROXY_1_NAME,$FERRY_PROXY_2_NAME" \
    Name=instance-state-name,Values=running
  fetch_wait
  VPC_ID=$(js vpcs '.Vpcs[0].VpcId // empty')
  [[ -n $VPC_ID ]] || die "$EXIT_MISSING" "VPC $FERRY_VPC_NAME not found in $FERRY_REGION: nothing deployed"
  local name id ids=() names=()
  for name in "$FERRY_PROXY_1_NAME" "$FERRY_PROXY_2_NAME"; do
    id=$(js instances '[.Reservations[].Instances[] | select(tags.Name == $n and .VpcId == $v)][0].InstanceId // empty' \
      --arg n "$name" --arg v "$VPC_ID")
    [[ -n $id ]] || continue
    ids+=("$id")
    names+=("$name")
  done
  ((${#ids[@]})) ||
    die "$EXIT_MISSING" "no running ferry instance ($FERRY_PROXY_1_NAME, $FERRY_PROXY_2_NAME) in $FERRY_VPC_NAME: ferry-aws up first"

  local what="$action $BACKEND_ADDRESS in pool $POOL" rc=0
  ssm_send 0 "ferry-aws: $what" "$(control_script "$action" "$POOL" "$BACKEND_ADDRESS")" "${ids[@]}" || rc=$?
  ((rc != 100)) || die "SSM does not reach ${names[*]} (InvalidInstanceId); ferry-aws status shows whether they are registered"
  ((rc == 0)) || return "$rc"
  local i status out code body failed=0 deadline=$((SECONDS + FERRY_WAIT_TIMEOUT))
  for i in "${!ids[@]}"; do
    name="${names[i]} (${ids[i]})"
    status=$(ssm_wait "${ids[i]}" "$deadline") || return
    out=$(ssm_output)
    code=$(sed -n '1s/^ferry-admin-status: //p' <<<"$out")
    body=$(sed '1d' <<<"$out")
    case $status:$code in
      Success:200)
        say "$name: $what: done"
        say "$body"
        continue
        ;;
      :*) warn "$name: no answer through SSM within ${FERRY_WAIT_TIMEOUT}s" ;;
      *:401) warn "$name: ferry refused the admin token (401): $body." \
        "The instance's ferry.yaml has no admin_token, or another than the running ferry loaded (systemctl reload ferry there)" ;;
      *:404) warn "$name: ferry does not know it (404): $body" ;;
      *:000 | *:) warn "$name: ferry's admin endpoint http://$FERRY_PROXY_ADMIN did not answer ($status):" "$(tail -n 5 <<<"$out")" ;;
      *) warn "$name: ferry answered $code ($status): $body" ;;
    esac
    failed=$((failed + 1))
  done
  ((failed == 0)) || die "$what failed on $failed of ${#ids[@]} ferry instance(s)"
}
