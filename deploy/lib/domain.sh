# shellcheck shell=bash
# up --domain NAME: the name in Route 53, and a certificate for it.
#  - one ferry instance: an A record NAME -> its Elastic IP, and a ferry.yaml with the `acme`
#    block (ferry obtains and renews the certificate itself, HTTP-01 on port 80);
#  - --ha: an alias record NAME -> the NLB, an ACM certificate validated by DNS (its CNAME
#    records written into the zone) on a TLS listener of the NLB; ferry behind it speaks HTTP.
# The hosted zone must exist (the public zone with the longest name that holds NAME). Route 53
# records carry no tags: a record is ferry-aws's when it points at one of its Elastic IPs or
# at its load balancer, and the ferry instances' Elastic IPs carry the name in the tag
# FerryDomain, so that `down` finds it again. Needs lib/aws.sh, lib/steps.sh.

DOMAIN="" ACME_EMAIL="" ACME_DIRECTORY="" # set by the dispatcher's options
ZONE_ID="" ZONE_NAME="" CERT_ARN=""

# require_domain_args: the options make sense together. Called before any AWS call.
require_domain_args() {
  if [[ -z $DOMAIN ]]; then
    [[ -z $ACME_EMAIL$ACME_DIRECTORY ]] || die "$EXIT_USAGE" "--email and --acme-directory go with --domain. Nothing was changed."
    return 0
  fi
  DOMAIN=${DOMAIN,,}
  DOMAIN=${DOMAIN%.}
  if ((${#DOMAIN} > 253)) || ! [[ $DOMAIN =~ ^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$ ]]; then
    die "$EXIT_USAGE" "--domain '$DOMAIN' is not a host name such as shop.example.com (no wildcards: HTTP-01 cannot validate them). Nothing was changed."
  fi
  if ((HA)) && [[ -n $ACME_EMAIL$ACME_DIRECTORY ]]; then
    die "$EXIT_USAGE" "--email and --acme-directory are for ferry's own ACME client; with --ha the certificate comes from ACM. Nothing was changed."
  fi
  if [[ -n $ACME_EMAIL && ! $ACME_EMAIL =~ ^[^@[:space:]\"\\]+@[^@[:space:]\"\\]+\.[^@[:space:]\"\\]+$ ]]; then
    die "$EXIT_USAGE" "--email '$ACME_EMAIL' is not a mail address. Nothing was changed."
  fi
  ACME_DIRECTORY=${ACME_DIRECTORY:-$FERRY_ACME_DIRECTORY}
  if [[ ! $ACME_DIRECTORY =~ ^https://[^[:space:]\"\\]+$ ]]; then
    die "$EXIT_USAGE" "--acme-directory '$ACME_DIRECTORY' is not an https:// URL. Nothing was changed."
  fi
  [[ $FERRY_ACME_STORAGE == /var/lib/?* ]] ||
    die "$EXIT_USAGE" "FERRY_ACME_STORAGE ($FERRY_ACME_STORAGE) must be under /var/lib (systemd's StateDirectory). Nothing was changed."
}

# --- reads ----------------------------------------------------------------------------------
fetch_domain_state() {
  [[ -n $DOMAIN ]] || return 0
  fetch zones route53 list-hosted-zones
  if ((HA)); then fetch_certificates; fi
}
fetch_certificates() {
  fetch certs acm list-certificates --certificate-statuses PENDING_VALIDATION ISSUED INACTIVE EXPIRED VALIDATION_TIMED_OUT FAILED
}

# resolve_zone: ZONE_ID and ZONE_NAME of the public zone with the longest name holding DOMAIN.
resolve_zone() {
  local z
  z=$(js zones '[.HostedZones[] | select((.Config.PrivateZone // false) | not)
      | (.Name | ascii_downcase | rtrimstr(".")) as $z | select($d == $z or ($d | endswith("." + $z)))
      | {id: (.Id | sub("^/hostedzone/"; "")), z: $z}] | sort_by(.z | length) | last // empty | [.id, .z] | @tsv' --arg d "$DOMAIN")
  if [[ -z $z ]]; then
    die "$EXIT_MISSING" "no public Route 53 hosted zone holds $DOMAIN (looked for $(zone_candidates | paste -sd' ' - | sed 's/ /, /g'))." \
      "Create the zone (Route 53 > Hosted zones > Create hosted zone), point your registrar at its name servers," \
      "and run again (deploy/README.md, A domain name). Nothing was changed."
  fi
  ZONE_ID=${z%%$'\t'*} ZONE_NAME=${z#*$'\t'}
}
zone_candidates() { # the names a zone for DOMAIN could have, longest first
  local d=$DOMAIN
  while [[ $d == *.* ]]; do
    echo "$d"
    d=${d#*.}
  done
}

# rrset NAME TYPE FILE: the record set NAME TYPE of the zone as JSON into FILE ("null": none).
rrset() {
  aws_cli route53 list-resource-record-sets --hosted-zone-id "$ZONE_ID" --start-record-name "$1" \
    --start-record-type "$2" --max-items 1 >"$3.raw" || return
  jq --arg n "${1%.}." --arg t "$2" '[.ResourceRecordSets[]? | select((.Name | ascii_downcase) == $n and .Type == $t)] | .[0]' "$3.raw" >"$3"
}

# The record for DOMAIN as ferry-aws wants it: an A record to ADDRESS, or (--ha) an alias to
# the load balancer.
want_record() { # ADDRESS | alias DNS_NAME ZONE
  if [[ $1 == alias ]]; then
    jq -cn --arg n "$DOMAIN." --arg d "$2" --arg z "$3" \
      '{Name: $n, Type: "A", AliasTarget: {HostedZoneId: $z, DNSName: $d, EvaluateTargetHealth: true}}'
  else
    jq -cn --arg n "$DOMAIN." --arg a "$1" --argjson ttl "$FERRY_DNS_TTL" \
      '{Name: $n, Type: "A", TTL: $ttl, ResourceRecords: [{Value: $a}]}'
  fi
}
# record_is_ours FILE: the record set points at an Elastic IP of ferry-aws, or at its NLB.
record_is_ours() {
  local addrs lbs
  addrs=$(js addresses '[.Addresses[] | select(ours) | .PublicIp]')
  lbs='[]'
  [[ ! -f $FERRY_TMP/lbs.json ]] || lbs=$(js lbs '[.LoadBalancers[]? | select(.LoadBalancerName == $n) | .DNSName | ascii_downcase]' --arg n "$FERRY_NLB_NAME")
  jq -e --argjson a "$addrs" --argjson l "$lbs" '. != null and (
      ((.ResourceRecords // []) | length > 0 and all(.[]; .Value as $v | $a | index($v)))
      or ((.AliasTarget.DNSName // "" | ascii_downcase | rtrimstr(".") | ltrimstr("dualstack.")) as $d | $d != "" and ($l | index($d))))' "$1" >/dev/null
}
record_text() { jq -r 'if . == null then "none" elif .AliasTarget then "\(.Type) alias \(.AliasTarget.DNSName)"
  else "\(.Type) \([.ResourceRecords[]?.Value] | join(" "))" end' "$1"; }

# domain_preflight: the zone exists; NAME has no record (A or CNAME) of someone else's.
domain_preflight() {
  [[ -n $DOMAIN ]] || return 0
  resolve_zone
  rrset "$DOMAIN" A "$FERRY_TMP/rr-a.json"
  rrset "$DOMAIN" CNAME "$FERRY_TMP/rr-cname.json"
  if [[ $(jq -c . "$FERRY_TMP/rr-cname.json") != null ]]; then
    die "$EXIT_IN_USE" "$DOMAIN is a CNAME in zone $ZONE_NAME ($(record_text "$FERRY_TMP/rr-cname.json")); an A record cannot sit beside it." \
      "Delete it or choose another name. Nothing was changed."
  fi
  if [[ $(jq -c . "$FERRY_TMP/rr-a.json") != null ]] && ! record_is_ours "$FERRY_TMP/rr-a.json"; then
    die "$EXIT_IN_USE" "$DOMAIN already has a record in zone $ZONE_NAME ($(record_text "$FERRY_TMP/rr-a.json")) that does not point at ferry-aws's" \
      "addresses. Delete it or choose another name. Nothing was changed."
  fi
  local old
  old=$(js addresses '[.Addresses[] | select(ours) | tags.FerryDomain // empty] | unique | map(select(. != $d)) | join(" ")' --arg d "$DOMAIN")
  if [[ -n $old ]]; then
    step note "the record for $old stays (down --domain $old removes it)"
  fi
}

# acme_binary_preflight: the ferry binary up ships must know the acme block (the instance runs
# `ferry --check` on its config at boot, and a ferry that predates ACME would refuse it).
acme_binary_preflight() {
  [[ -n $DOMAIN && -z $FERRY_ARTIFACT_URL ]] && ! ((HA)) || return 0
  local bin out
  bin=$(binary_path)
  [[ -x $bin ]] || return 0
  render_acme_yaml "$FERRY_TMP/ferry-acme-check.yaml"
  out=$("$bin" --check -c "$FERRY_TMP/ferry-acme-check.yaml" 2>&1) && return 0
  if grep -q "acme: unknown key" <<<"$out"; then
    die "$EXIT_MISSING" "$bin does not know the acme block yet (it says: $(grep -m1 "acme: unknown key" <<<"$out" | sed 's/^[^ ]*: //'))." \
      "Build a ferry with ACME support for --domain, or use --ha (the certificate then comes from ACM). Nothing was changed."
  fi
  warn "$bin --check on the --domain config says: $(head -n 1 <<<"$out") (the instance runs the same check at boot)"
}

# --- changes --------------------------------------------------------------------------------
# change_records ACTION RRSET_JSON... : one change batch for the zone.
change_records() {
  local action=$1
  shift
  aws_cli route53 change-resource-record-sets --hosted-zone-id "$ZONE_ID" --change-batch \
    "$(jq -cn --arg a "$action" '{Comment: "ferry-aws", Changes: [$ARGS.positional[] | fromjson | {Action: $a, ResourceRecordSet: .}]}' --args -- "$@")"
}

# ensure_dns_record ADDRESS | alias DNS_NAME ZONE: NAME's A record, made or corrected.
ensure_dns_record() {
  local want have
  want=$(want_record "$@")
  have=$(jq -c . "$FERRY_TMP/rr-a.json")
  if [[ $have != null ]] && jq -e --argjson w "$want" 'def alias: .AliasTarget.DNSName // "" | ascii_downcase | rtrimstr(".");
      if $w.AliasTarget then alias == ($w | alias) and (.ResourceRecords // [] | length) == 0
      else (.TTL == $w.TTL) and ([.ResourceRecords[]?.Value] | sort) == ([$w.ResourceRecords[].Value] | sort) and alias == "" end' \
      "$FERRY_TMP/rr-a.json" >/dev/null; then
    step ok "Route 53 record $DOMAIN $(record_text "$FERRY_TMP/rr-a.json") in zone $ZONE_NAME"
    return 0
  fi
  local verb=create
  [[ $have == null ]] || verb=replace
  act "$verb" "Route 53 record $DOMAIN $(jq -r 'if .AliasTarget then "A alias \(.AliasTarget.DNSName)" else "A \(.ResourceRecords[0].Value) (TTL \(.TTL))" end' <<<"$want") in zone $ZONE_NAME" \
    change_records UPSERT "$want"
  jq . <<<"$want" >"$FERRY_TMP/rr-a.json"
}

# tag_domain ALLOCATION_ID...: the Elastic IPs name the domain (for down).
tag_domain() {
  local alloc ids=()
  for alloc in "$@"; do
    planned "$alloc" && { ids+=("$alloc"); continue; }
    [[ $(js addresses '.Addresses[] | select(.AllocationId == $i) | tags.FerryDomain // ""' --arg i "$alloc") == "$DOMAIN" ]] || ids+=("$alloc")
  done
  ((${#ids[@]})) || return 0
  act tag "Elastic IP(s) of the ferry instances FerryDomain=$DOMAIN (down finds the record by it)" \
    aws_cli ec2 create-tags --resources "${ids[@]}" --tags "Key=FerryDomain,Value=$DOMAIN"
}

# render_acme_yaml FILE: deploy/ferry.yaml for a ferry that gets its certificate itself: the TLS
# listener without `certificates` (served from ACME), port 80 redirecting to HTTPS (ferry
# answers the HTTP-01 challenges there before any route), and the `acme` block.
render_acme_yaml() {
  local loc="https://#{host}/#{path}?#{query}"
  ((FERRY_PROXY_TLS_PORT == 443)) || loc="https://#{host}:$FERRY_PROXY_TLS_PORT/#{path}?#{query}"
  {
    echo "# Rendered by ferry-aws up --domain $DOMAIN from deploy/ferry.yaml: the certificate on"
    echo "# $FERRY_PROXY_TLS_PORT comes from the ACME server below, not from files."
    awk '/^[[:space:]]*certificates:/ { skip = match($0, /[^ ]/); next }
      skip { if (match($0, /[^ ]/) > skip) next; skip = 0 }
      { print }' "$FERRY_DEPLOY_DIR/ferry.yaml"
    cat <<EOF
routes:
  - name: to-https
    match: {listener: "0.0.0.0:$FERRY_PROXY_EXTRA_PORT"}
    redirect: {location: "$loc", status: 301}
  - name: app
    forward: default
acme:
  directory: "$ACME_DIRECTORY"
  email: "$ACME_EMAIL"
  domains: ["$DOMAIN"]
  storage: $FERRY_ACME_STORAGE
EOF
  } >"$1"
}

# use_acme_yaml: with --domain (and no --ha), the ferry instances get that config.
use_acme_yaml() {
  [[ -n $DOMAIN ]] && ! ((HA)) || return 0
  render_acme_yaml "$FERRY_TMP/ferry-acme.yaml"
  # shellcheck disable=SC2034  # read by render_proxy_userdata (lib/common.sh)
  PROXY_YAML=$FERRY_TMP/ferry-acme.yaml ACME_STORAGE=$FERRY_ACME_STORAGE
}

# --- --ha: the ACM certificate and the NLB's TLS listener -----------------------------------
cert_of_domain() { # the ARN of ferry-aws's certificate for DOMAIN, if any
  local arn
  while read -r arn; do
    [[ -n $arn ]] || continue
    cert_ours "$arn" && { echo "$arn"; return 0; }
  done < <(js certs '.CertificateSummaryList[]? | select((.DomainName | ascii_downcase) == $d) | .CertificateArn' --arg d "$DOMAIN")
}
cert_ours() {
  AWS_EXPECT=ResourceNotFoundException aws_cli acm list-tags-for-certificate --certificate-arn "$1" >"$FERRY_TMP/certtags.json" || return 1
  [[ $(js certtags '[.Tags[]? | select(.Key == $tk and .Value == $tv)] | length > 0') == true ]]
}
describe_cert() { aws_cli acm describe-certificate --certificate-arn "$1" >"$FERRY_TMP/cert.json"; }
cert_status() { js cert '.Certificate.Status'; }
validation_records() { # the CNAME record sets ACM asks for, one JSON object a line
  js cert '[.Certificate.DomainValidationOptions[]? | .ResourceRecord // empty] | unique_by(.Name)[]
    | {Name: .Name, Type: .Type, TTL: 300, ResourceRecords: [{Value: .Value}]} | @json'
}
cert_has_records() { describe_cert "$1" && [[ -n $(validation_records) ]]; }
cert_issued() {
  describe_cert "$1"
  case $(cert_status) in
    ISSUED) return 0 ;;
    PENDING_VALIDATION) return 1 ;;
    *) die "certificate $1 for $DOMAIN is $(cert_status) ($(js cert '.Certificate.FailureReason // "no reason given"')): delete it (ferry-aws down) and run up again" ;;
  esac
}

# ensure_certificate: requested (DNS validation) and its validation records in the zone.
ensure_certificate() {
  CERT_ARN=$(cert_of_domain)
  if [[ -n $CERT_ARN ]]; then
    step ok "ACM certificate for $DOMAIN (${CERT_ARN##*/})"
  else
    act request "ACM certificate for $DOMAIN (DNS validation)" \
      aws_cli acm request-certificate --domain-name "$DOMAIN" --validation-method DNS --tags "$(tag_list "$DOMAIN")"
    # (no idempotency token: a token reused within the hour names the certificate of an earlier
    # up, even one that down deleted; the tag, set in the same call, finds an interrupted request)
    CERT_ARN=$(last '.CertificateArn // empty')
    [[ -n $CERT_ARN ]] || CERT_ARN="<certificate>"
  fi
  if planned "$CERT_ARN"; then
    step "create" "Route 53 validation CNAME record(s) ACM names for $DOMAIN in zone $ZONE_NAME  [route53 change-resource-record-sets]"
    return 0
  fi
  # ACM fills in the records a few seconds after the request.
  poll 120 "ACM to name the validation records of $DOMAIN" cert_has_records "$CERT_ARN"
  local rec name missing=()
  while read -r rec; do
    name=$(jq -r .Name <<<"$rec")
    rrset "$name" CNAME "$FERRY_TMP/rr-v.json"
    if [[ $(jq -c '.ResourceRecords // null' "$FERRY_TMP/rr-v.json") == "$(jq -c .ResourceRecords <<<"$rec")" ]]; then
      step ok "Route 53 validation record $name"
    else
      missing+=("$rec")
    fi
  done < <(validation_records)
  if ((${#missing[@]})); then
    act create "Route 53 validation record(s) $(jq -r .Name <<<"${missing[*]}" | paste -sd' ' -) (CNAME, for ACM)" \
      change_records UPSERT "${missing[@]}"
  fi
}

# ensure_tls_listener LB TG: wait until the certificate is issued, then TLS on FERRY_NLB_TLS_PORT.
ensure_tls_listener() {
  local lb=$1 tg=$2
  if ! planned "$CERT_ARN" && ! ((DRY_RUN)); then
    step wait "for ACM to issue the certificate for $DOMAIN (up to ${FERRY_CERT_TIMEOUT}s)"
    poll_cert
  elif ! planned "$CERT_ARN" && describe_cert "$CERT_ARN" && [[ $(cert_status) == ISSUED ]]; then
    step ok "ACM certificate for $DOMAIN issued"
  else
    step wait "for ACM to issue the certificate for $DOMAIN  [acm describe-certificate]"
  fi
  local found=""
  if ! planned "$lb" && [[ -f $FERRY_TMP/listeners.json ]]; then
    found=$(js listeners '.Listeners[] | select(.Port == $p) | [.ListenerArn, .Protocol, ((.Certificates // [])[0].CertificateArn // "")] | @tsv' \
      --argjson p "$FERRY_NLB_TLS_PORT")
  fi
  if [[ -n $found && $(cut -f2,3 <<<"$found") == "TLS"$'\t'"$CERT_ARN" ]]; then
    step ok "listener TLS $FERRY_NLB_TLS_PORT -> $FERRY_TG_NAME (certificate for $DOMAIN)"
  elif [[ -n $found ]]; then
    act modify "listener $FERRY_NLB_TLS_PORT: TLS with the certificate for $DOMAIN -> $FERRY_TG_NAME" \
      aws_cli elbv2 modify-listener --listener-arn "$(cut -f1 <<<"$found")" --protocol TLS --port "$FERRY_NLB_TLS_PORT" \
      --certificates "CertificateArn=$CERT_ARN" --ssl-policy "$FERRY_NLB_TLS_POLICY" \
      --default-actions "Type=forward,TargetGroupArn=$tg"
  else
    act create "listener TLS $FERRY_NLB_TLS_PORT -> $FERRY_TG_NAME (certificate for $DOMAIN, $FERRY_NLB_TLS_POLICY)" \
      aws_cli elbv2 create-listener --load-balancer-arn "$lb" --protocol TLS --port "$FERRY_NLB_TLS_PORT" \
      --certificates "CertificateArn=$CERT_ARN" --ssl-policy "$FERRY_NLB_TLS_POLICY" \
      --default-actions "Type=forward,TargetGroupArn=$tg" --tags "$(tag_list "$FERRY_NLB_NAME-$FERRY_NLB_TLS_PORT")"
  fi
}
poll_cert() {
  local start=$SECONDS rc
  while :; do
    rc=0
    cert_issued "$CERT_ARN" || rc=$?
    ((rc == 0)) && { step ok "ACM certificate for $DOMAIN issued"; return 0; }
    ((rc == 1)) || return "$rc"
    if ((SECONDS - start >= FERRY_CERT_TIMEOUT)); then
      die "ACM has not issued the certificate for $DOMAIN after ${FERRY_CERT_TIMEOUT}s (still PENDING_VALIDATION)." \
        "It validates through the CNAME record(s) $(validation_records | jq -r .Name | paste -sd' ' -) in zone $ZONE_NAME:" \
        "check that the zone's name servers are the ones your registrar names (dig NS $ZONE_NAME), then run up again to resume" \
        "(FERRY_CERT_TIMEOUT waits longer). The NLB keeps serving plain TCP on $FERRY_NLB_PORT meanwhile."
    fi
    sleep "$FERRY_POLL_SECONDS"
  done
}

# --- down -----------------------------------------------------------------------------------
# down_domain_record: NAME's A record, if it points at ferry-aws's addresses or NLB. Before
# the load balancer and the addresses go (ownership is judged by them).
down_domain_record() {
  [[ -n $DOMAIN ]] || return 0
  resolve_zone_soft || return 0
  rrset "$DOMAIN" A "$FERRY_TMP/rr-a.json"
  if [[ $(jq -c . "$FERRY_TMP/rr-a.json") == null ]]; then return 0; fi
  if record_is_ours "$FERRY_TMP/rr-a.json"; then
    act delete "Route 53 record $DOMAIN $(record_text "$FERRY_TMP/rr-a.json") in zone $ZONE_NAME" \
      change_records DELETE "$(jq -c . "$FERRY_TMP/rr-a.json")"
  else
    step note "Route 53 record $DOMAIN ($(record_text "$FERRY_TMP/rr-a.json")) does not point at ferry-aws's addresses: kept"
  fi
}
resolve_zone_soft() { # like resolve_zone, but "no zone" is a note
  if [[ $(js zones '[.HostedZones[]? | select((.Config.PrivateZone // false) | not) | (.Name | ascii_downcase | rtrimstr(".")) as $z
      | select($d == $z or ($d | endswith("." + $z)))] | length' --arg d "$DOMAIN") == 0 ]]; then
    step note "no Route 53 hosted zone holds $DOMAIN any more: no record to remove"
    return 1
  fi
  resolve_zone
}
# down_tls_listener LB: the TLS listener of the NLB (before the NLB itself).
down_tls_listener() {
  local arn
  arn=$(js listeners '.Listeners[]? | select(.Protocol == "TLS") | .ListenerArn' | head -n 1)
  [[ -n $arn ]] || return 0
  act delete "listener TLS $FERRY_NLB_TLS_PORT of $FERRY_NLB_NAME" aws_cli elbv2 delete-listener --listener-arn "$arn"
}
# down_certificate: ferry-aws's certificate for DOMAIN and its validation records (unless
# another certificate here for the same name still needs them). After the listener is gone.
down_certificate() {
  [[ -n $DOMAIN ]] || return 0
  local arn
  arn=$(cert_of_domain)
  [[ -n $arn ]] || return 0
  describe_cert "$arn"
  local rec name stale=() others
  others=$(js certs '[.CertificateSummaryList[]? | select((.DomainName | ascii_downcase) == $d and .CertificateArn != $a)] | length' \
    --arg d "$DOMAIN" --arg a "$arn")
  while read -r rec; do
    [[ -n $rec && -n $ZONE_ID ]] || continue
    name=$(jq -r .Name <<<"$rec")
    rrset "$name" CNAME "$FERRY_TMP/rr-v.json"
    if [[ $(jq -c '.ResourceRecords // null' "$FERRY_TMP/rr-v.json") == "$(jq -c .ResourceRecords <<<"$rec")" ]]; then
      stale+=("$(jq -c . "$FERRY_TMP/rr-v.json")")
    fi
  done < <(validation_records)
  if ((${#stale[@]})) && ((others > 0)); then
    step note "validation record(s) for $DOMAIN kept: another certificate for $DOMAIN uses them"
  elif ((${#stale[@]})); then
    act delete "Route 53 validation record(s) $(jq -r .Name <<<"${stale[*]}" | paste -sd' ' -) (CNAME)" \
      change_records DELETE "${stale[@]}"
  fi
  act delete "ACM certificate for $DOMAIN (${arn##*/})" delete_cert "$arn"
}
delete_cert() { # a listener just deleted lets go of the certificate a little later
  local start=$SECONDS rc
  while :; do
    rc=0
    AWS_EXPECT=ResourceInUseException aws_cli acm delete-certificate --certificate-arn "$1" || rc=$?
    ((rc == 0)) && return 0
    ((rc == 100)) || return "$rc"
    ((SECONDS - start < FERRY_WAIT_TIMEOUT)) || die "certificate $1 still in use after ${FERRY_WAIT_TIMEOUT}s"
    sleep "$FERRY_POLL_SECONDS"
  done
}
