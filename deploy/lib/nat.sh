# shellcheck shell=bash
# The temporary NAT gateway (ferry-aws nat up|down, and inside up and down): its Elastic IP,
# the route in the private route table, the egress rules; and the Elastic IP helpers.

# --- Elastic IPs (the NAT's, and the ferry instances' in up and down) ---------------------
# eip NAME: "allocation-id association-id instance-id public-ip" of our Elastic IP named NAME.
eip() {
  js addresses '.Addresses[] | select(tags.Name == $n and ours)
    | [.AllocationId, (.AssociationId // "-"), ((.InstanceId // "") | if . == "" then "-" else . end), .PublicIp]
    | @tsv' --arg n "$1" | head -n 1
}
mirror_address() { # ALLOCATION NAME PUBLIC_IP
  mirror addresses '.Addresses += [{AllocationId: $a, PublicIp: $p, Tags: [{Key: "Name", Value: $n}, {Key: $tk, Value: $tv}]}]' \
    --arg a "$1" --arg n "$2" --arg p "$3"
}
disassociate_eip() { # an instance's termination may already have let go of it
  local rc=0
  AWS_EXPECT="InvalidAssociationID.NotFound" aws_cli ec2 disassociate-address --association-id "$1" || rc=$?
  ((rc == 0 || rc == 100)) || return "$rc"
}

# --- the NAT gateway ----------------------------------------------------------------------
# nat_of NAME: "id state owner" of the live NAT gateway named NAME.
nat_of() {
  js nats '.NatGateways[] | select(tags.Name == $n and (.State | IN("pending", "available", "deleting")))
    | [.NatGatewayId, .State, (if ours then "ours" else "foreign" end)] | @tsv' --arg n "$1" | head -n 1
}

# nat_route: "target state" of 0.0.0.0/0 in the private route table.
nat_route() {
  js rtbs '.RouteTables[] | select(.RouteTableId == $r) | .Routes[]
    | select(.DestinationCidrBlock == "0.0.0.0/0")
    | [(.NatGatewayId // .GatewayId // .NetworkInterfaceId // .InstanceId // .TransitGatewayId // "?"), (.State // "active")]
    | @tsv' --arg r "$RT_PRIVATE" | head -n 1
}

nat_state() { # NAT_ID -> state ("gone" when no longer listed)
  AWS_EXPECT="NatGatewayNotFound InvalidNatGatewayID.NotFound" \
    aws_cli ec2 describe-nat-gateways --nat-gateway-ids "$1" >"$FERRY_TMP/nat-poll.json" ||
    { [[ $? == 100 ]] && echo gone && return 0; return 1; }
  jq -r '.NatGateways[0].State // "gone"' "$FERRY_TMP/nat-poll.json"
}
nat_available() {
  local s
  s=$(nat_state "$1")
  case $s in
    available) return 0 ;;
    pending) return 1 ;;
    *) die "NAT gateway $1 is $s: $(jq -r '.NatGateways[0].FailureMessage // ""' "$FERRY_TMP/nat-poll.json")" ;;
  esac
}
nat_gone() {
  local s
  s=$(nat_state "$1")
  [[ $s == deleted || $s == gone ]] && return 0
  return 1
}

# nat_preflight: what would stop nat_up half way, checked before any change.
nat_preflight() {
  local found route
  found=$(nat_of "$FERRY_NAT_NAME")
  if [[ -n $found && $(cut -f3 <<<"$found") == foreign ]]; then
    die "$EXIT_IN_USE" "a NAT gateway named $FERRY_NAT_NAME ($(cut -f1 <<<"$found")) exists that ferry-aws did not" \
      "make. Delete it, or tag it $FERRY_TAG_KEY=$FERRY_TAG_VALUE to let ferry-aws manage it. Nothing was changed."
  fi
  route=$(nat_route)
  if [[ -n $route ]]; then
    local target=${route%%$'\t'*} state=${route#*$'\t'}
    if [[ $state != blackhole && ( -z $found || $target != "$(cut -f1 <<<"$found")" ) ]]; then
      die "$EXIT_IN_USE" "$FERRY_RT_PRIVATE already sends 0.0.0.0/0 to $target, not to ferry-aws's NAT;" \
        "remove that route first. Nothing was changed."
    fi
  fi
}

nat_up() {
  local e alloc found nat route
  e=$(eip "$FERRY_NAT_EIP_NAME")
  if [[ -n $e ]]; then
    alloc=${e%%$'\t'*}
    step ok "Elastic IP $FERRY_NAT_EIP_NAME ($alloc)"
  else
    act allocate "Elastic IP $FERRY_NAT_EIP_NAME (billed while allocated)" \
      aws_cli ec2 allocate-address --domain vpc --tag-specifications "$(tag_spec elastic-ip "$FERRY_NAT_EIP_NAME")"
    alloc=$(last '.AllocationId // empty')
    [[ -n $alloc ]] || alloc="<$FERRY_NAT_EIP_NAME>"
    mirror_address "$alloc" "$FERRY_NAT_EIP_NAME" "$(last '.PublicIp // "-"')"
  fi
  found=$(nat_of "$FERRY_NAT_NAME")
  if [[ -n $found ]]; then
    nat=${found%%$'\t'*}
    step ok "NAT gateway $FERRY_NAT_NAME ($nat)"
  else
    act create "NAT gateway $FERRY_NAT_NAME in $FERRY_SUBNET_PUBLIC_1 (billed per hour)" \
      aws_cli ec2 create-nat-gateway --subnet-id "$SUBNET_PUB_1" --allocation-id "$alloc" \
      --tag-specifications "$(tag_spec natgateway "$FERRY_NAT_NAME")"
    nat=$(last '.NatGateway.NatGatewayId // empty')
    [[ -n $nat ]] || nat="<$FERRY_NAT_NAME>"
    mirror nats '.NatGateways += [{NatGatewayId: $i, State: "pending", Tags: [{Key: "Name", Value: $n}, {Key: $tk, Value: $tv}]}]' \
      --arg i "$nat" --arg n "$FERRY_NAT_NAME"
  fi
  if ! ((DRY_RUN)); then
    poll "$FERRY_WAIT_TIMEOUT" "NAT gateway $nat to become available" nat_available "$nat"
  fi
  route=$(nat_route)
  mirror rtbs '(.RouteTables[] | select(.RouteTableId == $r) | .Routes) |= (map(select(.DestinationCidrBlock != "0.0.0.0/0"))
    + [{DestinationCidrBlock: "0.0.0.0/0", NatGatewayId: $n, State: "active"}])' --arg r "$RT_PRIVATE" --arg n "$nat"
  if [[ -z $route ]]; then
    act add "route 0.0.0.0/0 -> $FERRY_NAT_NAME in $FERRY_RT_PRIVATE" \
      aws_cli ec2 create-route --route-table-id "$RT_PRIVATE" --destination-cidr-block 0.0.0.0/0 \
      --nat-gateway-id "$nat"
  elif [[ ${route%%$'\t'*} == "$nat" && ${route#*$'\t'} != blackhole ]]; then
    step ok "route 0.0.0.0/0 -> $FERRY_NAT_NAME in $FERRY_RT_PRIVATE"
  else
    act replace "route 0.0.0.0/0 (${route%%$'\t'*}, ${route#*$'\t'}) -> $FERRY_NAT_NAME in $FERRY_RT_PRIVATE" \
      aws_cli ec2 replace-route --route-table-id "$RT_PRIVATE" --destination-cidr-block 0.0.0.0/0 \
      --nat-gateway-id "$nat"
  fi
  ensure_rules "$SG_PRIVATE" "$FERRY_SG_PRIVATE" egress \
    "80 0.0.0.0/0 for package management" "443 0.0.0.0/0 for package management"
}

nat_down() {
  local found nat="" route e ids=()
  found=$(nat_of "$FERRY_NAT_NAME")
  if [[ -n $found && $(cut -f3 <<<"$found") == ours ]]; then nat=${found%%$'\t'*}; fi
  if [[ -n $found && -z $nat ]]; then
    warn "NAT gateway $FERRY_NAT_NAME (${found%%$'\t'*}) was not made by ferry-aws: left alone (it is billed per hour)"
  fi
  route=$(nat_route)
  local target=${route%%$'\t'*} rstate=${route#*$'\t'}
  if [[ -n $route && (($target == nat-* && -n $nat && $target == "$nat") || ($target == nat-* && $rstate == blackhole &&
    -n $(js nats '.NatGateways[] | select(.NatGatewayId == $i and ours) | .NatGatewayId' --arg i "$target"))) ]] ||
    { ((DRY_RUN)) && [[ -n $nat ]] && planned "$nat"; }; then # (a dry run: the route its plan adds)
    act delete "route 0.0.0.0/0 -> $FERRY_NAT_NAME in $FERRY_RT_PRIVATE" \
      aws_cli ec2 delete-route --route-table-id "$RT_PRIVATE" --destination-cidr-block 0.0.0.0/0
  fi
  if [[ -n $nat ]]; then
    if [[ $(cut -f2 <<<"$found") != deleting ]]; then
      act delete "NAT gateway $FERRY_NAT_NAME ($nat)" aws_cli ec2 delete-nat-gateway --nat-gateway-id "$nat"
    fi
    if ! ((DRY_RUN)); then
      poll "$FERRY_WAIT_TIMEOUT" "NAT gateway $nat to be deleted" nat_gone "$nat"
    fi
  fi
  e=$(eip "$FERRY_NAT_EIP_NAME")
  if [[ -n $e ]]; then
    act release "Elastic IP $FERRY_NAT_EIP_NAME (${e%%$'\t'*})" release_eip "${e%%$'\t'*}"
  fi
  local port id perms='[]' list=()
  for port in 80 443; do
    id=$(rule_of "$SG_PRIVATE" true "$port" 0.0.0.0/0)
    if [[ -n $id && ${id#*$'\t'} == ours ]]; then
      ids+=("${id%%$'\t'*}")
      list+=("tcp/$port")
      perms=$(jq -c --argjson p "$port" '. + [{IpProtocol: "tcp", FromPort: $p, ToPort: $p, IpRanges: [{CidrIp: "0.0.0.0/0"}]}]' <<<"$perms")
    fi
  done
  if ((${#ids[@]})); then
    act remove "$FERRY_SG_PRIVATE egress ${list[*]} to 0.0.0.0/0 (package management)" \
      aws_cli ec2 revoke-security-group-egress --group-id "$SG_PRIVATE" --ip-permissions "$perms"
  fi
  if [[ -z $nat && -z $e && ${#ids[@]} == 0 ]]; then step ok "no NAT ($FERRY_NAT_NAME absent)"; fi
}

# release_eip ALLOCATION: an address freed by a NAT or instance deletion may take a moment
# to come loose.
release_eip() {
  local start=$SECONDS rc
  while :; do
    rc=0
    AWS_EXPECT="InvalidIPAddress.InUse AuthFailure.AddressInUse" aws_cli ec2 release-address --allocation-id "$1" || rc=$?
    ((rc == 0)) && return 0
    ((rc == 100)) || return "$rc"
    ((SECONDS - start < FERRY_WAIT_TIMEOUT)) || die "Elastic IP $1 still in use after ${FERRY_WAIT_TIMEOUT}s"
    sleep "$FERRY_POLL_SECONDS"
  done
}

cmd_nat() {
  require_cli
  command -v jq >/dev/null || die "$EXIT_MISSING" "jq is needed (apt-get install jq)"
  require_vpc
  say "ferry-aws nat $SUB: region $FERRY_REGION, VPC $FERRY_VPC_NAME ($VPC_ID)$( ((DRY_RUN)) && echo " -- dry run, nothing is changed")"
  fetch_vpc_state
  fetch_wait
  require_network
  fetch_rules "$SG_PRIVATE"
  fetch_wait
  case $SUB in
    up)
      nat_preflight
      nat_up
      step note "the NAT and its Elastic IP are billed per hour: ferry-aws nat down when the installs are done"
      ;;
    down) nat_down ;;
    *) usage >&2; die "$EXIT_USAGE" "nat up or nat down" ;;
  esac
}
