# shellcheck shell=bash
# The EC2 instances (two backends, one or two ferry instances): their images, looking them up,
# launching them, waiting until they run or are terminated.

# inst NAME: "id state owner ready private-ip subnet" of the live instance named NAME.
inst() {
  js instances '[.Reservations[].Instances[]
      | select(tags.Name == $n and (.State.Name | IN("pending", "running", "stopping", "stopped")))]
    | .[0] // empty
    | [.InstanceId, .State.Name, (if ours then "ours" else "foreign" end), (tags.FerryReady // "no"),
       (.PrivateIpAddress // "-"), (.SubnetId // "-")] | @tsv' --arg n "$1"
}

proxy_names() {
  echo "$FERRY_PROXY_1_NAME"
  if ((HA)); then echo "$FERRY_PROXY_2_NAME"; fi
}

mirror_instance() { # ID NAME ROLE PRIVATE_IP
  mirror instances '.Reservations += [{Instances: [{InstanceId: $i, State: {Name: "pending"}, PrivateIpAddress: $ip,
    Tags: [{Key: "Name", Value: $n}, {Key: $tk, Value: $tv}, {Key: "FerryRole", Value: $r}]}]}]' \
    --arg i "$1" --arg n "$2" --arg r "$3" --arg ip "$4"
}

