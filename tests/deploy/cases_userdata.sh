#!/usr/bin/env bash
# The user-data scripts, run locally: into a scratch root (FERRY_ROOT) with apt-get, systemctl,
# curl, dpkg, useradd, chown and aws stubbed. The units they write are checked with
# systemd-analyze verify, the TLS files the ferry script places are checked for path, mode,
# owner and content (self-signed, or from the SSM parameters), and the Flask app the backend
# script installs is started with gunicorn on loopback and asked for / and /health. The script
# `ferry-aws drain|ready` runs on the ferry instance is run against the real ferry on loopback.
# Prints PASS/FAIL/SKIP lines.
set -uo pipefail
TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$TESTS_DIR/lib.sh"
# shellcheck source=../../deploy/lib/common.sh
source "$REPO/deploy/lib/common.sh"
# shellcheck source=../../deploy/lib/tls.sh
source "$REPO/deploy/lib/tls.sh"
load_settings "$REPO/deploy/settings.env"

work=$(mktemp -d "${TMPDIR:-/tmp}/ferry-userdata.XXXXXX")
app_pid=""
cleanup() {
  if [[ -n $app_pid ]]; then kill "$app_pid" 2>/dev/null; wait "$app_pid" 2>/dev/null; fi
  rm -rf "$work"
}
trap cleanup EXIT

stubs=$work/stubs
mkdir -p "$stubs"
for s in apt-get systemctl curl dpkg useradd groupadd snap chown aws; do ln -s "$TESTS_DIR/stub.sh" "$stubs/$s"; done

