# shellcheck shell=bash
# Shared by deploy/ferry-aws and tests/deploy: settings, messages, user-data rendering.

FERRY_DEPLOY_DIR=${FERRY_DEPLOY_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
FERRY_REPO_DIR=${FERRY_REPO_DIR:-$(cd "$FERRY_DEPLOY_DIR/.." && pwd)}

# Exit codes (documented in deploy/README.md).
# shellcheck disable=SC2034  # used by the scripts that source this file
readonly EXIT_FAIL=1 EXIT_USAGE=2 EXIT_MISSING=3 EXIT_CREDENTIALS=4 EXIT_QUOTA=5 EXIT_IN_USE=6 EXIT_NO_CLI=7

# load_settings [FILE]: KEY=value lines; an environment variable of the same name wins.
load_settings() {
  local file=${1:-$FERRY_DEPLOY_DIR/settings.env} line key value
  [[ -r $file ]] || { echo "ferry-aws: settings file $file not readable" >&2; return 1; }
  while IFS= read -r line || [[ -n $line ]]; do
    [[ $line =~ ^([A-Z][A-Z0-9_]*)=(.*)$ ]] || continue
    key=${BASH_REMATCH[1]} value=${BASH_REMATCH[2]}
    if [[ -z ${!key+set} ]]; then
      printf -v "$key" '%s' "$value"
    fi
    # shellcheck disable=SC2163  # export the variable named by $key
    export "$key"
  done <"$file"
}

say() { printf '%s\n' "$*"; }
warn() { printf 'ferry-aws: warning: %s\n' "$*" >&2; }
die() { # die [CODE] MESSAGE...
  local code=$EXIT_FAIL
  if [[ $1 =~ ^[0-9]+$ ]]; then code=$1; shift; fi
  printf 'ferry-aws: error: %s\n' "$*" >&2
  exit "$code"
}

# ip_in_cidr IP CIDR: true when IPv4 address IP lies inside CIDR.
ip_to_int() {
  local IFS=. a b c d
  read -r a b c d <<<"$1"
  echo $(((a << 24) | (b << 16) | (c << 8) | d))
}
ip_in_cidr() {
  local ip net bits mask
  ip=$(ip_to_int "$1")
  net=$(ip_to_int "${2%/*}")
  bits=${2#*/}
  mask=$(((0xffffffff << (32 - bits)) & 0xffffffff))
  (((ip & mask) == (net & mask)))
}

# --- user-data rendering ---------------------------------------------------------------
# Templates under deploy/userdata use @@KEY@@ placeholders. Files are embedded in quoted
# here-documents whose terminator must not occur in them (checked here).

# embed_check FILE TERMINATOR
embed_check() {
  [[ -r $1 ]] || die "cannot read $1 (needed for user-data)"
  if grep -qx -- "$2" "$1"; then die "$1 contains the line '$2' used as a here-document end"; fi
}

# render TEMPLATE KEY=VALUE... (values may be multi-line; file contents go in last so a
# placeholder-like text inside an embedded file is left alone)
render() {
  local template=$1 text kv key
  shift
  text=$(<"$template")
  shopt -u patsub_replacement 2>/dev/null || true # "&" in a value stays "&"
  for kv in "$@"; do
    key=${kv%%=*}
    text=${text//@@"$key"@@/"${kv#*=}"}
  done
  if [[ $text =~ @@[A-Z0-9_]+@@ ]]; then
    die "$template: placeholder ${BASH_REMATCH[0]} left unrendered"
  fi
  printf '%s\n' "$text"
}

# EC2 takes at most 16 KiB of user-data, counted before its base64 encoding. The ferry
# script embeds the unit, the config and a presigned URL, whose security token alone can run
# past 1 KB, so it can outgrow the limit. cloud-init unpacks gzipped user-data (it knows it by
# its magic bytes), so a script over the limit goes gzipped; one still over it stops the
# launch with its sizes, before run-instances is called.
readonly EC2_USER_DATA_LIMIT=16384
USER_DATA_ARG=""
# fit_user_data FILE NAME: sets USER_DATA_ARG to what --user-data takes for FILE (file://FILE,
# or fileb://FILE.gz when only the gzipped script fits).
# shellcheck disable=SC2034  # USER_DATA_ARG is read by up (lib/up.sh) and the tests
fit_user_data() {
  local file=$1 name=$2 size packed
  size=$(wc -c <"$file")
  if ((size <= EC2_USER_DATA_LIMIT)); then
    USER_DATA_ARG=file://$file
    return
  fi
  gzip -9 -n -c "$file" >"$file.gz"
  packed=$(wc -c <"$file.gz")
  if ((packed <= EC2_USER_DATA_LIMIT)); then
    USER_DATA_ARG=fileb://$file.gz
    return
  fi
  die "the user-data of $name is $size bytes, $packed gzipped, over EC2's limit of" \
    "$EC2_USER_DATA_LIMIT. It embeds the ferry config and unit: shorten those (comments count)," \
    "then run up again. What up made before this instance stays, and down removes it."
}

render_backend_userdata() { # NAME
  local app=$FERRY_REPO_DIR/deploy/app/app.py conf=$FERRY_REPO_DIR/deploy/app/gunicorn.conf.py
  embed_check "$app" FERRY_EOF_APP_PY
  embed_check "$conf" FERRY_EOF_GUNICORN_CONF
  render "$FERRY_DEPLOY_DIR/userdata/backend.sh.tmpl" \
    "INSTANCE_NAME=$1" "PORT=$FERRY_BACKEND_PORT" "HEALTH_PATH=$FERRY_HEALTH_PATH" \
    "APP_PY=$(<"$app")" "GUNICORN_CONF_PY=$(<"$conf")"
}

# The systemd unit for ferry: deploy/ferry.service when the repository has one (its owner
# decides paths, user and hardening; the user-data installs the binary and the config where
# it says), else the inline unit below. A drop-in adds the capability to bind port 80.
ferry_unit_text() {
  local unit=${FERRY_SERVICE_UNIT:-$FERRY_DEPLOY_DIR/ferry.service}
  if [[ -r $unit ]]; then
    embed_check "$unit" FERRY_EOF_UNIT
    cat "$unit"
    return
  fi
  cat <<'EOF'
[Unit]
Description=ferry HTTP/1.1 reverse proxy
After=network-online.target
Wants=network-online.target

[Service]
# ferry notifies systemd; on a SIGUSR2 upgrade the old process names the new one (MAINPID=).
Type=notify
NotifyAccess=main
ExecStart=/usr/local/bin/ferry -c /etc/ferry/ferry.yaml
ExecReload=/bin/kill -HUP $MAINPID
DynamicUser=yes
AmbientCapabilities=CAP_NET_BIND_SERVICE
CapabilityBoundingSet=CAP_NET_BIND_SERVICE
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
LimitNOFILE=65536
Restart=on-failure
RestartSec=2

[Install]
WantedBy=multi-user.target
EOF
}

# ferry_unit_facts: what the user-data must match in the unit, as KEY=VALUE lines:
#   BIN   the binary ExecStart runs (installed there)      CONF  its -c/--config file
#   USER  a static User= the instance must create          GROUP its Group=
#   EXEC  "override" when ExecStart names no config file (the drop-in then sets one)
ferry_unit_facts() {
  local text exec words bin conf="" i user="" group=""
  text=$(ferry_unit_text)
  exec=$(sed -n 's/^ExecStart=[-@:+!]*//p' <<<"$text" | grep -v '^$' | tail -n 1 || true)
  read -ra words <<<"$exec"
  bin=${words[0]:-/usr/local/bin/ferry}
  for ((i = 1; i < ${#words[@]}; i++)); do
    case ${words[i]} in
      -c | --config) conf=${words[i + 1]:-} ;;
      --config=*) conf=${words[i]#--config=} ;;
    esac
  done
  if ! grep -qiE '^DynamicUser=(yes|true|1|on)' <<<"$text"; then
    user=$(sed -n 's/^User=\([A-Za-z_][A-Za-z0-9_-]*\)$/\1/p' <<<"$text" | tail -n 1)
    group=$(sed -n 's/^Group=\([A-Za-z_][A-Za-z0-9_-]*\)$/\1/p' <<<"$text" | tail -n 1)
    [[ $user != root ]] || user=""
    [[ $group != root ]] || group=""
  fi
  echo "BIN=$bin"
  echo "CONF=${conf:-/etc/ferry/ferry.yaml}"
  echo "USER=$user"
  echo "GROUP=$group"
  echo "EXEC=$([[ -n $conf ]] && echo keep || echo override)"
}

# render_proxy_userdata NAME URL SHA256 [CERT_PARAMETER KEY_PARAMETER]: with the two SSM
# parameter names the instance installs that certificate; without, it makes a self-signed one.
# PROXY_YAML names another config to install (up --domain: with the acme block), and then
# ACME_STORAGE the directory ferry keeps its ACME account and certificates in.
PROXY_YAML="" ACME_STORAGE=""
render_proxy_userdata() {
  local yaml=${PROXY_YAML:-$FERRY_DEPLOY_DIR/ferry.yaml} facts
  embed_check "$yaml" FERRY_EOF_YAML
  facts=$(ferry_unit_facts)
  render "$FERRY_DEPLOY_DIR/userdata/ferry.sh.tmpl" \
    "INSTANCE_NAME=$1" "REGION=$FERRY_REGION" "ARTIFACT_URL=$2" "ARTIFACT_SHA256=$3" \
    "TLS_CERT=$FERRY_TLS_CERT" "TLS_KEY=$FERRY_TLS_KEY" \
    "TLS_CERT_PARAMETER=${4:-}" "TLS_KEY_PARAMETER=${5:-}" "TLS_PORT=$FERRY_PROXY_TLS_PORT" \
    "RUNTIME_PACKAGES=$FERRY_RUNTIME_PACKAGES" "PROXY_PORT=$FERRY_PROXY_PORT" "ACME_STORAGE=$ACME_STORAGE" \
    "HEALTH_PATH=$FERRY_HEALTH_PATH" "BIN=$(sed -n 's/^BIN=//p' <<<"$facts")" \
    "CONF=$(sed -n 's/^CONF=//p' <<<"$facts")" "SERVICE_USER=$(sed -n 's/^USER=//p' <<<"$facts")" \
    "SERVICE_GROUP=$(sed -n 's/^GROUP=//p' <<<"$facts")" "EXEC_START=$(sed -n 's/^EXEC=//p' <<<"$facts")" \
    "FERRY_YAML=$(<"$yaml")" "FERRY_UNIT=$(ferry_unit_text)"
}

# check_ferry_yaml: deploy/ferry.yaml must name the backends, ports and certificate files of
# the settings (the user-data puts the certificate where the settings say).
check_ferry_yaml() {
  local yaml=$FERRY_DEPLOY_DIR/ferry.yaml want missing=()
  for want in "$FERRY_BACKEND_1_IP:$FERRY_BACKEND_PORT" "$FERRY_BACKEND_2_IP:$FERRY_BACKEND_PORT" \
    "0.0.0.0:$FERRY_PROXY_PORT" "0.0.0.0:$FERRY_PROXY_EXTRA_PORT" "0.0.0.0:$FERRY_PROXY_TLS_PORT" \
    "cert: $FERRY_TLS_CERT" "key: $FERRY_TLS_KEY" "path: $FERRY_HEALTH_PATH" "admin: \"$FERRY_PROXY_ADMIN\""; do
    grep -qF -- "$want" "$yaml" || missing+=("$want")
  done
  if ((${#missing[@]})); then
    die "$yaml does not match settings.env: missing ${missing[*]}"
  fi
}
