# shellcheck shell=bash
# How ferry-aws announces and makes a change: step prints it, act prints and runs it (a dry
# run prints "would ..." and runs nothing); last reads act's answer; poll waits for a condition.

step() { # step VERB WHAT
  if ((DRY_RUN)) && [[ $1 != ok && $1 != note ]]; then
    printf '  %-18s %s\n' "would $1" "$2"
  else
    printf '  %-18s %s\n' "$1" "$2"
  fi
}
# act VERB WHAT CMD...: announce, then run CMD (stdout to $FERRY_TMP/last.json) unless this is
# a dry run.
act() {
  local verb=$1 what=$2
  shift 2
  if ((DRY_RUN)); then what+="  [$(call_name "$@")]"; fi
  step "$verb" "$what"
  if ((DRY_RUN)); then
    echo '{}' >"$FERRY_TMP/last.json"
    return 0
  fi
  "$@" >"$FERRY_TMP/last.json"
}
# call_name CMD...: the AWS call CMD makes ("ec2 run-instances"), for the plan of a dry run.
call_name() {
  case $1 in
    aws_cli) echo "$2 $3" ;;
    launch) echo "ec2 run-instances" ;;
    disassociate_eip) echo "ec2 disassociate-address" ;;
    release_eip) echo "ec2 release-address" ;;
    delete_sg) echo "ec2 delete-security-group" ;;
    change_records) echo "route53 change-resource-record-sets" ;;
    delete_cert) echo "acm delete-certificate" ;;
    *) echo "$1" ;;
  esac
}
# dry_run_reads: the last lines of a plan, the calls that were made to read (all of them).
dry_run_reads() {
  ((DRY_RUN)) || return 0
  [[ -s $FERRY_TMP/dry-run-reads ]] || return 0
  printf '  %-18s %s\n' "read" "$(sort -u "$FERRY_TMP/dry-run-reads" | paste -sd, - | sed 's/,/, /g')"
}
last() { jq -r "$1" "$FERRY_TMP/last.json"; }
planned() { [[ $1 == "<"* ]]; } # an id that a dry run only pretends to have made

# poll TIMEOUT WHAT FUNC ARGS...: FUNC returns 0 when done, 1 for "not yet".
poll() {
  local timeout=$1 what=$2 start rc
  shift 2
  start=$SECONDS
  while :; do
    rc=0
    "$@" || rc=$?
    ((rc == 0)) && return 0
    ((rc == 1)) || return "$rc"
    if ((SECONDS - start >= timeout)); then
      die "timed out after ${timeout}s waiting for $what; run the same command again to resume"
    fi
    sleep "$FERRY_POLL_SECONDS"
  done
}
