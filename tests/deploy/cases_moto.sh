#!/usr/bin/env bash
# deploy/ferry-aws against a moto server: cases_moto.sh ha|single|single-errors|domain
# Needs FERRY_AWS_ENDPOINT_URL (a fresh moto server of its own per lane) and the environment
# run.sh sets up (fake credentials, dead proxy, the logging CLI double). Prints PASS/FAIL/SKIP lines.
set -uo pipefail
TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$TESTS_DIR/lib.sh"
# shellcheck source=../../deploy/lib/common.sh
source "$REPO/deploy/lib/common.sh"
# shellcheck source=../../deploy/lib/tls.sh
source "$REPO/deploy/lib/tls.sh"
load_settings "$REPO/deploy/settings.env"

lane=${1:?ha, single, single-errors or domain}
DOMAIN_NAME=www.shop.example.com # up --domain's name (zones shop.example.com, example.com)
LOGS=$LOGS/moto-$lane # each lane's logs apart (the lanes share tags such as s-dump0)
mkdir -p "$LOGS"
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
# plan_names_every_call DRY_TAG RUN_TAG: every mutating call of the run is named in the plan.
plan_names_every_call() {
  local named unnamed
  named=$(grep -o '\[[a-z0-9]* [a-z0-9-]*\(, [a-z0-9]* [a-z0-9-]*\)*\]' "$LOGS/$1.out" | tr -d '[]' | sed 's/, /\n/g' | sort -u)
  unnamed=$(awk '$1 == "mutating" {print $2 " " $3}' "$LOGS/$2.calls" | sort -u | comm -23 - <(echo "$named"))
  [[ -z $unnamed ]] && return 0
  WHY="the plan ($LOGS/$1.out) does not name: $(tr '\n' '|' <<<"$unnamed")"
  return 1
}
# masked TAG: the output with the emulator's random ids hidden (for golden files)
masked() { sed -E 's/\b(vpc|sg|subnet|rtb|igw|eipalloc|i|eni|nat|vpce)-[0-9a-f]{8,17}\b/\1-*/g' "$LOGS/$1.out" >"$LOGS/$1.masked"; }
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


