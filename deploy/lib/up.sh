# shellcheck shell=bash
# ferry-aws up: reads and preflight checks first, then each step in order (IAM, endpoints,
# groups, TLS parameters, Elastic IPs, NAT, instances, load balancer, readiness, NAT closed)
# and the summary.

cmd_up() {
  require_cli
  command -v jq >/dev/null || die "$EXIT_MISSING" "jq is needed (apt-get install jq)"
  check_ferry_yaml
  require_tls_files
  require_domain_args
  if [[ -n $DOMAIN && -n $TLS_CERT_FILE ]] && ! ((HA)); then
    die "$EXIT_USAGE" "--domain gets the certificate from the ACME server: --tls-cert and --tls-key go without it. Nothing was changed."
  fi
  require_vpc
  say "ferry-aws up: region $FERRY_REGION, VPC $FERRY_VPC_NAME ($VPC_ID)$( ((HA)) && echo ", HA")${DOMAIN:+, domain $DOMAIN}$( ((DRY_RUN)) && echo " -- dry run, nothing is changed")"

  fetch_vpc_state
  fetch_iam_state
  fetch_tls_state
  if ((HA)); then fetch_elb_state; fi
  fetch_domain_state
  fetch_wait
  require_network

  # What has to be made decides which further facts are needed before any change.
  local i name need_backends=() need_proxies=() unready=() unready_proxies=() found
  for i in 1 2; do
    name=FERRY_BACKEND_${i}_NAME
    name=${!name}
    found=$(inst "$name")
    if [[ -z $found ]]; then need_backends+=("$i")
    elif [[ $(cut -f3 <<<"$found") == foreign ]]; then
      die "$EXIT_IN_USE" "instance $name ($(cut -f1 <<<"$found"), $(cut -f5 <<<"$found")) exists but ferry-aws did not make it" \
        "(no $FERRY_TAG_KEY=$FERRY_TAG_VALUE tag): address $(cut -f5 <<<"$found") is already in use. Terminate it" \
        "(the seed's hand-made instance) or tag it to adopt it. Nothing was changed."
    elif [[ $(cut -f4 <<<"$found") != yes ]]; then unready+=("$(cut -f1 <<<"$found")")
    fi
  done
  mapfile -t PROXIES < <(proxy_names)
  for name in "${PROXIES[@]}"; do
    found=$(inst "$name")
    if [[ -z $found ]]; then need_proxies+=("$name")
    elif [[ $(cut -f3 <<<"$found") == foreign ]]; then
      die "$EXIT_IN_USE" "instance $name ($(cut -f1 <<<"$found")) exists but ferry-aws did not make it. Nothing was changed."
    fi
  done
  if [[ -n $SG_PROXY ]] && ! sg_ours "$SG_PROXY"; then
    die "$EXIT_IN_USE" "security group $FERRY_SG_PROXY ($SG_PROXY) exists but ferry-aws did not make it. Nothing was changed."
  fi
  local need_nat=0
  if ((${#need_backends[@]} || ${#unready[@]} || KEEP_NAT)); then need_nat=1; fi

  local groups=("$SG_PRIVATE")
  [[ -z $SG_PROXY ]] || groups+=("$SG_PROXY")
  fetch_rules "${groups[@]}"
  if ((${#need_backends[@]} + ${#need_proxies[@]})); then
    fetch_images
    fetch enis ec2 describe-network-interfaces --filters "Name=vpc-id,Values=$VPC_ID"
  fi
  if [[ -n $(endpoints_missing) ]]; then
    fetch dnssupport ec2 describe-vpc-attribute --vpc-id "$VPC_ID" --attribute enableDnsSupport
    fetch dnshostnames ec2 describe-vpc-attribute --vpc-id "$VPC_ID" --attribute enableDnsHostnames
  fi
  local LB="" TG=""
  if ((HA)); then
    LB=$(lb_arn) TG=$(tg_arn)
    [[ -z $LB ]] || fetch listeners elbv2 describe-listeners --load-balancer-arn "$LB"
    [[ -z $TG ]] || fetch targets elbv2 describe-target-health --target-group-arn "$TG"
  fi
  fetch_wait

  # Preflight: everything that would stop the run half way.
  if [[ -n $(endpoints_missing) ]]; then
    if [[ $(js dnssupport '.EnableDnsSupport.Value') != true || $(js dnshostnames '.EnableDnsHostnames.Value') != true ]]; then
      die "$EXIT_MISSING" "$FERRY_VPC_NAME needs DNS resolution and DNS hostnames enabled for the endpoints' private DNS" \
        "(console: VPC > Actions > Edit VPC settings). Nothing was changed."
    fi
  fi
  if ((${#need_backends[@]} + ${#need_proxies[@]})); then
    resolve_images
    for i in "${need_backends[@]}"; do
      local ip holder
      ip=FERRY_BACKEND_${i}_IP
      ip=${!ip}
      name=FERRY_BACKEND_${i}_NAME
      holder=$(ip_holder "$ip")
      if [[ -n $holder ]]; then
        die "$EXIT_IN_USE" "address $ip (for ${!name}) is already in use by $holder. Free it or change" \
          "FERRY_BACKEND_${i}_IP in settings.env. Nothing was changed."
      fi
    done
  fi
  if ((${#need_proxies[@]})); then require_binary && acme_binary_preflight; fi
  tls_preflight
  domain_preflight
  if ((need_nat)); then nat_preflight; fi
  if ((HA)); then
    if [[ -n $LB ]] && ! elb_ours "$LB"; then die "$EXIT_IN_USE" "load balancer $FERRY_NLB_NAME exists but ferry-aws did not make it. Nothing was changed."; fi
    if [[ -n $TG ]] && ! elb_ours "$TG"; then die "$EXIT_IN_USE" "target group $FERRY_TG_NAME exists but ferry-aws did not make it. Nothing was changed."; fi
  elif [[ -n $(inst "$FERRY_PROXY_2_NAME") ]]; then
    step note "$FERRY_PROXY_2_NAME and the load balancer of --ha are left as they are (up --ha manages them, down removes them)"
  fi

  # 1. Session Manager: role, profile, endpoints, the 443 self rule; ferry's security group;
  # the TLS certificate's parameters (before any ferry instance boots and reads them).
  ensure_iam
  ensure_endpoints
  ensure_proxy_sg
  ensure_tls_params

  # 2. The ferry instances' Elastic IPs (early: an address quota stops the run before any
  # instance starts).
  local e alloc
  declare -A PROXY_ALLOC=() PROXY_EIP=()
  for name in "${PROXIES[@]}"; do
    e=$(eip "$name-eip")
    if [[ -n $e ]]; then
      alloc=${e%%$'\t'*}
      step ok "Elastic IP $name-eip ($(cut -f4 <<<"$e"))"
    else
      act allocate "Elastic IP $name-eip (billed while allocated)" \
        aws_cli ec2 allocate-address --domain vpc --tag-specifications "$(tag_spec elastic-ip "$name-eip")"
      alloc=$(last '.AllocationId // empty')
      [[ -n $alloc ]] || alloc="<$name-eip>"
      e=$(printf '%s\t-\t-\t%s' "$alloc" "$(last '.PublicIp // "<address>"')")
    fi
    PROXY_ALLOC[$name]=$alloc
    PROXY_EIP[$name]=$e
  done
  # The name: with one ferry instance at its address now (before it boots and asks the ACME
  # server for a certificate); with --ha the certificate is requested now (ACM validates while
  # the instances install) and the record points at the NLB once it exists.
  if [[ -n $DOMAIN ]]; then
    local allocs=()
    for name in "${PROXIES[@]}"; do allocs+=("${PROXY_ALLOC[$name]}"); done
    tag_domain "${allocs[@]}"
    if ((HA)); then
      ensure_certificate
    else
      ensure_dns_record "$(cut -f4 <<<"${PROXY_EIP[$FERRY_PROXY_1_NAME]}")"
    fi
  fi

  # 3. Temporary NAT while the backends install their packages.
  if ((need_nat)); then nat_up; fi

  # 4. Instances.
  local launched=() ud id
  for i in 1 2; do
    local n ip sub
    n=FERRY_BACKEND_${i}_NAME; n=${!n}
    ip=FERRY_BACKEND_${i}_IP; ip=${!ip}
    if [[ $i == 1 ]]; then sub=$SUBNET_PRIV_1; else sub=$SUBNET_PRIV_2; fi
    found=$(inst "$n")
    if [[ -n $found ]]; then
      step ok "instance $n ($(cut -f1 <<<"$found"), $(cut -f5 <<<"$found"), $(cut -f2 <<<"$found"))"
      if [[ $(cut -f5 <<<"$found") != "$ip" ]]; then warn "$n has address $(cut -f5 <<<"$found"), not $ip"; fi
      if [[ $(cut -f2 <<<"$found") == stopped ]]; then
        act start "instance $n" aws_cli ec2 start-instances --instance-ids "$(cut -f1 <<<"$found")"
        launched+=("$(cut -f1 <<<"$found")")
      fi
      continue
    fi
    ud=$FERRY_TMP/userdata-$n.sh
    render_backend_userdata "$n" >"$ud"
    fit_user_data "$ud" "$n"
    act launch "instance $n: Ubuntu 20.04 $AMI_BACKEND, $FERRY_INSTANCE_TYPE, $ip in $(subnet_label "$sub"), no public IP" \
      launch backend "$n" "$sub" "$SG_PRIVATE" "$ip" "$USER_DATA_ARG"
    if ! ((DRY_RUN)); then
      id=$(last '.Instances[0].InstanceId')
      launched+=("$id")
      unready+=("$id")
      mirror_instance "$id" "$n" backend "$ip"
    else
      unready+=("<$n>")
    fi
  done
  if ((${#need_proxies[@]})); then ensure_artifact; fi
  local k=0
  for name in "${PROXIES[@]}"; do
    k=$((k + 1))
    if ((k == 1)); then sub=$SUBNET_PUB_1; else sub=$SUBNET_PUB_2; fi
    found=$(inst "$name")
    if [[ -n $found ]]; then
      step ok "instance $name ($(cut -f1 <<<"$found"), $(cut -f5 <<<"$found"), $(cut -f2 <<<"$found"))"
      tls_note_running "$name"
      if [[ $(cut -f4 <<<"$found") != yes ]]; then unready_proxies+=("$(cut -f1 <<<"$found")"); fi
      if [[ $(cut -f2 <<<"$found") == stopped ]]; then
        act start "instance $name" aws_cli ec2 start-instances --instance-ids "$(cut -f1 <<<"$found")"
        launched+=("$(cut -f1 <<<"$found")")
      fi
      continue
    fi
    ud=$FERRY_TMP/userdata-$name.sh
    use_acme_yaml
    local tls_params=()
    if ((TLS_SOURCE)); then tls_params=("$(tls_param_cert)" "$(tls_param_key)"); fi
    render_proxy_userdata "$name" "${ARTIFACT_URL:-<presigned URL>}" "${ARTIFACT_SHA:-<sha256>}" "${tls_params[@]}" >"$ud"
    fit_user_data "$ud" "$name"
    act launch "instance $name: Debian 12 $AMI_PROXY, $FERRY_PROXY_INSTANCE_TYPE in $(subnet_label "$sub"), $FERRY_SG_PROXY, $(proxy_cert_source)" \
      launch proxy "$name" "$sub" "$SG_PROXY" "" "$USER_DATA_ARG"
    if ! ((DRY_RUN)); then
      id=$(last '.Instances[0].InstanceId')
      launched+=("$id")
      unready_proxies+=("$id")
      mirror_instance "$id" "$name" proxy "-"
    else
      unready_proxies+=("<$name>")
    fi
  done
  if ((${#launched[@]})) && ! ((DRY_RUN)); then
    poll "$FERRY_WAIT_TIMEOUT" "instances ${launched[*]} to run" running_or_not "${launched[@]}"
    step ok "instances running: ${launched[*]}"
  fi

  # 5. The Elastic IPs onto the ferry instances.
  local pid
  PROXY_URLS=()
  for name in "${PROXIES[@]}"; do
    pid=$(inst "$name" | cut -f1)
    [[ -n $pid ]] || pid="<$name>"
    alloc=${PROXY_ALLOC[$name]} e=${PROXY_EIP[$name]}
    if [[ $(cut -f3 <<<"$e") == "$pid" ]]; then
      step ok "Elastic IP $name-eip on $name"
    else
      act associate "Elastic IP $name-eip with $name" \
        aws_cli ec2 associate-address --allocation-id "$alloc" --instance-id "$pid"
    fi
    PROXY_URLS+=("http://$(cut -f4 <<<"$e"):$FERRY_PROXY_PORT/ and http://$(cut -f4 <<<"$e")/ and https://$(cut -f4 <<<"$e")/  ($name)")
  done

  # 6. --ha: the network load balancer in front of both ferry instances (and the name).
  if ((HA)); then
    ensure_nlb "$LB" "$TG"
    if [[ -n $DOMAIN ]]; then ensure_dns_record alias "$LB_DNS" "$LB_ZONE"; fi
  fi

  # 7. Wait until everything answers (through SSM), then close the NAT.
  if ((${#unready[@]} + ${#unready_proxies[@]})); then
    if ((DRY_RUN)); then
      step wait "for the instances to install and answer (SSM run-command), then tag them FerryReady=yes  [ssm send-command, ec2 create-tags]"
    else
      step wait "for ${#unready[@]} backend(s) and ${#unready_proxies[@]} ferry instance(s) to install and answer (SSM)"
      ssm_check "${unready[@]}" "${unready_proxies[@]}"
      act tag "instances ready: ${unready[*]} ${unready_proxies[*]}" aws_cli ec2 create-tags \
        --resources "${unready[@]}" "${unready_proxies[@]}" --tags Key=FerryReady,Value=yes
    fi
  fi
  if ((KEEP_NAT)); then
    step note "NAT kept (--keep-nat): it is billed per hour; ferry-aws nat down removes it"
  else
    nat_down
  fi
  # 8. --ha --domain: HTTPS on the NLB, once ACM has issued the certificate.
  if ((HA)) && [[ -n $DOMAIN ]]; then ensure_tls_listener "$LB_ARN" "$TG_ARN"; fi

  summary
}

summary() {
  if ((DRY_RUN)); then dry_run_reads; return 0; fi
  local u
  say "ferry is reachable at:"
  if [[ -n $DOMAIN ]] && ((HA)); then
    say "  https://$DOMAIN/  (TLS on the load balancer, certificate from ACM; DNS may take a few minutes)"
  elif [[ -n $DOMAIN ]]; then
    say "  https://$DOMAIN/  (ferry obtains the certificate from ${ACME_DIRECTORY%/directory} within minutes of booting; DNS may take a few minutes)"
  fi
  if [[ -n ${LB_DNS:-} ]]; then say "  http://$LB_DNS/  (network load balancer, both AZs)"; fi
  for u in "${PROXY_URLS[@]}"; do say "  $u"; done
}

proxy_cert_source() {
  if [[ -n $ACME_STORAGE ]]; then echo "certificate for $DOMAIN from ACME"
  elif ((TLS_SOURCE)); then echo "certificate from SSM"
  else echo "self-signed certificate"; fi
}
