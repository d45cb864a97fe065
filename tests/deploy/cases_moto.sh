#!/usr/bin/env bash
# deploy/ferry-aws against a moto server: cases_moto.sh ha|single
# Needs FERRY_AWS_ENDPOINT_URL (a fresh moto server of its own) and the environment run.sh sets
# up (fake credentials, dead proxy, the logging CLI double). Prints PASS/FAIL/SKIP lines.
set -uo pipefail
TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$TESTS_DIR/lib.sh"
# shellcheck source=../../deploy/lib/common.sh
source "$REPO/deploy/lib/common.sh"
# shellcheck source=../../deploy/lib/tls.sh
source "$REPO/deploy/lib/tls.sh"
load_settings "$REPO/deploy/settings.env"

lane=${1:?ha or single}
GOLDEN=$TESTS_DIR/golden

# The addresses moto gives a ferry instance in its public subnet are not fixed: mask them.
instances_view() { fixture instances | sed -E 's/ip=10\.20\.(1|2)\.[0-9]+ /ip=10.20.\1.* /'; }

# same_as_golden NAME FILE: FILE equals golden/NAME (FERRY_TEST_UPDATE_GOLDEN=1 rewrites it).
same_as_golden() {
  if [[ ${FERRY_TEST_UPDATE_GOLDEN:-0} == 1 ]]; then cp "$2" "$GOLDEN/$1"; fi
  if diff -u "$GOLDEN/$1" "$2" >"$LOGS/$lane-$1.diff"; then return 0; fi
  WHY="differs from golden/$1: $(head -c 600 "$LOGS/$lane-$1.diff" | tr '\n' '|')"
  return 1
}
dump_unchanged() { # BASELINE TAG
  fixture dump >"$LOGS/$2.dump"
  if diff -u "$1" "$LOGS/$2.dump" >"$LOGS/$2.dump.diff"; then return 0; fi
  WHY="account state differs from before: $(head -c 600 "$LOGS/$2.dump.diff" | tr '\n' '|')"
  return 1
}
all_tagged() { # BASELINE TAG: whatever exists beyond BASELINE carries the ownership tag
  if fixture untagged "$1" >"$LOGS/$2.untagged"; then return 0; fi
  WHY="untagged resources: $(tr '\n' '|' <"$LOGS/$2.untagged")"
  return 1
}
rc_is() { # WANT TAG
  [[ $RC == "$1" ]] && return 0
  WHY="exit $RC, wanted $1: $(tail_err "$2")"
  return 1
}
# ferry_sg_rules DUMP: the inbound ports my-SG-ferry's tagged rules open to the world, sorted.
ferry_sg_rules() {
  awk '$1 == "sgr" && $3 == "ours" && $4 == "'"$FERRY_SG_PROXY"'-ingress" && $6 == "in" && $9 == "0.0.0.0/0" {print $8}' "$1" | sort | paste -sd' ' -
}
no_changes() { # TAG
  [[ $MUT == 0 ]] && return 0
  WHY="$MUT mutating call(s): $(grep '^mutating' "$LOGS/$1.calls" | tr '\n' '|')"
  return 1
}

