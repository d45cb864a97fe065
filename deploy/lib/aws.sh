# shellcheck shell=bash
# The one door to AWS. Every AWS call of ferry-aws goes through aws_cli, which
#  - runs the CLI named by FERRY_AWS_CLI (Debian's awscli v2 at /usr/bin/aws, not whatever
#    `aws` comes first on PATH),
#  - passes --region, --output json and, when FERRY_AWS_ENDPOINT_URL is set, --endpoint-url
#    (awscli 2.9 ignores AWS_ENDPOINT_URL, so this is how the tests reach moto),
#  - turns the CLI's error into a clear message and a distinct exit status.
# Needs lib/common.sh.

# aws_cli ARGS...: stdout is the CLI's JSON. On failure prints an explanation and returns
# EXIT_CREDENTIALS / EXIT_QUOTA / EXIT_IN_USE / EXIT_FAIL, except that an error code listed
# in AWS_EXPECT (space separated, e.g. AWS_EXPECT="NoSuchEntity 404") returns 100 silently.
aws_cli() {
  local -a global=(--region "$FERRY_REGION" --output json)
  if [[ -n ${FERRY_AWS_ENDPOINT_URL:-} ]]; then
    global+=(--endpoint-url "$FERRY_AWS_ENDPOINT_URL")
  fi
  local errf rc=0 code
  if ((${DRY_RUN:-0})); then echo "$1 $2" >>"$FERRY_TMP/dry-run-reads"; fi
  errf=$(mktemp "${FERRY_TMP:-${TMPDIR:-/tmp}}/aws-err.XXXXXX")
  AWS_PAGER="" "$FERRY_AWS_CLI" "${global[@]}" "$@" 2>"$errf" || rc=$?
  if ((rc == 0)); then
    rm -f "$errf"
    return 0
  fi
  code=$(aws_error_code "$errf")
  if [[ -n $code && " ${AWS_EXPECT:-} " == *" $code "* ]]; then
    # kept for callers that need the message of an expected error
    mv -f "$errf" "${FERRY_TMP:-${TMPDIR:-/tmp}}/aws-expected.err"
    return 100
  fi
  rc=0
  aws_explain "$code" "$errf" "$1 $2" || rc=$?
  rm -f "$errf"
  return "$rc"
}

# aws_error_code STDERR_FILE: the service's error code, or a name for a local failure.
aws_error_code() {
  local text
  text=$(<"$1")
  if [[ $text =~ An\ error\ occurred\ \(([^\)]+)\) ]]; then
    echo "${BASH_REMATCH[1]}"
  elif [[ $text == *"Unable to locate credentials"* || $text == *"Partial credentials found"* ]]; then
    echo NoCredentials
  elif [[ $text == *"Could not connect to the endpoint URL"* || $text == *"Connect timeout"* ||
    $text == *"Failed to connect to proxy"* || $text == *"ProxyConnectionError"* ]]; then
    echo EndpointUnreachable
  fi
}

# aws_explain CODE STDERR_FILE "SERVICE OPERATION": message on stderr, exit status out.
aws_explain() {
  local code=$1 errf=$2 op=$3 detail
  detail=$(grep -v '^[[:space:]]*$' "$errf" | tail -n 3)
  case $code in
    NoCredentials | InvalidClientTokenId | AuthFailure | SignatureDoesNotMatch | ExpiredToken | \
      ExpiredTokenException | UnrecognizedClientException | InvalidAccessKeyId | \
      IncompleteSignature | MissingAuthenticationToken)
      printf 'ferry-aws: error: no usable AWS credentials (%s during %s).\n' "$code" "$op" >&2
      printf '  Configure them (aws configure, AWS_PROFILE, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) and run again.\n' >&2
      return "$EXIT_CREDENTIALS"
      ;;
    *LimitExceeded | *QuotaExceeded | *QuotaExceededException | TooMany* | \
      InsufficientAddressCapacity)
      printf 'ferry-aws: error: AWS quota reached: %s during %s.\n' "$code" "$op" >&2
      printf '  %s\n' "$detail" >&2
      printf '  Free unused resources (e.g. unattached Elastic IPs: 5 per region by default) or ask for more\n' >&2
      printf '  in the Service Quotas console, then run the same command again: it picks up where it stopped.\n' >&2
      return "$EXIT_QUOTA"
      ;;
    InvalidIPAddress.InUse | *AlreadyAssociated)
      printf 'ferry-aws: error: address already in use: %s during %s.\n' "$code" "$op" >&2
      printf '  %s\n' "$detail" >&2
      return "$EXIT_IN_USE"
      ;;
    UnauthorizedOperation | AccessDenied | AccessDeniedException)
      printf 'ferry-aws: error: the credentials may not %s (%s).\n' "$op" "$code" >&2
      printf '  %s\n' "$detail" >&2
      return "$EXIT_CREDENTIALS"
      ;;
    EndpointUnreachable)
      printf 'ferry-aws: error: cannot reach the AWS endpoint for %s%s.\n' "$op" \
        "${FERRY_AWS_ENDPOINT_URL:+ ($FERRY_AWS_ENDPOINT_URL)}" >&2
      printf '  %s\n' "$detail" >&2
      return "$EXIT_FAIL"
      ;;
  esac
  printf 'ferry-aws: error: aws %s failed%s:\n' "$op" "${code:+ ($code)}" >&2
  printf '  %s\n' "$detail" >&2
  return "$EXIT_FAIL"
}