# --ha, with a name: the NLB, an ACM certificate (validated by DNS) on its TLS listener, the
# alias record; ferry behind it on plain HTTP.
lane_ha() {
  fixture create >/dev/null || { fail moto.ha.fixture "fixture create failed"; return; }
  fixture zone-add shop.example.com >/dev/null
  fixture dump >"$LOGS/ha-dump0"

  fa ha-dry up --ha --domain "$DOMAIN_NAME" --dry-run
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
  WHY="plan lacks a step of --domain (see $LOGS/ha-dry.out)"
  check moto.ha.domain-dry-run-prints-the-plan eval 'out_has ha-dry "would request   ACM certificate for $DOMAIN_NAME (DNS validation)  [acm request-certificate]" &&
    out_has ha-dry "would create   Route 53 validation CNAME record(s)" &&
    out_has ha-dry "would create   Route 53 record $DOMAIN_NAME A alias <NLB address>" &&
    out_has ha-dry "would create   listener TLS 443 -> my-TG-ferry" && out_has ha-dry "[elbv2 create-listener]"'
  check moto.ha.dry-run-leaves-account-as-is dump_unchanged "$LOGS/ha-dump0" ha-dry

  # ACM does not issue in time: a bounded wait, a clear error (the double answers
  # PENDING_VALIDATION); everything before it is done, and the next run resumes.
  FERRY_TEST_ACM_STATUS=PENDING_VALIDATION FERRY_CERT_TIMEOUT=1 fa ha-pending up --ha --domain "$DOMAIN_NAME"
  check moto.ha.certificate-not-issued-exit-1 rc_is 1 ha-pending
  WHY="message: $(tail_err ha-pending)"
  check moto.ha.certificate-not-issued-is-explained eval 'err_has ha-pending "ACM has not issued the certificate for $DOMAIN_NAME after 1s" &&
    err_has ha-pending "_d930b28be6c5927595552b219965053e.$DOMAIN_NAME."'

  fa ha-up up --ha --domain "$DOMAIN_NAME"
  check moto.ha.up rc_is 0 ha-up
  check moto.ha.dry-run-named-every-call eval 'cat "$LOGS/ha-pending.calls" "$LOGS/ha-up.calls" >"$LOGS/ha-both.calls" && plan_names_every_call ha-dry ha-both'
  WHY="no NLB address in the summary: $(tail -n 4 "$LOGS/ha-up.out" | tr '\n' '|')"
  check moto.ha.up-prints-the-entry-point eval 'out_has ha-up "http://my-NLB-ferry" && out_has ha-up "https://$DOMAIN_NAME/"'
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
  WHY="certificates: $(grep '^cert ' "$LOGS/ha-up.dump" | tr '\n' '|')"
  check moto.ha.one-tagged-acm-certificate eval '[[ $(grep -c "^cert " "$LOGS/ha-up.dump") == 1 ]] && grep -q "^cert .* ours $DOMAIN_NAME $DOMAIN_NAME" "$LOGS/ha-up.dump"'
  WHY="records: $(grep '^rr ' "$LOGS/ha-up.dump" | tr '\n' '|')"
  check moto.ha.validation-cname-in-the-zone grep -q "^rr shop.example.com. _[0-9a-f]*\\.$DOMAIN_NAME\\. CNAME 300 _[0-9a-f]*\\..*acm-validations.aws.$" "$LOGS/ha-up.dump"
  check moto.ha.alias-record-to-the-nlb grep -qE "^rr shop.example.com. $DOMAIN_NAME\\. A [0-9-]+ alias:my-nlb-ferry-[^ ]*\\.elb\\.amazonaws\\.com$" "$LOGS/ha-up.dump"
  fixture listeners >"$LOGS/ha-listeners"
  WHY="listeners: $(tr '\n' '|' <"$LOGS/ha-listeners")"
  check moto.ha.nlb-tls-listener-with-the-certificate eval 'grep -qx "my-NLB-ferry 443 TLS forward=my-TG-ferry certificate=$DOMAIN_NAME/ISSUED policy=$FERRY_NLB_TLS_POLICY" "$LOGS/ha-listeners" &&
    grep -q "^my-NLB-ferry 80 TCP forward=my-TG-ferry certificate=- " "$LOGS/ha-listeners"'

  fa ha-up2 up --ha --domain "$DOMAIN_NAME"
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
    out_has ha-down-dry "would delete   listener TLS 443 of my-NLB-ferry" &&
    out_has ha-down-dry "would delete   ACM certificate for $DOMAIN_NAME" &&
    out_has ha-down-dry "would delete   Route 53 validation record(s) _d930b28be6c5927595552b219965053e.$DOMAIN_NAME." &&
    out_has ha-down-dry "would delete   Route 53 record $DOMAIN_NAME A alias" &&
    out_has ha-down-dry "would delete   IAM role MySSMRoleForServiceInstance"'

  fa ha-down down
  check moto.ha.down rc_is 0 ha-down
  check moto.ha.down-plan-named-every-call plan_names_every_call ha-down-dry ha-down
  # (the dump has the zone's records and the certificates: the validation record, the alias
  # and the certificate are gone, the zone is as it was)
  check moto.ha.down-restores-the-account dump_unchanged "$LOGS/ha-dump0" ha-down
  fa ha-down2 down
  check moto.ha.down-again-exit-0 rc_is 0 ha-down2
  check moto.ha.down-again-makes-no-mutating-call no_changes ha-down2
}

# The single-instance cases run in three lanes of their own (a moto server each, in parallel):
# single-errors (refusals before any change, --domain's too, and a quota error), single (an
# interrupted run and what converges from it, its goldens, drain and ready, certificate
# replacement, down) and domain (up --domain, the NAT commands, down).
tls_pairs() { # makes $LOGS/tls/{a,b}.{pem,key}
  local k
  mkdir -p "$LOGS/tls"
  for k in a b; do
    [[ -s $LOGS/tls/$k.key ]] && continue
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 -subj "/CN=$k.example" \
      -keyout "$LOGS/tls/$k.key" -out "$LOGS/tls/$k.pem" 2>/dev/null
  done
}

