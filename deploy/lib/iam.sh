# shellcheck shell=bash
# IAM: the instance profile and role that let SSM Session Manager reach the instances; made
# by up (ensure_iam), removed by down (down_iam) when ferry-aws made them.

# fetch_iam_state [role]: the profile and the role's policies (NoSuchEntity there means no
# role); with "role" also the role itself (its tags say whether ferry-aws made it).
fetch_iam_state() {
  AWS_EXPECT=NoSuchEntity fetch profile iam get-instance-profile --instance-profile-name "$FERRY_SSM_PROFILE"
  AWS_EXPECT=NoSuchEntity fetch policies iam list-attached-role-policies --role-name "$FERRY_SSM_ROLE"
  if [[ ${1:-} == role ]]; then
    AWS_EXPECT=NoSuchEntity fetch role iam get-role --role-name "$FERRY_SSM_ROLE"
  fi
}

# NEW_PROFILE: 1 when this run made the profile or gave it its role (launch then allows EC2 a
# moment to see it).
NEW_PROFILE=0
ensure_iam() {
  local trust
  trust='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
  if [[ $(js policies '. != null') == true ]]; then
    step ok "IAM role $FERRY_SSM_ROLE"
  else
    act create "IAM role $FERRY_SSM_ROLE (EC2 may assume it)" \
      aws_cli iam create-role --role-name "$FERRY_SSM_ROLE" --assume-role-policy-document "$trust" \
      --description "SSM Session Manager for the ferry-aws instances" --tags "$(tag_list "$FERRY_SSM_ROLE")"
  fi
  if [[ $(js policies '[.AttachedPolicies[]?.PolicyArn] | index($a) != null' --arg a "$FERRY_SSM_POLICY_ARN") == true ]]; then
    step ok "policy ${FERRY_SSM_POLICY_ARN##*/} on $FERRY_SSM_ROLE"
  else
    act attach "policy ${FERRY_SSM_POLICY_ARN##*/} to $FERRY_SSM_ROLE" \
      aws_cli iam attach-role-policy --role-name "$FERRY_SSM_ROLE" --policy-arn "$FERRY_SSM_POLICY_ARN"
  fi
  if [[ $(js profile '. != null') == true ]]; then
    step ok "instance profile $FERRY_SSM_PROFILE"
  else
    act create "instance profile $FERRY_SSM_PROFILE" \
      aws_cli iam create-instance-profile --instance-profile-name "$FERRY_SSM_PROFILE" \
      --tags "$(tag_list "$FERRY_SSM_PROFILE")"
    NEW_PROFILE=1
  fi
  local roles
  roles=$(js profile '[.InstanceProfile.Roles[]?.RoleName] | join(" ")')
  if [[ " $roles " == *" $FERRY_SSM_ROLE "* ]]; then
    step ok "role $FERRY_SSM_ROLE in $FERRY_SSM_PROFILE"
  elif [[ -n $roles ]]; then
    die "$EXIT_IN_USE" "instance profile $FERRY_SSM_PROFILE holds role $roles, not $FERRY_SSM_ROLE"
  else
    act add "role $FERRY_SSM_ROLE to instance profile $FERRY_SSM_PROFILE" \
      aws_cli iam add-role-to-instance-profile --instance-profile-name "$FERRY_SSM_PROFILE" \
      --role-name "$FERRY_SSM_ROLE"
    # shellcheck disable=SC2034  # read by launch (lib/instances.sh)
    NEW_PROFILE=1
  fi
}

down_iam() {
  local role_ours profile_ours roles r
  profile_ours=$(js profile '(.InstanceProfile // {}) | ours')
  role_ours=$(js role '(.Role // {}) | ours')
  if [[ $profile_ours == true ]]; then
    roles=$(js profile '.InstanceProfile.Roles[]?.RoleName')
    for r in $roles; do
      act remove "role $r from instance profile $FERRY_SSM_PROFILE" \
        aws_cli iam remove-role-from-instance-profile --instance-profile-name "$FERRY_SSM_PROFILE" --role-name "$r"
    done
    act delete "instance profile $FERRY_SSM_PROFILE" aws_cli iam delete-instance-profile --instance-profile-name "$FERRY_SSM_PROFILE"
  fi
  if [[ $role_ours == true ]]; then
    if [[ $(js policies '[.AttachedPolicies[]?.PolicyArn] | index($a) != null' --arg a "$FERRY_SSM_POLICY_ARN") == true ]]; then
      act detach "policy ${FERRY_SSM_POLICY_ARN##*/} from $FERRY_SSM_ROLE" \
        aws_cli iam detach-role-policy --role-name "$FERRY_SSM_ROLE" --policy-arn "$FERRY_SSM_POLICY_ARN"
    fi
    act delete "IAM role $FERRY_SSM_ROLE" aws_cli iam delete-role --role-name "$FERRY_SSM_ROLE"
  fi
}