AMI_BACKEND="" AMI_BACKEND_ROOT="" AMI_PROXY="" AMI_PROXY_ROOT=""
fetch_images() {
  local owners=() names=() ids=()
  if [[ -n $FERRY_BACKEND_AMI_ID ]]; then ids+=("$FERRY_BACKEND_AMI_ID"); else
    owners+=("$FERRY_BACKEND_AMI_OWNER"); names+=("$FERRY_BACKEND_AMI_NAME"); fi
  if [[ -n $FERRY_PROXY_AMI_ID ]]; then ids+=("$FERRY_PROXY_AMI_ID"); else
    owners+=("$FERRY_PROXY_AMI_OWNER"); names+=("$FERRY_PROXY_AMI_NAME"); fi
  if ((${#names[@]})); then
    fetch images ec2 describe-images --owners "${owners[@]}" \
      --filters "Name=name,Values=$(IFS=,; echo "${names[*]}")" Name=state,Values=available
  else
    echo '{"Images": []}' >"$FERRY_TMP/images.json"
  fi
  if ((${#ids[@]})); then
    AWS_EXPECT="InvalidAMIID.NotFound InvalidAMIID.Malformed" fetch images-by-id ec2 describe-images --image-ids "${ids[@]}"
  else
    echo '{"Images": []}' >"$FERRY_TMP/images-by-id.json"
  fi
}
# pick_image ID OWNER PATTERN -> "image-id root-device"
pick_image() {
  if [[ -n $1 ]]; then
    js images-by-id '(.Images // [])[] | select(.ImageId == $i) | [.ImageId, .RootDeviceName] | @tsv' --arg i "$1"
  else
    js images '[.Images[] | select(.OwnerId == $o and (.Name | test("^" + ($p | gsub("[.]"; "\\.") | gsub("[*]"; ".*")) + "$")))]
      | sort_by(.CreationDate // "", .Name) | last // empty | [.ImageId, .RootDeviceName] | @tsv' --arg o "$2" --arg p "$3"
  fi
}
resolve_images() {
  local b p
  b=$(pick_image "$FERRY_BACKEND_AMI_ID" "$FERRY_BACKEND_AMI_OWNER" "$FERRY_BACKEND_AMI_NAME")
  p=$(pick_image "$FERRY_PROXY_AMI_ID" "$FERRY_PROXY_AMI_OWNER" "$FERRY_PROXY_AMI_NAME")
  [[ -n $b ]] || die "$EXIT_MISSING" "no backend AMI: ${FERRY_BACKEND_AMI_ID:-nothing named $FERRY_BACKEND_AMI_NAME from $FERRY_BACKEND_AMI_OWNER} in $FERRY_REGION; set FERRY_BACKEND_AMI_ID. Nothing was changed."
  [[ -n $p ]] || die "$EXIT_MISSING" "no ferry AMI: ${FERRY_PROXY_AMI_ID:-nothing named $FERRY_PROXY_AMI_NAME from $FERRY_PROXY_AMI_OWNER} in $FERRY_REGION; set FERRY_PROXY_AMI_ID. Nothing was changed."
  AMI_BACKEND=${b%%$'\t'*} AMI_BACKEND_ROOT=${b#*$'\t'}
  AMI_PROXY=${p%%$'\t'*} AMI_PROXY_ROOT=${p#*$'\t'}
}

# ip_holder IP: who holds the private address, if anyone ("eni-… (instance i-… NAME)").
ip_holder() {
  js enis '.NetworkInterfaces[] | select(any(.PrivateIpAddresses[]?; .PrivateIpAddress == $ip) or .PrivateIpAddress == $ip)
    | .NetworkInterfaceId + (if .Attachment.InstanceId then " (instance " + .Attachment.InstanceId + ")" else
      " (" + ((.Description // "") | if . == "" then "unattached" else . end) + ")" end)' --arg ip "$1" | head -n 1
}

# launch ROLE NAME SUBNET SG IP USER_DATA: run one instance (USER_DATA: --user-data's argument,
# from fit_user_data); prints its id.
launch() {
  local role=$1 name=$2 subnet=$3 sg=$4 ip=$5 ud=$6 ami root type nic
  if [[ $role == backend ]]; then ami=$AMI_BACKEND root=$AMI_BACKEND_ROOT type=$FERRY_INSTANCE_TYPE
  else ami=$AMI_PROXY root=$AMI_PROXY_ROOT type=$FERRY_PROXY_INSTANCE_TYPE; fi
  # An explicit interface: subnet, group and fixed address sit there, public IP off.
  nic=$(jq -cn --arg s "$subnet" --arg g "$sg" --arg ip "$ip" \
    '[{DeviceIndex: 0, SubnetId: $s, Groups: [$g], AssociatePublicIpAddress: false, DeleteOnTermination: true}
      + (if $ip == "" then {} else {PrivateIpAddress: $ip} end)]')
  local bdm
  bdm=$(jq -cn --arg d "$root" --argjson size "$FERRY_ROOT_VOLUME_GIB" --arg t "$FERRY_ROOT_VOLUME_TYPE" \
    '[{DeviceName: $d, Ebs: {VolumeSize: $size, VolumeType: $t, DeleteOnTermination: true}}]')
  local start=$SECONDS rc expect=""
  # A fresh instance profile takes a few seconds to reach EC2 ("Invalid IAM Instance Profile").
  if ((NEW_PROFILE)); then expect=InvalidParameterValue; fi
  while :; do
    rc=0
    AWS_EXPECT=$expect aws_cli ec2 run-instances --image-id "$ami" --instance-type "$type" --count 1 \
      --network-interfaces "$nic" --iam-instance-profile "Name=$FERRY_SSM_PROFILE" \
      --block-device-mappings "$bdm" --metadata-options HttpTokens=required,HttpEndpoint=enabled \
      --placement Tenancy=default --user-data "$ud" \
      --tag-specifications "$(tag_spec instance "$name" "FerryRole=$role")" \
      "$(tag_spec volume "$name" "FerryRole=$role")" "$(tag_spec network-interface "$name" "FerryRole=$role")" || rc=$?
    ((rc == 0)) && return 0
    ((rc == 100)) || return "$rc"
    if grep -qiE 'instance ?profile' "$FERRY_TMP/aws-expected.err" && ((SECONDS - start < 120)); then
      sleep "$FERRY_POLL_SECONDS"
      continue
    fi
    aws_explain InvalidParameterValue "$FERRY_TMP/aws-expected.err" "ec2 run-instances" || true
    return "$EXIT_FAIL"
  done
}

running_or_not() { # IDS...: 0 when all running
  aws_cli ec2 describe-instances --instance-ids "$@" >"$FERRY_TMP/inst-poll.json"
  local bad
  bad=$(jq -r '.Reservations[].Instances[] | select(.State.Name | IN("shutting-down", "terminated", "stopped", "stopping"))
    | .InstanceId + " " + .State.Name + " " + (.StateReason.Message // "")' "$FERRY_TMP/inst-poll.json")
  [[ -z $bad ]] || die "instance did not start: $bad"
  [[ -z $(jq -r '.Reservations[].Instances[] | select(.State.Name != "running") | .InstanceId' "$FERRY_TMP/inst-poll.json") ]]
}
terminated() {
  aws_cli ec2 describe-instances --instance-ids "$@" >"$FERRY_TMP/inst-poll.json"
  [[ -z $(jq -r '.Reservations[].Instances[] | select(.State.Name != "terminated") | .InstanceId' "$FERRY_TMP/inst-poll.json") ]]
}