lane_single_errors() {
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

  # up --domain: refused before any change without a public zone, with a bad name or address,
  # a name someone else's record holds, a ferry binary that does not know the acme block.
  fixture zone-add example.com --private >/dev/null
  fa d-nozone up --domain "$DOMAIN_NAME"
  check moto.domain.no-hosted-zone-exit-3 rc_is 3 d-nozone
  WHY="message: $(tail_err d-nozone)"
  check moto.domain.no-hosted-zone-is-explained err_has d-nozone \
    "no public Route 53 hosted zone holds $DOMAIN_NAME (looked for $DOMAIN_NAME, shop.example.com, example.com)"
  check moto.domain.no-hosted-zone-changes-nothing no_changes d-nozone
  fa d-badname up --domain 'shop_example!.com'
  check moto.domain.bad-name-exit-2 rc_is 2 d-badname
  check moto.domain.bad-name-calls-nothing no_calls d-badname
  fa d-bademail up --domain "$DOMAIN_NAME" --email not-an-address
  check moto.domain.bad-email-exit-2 rc_is 2 d-bademail
  check moto.domain.bad-email-calls-nothing no_calls d-bademail

  fixture zone-add example.com >/dev/null
  fixture zone-add shop.example.com >/dev/null
  fixture record-add taken.shop.example.com A 192.0.2.7
  fa d-taken up --domain taken.shop.example.com
  check moto.domain.foreign-record-exit-6 rc_is 6 d-taken
  WHY="message: $(tail_err d-taken)"
  check moto.domain.foreign-record-is-explained err_has d-taken \
    "taken.shop.example.com already has a record in zone shop.example.com (A 192.0.2.7) that does not point at ferry-aws's"
  check moto.domain.foreign-record-changes-nothing no_changes d-taken

  # A ferry binary that does not know the acme block yet would fail at boot: refused first.
  local said=""
  if [[ -x $REPO/build/ferry ]]; then said=$("$REPO/build/ferry" --check -c /dev/stdin <<<"acme: {}" 2>&1 || true); fi
  if grep -q "acme: unknown key" <<<"$said"; then
    FERRY_BINARY=$REPO/build/ferry fa d-oldferry up --domain "$DOMAIN_NAME"
    check moto.domain.ferry-without-acme-exit-3 rc_is 3 d-oldferry
    WHY="message: $(tail_err d-oldferry)"
    check moto.domain.ferry-without-acme-is-explained err_has d-oldferry "does not know the acme block yet"
    check moto.domain.ferry-without-acme-changes-nothing no_changes d-oldferry
  else
    skip moto.domain.ferry-without-acme-exit-3 "build/ferry knows the acme block (or is not built)"
  fi


}

lane_single() {
  fixture create >/dev/null
  fixture dump >"$LOGS/s-dump0"
  # Killed right after launching the first backend, before learning its id.
  FERRY_TEST_KILL_AFTER_OP=run-instances fa_killable s-killed up
  WHY="exit $RC, calls: $(tail -n 2 "$LOGS/s-killed.calls" | tr '\n' '|')"
  check moto.interrupted-run-was-killed eval '[[ $RC == 137 ]] && grep -q "run-instances killed-after" "$LOGS/s-killed.calls"'
  check moto.interrupted-run-leaves-nothing-untagged all_tagged "$LOGS/s-dump0" s-killed

  # Run again: it converges (keeping the NAT this time, for the nat commands below), now
  # with a certificate, which the ferry instance is told to read from SSM.
  local tls=$LOGS/tls
  tls_pairs
  fa s-converge up --keep-nat --tls-cert "$tls/a.pem" --tls-key "$tls/a.key"
  check moto.interrupted-up-converges rc_is 0 s-converge
  check moto.converged-up-leaves-nothing-untagged all_tagged "$LOGS/s-dump0" s-converge
  fixture dump >"$LOGS/s-up.dump"
  WHY="parameters: $(grep '^param ' "$LOGS/s-up.dump" | tr '\n' '|')"
  check moto.tls-files-stored-as-tagged-securestrings eval 'grep -qx "param $(tls_param_cert) ours $(tls_param_cert) SecureString ferry-aws: sha256 $(sha256sum "$tls/a.pem" | cut -d" " -f1)" "$LOGS/s-up.dump" &&
    grep -qx "param $(tls_param_key) ours $(tls_param_key) SecureString ferry-aws: sha256 $(sha256sum "$tls/a.key" | cut -d" " -f1)" "$LOGS/s-up.dump"'
  rules=$(ferry_sg_rules "$LOGS/s-up.dump")
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


  fa s-down down
  check moto.down rc_is 0 s-down
  check moto.down-restores-the-account dump_unchanged "$LOGS/s-dump0" s-down
}

