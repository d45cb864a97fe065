# shellcheck shell=bash
# My-VPC and the seed's pieces in it (part 2): finding the VPC, fetching its state, the ids of
# its subnets, route tables and security groups, and what is missing.

VPC_ID=
find_vpc() {
  aws_cli ec2 describe-vpcs --filters "Name=tag:Name,Values=$FERRY_VPC_NAME" >"$FERRY_TMP/vpcs.json"
  local n
  n=$(js vpcs '.Vpcs | length')
  if ((n > 1)); then
    die "$EXIT_MISSING" "$n VPCs are named $FERRY_VPC_NAME in $FERRY_REGION; keep one (or set FERRY_VPC_NAME)"
  fi
  VPC_ID=$(js vpcs '.Vpcs[0].VpcId // empty')
}

subnet_id() { js subnets '.Subnets[] | select(tags.Name == $n) | .SubnetId' --arg n "$1" | head -n 1; }
subnet_cidr() { js subnets '.Subnets[] | select(.SubnetId == $i) | .CidrBlock' --arg i "$1"; }
rtb_id() { js rtbs '.RouteTables[] | select(tags.Name == $n) | .RouteTableId' --arg n "$1" | head -n 1; }

# fetch_vpc_state: everything up/down/nat need about My-VPC, in parallel.
fetch_vpc_state() {
  local f=(--filters "Name=vpc-id,Values=$VPC_ID")
  fetch subnets ec2 describe-subnets "${f[@]}"
  fetch sgs ec2 describe-security-groups "${f[@]}"
  fetch rtbs ec2 describe-route-tables "${f[@]}"
  fetch endpoints ec2 describe-vpc-endpoints "${f[@]}"
  fetch nats ec2 describe-nat-gateways --filter "Name=vpc-id,Values=$VPC_ID"
  fetch addresses ec2 describe-addresses --filters "Name=tag:$FERRY_TAG_KEY,Values=$FERRY_TAG_VALUE"
  fetch instances ec2 describe-instances "${f[@]}" \
    "Name=instance-state-name,Values=pending,running,stopping,stopped,shutting-down"
}

# resolve_network: ids of the pre-existing pieces; MISSING lists what is not there.
MISSING=()
resolve_network() {
  SUBNET_PUB_1=$(subnet_id "$FERRY_SUBNET_PUBLIC_1")
  SUBNET_PUB_2=$(subnet_id "$FERRY_SUBNET_PUBLIC_2")
  SUBNET_PRIV_1=$(subnet_id "$FERRY_SUBNET_PRIVATE_1")
  SUBNET_PRIV_2=$(subnet_id "$FERRY_SUBNET_PRIVATE_2")
  SG_PRIVATE=$(sg_id "$FERRY_SG_PRIVATE")
  # shellcheck disable=SC2034  # read by lib/security_groups.sh, up.sh and down.sh
  SG_PROXY=$(sg_id "$FERRY_SG_PROXY")
  RT_PRIVATE=$(rtb_id "$FERRY_RT_PRIVATE")
  RT_PUBLIC=$(rtb_id "$FERRY_RT_PUBLIC")
  local missing=()
  [[ -n $SUBNET_PUB_1 ]] || missing+=("subnet $FERRY_SUBNET_PUBLIC_1")
  [[ -n $SUBNET_PUB_2 ]] || missing+=("subnet $FERRY_SUBNET_PUBLIC_2")
  [[ -n $SUBNET_PRIV_1 ]] || missing+=("subnet $FERRY_SUBNET_PRIVATE_1")
  [[ -n $SUBNET_PRIV_2 ]] || missing+=("subnet $FERRY_SUBNET_PRIVATE_2")
  [[ -n $SG_PRIVATE ]] || missing+=("security group $FERRY_SG_PRIVATE")
  [[ -n $RT_PRIVATE ]] || missing+=("route table $FERRY_RT_PRIVATE")
  if [[ -z $RT_PUBLIC ]]; then
    missing+=("route table $FERRY_RT_PUBLIC")
  elif [[ -z $(js rtbs '.RouteTables[] | select(.RouteTableId == $r) | .Routes[]
      | select(.DestinationCidrBlock == "0.0.0.0/0" and ((.GatewayId // "") | startswith("igw-")))
      | .GatewayId' --arg r "$RT_PUBLIC") ]]; then
    missing+=("route 0.0.0.0/0 -> internet gateway ($FERRY_IGW_NAME) in $FERRY_RT_PUBLIC")
  fi
  MISSING=("${missing[@]}")
}

require_network() {
  resolve_network
  if ((${#MISSING[@]})); then
    local list
    list=$(printf '%s, ' "${MISSING[@]}")
    die "$EXIT_MISSING" "$FERRY_VPC_NAME ($VPC_ID) lacks: ${list%, }." \
      "ferry-aws builds on the seed's network (part 2); create what is missing first, nothing was changed."
  fi
  local i ip cidr
  for i in 1 2; do
    ip=FERRY_BACKEND_${i}_IP
    ip=${!ip}
    if [[ $i == 1 ]]; then cidr=$(subnet_cidr "$SUBNET_PRIV_1"); else cidr=$(subnet_cidr "$SUBNET_PRIV_2"); fi
    if ! ip_in_cidr "$ip" "$cidr"; then
      die "$EXIT_MISSING" "backend address $ip is outside $cidr of its subnet; fix FERRY_BACKEND_${i}_IP in settings.env"
    fi
  done
}

require_vpc() {
  find_vpc
  if [[ -z $VPC_ID ]]; then
    die "$EXIT_MISSING" "VPC $FERRY_VPC_NAME not found in $FERRY_REGION (so none of its subnets" \
      "$FERRY_SUBNET_PUBLIC_1, $FERRY_SUBNET_PUBLIC_2, $FERRY_SUBNET_PRIVATE_1, $FERRY_SUBNET_PRIVATE_2" \
      "nor security group $FERRY_SG_PRIVATE). ferry-aws builds on the seed's network (part 2);" \
      "create it first. Nothing was changed."
  fi
}

subnet_label() {
  case $1 in
    "$SUBNET_PUB_1") echo "$FERRY_SUBNET_PUBLIC_1" ;;
    "$SUBNET_PUB_2") echo "$FERRY_SUBNET_PUBLIC_2" ;;
    "$SUBNET_PRIV_1") echo "$FERRY_SUBNET_PRIVATE_1" ;;
    "$SUBNET_PRIV_2") echo "$FERRY_SUBNET_PRIVATE_2" ;;
    *) echo "$1" ;;
  esac
}