# require_cli: the CLI must exist before anything else happens.
require_cli() {
  if [[ ! -x $FERRY_AWS_CLI ]]; then
    die "$EXIT_NO_CLI" "AWS CLI not found at $FERRY_AWS_CLI. Install Debian's awscli" \
      "(scripts/install-deps.sh does) or point FERRY_AWS_CLI at an AWS CLI v2."
  fi
}

# --- parallel reads -----------------------------------------------------------------------
# fetch NAME ARGS...: run `aws_cli ARGS...` in the background into $FERRY_TMP/NAME.json.
# fetch_wait: wait for all of them; the first failure's status is returned. Prefix a fetch
# with AWS_EXPECT=... to accept an error: the file then holds "null".
FETCH_PIDS=()
fetch() {
  local name=$1
  shift
  (
    rc=0
    aws_cli "$@" >"$FERRY_TMP/$name.json" || rc=$?
    if ((rc == 100)); then echo null >"$FERRY_TMP/$name.json"; rc=0; fi
    exit "$rc"
  ) &
  FETCH_PIDS+=("$!")
}
fetch_wait() {
  local pid rc=0 r
  for pid in "${FETCH_PIDS[@]}"; do
    r=0
    wait "$pid" || r=$?
    if ((r != 0 && rc == 0)); then rc=$r; fi
  done
  FETCH_PIDS=()
  return "$rc"
}

# fetch_quiet NAME ARGS...: like fetch, but any failure leaves "null" and no message (for
# optional information such as SSM's view in `status`).
fetch_quiet() {
  local name=$1
  shift
  (
    aws_cli "$@" >"$FERRY_TMP/$name.json" 2>/dev/null || echo null >"$FERRY_TMP/$name.json"
  ) &
  FETCH_PIDS+=("$!")
}

# mirror NAME JQ_UPDATE [jq args...]: keep a fetched file true after a change of our own, so
# later steps of the same run see it without asking AWS again.
mirror() {
  local name=$1 update=$2 tmp
  shift 2
  [[ -f $FERRY_TMP/$name.json ]] || return 0
  tmp=$(mktemp "$FERRY_TMP/mirror.XXXXXX")
  jq --arg tk "$FERRY_TAG_KEY" --arg tv "$FERRY_TAG_VALUE" "$@" "$update" "$FERRY_TMP/$name.json" >"$tmp"
  mv -f "$tmp" "$FERRY_TMP/$name.json"
}

# js NAME FILTER [jq args...]: query a fetched file. The filter may use `tags` (an object of
# the resource's tags) and `ours` (it carries the ownership tag).
JQ_DEFS='def tags: ((.Tags // .TagSet // []) | map({key: .Key, value: .Value}) | from_entries);
def ours: (tags[$tk] // "") == $tv;'
js() {
  local name=$1 filter=$2
  shift 2
  jq -r --arg tk "$FERRY_TAG_KEY" --arg tv "$FERRY_TAG_VALUE" "$@" "$JQ_DEFS $filter" "$FERRY_TMP/$name.json"
}

# tag_list NAME [KEY=VALUE...]: a --tags value (JSON) for IAM and ELB.
tag_list() {
  local name=$1 kv out
  shift
  out=$(jq -cn --arg n "$name" --arg k "$FERRY_TAG_KEY" --arg v "$FERRY_TAG_VALUE" \
    '[{Key: "Name", Value: $n}, {Key: $k, Value: $v}]')
  for kv in "$@"; do
    out=$(jq -c --arg k "${kv%%=*}" --arg v "${kv#*=}" '. + [{Key: $k, Value: $v}]' <<<"$out")
  done
  printf '%s\n' "$out"
}

# tag_spec TYPE NAME [KEY=VALUE...]: a --tag-specifications value (JSON) with Name, the
# ownership tag and any extra tags.
tag_spec() {
  local type=$1 name=$2 kv
  shift 2
  local -a args=(--arg t "$type" --arg n "$name" --arg k "$FERRY_TAG_KEY" --arg v "$FERRY_TAG_VALUE")
  local extra='[]'
  for kv in "$@"; do
    extra=$(jq -c --arg k "${kv%%=*}" --arg v "${kv#*=}" '. + [{Key: $k, Value: $v}]' <<<"$extra")
  done
  jq -cn "${args[@]}" --argjson x "$extra" \
    '{ResourceType: $t, Tags: ([{Key: "Name", Value: $n}, {Key: $k, Value: $v}] + $x)}'
}