# --- drain and ready: the emulator runs nothing on its instances, so the instance's answer to
# the control script (first line "ferry-admin-status: CODE", then ferry's body) is injected
# with FERRY_TEST_SSM_OUTPUT (bin/aws-logged).
# answer NAME CODE BODY: the file $LOGS/answer-NAME holding that answer.
answer() { printf 'ferry-admin-status: %s\n%s\n' "$2" "$3" >"$LOGS/answer-$1"; }
# sent_control TAG TARGETS URL: the run's one SSM command (as bin/aws-logged logged its
# arguments) ran the control script for URL (POST) on TARGETS (Name tags, comma separated, sorted).
sent_control() {
  local sent targets
  grep '"ssm","send-command"' "$LOGS/$1.calls.args" | jq -c '. as $a
    | def after($o): $a[($a | index($o)) + 1];
    {ids: ($a[($a | index("--instance-ids")) + 1:] | .[:(map(startswith("--")) | index(true))]),
     document: after("--document-name"), commands: (after("--parameters") | fromjson | .commands)}' >"$LOGS/$1.command"
  sent=$(wc -l <"$LOGS/$1.command")
  # shellcheck disable=SC2046  # one word per instance id
  targets=$(fixture names $(jq -r '.ids[]' "$LOGS/$1.command" 2>/dev/null))
  if [[ $sent == 1 && $targets == "$2" ]] && jq -e --arg u "url='$3'" '.document == "AWS-RunShellScript" and
    (.commands | length) == 1 and (.commands[0] | contains($u) and contains("curl -sS") and contains("-X POST"))' \
    "$LOGS/$1.command" >/dev/null; then
    return 0
  fi
  WHY="$sent command(s) to $targets: $(head -c 600 "$LOGS/$1.command")"
  return 1
}
admin_url() { echo "http://$FERRY_PROXY_ADMIN/pools/$1/backends/$2/$3"; } # POOL ENCODED_ADDRESS ACTION
only_send_command() { # TAG: the one mutating call is ssm send-command
  [[ $MUT == 1 ]] && grep -q "^mutating ssm send-command rc=0" "$LOGS/$1.calls" && return 0
  WHY="mutating calls: $(grep '^mutating' "$LOGS/$1.calls" | tr '\n' '|')"
  return 1
}
no_calls() { # TAG
  [[ $CALLS == 0 ]] && return 0
  WHY="$CALLS AWS call(s): $(tr '\n' '|' <"$LOGS/$1.calls")"
  return 1
}

