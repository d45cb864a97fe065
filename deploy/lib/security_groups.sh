# shellcheck shell=bash
# Security groups: ferry's own group and the tagged rules ferry-aws adds to the seed's private
# group; looking groups and rules up, adding what is missing, deleting ferry's group.

sg_id() {
  js sgs '.SecurityGroups[] | select(.GroupName == $n or tags.Name == $n) | .GroupId' --arg n "$1" | head -n 1
}
sg_ours() { [[ $(js sgs '.SecurityGroups[] | select(.GroupId == $i) | ours' --arg i "$1") == true ]]; }

# rule GROUP EGRESS(true|false) PORT SOURCE: "rule-id owner" of a matching TCP rule.
rule_of() {
  js sgrules '.SecurityGroupRules[]
    | select(.GroupId == $g and .IsEgress == $e and .IpProtocol == "tcp" and .FromPort == $p and .ToPort == $p
        and (((.CidrIpv4 // "") == $s) or ((.ReferencedGroupInfo.GroupId // "") == $s)))
    | [.SecurityGroupRuleId, (if ours then "ours" else "foreign" end)] | @tsv' \
    --arg g "$1" --argjson e "$2" --argjson p "$3" --arg s "$4" | head -n 1
}

fetch_rules() { # GROUP_ID...
  local ids
  ids=$(IFS=,; echo "$*")
  fetch sgrules ec2 describe-security-group-rules --filters "Name=group-id,Values=$ids"
}

# ensure_rules GROUP_ID GROUP_NAME DIRECTION(ingress|egress) "PORT SOURCE DESCRIPTION"...
ensure_rules() {
  local gid=$1 gname=$2 dir=$3 spec port src desc found perms='[]' what=()
  shift 3
  local egress=false
  [[ $dir == egress ]] && egress=true
  for spec in "$@"; do
    read -r port src desc <<<"$spec"
    found=
    if ! planned "$gid" && ! planned "$src"; then found=$(rule_of "$gid" "$egress" "$port" "$src"); fi
    if [[ -n $found ]]; then
      step ok "$gname $dir tcp/$port $( [[ $dir == egress ]] && echo to || echo from) $(src_label "$src")"
      continue
    fi
    what+=("tcp/$port $( [[ $dir == egress ]] && echo to || echo from) $(src_label "$src")")
    if [[ $src == */* ]]; then
      perms=$(jq -c --argjson p "$port" --arg s "$src" --arg d "$desc" \
        '. + [{IpProtocol: "tcp", FromPort: $p, ToPort: $p, IpRanges: [{CidrIp: $s, Description: $d}]}]' <<<"$perms")
    else
      perms=$(jq -c --argjson p "$port" --arg s "$src" --arg d "$desc" \
        '. + [{IpProtocol: "tcp", FromPort: $p, ToPort: $p, UserIdGroupPairs: [{GroupId: $s, Description: $d}]}]' <<<"$perms")
    fi
  done
  ((${#what[@]})) || return 0
  local list
  list=$(IFS=,; echo "${what[*]}")
  act add "$gname $dir ${list//,/, }" \
    aws_cli ec2 "authorize-security-group-$dir" --group-id "$gid" --ip-permissions "$perms" \
    --tag-specifications "$(tag_spec security-group-rule "$gname-$dir")"
  # Remember the new rules for later steps of this run (by what they allow: ids in the answer
  # are not to be relied on, moto returns one for several).
  mirror sgrules '.SecurityGroupRules += [$perms[] | {SecurityGroupRuleId: "<new>", GroupId: $g, IsEgress: $e,
      IpProtocol: .IpProtocol, FromPort: .FromPort, ToPort: .ToPort, Tags: [{Key: $tk, Value: $tv}]}
      + (if .IpRanges then {CidrIpv4: .IpRanges[0].CidrIp} else {ReferencedGroupInfo: {GroupId: .UserIdGroupPairs[0].GroupId}} end)]' \
    --argjson perms "$perms" --arg g "$gid" --argjson e "$egress"
}
src_label() {
  case $1 in
    "$SG_PRIVATE") echo "$FERRY_SG_PRIVATE" ;;
    "$SG_PROXY") echo "$FERRY_SG_PROXY" ;;
    *) echo "$1" ;;
  esac
}

ensure_proxy_sg() {
  if [[ -n $SG_PROXY ]]; then
    step ok "security group $FERRY_SG_PROXY ($SG_PROXY)"
  else
    act create "security group $FERRY_SG_PROXY (in: tcp/$FERRY_PROXY_PORT, tcp/$FERRY_PROXY_EXTRA_PORT, tcp/$FERRY_PROXY_TLS_PORT)" \
      aws_cli ec2 create-security-group --vpc-id "$VPC_ID" --group-name "$FERRY_SG_PROXY" \
      --description "ferry: HTTP on $FERRY_PROXY_PORT and $FERRY_PROXY_EXTRA_PORT, HTTPS on $FERRY_PROXY_TLS_PORT from anywhere" \
      --tag-specifications "$(tag_spec security-group "$FERRY_SG_PROXY")"
    SG_PROXY=$(last '.GroupId // empty')
    [[ -n $SG_PROXY ]] || SG_PROXY="<$FERRY_SG_PROXY>"
  fi
  # A group made before HTTPS existed gets only the 443 rule added (ensure_rules skips the rest).
  ensure_rules "$SG_PROXY" "$FERRY_SG_PROXY" ingress \
    "$FERRY_PROXY_PORT 0.0.0.0/0 ferry (seed: nginx port)" \
    "$FERRY_PROXY_EXTRA_PORT 0.0.0.0/0 ferry (seed: ALB listener port)" \
    "$FERRY_PROXY_TLS_PORT 0.0.0.0/0 ferry HTTPS"
  ensure_rules "$SG_PRIVATE" "$FERRY_SG_PRIVATE" ingress \
    "443 $SG_PRIVATE for SSM Session Manager console" \
    "443 $SG_PROXY SSM Session Manager from the ferry instances via the endpoints" \
    "$FERRY_BACKEND_PORT $SG_PROXY ferry to the Flask app"
}

delete_sg() { # network interfaces of terminated instances let go of the group a little later
  local start=$SECONDS rc
  while :; do
    rc=0
    AWS_EXPECT=DependencyViolation aws_cli ec2 delete-security-group --group-id "$1" || rc=$?
    ((rc == 0)) && return 0
    ((rc == 100)) || return "$rc"
    ((SECONDS - start < FERRY_WAIT_TIMEOUT)) || die "security group $1 still in use after ${FERRY_WAIT_TIMEOUT}s"
    sleep "$FERRY_POLL_SECONDS"
  done
}
