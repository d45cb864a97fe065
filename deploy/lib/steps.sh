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
  step "$verb" "$what"
  if ((DRY_RUN)); then
    echo '{}' >"$FERRY_TMP/last.json"
    return 0
  fi
  "$@" >"$FERRY_TMP/last.json"
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