control_cases() { # the single lane's, with my-ferry-01 running
  local b1="$FERRY_BACKEND_1_IP:$FERRY_BACKEND_PORT" b1e="${FERRY_BACKEND_1_IP}%3A$FERRY_BACKEND_PORT"
  local b2e="${FERRY_BACKEND_2_IP}%3A$FERRY_BACKEND_PORT" drained="{\"address\": \"$b1\", \"pool\": \"default\", \"state\": \"drained\"}"

  fa s-drain-noarg drain
  check moto.drain-without-backend-exit-2 rc_is 2 s-drain-noarg
  check moto.drain-without-backend-calls-nothing no_calls s-drain-noarg
  fa s-drain-bad drain not-an-address
  check moto.drain-of-a-non-address-exit-2 rc_is 2 s-drain-bad
  WHY="message: $(tail_err s-drain-bad)"
  check moto.drain-of-a-non-address-is-explained err_has s-drain-bad "'not-an-address' is neither a backend address"
  check moto.drain-of-a-non-address-calls-nothing no_calls s-drain-bad
  fa s-ready-nopool ready "$b1" --pool
  check moto.ready-pool-without-name-exit-2 rc_is 2 s-ready-nopool

  answer 200 200 "$drained"
  FERRY_TEST_SSM_OUTPUT=$LOGS/answer-200 fa s-drain drain "$b1"
  check moto.drain-exit-0 rc_is 0 s-drain
  check moto.drain-posts-to-ferrys-admin-endpoint sent_control s-drain "$FERRY_PROXY_1_NAME" "$(admin_url default "$b1e" drain)"
  check moto.drain-makes-one-ssm-call only_send_command s-drain
  WHY="output: $(tr '\n' '|' <"$LOGS/s-drain.out")"
  check moto.drain-prints-ferrys-answer eval 'out_has s-drain "$drained" && out_has s-drain "$FERRY_PROXY_1_NAME (i-"'
  WHY="the command has no token reading, or a bearer token in it"
  check moto.drain-reads-the-token-on-the-instance eval 'jq -e ".commands[0] | contains(\"--print-config\") and contains(\"Bearer %s\")" "$LOGS/s-drain.command" >/dev/null'

  FERRY_TEST_SSM_OUTPUT=$LOGS/answer-200 fa s-ready ready "$FERRY_BACKEND_2_NAME" --pool api
  check moto.ready-by-name-in-a-pool-exit-0 rc_is 0 s-ready
  check moto.ready-by-name-posts-the-backends-address sent_control s-ready "$FERRY_PROXY_1_NAME" "$(admin_url api "$b2e" ready)"

  answer 404 404 "pool default has no backend \"10.20.10.99:8000\" (the address as written in the file)"
  FERRY_TEST_SSM_OUTPUT=$LOGS/answer-404 fa s-drain-404 drain 10.20.10.99:8000
  check moto.drain-of-an-unknown-backend-exit-1 rc_is 1 s-drain-404
  WHY="message: $(tail_err s-drain-404)"
  check moto.drain-of-an-unknown-backend-is-explained eval 'err_has s-drain-404 "ferry does not know it (404): pool default has no backend" &&
    err_has s-drain-404 "drain 10.20.10.99:8000 in pool default failed on 1 of 1 ferry instance(s)"'
  answer 401 401 "this control needs the admin token: Authorization: Bearer TOKEN (admin_token)"
  FERRY_TEST_SSM_OUTPUT=$LOGS/answer-401 fa s-drain-401 drain "$b1"
  check moto.drain-refused-token-exit-1 rc_is 1 s-drain-401
  WHY="message: $(tail_err s-drain-401)"
  check moto.drain-refused-token-is-explained err_has s-drain-401 "ferry refused the admin token (401)"
  answer down 000 "curl: (7) Failed to connect to 127.0.0.1 port 9901 after 0 ms: Couldn't connect to server"
  FERRY_TEST_SSM_OUTPUT=$LOGS/answer-down FERRY_TEST_SSM_STATUS=Failed fa s-drain-down drain "$b1"
  check moto.drain-when-the-command-fails-exit-1 rc_is 1 s-drain-down
  WHY="message: $(tail_err s-drain-down)"
  check moto.drain-when-the-command-fails-is-explained err_has s-drain-down \
    "ferry's admin endpoint http://$FERRY_PROXY_ADMIN did not answer (Failed)"
  FERRY_TEST_FAIL_OP=send-command FERRY_TEST_FAIL_CODE=InvalidInstanceId FERRY_TEST_FAIL_MESSAGE="Instances not in a valid state" \
    fa s-drain-nossm drain "$b1"
  check moto.drain-through-no-ssm-exit-1 rc_is 1 s-drain-nossm
  WHY="message: $(tail_err s-drain-nossm)"
  check moto.drain-through-no-ssm-is-explained err_has s-drain-nossm "SSM does not reach $FERRY_PROXY_1_NAME (InvalidInstanceId)"
}

