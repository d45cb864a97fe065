# shellcheck shell=bash
# ferry-aws down: removes what up made (and only that), in reverse order.

cmd_down() {
  require_cli
  command -v jq >/dev/null || die "$EXIT_MISSING" "jq is needed (apt-get install jq)"
  find_vpc
  fetch_iam_state role
  if [[ -z $VPC_ID ]]; then
    fetch_wait
    say "ferry-aws down: region $FERRY_REGION; VPC $FERRY_VPC_NAME not found, so only IAM is left to check"
    down_iam
    return
  fi
  say "ferry-aws down: region $FERRY_REGION, VPC $FERRY_VPC_NAME ($VPC_ID)$( ((DRY_RUN)) && echo " -- dry run, nothing is changed")"
  fetch_vpc_state
  fetch_elb_state
  fetch_tls_state
  AWS_EXPECT="NoSuchBucket 404" fetch bucket-objects s3api list-objects-v2 --bucket "$(bucket_name)" --prefix ferry/
  fetch_wait
  resolve_network
  local groups=()
  [[ -z $SG_PRIVATE ]] || groups+=("$SG_PRIVATE")
  [[ -z $SG_PROXY ]] || groups+=("$SG_PROXY")
  if ((${#groups[@]})); then fetch_rules "${groups[@]}"; else echo '{"SecurityGroupRules": []}' >"$FERRY_TMP/sgrules.json"; fi
  # up --domain: the names (given, or as the Elastic IPs remember them), their zones and certificates.
  local domains=() lb tg
  if [[ -n $DOMAIN ]]; then
    require_domain_args
    domains=("$DOMAIN")
  else
    mapfile -t domains < <(js addresses '[.Addresses[] | select(ours) | tags.FerryDomain // empty] | unique[]')
  fi
  if ((${#domains[@]})); then
    fetch zones route53 list-hosted-zones
    fetch_certificates
  fi
  lb=$(lb_arn) tg=$(tg_arn)
  if [[ -n $lb ]]; then fetch listeners elbv2 describe-listeners --load-balancer-arn "$lb"; fi
  fetch_wait

  # 0. The names' records (while the addresses and the NLB they point at still exist).
  for DOMAIN in "${domains[@]}"; do down_domain_record; done

  # 1. Load balancer (its TLS listener first, for the certificate) and target group (--ha).
  if [[ -n $lb ]] && elb_ours "$lb"; then
    down_tls_listener
    act delete "network load balancer $FERRY_NLB_NAME" aws_cli elbv2 delete-load-balancer --load-balancer-arn "$lb"
    ((DRY_RUN)) || poll "$FERRY_WAIT_TIMEOUT" "load balancer $FERRY_NLB_NAME to go" lb_gone "$lb"
  fi
  if [[ -n $tg ]] && elb_ours "$tg"; then
    act delete "target group $FERRY_TG_NAME" aws_cli elbv2 delete-target-group --target-group-arn "$tg"
  fi
  # ...then the ACM certificates and their validation records.
  for DOMAIN in "${domains[@]}"; do
    # shellcheck disable=SC2034  # read by down_certificate (lib/domain.sh)
    ZONE_ID=""
    resolve_zone_soft >/dev/null || true
    down_certificate
  done

  # 2. Instances.
  local ids=() names=()
  while IFS=$'\t' read -r id name; do ids+=("$id"); names+=("$name"); done < <(
    js instances '.Reservations[].Instances[] | select(ours and .State.Name != "terminated") | [.InstanceId, (tags.Name // "?")] | @tsv')
  if ((${#ids[@]})); then
    act terminate "instances ${names[*]}" aws_cli ec2 terminate-instances --instance-ids "${ids[@]}"
    ((DRY_RUN)) || poll "$FERRY_WAIT_TIMEOUT" "instances to terminate" terminated "${ids[@]}"
  fi

  # 3. The ferry instances' Elastic IPs.
  local alloc assoc ename
  while IFS=$'\t' read -r alloc assoc ename; do
    if [[ $assoc != - ]]; then
      act disassociate "Elastic IP $ename" disassociate_eip "$assoc"
    fi
    act release "Elastic IP $ename ($alloc)" release_eip "$alloc"
  done < <(js addresses '.Addresses[] | select(ours and (tags.Name // "") != $nat) | [.AllocationId, (.AssociationId // "-"), (tags.Name // "?")] | @tsv' --arg nat "$FERRY_NAT_EIP_NAME")

  # 4. NAT (route, gateway, its Elastic IP, the egress rules).
  if [[ -n $SG_PRIVATE && -n $RT_PRIVATE ]]; then nat_down; fi

  # 5. Endpoints.
  local eps=() enames=()
  while IFS=$'\t' read -r id name; do eps+=("$id"); enames+=("$name"); done < <(
    js endpoints '.VpcEndpoints[] | select(ours and ((.State // "") | ascii_downcase | IN("deleted", "deleting") | not)) | [.VpcEndpointId, (tags.Name // "?")] | @tsv')
  if ((${#eps[@]})); then
    act delete "endpoints ${enames[*]}" aws_cli ec2 delete-vpc-endpoints --vpc-endpoint-ids "${eps[@]}"
  fi

  # 6. Rules ferry-aws added to the seed's private security group, then ferry's own group.
  local rules=()
  if [[ -n $SG_PRIVATE ]]; then
    mapfile -t rules < <(js sgrules '.SecurityGroupRules[] | select(.GroupId == $g and (.IsEgress | not) and ours) | .SecurityGroupRuleId' --arg g "$SG_PRIVATE")
  fi
  if ((${#rules[@]})); then
    act remove "${#rules[@]} inbound rule(s) ferry-aws added to $FERRY_SG_PRIVATE" \
      aws_cli ec2 revoke-security-group-ingress --group-id "$SG_PRIVATE" --security-group-rule-ids "${rules[@]}"
  fi
  if [[ -n $SG_PROXY ]] && sg_ours "$SG_PROXY"; then
    act delete "security group $FERRY_SG_PROXY ($SG_PROXY)" delete_sg "$SG_PROXY"
  fi

  # 7. The binary's bucket.
  local bucket keys
  bucket=$(bucket_name)
  if [[ $(js bucket-objects '. != null') == true ]]; then
    keys=$(js bucket-objects '[.Contents[]?.Key]')
    if [[ $keys != "[]" ]]; then
      act delete "$(jq length <<<"$keys") object(s) in s3://$bucket/ferry/" aws_cli s3api delete-objects --bucket "$bucket" \
        --delete "$(jq -c '{Objects: map({Key: .}), Quiet: true}' <<<"$keys")"
    fi
    AWS_EXPECT="NoSuchBucket NoSuchTagSet NoSuchTagSetError 404" fetch bucket-tags s3api get-bucket-tagging --bucket "$bucket"
    fetch_wait
    if [[ $(js bucket-tags '[.TagSet[]? | select(.Key == $tk and .Value == $tv)] | length > 0') == true ]]; then
      act delete "S3 bucket $bucket" aws_cli s3api delete-bucket --bucket "$bucket"
    else
      step note "S3 bucket $bucket was not made by ferry-aws: kept"
    fi
  fi

  # 8. The TLS certificate's parameters, then IAM.
  down_tls_params
  down_iam
  dry_run_reads
  ((DRY_RUN)) || say "done: $FERRY_VPC_NAME and everything ferry-aws did not make are as they were"
}