# run_userdata NAME SCRIPT: run SCRIPT into $work/NAME-root; stub log in $work/NAME.log
run_userdata() {
  local name=$1 script=$2
  mkdir -p "$work/$name-root"
  : >"$work/$name.log"
  env PATH="$stubs:$PATH" FERRY_ROOT="$work/$name-root" FERRY_STUB_LOG="$work/$name.log" \
    bash "$script" >"$LOGS/userdata-$name.out" 2>&1
}
# verify_unit FILE [FROM TO]...: systemd-analyze verify on a copy with paths rewritten.
verify_unit() {
  local file=$1 copy
  shift
  copy=$work/verify/$(basename "$file")
  mkdir -p "$work/verify"
  cp "$file" "$copy"
  while (($# >= 2)); do
    sed -i "s#$1#$2#g" "$copy"
    shift 2
  done
  if ! systemd-analyze verify "$copy" >"$work/verify.out" 2>&1 || grep -qiE 'unknown|ignoring|invalid|error' "$work/verify.out"; then
    WHY="systemd-analyze verify: $(tr '\n' ' ' <"$work/verify.out")"
    return 1
  fi
}
has_systemd_analyze() { command -v systemd-analyze >/dev/null; }

# --- backend ------------------------------------------------------------------------------
name=$FERRY_BACKEND_1_NAME
"$REPO/deploy/ferry-aws" render-userdata backend "$name" >"$work/backend.sh"
WHY="exit status non-zero (see $LOGS/userdata-backend.out)"
check userdata.backend-runs run_userdata backend "$work/backend.sh"
root=$work/backend-root
WHY="app files differ from deploy/app"
check userdata.backend-installs-the-app eval 'cmp -s "$root/opt/ferry-app/app.py" "$REPO/deploy/app/app.py" &&
  cmp -s "$root/opt/ferry-app/gunicorn.conf.py" "$REPO/deploy/app/gunicorn.conf.py"'
WHY="stub log: $(tr '\n' '|' <"$work/backend.log")"
check userdata.backend-uses-distro-packages-and-systemd eval 'grep -q "^apt-get install .*python3-flask gunicorn" "$work/backend.log" &&
  grep -q "^systemctl daemon-reload" "$work/backend.log" && grep -q "^systemctl enable --now ferry-app.service" "$work/backend.log"'
unit=$root/etc/systemd/system/ferry-app.service
if has_systemd_analyze; then
  check userdata.backend-unit-verifies verify_unit "$unit" /opt/ferry-app "$root/opt/ferry-app"
else
  skip userdata.backend-unit-verifies "systemd-analyze not installed"
fi

# Start what the unit starts, on loopback: ExecStart with the scratch root and another port.
port=$(free_port)
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
instance=$(sed -n 's/^Environment=FERRY_INSTANCE=//p' "$unit")
exec_start=${exec_start//\/opt\/ferry-app/$root/opt/ferry-app}
exec_start=${exec_start//0.0.0.0:$FERRY_BACKEND_PORT/127.0.0.1:$port}
if [[ -x /usr/bin/gunicorn ]] && /usr/bin/python3 -c 'import flask' 2>/dev/null; then
  read -ra argv <<<"$exec_start"
  env FERRY_INSTANCE="$instance" "${argv[@]}" >"$LOGS/userdata-gunicorn.out" 2>&1 &
  app_pid=$!
  if wait_http "http://127.0.0.1:$port/health" 20; then
    body=$(curl -sS --noproxy '*' -D "$work/headers" "http://127.0.0.1:$port/")
    health=$(curl -sS --noproxy '*' "http://127.0.0.1:$port$FERRY_HEALTH_PATH")
    WHY="GET / gave '$body' with $(tr -d '\r' <"$work/headers" | grep -i x-backend)"
    headers=$(tr -d '\r' <"$work/headers")
    index_ok() { [[ $body == "<p>This is index page!</p>" ]] && grep -qx "X-Backend: $name" <<<"$headers"; }
    check userdata.backend-app-answers-index index_ok
    WHY="GET /health gave '$health'"
    check userdata.backend-app-answers-health eval '[[ $health == ok ]]'
  else
    fail userdata.backend-app-answers-index "gunicorn did not answer: $(tail -n 3 "$LOGS/userdata-gunicorn.out" | tr '\n' ' ')"
  fi
  kill "$app_pid" 2>/dev/null
  wait "$app_pid" 2>/dev/null
  app_pid=""
else
  skip userdata.backend-app-answers-index "gunicorn or python3-flask missing (scripts/install-deps.sh)"
fi

# --- ferry instance -----------------------------------------------------------------------
# The artifact: the real binary when built (its --check judges the config), else a stand-in.
artifact=$work/artifact
if [[ -x $REPO/build/ferry ]]; then
  cp "$REPO/build/ferry" "$artifact"
else
  printf '#!/bin/sh\n[ "$1" = --check ] && echo "config OK"\nexit 0\n' >"$artifact"
  chmod +x "$artifact"
fi
url="https://ferry-aws-test.s3.ap-northeast-2.amazonaws.com/ferry/x/ferry?X-Amz-Expires=604800&X-Amz-Signature=abc"
sha=$(sha256sum "$artifact" | cut -d' ' -f1)

# The pair `up --tls-cert/--tls-key` would store, as the stubbed `aws ssm get-parameter` hands it out.
ssm_dir=$work/ssm
mkdir -p "$ssm_dir"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 -subj /CN=given.example \
  -keyout "$ssm_dir/site.key" -out "$ssm_dir/site.pem" 2>/dev/null
export FERRY_STUB_SSM_DIR=$ssm_dir

mode_of() { stat -c %a "$1"; }
# key_matches CERT KEY: the key belongs to the certificate.
key_matches() {
  local a b
  a=$(openssl x509 -in "$1" -noout -pubkey 2>/dev/null) && b=$(openssl pkey -in "$2" -pubout 2>/dev/null) && [[ -n $a && $a == "$b" ]]
}

# tls_checks TAG ROOT USER GROUP SOURCE(ssm|self-signed): the files deploy/ferry.yaml names,
# their modes and owners, and where they came from.
tls_checks() {
  local tag=$1 r=$2 user=$3 group=$4 source=$5 cert key owner want_mode
  cert=$r$FERRY_TLS_CERT key=$r$FERRY_TLS_KEY
  if [[ -n $group ]]; then owner="root:$group" want_mode=640
  elif [[ -n $user ]]; then owner=$user want_mode=600
  else owner=root:ferry-tls want_mode=640; fi
  WHY="cert $(stat -c '%a %n' "$cert" 2>&1), key $(stat -c '%a %n' "$key" 2>&1), wanted 644 and $want_mode"
  check "userdata.$tag-places-tls-files-with-modes" eval '[[ -f $cert && -f $key && $(mode_of "$cert") == 644 &&
    $(mode_of "$key") == "$want_mode" && $(mode_of "$(dirname "$cert")") == 755 ]]'
  WHY="no 'chown $owner $key' in the stub log: $(grep '^chown' "$work/$tag.log" | tr '\n' '|')"
  check "userdata.$tag-gives-the-key-to-the-service" grep -qx "chown $owner $key" "$work/$tag.log"
  if [[ -z $user && -z $group ]]; then
    WHY="the drop-in lacks SupplementaryGroups=ferry-tls or groupadd ferry-tls was not called"
    check "userdata.$tag-dynamic-user-reads-the-key-through-a-group" eval 'grep -qx "SupplementaryGroups=ferry-tls" \
      "$r/etc/systemd/system/ferry.service.d/ferry-aws.conf" && grep -qx "groupadd --system ferry-tls" "$work/$tag.log"'
  fi
  if [[ $source == ssm ]]; then
    WHY="files differ from the parameters' or the calls are missing: $(grep -E '^(aws|apt-get install)' "$work/$tag.log" | tr '\n' '|')"
    check "userdata.$tag-installs-the-certificate-from-ssm" eval 'cmp -s "$cert" "$ssm_dir/site.pem" && cmp -s "$key" "$ssm_dir/site.key" &&
      grep -q "^aws ssm get-parameter --region $FERRY_REGION --name $(tls_param_cert) --with-decryption" "$work/$tag.log" &&
      grep -q "^aws ssm get-parameter --region $FERRY_REGION --name $(tls_param_key) --with-decryption" "$work/$tag.log" &&
      grep -q "^apt-get install .* awscli" "$work/$tag.log"'
  else
    WHY="not a self-signed pair for $FERRY_PROXY_1_NAME: $(openssl x509 -in "$cert" -noout -subject -issuer 2>&1 | tr '\n' ' ')"
    check "userdata.$tag-makes-a-self-signed-certificate" eval 'key_matches "$cert" "$key" &&
      [[ $(openssl x509 -in "$cert" -noout -subject -nameopt RFC2253) == "subject=CN=$FERRY_PROXY_1_NAME" ]] &&
      ! grep -q "^aws " "$work/$tag.log" && ! grep -q "^apt-get install .* awscli" "$work/$tag.log"'
  fi
}

# ferry_case TAG UNIT_FILE(or "") [ssm]: render with that unit (and the TLS parameters), run, check.
ferry_case() {
  local tag=$1 unit_file=$2 source=${3:-self-signed} r bin conf user group params=()
  if [[ $source == ssm ]]; then params=("$(tls_param_cert)" "$(tls_param_key)"); fi
  FERRY_SERVICE_UNIT=${unit_file:-/nonexistent} "$REPO/deploy/ferry-aws" render-userdata ferry "$FERRY_PROXY_1_NAME" "$url" "$sha" \
    "${params[@]}" >"$work/$tag.sh"
  # Where this unit wants the binary and the config, and as whom it runs.
  bin=$(sed -n "s/^BIN='\(.*\)'$/\1/p" "$work/$tag.sh")
  conf=$(sed -n "s/^CONF='\(.*\)'$/\1/p" "$work/$tag.sh")
  user=$(sed -n "s/^SERVICE_USER='\(.*\)'$/\1/p" "$work/$tag.sh")
  group=$(sed -n "s/^SERVICE_GROUP='\(.*\)'$/\1/p" "$work/$tag.sh")
  WHY="exit status non-zero (see $LOGS/userdata-$tag.out)"
  export FERRY_STUB_ARTIFACT_URL=$url FERRY_STUB_ARTIFACT=$artifact
  check "userdata.$tag-runs" run_userdata "$tag" "$work/$tag.sh"
  r=$work/$tag-root
  WHY="binary not at $bin or config not at $conf"
  check "userdata.$tag-installs-binary-and-seed-config" eval 'cmp -s "$r$bin" "$artifact" && [[ -x $r$bin ]] &&
    cmp -s "$r$conf" "$REPO/deploy/ferry.yaml"'
  WHY="stub log: $(tr '\n' '|' <"$work/$tag.log")"
  check "userdata.$tag-installs-runtime-libs-ssm-agent-and-service" eval 'grep -q "^apt-get install .*$FERRY_RUNTIME_PACKAGES" "$work/$tag.log" &&
    grep -q "^curl .*amazon-ssm-agent.deb" "$work/$tag.log" && grep -q "^dpkg -i .*amazon-ssm-agent.deb" "$work/$tag.log" &&
    grep -q "^systemctl enable --now amazon-ssm-agent.service" "$work/$tag.log" &&
    grep -q "^systemctl enable --now ferry.service" "$work/$tag.log"'
  if [[ -n $user ]]; then
    if getent passwd "$user" >/dev/null; then
      skip "userdata.$tag-creates-the-service-user" "this host already has a user $user"
    else
      WHY="useradd/groupadd not called for $user:$group: $(tr '\n' '|' <"$work/$tag.log")"
      check "userdata.$tag-creates-the-service-user" eval 'grep -q "^useradd --system .* $user\$" "$work/$tag.log" &&
        { [[ -z $group ]] || getent group "$group" >/dev/null || grep -q "^groupadd --system $group\$" "$work/$tag.log"; }'
    fi
  fi
  if has_systemd_analyze; then
    # The unit with its drop-in, as systemd would merge them, paths moved into the scratch root.
    cat "$r/etc/systemd/system/ferry.service" "$r/etc/systemd/system/ferry.service.d/ferry-aws.conf" >"$work/verify-$tag.service"
    check "userdata.$tag-unit-verifies" verify_unit "$work/verify-$tag.service" \
      "$bin" "$r$bin" "$(dirname "$conf")/" "$r$(dirname "$conf")/"
  else
    skip "userdata.$tag-unit-verifies" "systemd-analyze not installed"
  fi
  tls_checks "$tag" "$r" "$user" "$group" "$source"
}
# The inline unit (no deploy/ferry.service): DynamicUser, /usr/local/bin/ferry.
ferry_case ferry-inline-unit ""
# The project's own unit, which production user-data embeds when it exists.
if [[ -r $REPO/deploy/ferry.service ]]; then
  ferry_case ferry-project-unit "$REPO/deploy/ferry.service"
  # ...with the certificate given to `up --tls-cert/--tls-key` (SSM parameters).
  ferry_case ferry-project-unit-ssm-tls "$REPO/deploy/ferry.service" ssm
else
  skip userdata.ferry-project-unit "deploy/ferry.service does not exist (yet): the inline unit is used"
fi
# Some other unit: a static user, a config path of its own.
cat >"$work/repo-ferry.service" <<'EOF'
[Unit]
Description=ferry (a repository unit)
After=network-online.target

[Service]
ExecStart=/usr/bin/ferry --config /etc/ferry/config.yaml
User=ferry
Restart=always

[Install]
WantedBy=multi-user.target
EOF
ferry_case ferry-other-unit "$work/repo-ferry.service"

# up --domain: the config with the acme block, no certificate files, ACME storage for the service.
# (A stand-in binary: build/ferry may predate the acme block; tests/deploy's moto lane checks the
# config with build/ferry itself once it knows it.)
tag=ferry-acme
printf '#!/bin/sh\n[ "$1" = --check ] && echo "config OK"\nexit 0\n' >"$work/artifact-standin"
chmod +x "$work/artifact-standin"
"$REPO/deploy/ferry-aws" render-userdata ferry "$FERRY_PROXY_1_NAME" "$url" "$(sha256sum "$work/artifact-standin" | cut -d' ' -f1)" \
  --domain shop.example.com --email ops@example.com >"$work/$tag.sh"
WHY="exit status non-zero (see $LOGS/userdata-$tag.out)"
FERRY_STUB_ARTIFACT=$work/artifact-standin check "userdata.$tag-runs" run_userdata "$tag" "$work/$tag.sh"
r=$work/$tag-root
conf=$(sed -n "s/^CONF='\(.*\)'$/\1/p" "$work/$tag.sh")
WHY="$r$conf lacks the acme block or still names certificate files"
check "userdata.$tag-installs-the-acme-config" eval 'grep -qx "  domains: \[\"shop.example.com\"\]" "$r$conf" &&
  grep -qx "  email: \"ops@example.com\"" "$r$conf" && grep -qx "  storage: $FERRY_ACME_STORAGE" "$r$conf" &&
  ! grep -q "certificates:" "$r$conf" && grep -q "^  - address: \"0.0.0.0:$FERRY_PROXY_TLS_PORT\"" "$r$conf"'
WHY="certificate files or a self-signed pair made: $(find "$r$(dirname "$FERRY_TLS_CERT")" 2>/dev/null | tr '\n' ' ')"
check "userdata.$tag-makes-no-certificate-files" eval '[[ ! -e $r$FERRY_TLS_CERT && ! -e $r$FERRY_TLS_KEY ]] && ! grep -q "^apt-get install .*openssl" "$work/$tag.log"'
WHY="storage $(stat -c %a "$r$FERRY_ACME_STORAGE" 2>&1), drop-in: $(tr '\n' '|' <"$r/etc/systemd/system/ferry.service.d/ferry-aws.conf")"
check "userdata.$tag-gives-the-service-its-storage" eval '[[ $(stat -c %a "$r$FERRY_ACME_STORAGE") == 700 ]] &&
  grep -qx "StateDirectory=${FERRY_ACME_STORAGE#/var/lib/}" "$r/etc/systemd/system/ferry.service.d/ferry-aws.conf" &&
  grep -qx "StateDirectoryMode=0700" "$r/etc/systemd/system/ferry.service.d/ferry-aws.conf"'
if has_systemd_analyze; then
  bin=$(sed -n "s/^BIN='\(.*\)'$/\1/p" "$work/$tag.sh")
  cat "$r/etc/systemd/system/ferry.service" "$r/etc/systemd/system/ferry.service.d/ferry-aws.conf" >"$work/verify-$tag.service"
  check "userdata.$tag-unit-verifies" verify_unit "$work/verify-$tag.service" "$bin" "$r$bin" "$(dirname "$conf")/" "$r$(dirname "$conf")/"
fi

# --- drain and ready: the script `ferry-aws drain|ready` sends (lib/control.sh), run against the
# real ferry on loopback (its backend a loopback port, no health checks), with the admin token
# read from the file as on the instance. FERRY_E2E_BIN picks the binary, as for netns_e2e.sh.
# shellcheck source=../../deploy/lib/control.sh
source "$REPO/deploy/lib/control.sh"
ferry_bin=${FERRY_E2E_BIN:-$REPO/build/ferry}
if [[ -x $ferry_bin ]]; then
  admin_port=$(free_port)
  backend="127.0.0.1:$(free_port)"
  token='s3cret"with\slash-and-more'
  # ferry_yaml TOKEN: the configuration, admin_token TOKEN (YAML single quotes keep it as is).
  ferry_yaml() {
    printf 'listen: ["127.0.0.1:%s"]\nadmin: "127.0.0.1:%s"\nadmin_token: '"'%s'"'\nbackends: ["%s"]\n' \
      "$(free_port)" "$admin_port" "$1" "$backend" >"$work/control.yaml"
  }
  ferry_yaml "$token"
  "$ferry_bin" -c "$work/control.yaml" >"$LOGS/userdata-control-ferry.out" 2>&1 &
  app_pid=$!
  # control ACTION POOL ADDRESS: the rendered script, pointed at this ferry, its binary and file;
  # its output in $work/control.out (standard error apart, as SSM keeps it), its exit status in RC.
  control() {
    control_script "$1" "$2" "$3" |
      sed -e "1s#.*#bin='$ferry_bin' conf='$work/control.yaml'#" -e "s#http://$FERRY_PROXY_ADMIN/#http://127.0.0.1:$admin_port/#" \
        >"$work/control.sh"
    RC=0
    env -u http_proxy -u HTTP_PROXY sh "$work/control.sh" >"$work/control.out" 2>"$work/control.err" || RC=$?
    WHY="exit $RC: $(cat "$work/control.out" "$work/control.err" | head -c 400 | tr '\n' '|')"
  }
  answered() { [[ $RC == 0 ]] && [[ $(head -n 1 "$work/control.out") == "ferry-admin-status: $1" ]] && grep -qF -- "$2" "$work/control.out"; }
  if wait_http "http://127.0.0.1:$admin_port/healthz" 20; then
    control drain default "$backend"
    check userdata.control-drain-with-the-token-from-the-file answered 200 "\"state\": \"drained\""
    backends=$(curl -sS --noproxy '*' "http://127.0.0.1:$admin_port/backends")
    WHY="/backends: $(head -c 400 <<<"$backends")"
    check userdata.control-drain-shows-in-backends grep -qF "\"address\": \"$backend\", \"pool\": \"default\", \"resolved\": \"$backend\", \"state\": \"drained\"" <<<"$backends"
    control ready default "$backend"
    ready_again() { answered 200 "\"address\": \"$backend\"" && ! grep -qF '"state": "drained"' "$work/control.out"; }
    check userdata.control-ready-puts-it-back ready_again
    control drain default "127.0.0.1:1"
    check userdata.control-unknown-backend-is-404 answered 404 "has no backend \"127.0.0.1:1\""
    control drain nosuchpool "$backend"
    check userdata.control-unknown-pool-is-404 answered 404 "no pool named \"nosuchpool\""
    # The file's token changed but ferry has not reloaded it: refused.
    ferry_yaml "another-token-not-loaded-yet"
    control drain default "$backend"
    check userdata.control-a-token-ferry-has-not-loaded-is-401 answered 401 "needs the admin token"
    ferry_yaml "$token"
    kill "$app_pid" 2>/dev/null
    wait "$app_pid" 2>/dev/null
    app_pid=""
    control drain default "$backend"
    admin_down() { [[ $RC != 0 && $(head -n 1 "$work/control.out") == "ferry-admin-status: 000" ]]; }
    check userdata.control-admin-not-answering-fails admin_down
  else
    fail userdata.control-drain-with-the-token-from-the-file "ferry did not answer: $(tail -n 3 "$LOGS/userdata-control-ferry.out" | tr '\n' ' ')"
  fi
  if [[ -n $app_pid ]]; then kill "$app_pid" 2>/dev/null; wait "$app_pid" 2>/dev/null; app_pid=""; fi
else
  skip userdata.control-drain-with-the-token-from-the-file "no ferry binary at $ferry_bin (build/ferry, or FERRY_E2E_BIN)"
fi

# --- user-data size -----------------------------------------------------------------------
# EC2 takes 16 KiB of user-data. The ferry script embeds a presigned URL whose session token
# can run to kilobytes: over the limit the script goes gzipped (cloud-init unpacks it), and
# a script too big even gzipped stops the launch with its sizes.
sizes=$work/sizes
mkdir -p "$sizes"
"$REPO/deploy/ferry-aws" render-userdata backend "$FERRY_BACKEND_1_NAME" >"$sizes/backend.sh"
fit_in_subshell() { # FILE NAME: prints USER_DATA_ARG, or the error; exit status fit_user_data's
  (fit_user_data "$1" "$2" && echo "$USER_DATA_ARG") 2>&1
}
arg=$(fit_in_subshell "$sizes/backend.sh" backend)
WHY="$(wc -c <"$sizes/backend.sh") bytes gave '$arg'"
check userdata.size-small-script-goes-as-text eval '[[ $arg == "file://$sizes/backend.sh" ]]'

long_url="$url&X-Amz-Security-Token=$(printf 'IQoJb3JpZ2luX2VjEJr%.0s' $(seq 1 200))"
"$REPO/deploy/ferry-aws" render-userdata ferry "$FERRY_PROXY_1_NAME" "$long_url" "$sha" >"$sizes/ferry.sh"
arg=$(fit_in_subshell "$sizes/ferry.sh" "$FERRY_PROXY_1_NAME")
packed_fits() {
  [[ $(wc -c <"$sizes/ferry.sh") -gt 16384 && $arg == "fileb://$sizes/ferry.sh.gz" ]] &&
    (($(wc -c <"$sizes/ferry.sh.gz") <= 16384)) && gzip -dc "$sizes/ferry.sh.gz" | cmp -s - "$sizes/ferry.sh"
}
WHY="$(wc -c <"$sizes/ferry.sh") bytes gave '$arg' ($(wc -c 2>/dev/null <"$sizes/ferry.sh.gz") gzipped)"
check userdata.size-long-url-goes-gzipped-and-unpacks-whole packed_fits

# A config padded with 24 KB that does not compress.
cp "$REPO/deploy/ferry.yaml" "$sizes/big.yaml"
head -c 18000 /dev/urandom | base64 -w 76 | sed 's/^/# /' >>"$sizes/big.yaml"
PROXY_YAML=$sizes/big.yaml render_proxy_userdata "$FERRY_PROXY_1_NAME" "$url" "$sha" >"$sizes/big.sh"
rc=0
arg=$(fit_in_subshell "$sizes/big.sh" "$FERRY_PROXY_1_NAME") || rc=$?
WHY="exit $rc: $arg"
check userdata.size-too-big-even-gzipped-stops-with-the-sizes eval '((rc == 1)) &&
  grep -qE "user-data of $FERRY_PROXY_1_NAME is [0-9]+ bytes, [0-9]+ gzipped, over EC2.s limit of 16384" <<<"$arg"'