lane_ha() {
  fixture create >/dev/null || { fail moto.ha.fixture "fixture create failed"; return; }
  fixture dump >"$LOGS/ha-dump0"

  fa ha-dry up --ha --dry-run
  check moto.ha.dry-run-exit-0 rc_is 0 ha-dry
  check moto.ha.dry-run-makes-no-mutating-call no_changes ha-dry
  WHY="plan lacks a step (see $LOGS/ha-dry.out)"
  check moto.ha.dry-run-prints-the-plan eval 'out_has ha-dry "would create   IAM role MySSMRoleForServiceInstance" &&
    out_has ha-dry "would create   endpoint my-endpoint-SSM-service" &&
    out_has ha-dry "would create   NAT gateway My-NAT" &&
    out_has ha-dry "would launch   instance my-service-02" &&
    out_has ha-dry "would launch   instance my-ferry-02" &&
    out_has ha-dry "would create   network load balancer my-NLB-ferry" &&
    out_has ha-dry "would delete   NAT gateway My-NAT"'
  WHY="no plan to open 8888, 80 and 443 on $FERRY_SG_PROXY (see $LOGS/ha-dry.out)"
  check moto.ha.dry-run-plans-the-http-and-https-rules out_has ha-dry \
    "would add   $FERRY_SG_PROXY ingress tcp/8888 from 0.0.0.0/0, tcp/80 from 0.0.0.0/0, tcp/443 from 0.0.0.0/0"
  WHY="no self-signed certificate in the launch plan (see $LOGS/ha-dry.out)"
  check moto.ha.dry-run-without-certificate-plans-self-signed out_has ha-dry \
    "$FERRY_SG_PROXY, self-signed certificate"
  check moto.ha.dry-run-leaves-account-as-is dump_unchanged "$LOGS/ha-dump0" ha-dry

  fa ha-up up --ha
  check moto.ha.up rc_is 0 ha-up
  WHY="no NLB address in the summary: $(tail -n 3 "$LOGS/ha-up.out" | tr '\n' '|')"
  check moto.ha.up-prints-the-entry-point out_has ha-up "http://my-NLB-ferry"
  instances_view >"$LOGS/ha-instances.txt"
  check moto.ha.instances-as-specified same_as_golden instances-ha.txt "$LOGS/ha-instances.txt"
  fa ha-status status --mask
  check moto.ha.status-equals-golden same_as_golden status-ha.txt "$LOGS/ha-status.out"
  fixture dump >"$LOGS/ha-up.dump"
  rules=$(ferry_sg_rules "$LOGS/ha-up.dump")
  WHY="$FERRY_SG_PROXY opens '$rules' (see $LOGS/ha-up.dump)"
  check moto.ha.ferry-group-opens-80-443-8888 eval '[[ $rules == "443-443 80-80 8888-8888" ]]'
  WHY="SSM parameters without --tls-cert: $(grep '^param ' "$LOGS/ha-up.dump" | tr '\n' '|')"
  check moto.ha.no-certificate-no-parameters eval '! grep -q "^param " "$LOGS/ha-up.dump"'

  fa ha-up2 up --ha
  check moto.ha.up-again-exit-0 rc_is 0 ha-up2
  check moto.ha.up-again-makes-no-mutating-call no_changes ha-up2

  # drain reaches both ferry instances in one command and prints each answer.
  answer ha-200 200 "{\"address\": \"$FERRY_BACKEND_2_IP:$FERRY_BACKEND_PORT\", \"pool\": \"default\", \"state\": \"drained\"}"
  FERRY_TEST_SSM_OUTPUT=$LOGS/answer-ha-200 fa ha-drain drain "$FERRY_BACKEND_2_NAME"
  check moto.ha.drain-exit-0 rc_is 0 ha-drain
  check moto.ha.drain-posts-on-both-ferry-instances sent_control ha-drain "$FERRY_PROXY_1_NAME,$FERRY_PROXY_2_NAME" \
    "$(admin_url default "${FERRY_BACKEND_2_IP}%3A$FERRY_BACKEND_PORT" drain)"
  WHY="output: $(tr '\n' '|' <"$LOGS/ha-drain.out")"
  check moto.ha.drain-prints-both-answers eval '[[ $(grep -c "\"state\": \"drained\"" "$LOGS/ha-drain.out") == 2 ]] &&
    out_has ha-drain "$FERRY_PROXY_1_NAME (i-" && out_has ha-drain "$FERRY_PROXY_2_NAME (i-"'

  fa ha-down-dry down --dry-run
  check moto.ha.down-dry-run-makes-no-mutating-call no_changes ha-down-dry
  WHY="plan lacks a step (see $LOGS/ha-down-dry.out)"
  check moto.ha.down-dry-run-prints-the-plan eval 'out_has ha-down-dry "would terminate  instances my-service-01 my-service-02 my-ferry-01 my-ferry-02" &&
    out_has ha-down-dry "would delete   network load balancer my-NLB-ferry" &&
    out_has ha-down-dry "would delete   IAM role MySSMRoleForServiceInstance"'

  fa ha-down down
  check moto.ha.down rc_is 0 ha-down
  check moto.ha.down-restores-the-account dump_unchanged "$LOGS/ha-dump0" ha-down
  fa ha-down2 down
  check moto.ha.down-again-exit-0 rc_is 0 ha-down2
  check moto.ha.down-again-makes-no-mutating-call no_changes ha-down2
}

