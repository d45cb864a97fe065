# shellcheck shell=bash
# The interface endpoints Session Manager needs in the private subnets (ssm, ssmmessages,
# ec2messages).

# endpoint SERVICE: "id state owner" of the live interface endpoint for the service.
endpoint_of() {
  js endpoints '.VpcEndpoints[]
    | select(.ServiceName == $s and ((.State // "") | ascii_downcase | IN("deleted", "deleting", "failed", "rejected") | not))
    | [.VpcEndpointId, .State, (if ours then "ours" else "foreign" end)] | @tsv' --arg s "$1" | head -n 1
}

endpoint_services() { echo ssm ssmmessages ec2messages; }
endpoint_name() {
  case $1 in
    ssm) echo "$FERRY_ENDPOINT_SSM_NAME" ;;
    ssmmessages) echo "$FERRY_ENDPOINT_SSMMESSAGES_NAME" ;;
    ec2messages) echo "$FERRY_ENDPOINT_EC2MESSAGES_NAME" ;;
  esac
}

endpoints_missing() {
  local svc
  for svc in $(endpoint_services); do
    [[ -n $(endpoint_of "com.amazonaws.$FERRY_REGION.$svc") ]] || echo "$svc"
  done
}
ensure_endpoints() {
  local svc name found
  for svc in $(endpoint_services); do
    name=$(endpoint_name "$svc")
    found=$(endpoint_of "com.amazonaws.$FERRY_REGION.$svc")
    if [[ -n $found ]]; then
      step ok "endpoint $name (${found%%$'\t'*})"
      continue
    fi
    act create "endpoint $name: com.amazonaws.$FERRY_REGION.$svc in $FERRY_SUBNET_PRIVATE_1 + $FERRY_SUBNET_PRIVATE_2, private DNS" \
      aws_cli ec2 create-vpc-endpoint --vpc-id "$VPC_ID" --vpc-endpoint-type Interface \
      --service-name "com.amazonaws.$FERRY_REGION.$svc" --subnet-ids "$SUBNET_PRIV_1" "$SUBNET_PRIV_2" \
      --security-group-ids "$SG_PRIVATE" --private-dns-enabled \
      --tag-specifications "$(tag_spec vpc-endpoint "$name")"
  done
}