# up --domain with one ferry instance: the A record in the longest public zone, the rules for
# 80 and 443, the config with the acme block; refusals before any change; down takes only
# that record away.
lane_domain() {
  fixture create >/dev/null
  fixture zone-add example.com >/dev/null
  fixture zone-add shop.example.com >/dev/null
  fixture record-add taken.shop.example.com A 192.0.2.7
  fixture dump >"$LOGS/d-dump0"

  fa d-dry up --domain "$DOMAIN_NAME" --email ops@example.com --dry-run
  check moto.domain.dry-run-exit-0 rc_is 0 d-dry
  check moto.domain.dry-run-makes-no-mutating-call no_changes d-dry
  masked d-dry
  check moto.domain.dry-run-equals-golden same_as_golden domain-dry-run.txt "$LOGS/d-dry.masked"

  # A long session token, as SSO and assumed-role credentials carry, rides in the presigned
  # artifact URL and takes the ferry user-data past EC2's 16 KiB: it goes gzipped.
  local token
  token=$(printf 'Fw%.0sIQoJb3JpZ2luX2VjEJr' $(seq 1 140))
  AWS_SESSION_TOKEN=$token fa d-up up --domain "$DOMAIN_NAME" --email ops@example.com
  check moto.domain.up rc_is 0 d-up
  local form
  form=$(fixture userdata-form "$FERRY_PROXY_1_NAME")
  WHY="user-data stored as '$form' with a ${#token}-byte session token in the artifact URL"
  check moto.domain.long-user-data-goes-gzipped eval '[[ $form =~ ^gzip\ ([0-9]+)$ ]] && ((BASH_REMATCH[1] <= 16384))'
  check moto.domain.dry-run-names-every-call plan_names_every_call d-dry d-up
  fixture dump >"$LOGS/d-up.dump"
  local eip
  eip=$(awk '$1 == "eip" && $3 == "ours" && $4 == "'"$FERRY_PROXY_1_NAME"'-eip" {print $5}' "$LOGS/d-up.dump")
  WHY="records: $(grep '^rr ' "$LOGS/d-up.dump" | tr '\n' '|'), Elastic IP '$eip'"
  check moto.domain.a-record-to-the-elastic-ip eval '[[ -n $eip ]] && grep -qx "rr shop.example.com. $DOMAIN_NAME. A 60 $eip" "$LOGS/d-up.dump" &&
    [[ $(grep -c "^rr .* $DOMAIN_NAME\\. " "$LOGS/d-up.dump") == 1 ]]'
  rules=$(ferry_sg_rules "$LOGS/d-up.dump")
  WHY="$FERRY_SG_PROXY opens '$rules'"
  check moto.domain.ferry-group-opens-80-and-443 eval '[[ $rules == "443-443 80-80 8888-8888" ]]'
  fixture userdata-yaml "$FERRY_PROXY_1_NAME" >"$LOGS/d-ferry.yaml"
  WHY="$(python3 - "$LOGS/d-ferry.yaml" "$DOMAIN_NAME" 2>&1 <<'EOF'
import sys, yaml
c = yaml.safe_load(open(sys.argv[1]))
want = {"directory": "https://acme-v02.api.letsencrypt.org/directory", "email": "ops@example.com",
        "domains": [sys.argv[2]], "storage": "/var/lib/ferry/acme"}
assert c.get("acme") == want, "acme block %r" % c.get("acme")
tls = [l for l in c["listeners"] if l["address"] == "0.0.0.0:443"]
assert len(tls) == 1 and "tls" in tls[0] and not tls[0]["tls"].get("certificates"), "443 listener %r" % tls
assert any(l["address"] == "0.0.0.0:80" and "tls" not in l for l in c["listeners"]), "no plain listener on 80"
first = c["routes"][0]
assert first["match"] == {"listener": "0.0.0.0:80"} and first["redirect"]["location"].startswith("https://"), first
assert c["routes"][-1] == {"name": "app", "forward": "default"}, c["routes"]
EOF
)"
  check moto.domain.ferry-yaml-has-the-acme-block eval '[[ -z $WHY ]]'
  # ferry itself checks the file once it knows the acme block (a ferry without it is told
  # apart by its message); the rest of the file is checked with a certificate in place.
  local bin=$REPO/build/ferry checked
  if [[ -x $bin ]]; then
    tls_pairs
    checked=$("$bin" --check -c "$LOGS/d-ferry.yaml" 2>&1)
    if grep -q "config OK" <<<"$checked"; then pass moto.domain.ferry-check-accepts-the-config
    elif grep -q "acme: unknown key" <<<"$checked"; then skip moto.domain.ferry-check-accepts-the-config "build/ferry predates the acme block"
    else fail moto.domain.ferry-check-accepts-the-config "$(head -n 3 <<<"$checked" | tr '\n' ' ')"; fi
    sed "/^acme:/,\$d; s#^    tls:\$#    tls:\\n      certificates: [{cert: $LOGS/tls/a.pem, key: $LOGS/tls/a.key}]#" "$LOGS/d-ferry.yaml" >"$LOGS/d-ferry-noacme.yaml"
    checked=$("$bin" --check -c "$LOGS/d-ferry-noacme.yaml" 2>&1)
    WHY="$(head -n 3 <<<"$checked" | tr '\n' ' ')"
    check moto.domain.ferry-check-accepts-its-listeners-and-routes grep -q "config OK" <<<"$checked"
  else
    skip moto.domain.ferry-check-accepts-the-config "build/ferry not built"
  fi
  instances_view >"$LOGS/d-instances.txt"
  WHY="$(grep my-ferry "$LOGS/d-instances.txt")"
  check moto.domain.instance-gets-the-acme-config grep -q "userdata=ferry:.*+ferry.yaml+acme:$DOMAIN_NAME" "$LOGS/d-instances.txt"

  fa d-up2 up --domain "$DOMAIN_NAME" --email ops@example.com
  check moto.domain.up-again-exit-0 rc_is 0 d-up2
  check moto.domain.up-again-makes-no-mutating-call no_changes d-up2

  fa d-natup nat up
  check moto.nat-up rc_is 0 d-natup
  fixture dump >"$LOGS/d-natup.dump"
  WHY="no NAT gateway, route or egress rules after nat up (see $LOGS/d-natup.dump)"
  check moto.nat-up-makes-the-nat eval 'grep -q "^nat .* ours My-NAT available" "$LOGS/d-natup.dump" &&
    grep -q "0.0.0.0/0>nat-" "$LOGS/d-natup.dump" && grep -qE "^sgr .* ours .* out tcp 443-443 0.0.0.0/0" "$LOGS/d-natup.dump"'
  fa d-natdown nat down
  check moto.nat-down rc_is 0 d-natdown
  fixture dump >"$LOGS/d-natdown.dump"
  WHY="a NAT gateway, its address or rule is still there (see $LOGS/d-natdown.dump)"
  check moto.nat-down-removes-the-nat eval '! grep -qE "^(nat |eip .*My-NAT-EIP|sgr .* out tcp (80|443)-)|>nat-" "$LOGS/d-natdown.dump"'

  fa d-down-dry down --dry-run
  WHY="plan lacks the record (see $LOGS/d-down-dry.out)"
  check moto.domain.down-dry-run-names-the-record out_has d-down-dry \
    "would delete   Route 53 record $DOMAIN_NAME A $eip in zone shop.example.com  [route53 change-resource-record-sets]"
  fa d-down down
  check moto.domain.down rc_is 0 d-down
  check moto.domain.down-plan-named-every-call plan_names_every_call d-down-dry d-down
  # Only that record went: the zones and someone else's record are as they were.
  check moto.domain.down-restores-the-account dump_unchanged "$LOGS/d-dump0" d-down
}


case $lane in
  ha) lane_ha ;;
  single) lane_single ;;
  single-errors) lane_single_errors ;;
  domain) lane_domain ;;
  *) echo "usage: $0 ha|single|single-errors|domain" >&2; exit 2 ;;
esac