lane_single() {
  # Nothing at all yet: My-VPC is missing. (The plain CLI here, no fork server.)
  FERRY_TEST_AWS_SOCKET="" fa s-novpc up
  check moto.missing-vpc-exit-3 rc_is 3 s-novpc
  WHY="message: $(tail_err s-novpc)"
  check moto.missing-vpc-is-named err_has s-novpc "VPC My-VPC not found"
  check moto.missing-vpc-changes-nothing no_changes s-novpc

  # Part of the network missing: every missing piece is named, nothing changes.
  fixture create --omit my-subnet-private02,my-SG-private-service >/dev/null
  fa s-partial up
  check moto.missing-pieces-exit-3 rc_is 3 s-partial
  WHY="message: $(tail_err s-partial)"
  check moto.missing-pieces-are-named eval 'err_has s-partial "subnet my-subnet-private02" && err_has s-partial "security group my-SG-private-service"'
  check moto.missing-pieces-change-nothing no_changes s-partial
  fixture create >/dev/null
  fixture dump >"$LOGS/s-dump0"

  FERRY_AWS_CLI=/nonexistent/aws fa s-nocli up
  check moto.no-cli-exit-7 rc_is 7 s-nocli
  WHY="message: $(tail_err s-nocli)"
  check moto.no-cli-is-explained err_has s-nocli "AWS CLI not found at /nonexistent/aws"

  FERRY_TEST_AWS_SOCKET="" AWS_ACCESS_KEY_ID="" AWS_SECRET_ACCESS_KEY="" fa s-nocreds up
  check moto.no-credentials-exit-4 rc_is 4 s-nocreds
  WHY="message: $(tail_err s-nocreds)"
  check moto.no-credentials-is-explained err_has s-nocreds "no usable AWS credentials"

  # Someone else's interface holds 10.20.20.32: refused before any change, address named.
  fixture blocker-add "$FERRY_BACKEND_2_IP"
  fa s-inuse up
  check moto.address-in-use-exit-6 rc_is 6 s-inuse
  WHY="message: $(tail_err s-inuse)"
  check moto.address-in-use-is-explained eval 'err_has s-inuse "address $FERRY_BACKEND_2_IP (for my-service-02) is already in use by eni-"'
  check moto.address-in-use-changes-nothing no_changes s-inuse
  fixture blocker-del

  # A quota error half way: explained, exit 5, and nothing made so far is untagged.
  FERRY_TEST_FAIL_OP=allocate-address fa s-quota up
  check moto.quota-exit-5 rc_is 5 s-quota
  WHY="message: $(tail_err s-quota)"
  check moto.quota-is-explained err_has s-quota "AWS quota reached: AddressLimitExceeded during ec2 allocate-address"
  check moto.quota-leaves-nothing-untagged all_tagged "$LOGS/s-dump0" s-quota

  # Killed right after launching the first backend, before learning its id.
  FERRY_TEST_KILL_AFTER_OP=run-instances fa_killable s-killed up
  WHY="exit $RC, calls: $(tail -n 2 "$LOGS/s-killed.calls" | tr '\n' '|')"
  check moto.interrupted-run-was-killed eval '[[ $RC == 137 ]] && grep -q "run-instances killed-after" "$LOGS/s-killed.calls"'
  check moto.interrupted-run-leaves-nothing-untagged all_tagged "$LOGS/s-dump0" s-killed

  # Run again: it converges (keeping the NAT this time, for the nat commands below), now
  # with a certificate, which the ferry instance is told to read from SSM.
  local tls=$LOGS/tls
  mkdir -p "$tls"
  for k in a b; do
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 -subj "/CN=$k.example" \
      -keyout "$tls/$k.key" -out "$tls/$k.pem" 2>/dev/null
  done
  fa s-converge up --keep-nat --tls-cert "$tls/a.pem" --tls-key "$tls/a.key"
  check moto.interrupted-up-converges rc_is 0 s-converge
  fixture dump >"$LOGS/s-converge.dump"
  WHY="parameters: $(grep '^param ' "$LOGS/s-converge.dump" | tr '\n' '|')"
  check moto.tls-files-stored-as-tagged-securestrings eval 'grep -qx "param $(tls_param_cert) ours $(tls_param_cert) SecureString ferry-aws: sha256 $(sha256sum "$tls/a.pem" | cut -d" " -f1)" "$LOGS/s-converge.dump" &&
    grep -qx "param $(tls_param_key) ours $(tls_param_key) SecureString ferry-aws: sha256 $(sha256sum "$tls/a.key" | cut -d" " -f1)" "$LOGS/s-converge.dump"'
  rules=$(ferry_sg_rules "$LOGS/s-converge.dump")
  WHY="$FERRY_SG_PROXY opens '$rules'"
  check moto.ferry-group-opens-80-443-8888 eval '[[ $rules == "443-443 80-80 8888-8888" ]]'
  instances_view >"$LOGS/s-instances.txt"
  check moto.instances-as-specified same_as_golden instances.txt "$LOGS/s-instances.txt"
  fa s-status status --mask
  check moto.status-equals-golden same_as_golden status.txt "$LOGS/s-status.out"
  fa s-up2 up --keep-nat --tls-cert "$tls/a.pem" --tls-key "$tls/a.key"
  check moto.converged-up-makes-no-mutating-call no_changes s-up2
  control_cases
  # Another certificate: both parameters replaced, nothing else; the running instance is
  # named as still serving the old one.
  fa s-tls-new up --keep-nat --tls-cert "$tls/b.pem" --tls-key "$tls/b.key"
  WHY="exit $RC, mutating: $(grep '^mutating' "$LOGS/s-tls-new.calls" | tr '\n' '|')"
  check moto.new-certificate-replaces-the-parameters-only eval '[[ $RC == 0 && $MUT == 2 ]] &&
    [[ $(grep -c "^mutating ssm put-parameter" "$LOGS/s-tls-new.calls") == 2 ]]'
  WHY="no note about $FERRY_PROXY_1_NAME (see $LOGS/s-tls-new.out)"
  check moto.new-certificate-names-the-running-instance out_has s-tls-new "$FERRY_PROXY_1_NAME still serves its old certificate"

  fa s-natdown nat down
  check moto.nat-down rc_is 0 s-natdown
  fixture dump >"$LOGS/s-natdown.dump"
  WHY="a NAT gateway, its address or rule is still there (see $LOGS/s-natdown.dump)"
  check moto.nat-down-removes-the-nat eval '! grep -qE "^(nat |eip .*My-NAT-EIP|sgr .* out tcp (80|443)-)|>nat-" "$LOGS/s-natdown.dump"'
  fa s-natup nat up
  check moto.nat-up rc_is 0 s-natup
  fixture dump >"$LOGS/s-natup.dump"
  WHY="no NAT gateway, route or egress rules after nat up (see $LOGS/s-natup.dump)"
  check moto.nat-up-makes-the-nat eval 'grep -q "^nat .* ours My-NAT available" "$LOGS/s-natup.dump" &&
    grep -q "0.0.0.0/0>nat-" "$LOGS/s-natup.dump" && grep -qE "^sgr .* ours .* out tcp 443-443 0.0.0.0/0" "$LOGS/s-natup.dump"'

  fa s-down down
  check moto.down rc_is 0 s-down
  check moto.down-restores-the-account dump_unchanged "$LOGS/s-dump0" s-down
}

case $lane in
  ha) lane_ha ;;
  single) lane_single ;;
  *) echo "usage: $0 ha|single" >&2; exit 2 ;;
esac
