#!/usr/bin/env bash
# Static checks of deploy/: syntax and shellcheck of every script (and of rendered user-data),
# every AWS call through the one wrapper, ferry.yaml against settings.env, the runtime
# package list against the built binary, up's --tls-cert/--tls-key refused before any AWS call
# when wrong. Prints PASS/FAIL/SKIP lines.
set -uo pipefail
TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$TESTS_DIR/lib.sh"
# shellcheck source=../../deploy/lib/common.sh
source "$REPO/deploy/lib/common.sh"
load_settings "$REPO/deploy/settings.env"

work=$(mktemp -d "${TMPDIR:-/tmp}/ferry-static.XXXXXX")
trap 'rm -rf "$work"' EXIT

scripts=(
  "$REPO/deploy/ferry-aws" "$REPO/deploy/lib/"*.sh
  "$REPO/deploy/userdata/backend.sh.tmpl" "$REPO/deploy/userdata/ferry.sh.tmpl"
  "$TESTS_DIR/run.sh" "$TESTS_DIR/lib.sh" "$TESTS_DIR/cases_static.sh" "$TESTS_DIR/cases_userdata.sh"
  "$TESTS_DIR/cases_moto.sh" "$TESTS_DIR/netns_e2e.sh" "$TESTS_DIR/stub.sh" "$TESTS_DIR/bin/aws-logged"
)
# The user-data as instances get it.
"$REPO/deploy/ferry-aws" render-userdata backend "$FERRY_BACKEND_1_NAME" >"$work/backend-userdata.sh"
"$REPO/deploy/ferry-aws" render-userdata ferry "$FERRY_PROXY_1_NAME" "https://example.invalid/ferry?X-Amz-Signature=0&x=1" \
  0000000000000000000000000000000000000000000000000000000000000000 >"$work/ferry-userdata.sh"
"$REPO/deploy/ferry-aws" render-userdata ferry "$FERRY_PROXY_1_NAME" "https://example.invalid/ferry?X-Amz-Signature=0&x=1" \
  0000000000000000000000000000000000000000000000000000000000000000 /ferry-aws/tls/site.pem /ferry-aws/tls/site.key \
  >"$work/ferry-userdata-ssm-tls.sh"
"$REPO/deploy/ferry-aws" render-userdata ferry "$FERRY_PROXY_1_NAME" "https://example.invalid/ferry?X-Amz-Signature=0&x=1" \
  0000000000000000000000000000000000000000000000000000000000000000 --domain shop.example.com --email ops@example.com \
  >"$work/ferry-userdata-acme.sh"
rendered=("$work/backend-userdata.sh" "$work/ferry-userdata.sh" "$work/ferry-userdata-ssm-tls.sh" "$work/ferry-userdata-acme.sh")

bad=()
for f in "${scripts[@]}" "${rendered[@]}"; do
  bash -n "$f" 2>"$work/n.err" || bad+=("$(basename "$f"): $(head -n 1 "$work/n.err")")
done
WHY="${bad[*]}"
check static.bash-n-every-script eval '((${#bad[@]} == 0))'

if command -v shellcheck >/dev/null; then
  bad=()
  # One shellcheck per directory, with every script of it: -x follows the sources, and checking
  # each script alone parsed deploy/lib/*.sh again for each (most of this lane's time).
  declare -A by_dir=()
  for f in "${scripts[@]}"; do by_dir[$(dirname "$f")]+="$(basename "$f") "; done
  for d in "${!by_dir[@]}"; do
    # .shellcheckrc next to the scripts (jq programs are single-quoted on purpose)
    # shellcheck disable=SC2086  # the file names split at their spaces
    (cd "$d" && shellcheck -x -s bash ${by_dir[$d]}) >"$work/sc.out" 2>&1 ||
      bad+=("$(grep -m1 -E '^In ' "$work/sc.out") $(grep -m1 -E 'SC[0-9]+' "$work/sc.out")")
  done
  WHY="${bad[*]}"
  check static.shellcheck-every-script eval '((${#bad[@]} == 0))'
  bad=()
  for f in "${rendered[@]}"; do
    shellcheck -s bash "$f" >"$work/sc.out" 2>&1 || bad+=("$(basename "$f"): $(grep -m1 SC "$work/sc.out")")
  done
  WHY="${bad[*]}"
  check static.shellcheck-rendered-user-data eval '((${#bad[@]} == 0))'
else
  skip static.shellcheck-every-script "shellcheck not installed (scripts/install-deps.sh installs it)"
fi

# Every AWS call goes through aws_cli (the only place that adds --endpoint-url): no script runs
# the CLI by itself.
direct=$(grep -nE '(^|[^_[:alnum:]-])aws (ec2|iam|s3|s3api|ssm|elbv2|route53|acm|sts|sso|configure) ' \
  "$REPO/deploy/ferry-aws" "$REPO/deploy/lib/"*.sh | grep -vE ':[0-9]+:[[:space:]]*#' |
  grep -vE 'aws_cli|aws configure,|die |warn |say |step |printf ' || true)
