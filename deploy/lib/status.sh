# shellcheck shell=bash
# ferry-aws status: the deployment as a table (--mask hides what differs from run to run).

mask() { # mask VALUE: hide what differs from run to run (ids, public addresses)
  local v=$1
  if ((MASK)); then
    if [[ $v =~ ^([a-z]+)-[0-9a-f]{8,17}$ ]]; then v="${BASH_REMATCH[1]}-*"
    elif [[ $v =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ && $v != "$FERRY_BACKEND_1_IP" && $v != "$FERRY_BACKEND_2_IP" ]]; then v="*.*.*.*"
    elif [[ $v == *.elb.amazonaws.com || $v == *.elb.*.amazonaws.com ]]; then v="$FERRY_NLB_NAME-*.elb.amazonaws.com"
    fi
  fi
  printf '%s' "$v"
}
row() { printf '%-9s %-32s %-22s %-14s %-14s %s\n' "$1" "$2" "$(mask "$3")" "$4" "$(mask "$5")" "$(mask "$6")"; }

cmd_status() {
  require_cli
  command -v jq >/dev/null || die "$EXIT_MISSING" "jq is needed (apt-get install jq)"
  find_vpc
  if [[ -z $VPC_ID ]]; then
    say "ferry-aws status: region $FERRY_REGION; VPC $FERRY_VPC_NAME not found: nothing deployed"
    return
  fi
  local f=(--filters "Name=vpc-id,Values=$VPC_ID")
  fetch instances ec2 describe-instances "${f[@]}" \
    "Name=instance-state-name,Values=pending,running,stopping,stopped,shutting-down"
  fetch endpoints ec2 describe-vpc-endpoints "${f[@]}"
  fetch nats ec2 describe-nat-gateways --filter "Name=vpc-id,Values=$VPC_ID"
  fetch addresses ec2 describe-addresses --filters "Name=tag:$FERRY_TAG_KEY,Values=$FERRY_TAG_VALUE"
  fetch_elb_state
  fetch_quiet ssm ssm describe-instance-information
  fetch_wait
  local tg
  tg=$(tg_arn)
  [[ -z $tg ]] || fetch_quiet targets elbv2 describe-target-health --target-group-arn "$tg"
  fetch_wait

  say "ferry-aws status: region $FERRY_REGION, VPC $FERRY_VPC_NAME ($(mask "$VPC_ID"))"
  row KIND NAME ID STATE "PRIVATE IP" "PUBLIC IP / DETAIL"
  local name found id e pub
  local names=("$FERRY_BACKEND_1_NAME" "$FERRY_BACKEND_2_NAME" "$FERRY_PROXY_1_NAME" "$FERRY_PROXY_2_NAME")
  for name in "${names[@]}"; do
    found=$(inst "$name")
    if [[ -z $found ]]; then
      [[ $name == "$FERRY_PROXY_2_NAME" ]] || row instance "$name" - absent - -
      continue
    fi
    id=$(cut -f1 <<<"$found")
    pub=$(js instances '.Reservations[].Instances[] | select(.InstanceId == $i) | .PublicIpAddress // "-"' --arg i "$id")
    row instance "$name" "$id" "$(cut -f2 <<<"$found")" "$(cut -f5 <<<"$found")" "$pub"
  done
  local svc ep
  for svc in $(endpoint_services); do
    ep=$(endpoint_of "com.amazonaws.$FERRY_REGION.$svc")
    if [[ -n $ep ]]; then
      row endpoint "$(endpoint_name "$svc")" "$(cut -f1 <<<"$ep")" "$(cut -f2 <<<"$ep" | tr '[:upper:]' '[:lower:]')" - \
        "$(js endpoints '.VpcEndpoints[] | select(.VpcEndpointId == $i) | "\(.SubnetIds | length) subnets, private DNS \(if .PrivateDnsEnabled then "on" else "off" end)"' --arg i "$(cut -f1 <<<"$ep")")"
    else
      row endpoint "$(endpoint_name "$svc")" - absent - -
    fi
  done
  found=$(nat_of "$FERRY_NAT_NAME")
  if [[ -n $found ]]; then
    e=$(js nats '.NatGateways[] | select(.NatGatewayId == $i) | .NatGatewayAddresses[0].PublicIp // "-"' --arg i "$(cut -f1 <<<"$found")")
    row nat "$FERRY_NAT_NAME" "$(cut -f1 <<<"$found")" "$(cut -f2 <<<"$found")" - "$(mask "$e") (billed per hour: ferry-aws nat down)"
  else
    row nat "$FERRY_NAT_NAME" - absent - -
  fi
  local ping
  for name in "${names[@]}"; do
    id=$(inst "$name" | cut -f1)
    [[ -n $id ]] || continue
    local detail=-
    if [[ $(js ssm '. == null') == true ]]; then
      ping="unknown" detail="(SSM DescribeInstanceInformation gave no answer)"
    else
      ping=$(js ssm '.InstanceInformationList[]? | select(.InstanceId == $i) | .PingStatus' --arg i "$id" | tr '[:upper:]' '[:lower:]')
      [[ -n $ping ]] || ping="offline" detail="(not registered with Systems Manager)"
    fi
    row ssm "$name" "$id" "$ping" - "$detail"
  done
  local lb dns
  lb=$(lb_arn)
  if [[ -n $lb ]]; then
    dns=$(js lbs '.LoadBalancers[] | select(.LoadBalancerArn == $a) | .DNSName' --arg a "$lb")
    row nlb "$FERRY_NLB_NAME" - "$(js lbs '.LoadBalancers[] | select(.LoadBalancerArn == $a) | .State.Code' --arg a "$lb")" - "$dns"
    if [[ -n $tg && $(js targets '. != null') == true ]]; then
      while IFS=$'\t' read -r id e; do
        name=$(js instances '.Reservations[].Instances[] | select(.InstanceId == $i) | tags.Name // "?"' --arg i "$id")
        row target "${name:-?}" "$id" "$e" - "$FERRY_TG_NAME"
      done < <(js targets '.TargetHealthDescriptions[] | [.Target.Id, .TargetHealth.State] | @tsv')
    fi
  fi
  local any=0
  if [[ -n $lb ]]; then
    row ferry "entry point" - - - "http://$(mask "$dns")/"
    any=1
  fi
  for name in "$FERRY_PROXY_1_NAME" "$FERRY_PROXY_2_NAME"; do
    e=$(eip "$name-eip")
    [[ -n $e ]] || continue
    pub=$(mask "$(cut -f4 <<<"$e")")
    row ferry "$name" - - - "http://$pub:$FERRY_PROXY_PORT/ http://$pub/ https://$pub/"
    any=1
  done
  ((any)) || row ferry "-" - absent - "not deployed"
}
