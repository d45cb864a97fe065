# shellcheck shell=bash
# --ha: the network load balancer, its listener and its target group in front of the ferry
# instances.

fetch_elb_state() {
  fetch lbs elbv2 describe-load-balancers
  fetch tgs elbv2 describe-target-groups
}
lb_arn() { js lbs '.LoadBalancers[] | select(.LoadBalancerName == $n) | .LoadBalancerArn' --arg n "$FERRY_NLB_NAME" | head -n 1; }
tg_arn() { js tgs '.TargetGroups[] | select(.TargetGroupName == $n) | .TargetGroupArn' --arg n "$FERRY_TG_NAME" | head -n 1; }
elb_ours() { # ARN: tags via describe-tags
  AWS_EXPECT="LoadBalancerNotFound TargetGroupNotFound" aws_cli elbv2 describe-tags --resource-arns "$1" >"$FERRY_TMP/elbtags.json" || return 1
  [[ $(jq -r --arg k "$FERRY_TAG_KEY" --arg v "$FERRY_TAG_VALUE" \
    '[.TagDescriptions[].Tags[]? | select(.Key == $k and .Value == $v)] | length > 0' "$FERRY_TMP/elbtags.json") == true ]]
}

# ensure_nlb LB TG: sets LB_ARN, LB_DNS, LB_ZONE (its Route 53 zone, for an alias), TG_ARN.
LB_ARN="" LB_ZONE="" TG_ARN=""
ensure_nlb() {
  local lb=$1 tg=$2
  if [[ -n $tg ]]; then
    step ok "target group $FERRY_TG_NAME"
  else
    act create "target group $FERRY_TG_NAME (TCP $FERRY_PROXY_PORT, health check HTTP $FERRY_HEALTH_PATH)" \
      aws_cli elbv2 create-target-group --name "$FERRY_TG_NAME" --protocol TCP --port "$FERRY_PROXY_PORT" \
      --vpc-id "$VPC_ID" --target-type instance --health-check-protocol HTTP \
      --health-check-path "$FERRY_HEALTH_PATH" --health-check-port traffic-port \
      --healthy-threshold-count 2 --unhealthy-threshold-count 2 --health-check-interval-seconds 10 \
      --tags "$(tag_list "$FERRY_TG_NAME")"
    tg=$(last '.TargetGroups[0].TargetGroupArn // empty')
    [[ -n $tg ]] || tg="<$FERRY_TG_NAME>"
  fi
  if [[ -n $lb ]]; then
    step ok "network load balancer $FERRY_NLB_NAME"
    LB_DNS=$(js lbs '.LoadBalancers[] | select(.LoadBalancerArn == $a) | .DNSName' --arg a "$lb")
    # shellcheck disable=SC2034  # read by up (lib/up.sh)
    LB_ZONE=$(js lbs '.LoadBalancers[] | select(.LoadBalancerArn == $a) | .CanonicalHostedZoneId // empty' --arg a "$lb")
  else
    act create "network load balancer $FERRY_NLB_NAME (internet-facing, $FERRY_SUBNET_PUBLIC_1 + $FERRY_SUBNET_PUBLIC_2)" \
      aws_cli elbv2 create-load-balancer --name "$FERRY_NLB_NAME" --type network --scheme internet-facing \
      --subnets "$SUBNET_PUB_1" "$SUBNET_PUB_2" --tags "$(tag_list "$FERRY_NLB_NAME")"
    lb=$(last '.LoadBalancers[0].LoadBalancerArn // empty')
    # shellcheck disable=SC2034  # read by summary (lib/up.sh)
    LB_DNS=$(last '.LoadBalancers[0].DNSName // "<NLB address>"')
    # shellcheck disable=SC2034  # read by up (lib/up.sh)
    LB_ZONE=$(last '.LoadBalancers[0].CanonicalHostedZoneId // "<NLB zone>"')
    [[ -n $lb ]] || lb="<$FERRY_NLB_NAME>"
  fi
  # shellcheck disable=SC2034  # read by up (lib/up.sh)
  LB_ARN=$lb TG_ARN=$tg
  if ! planned "$lb" && [[ -f $FERRY_TMP/listeners.json ]] &&
    [[ -n $(js listeners '.Listeners[] | select(.Port == $p) | .ListenerArn' --argjson p "$FERRY_NLB_PORT") ]]; then
    step ok "listener TCP $FERRY_NLB_PORT -> $FERRY_TG_NAME"
  else
    act create "listener TCP $FERRY_NLB_PORT -> $FERRY_TG_NAME" \
      aws_cli elbv2 create-listener --load-balancer-arn "$lb" --protocol TCP --port "$FERRY_NLB_PORT" \
      --default-actions "Type=forward,TargetGroupArn=$tg" --tags "$(tag_list "$FERRY_NLB_NAME-$FERRY_NLB_PORT")"
  fi
  local name id targets=()
  for name in "${PROXIES[@]}"; do
    id=$(inst "$name" | cut -f1)
    [[ -n $id ]] || id="<$name>"
    if ! planned "$tg" && [[ -f $FERRY_TMP/targets.json ]] &&
      [[ -n $(js targets '.TargetHealthDescriptions[] | select(.Target.Id == $i) | .Target.Id' --arg i "$id") ]]; then
      step ok "target $name in $FERRY_TG_NAME"
    else
      targets+=("Id=$id,Port=$FERRY_PROXY_PORT")
    fi
  done
  if ((${#targets[@]})); then
    act register "${#targets[@]} ferry instance(s) in $FERRY_TG_NAME" \
      aws_cli elbv2 register-targets --target-group-arn "$tg" --targets "${targets[@]}"
  fi
}

lb_gone() {
  local rc=0
  AWS_EXPECT=LoadBalancerNotFound aws_cli elbv2 describe-load-balancers --load-balancer-arns "$1" >/dev/null || rc=$?
  ((rc == 100)) && return 0
  ((rc == 0)) && return 1
  return "$rc"
}