users=$(grep -n '"\$FERRY_AWS_CLI"' "$REPO/deploy/ferry-aws" "$REPO/deploy/lib/"*.sh | grep -v 'lib/aws.sh' || true)
WHY="direct CLI use: $direct $users"
check static.every-aws-call-goes-through-aws_cli eval '[[ -z $direct && -z $users ]]'

WHY="$( (check_ferry_yaml) 2>&1)"
check static.ferry-yaml-matches-settings eval '(check_ferry_yaml) >/dev/null 2>&1'

# The templates keep the files they embed byte for byte.
sed -n "/<<'FERRY_EOF_APP_PY'/,/^FERRY_EOF_APP_PY/p" "$work/backend-userdata.sh" | sed '1d;$d' >"$work/app.py"
WHY="the app.py embedded in the user-data differs from deploy/app/app.py"
check static.user-data-embeds-the-app cmp -s "$work/app.py" "$REPO/deploy/app/app.py"

# --tls-cert/--tls-key: a pair of PEM files that belong together, checked before any AWS call
# (the CLI here leads nowhere: a call would fail with another status).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 -subj /CN=a.example \
  -keyout "$work/a.key" -out "$work/a.pem" 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 -subj /CN=b.example \
  -keyout "$work/b.key" -out "$work/b.pem" 2>/dev/null
# tls_refused TAG MESSAGE ARGS...: up ARGS exits 2 with MESSAGE and no AWS call.
tls_refused() {
  local tag=$1 msg=$2 rc=0
  shift 2
  FERRY_AWS_CLI=$work/no-aws-call "$REPO/deploy/ferry-aws" up "$@" >"$work/$tag.out" 2>"$work/$tag.err" || rc=$?
  WHY="exit $rc: $(tr '\n' ' ' <"$work/$tag.err")"
  [[ $rc == 2 ]] && grep -qF -- "$msg" "$work/$tag.err" && [[ ! -e $work/no-aws-call.called ]]
}
printf '#!/bin/sh\ntouch "$0.called"\nexit 1\n' >"$work/no-aws-call"
chmod +x "$work/no-aws-call"
check static.tls-cert-without-key-is-refused tls_refused tls-half "--tls-cert and --tls-key go together" --tls-cert "$work/a.pem"
check static.tls-key-of-another-cert-is-refused tls_refused tls-mismatch "is not the key of" \
  --tls-cert "$work/a.pem" --tls-key "$work/b.key"
check static.tls-key-as-cert-is-refused tls_refused tls-notcert "is not a PEM certificate" \
  --tls-cert "$work/a.key" --tls-key "$work/a.key"

bin=$REPO/build/ferry
if [[ -x $bin ]]; then
  # The certificate files deploy/ferry.yaml names exist only on the instance: a copy names a
  # throwaway pair instead.
  sed "s#: $FERRY_TLS_CERT\$#: $work/a.pem#; s#: $FERRY_TLS_KEY\$#: $work/a.key#" "$REPO/deploy/ferry.yaml" >"$work/ferry-check.yaml"
  WHY="$("$bin" --check -c "$work/ferry-check.yaml" 2>&1 | head -n 5 | tr '\n' ' ')"
  checked=$("$bin" --check -c "$work/ferry-check.yaml" 2>&1)
  check static.ferry-check-accepts-deploy-ferry-yaml grep -q "config OK" <<<"$checked"
  # Each shared library the binary needs is in FERRY_RUNTIME_PACKAGES, in what apt-get installs
  # with them (their dependencies, e.g. libcurl4's), or in Debian's base.
  covered=" $FERRY_RUNTIME_PACKAGES libc6 libstdc++6 libgcc-s1 "
  # shellcheck disable=SC2086  # the list splits into package names
  covered+="$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
    --no-replaces --no-enhances $FERRY_RUNTIME_PACKAGES 2>/dev/null | grep -v '^ ' | tr '\n' ' ') "
  missing=()
  while read -r lib; do
    pkg=""
    for p in "$lib" "$(readlink -f "$lib")" "/usr$lib" "/usr$(readlink -f "$lib")"; do
      pkg=$(dpkg -S "$p" 2>/dev/null | head -n 1 | cut -d: -f1) && [[ -n $pkg ]] && break
    done
    case "$covered" in
      *" ${pkg:-?} "*) ;;
      *) missing+=("$lib(${pkg:-unknown})") ;;
    esac
  done < <(ldd "$bin" | awk '/=> \// {print $3}')
  WHY="not covered by FERRY_RUNTIME_PACKAGES: ${missing[*]}"
  check static.runtime-packages-cover-the-binary eval '((${#missing[@]} == 0))'
else
  skip static.ferry-check-accepts-deploy-ferry-yaml "build/ferry not built yet"
  skip static.runtime-packages-cover-the-binary "build/ferry not built yet"
fi
