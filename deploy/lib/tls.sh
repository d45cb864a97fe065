# shellcheck shell=bash
# HTTPS on the ferry instances: the certificate and key given to `up --tls-cert/--tls-key`,
# kept as two SSM SecureString parameters that the ferry user-data reads at first boot (without
# them the instance makes a self-signed pair). Not the binary's way (a presigned S3 URL in the
# user-data): user-data is readable by anyone allowed ec2:DescribeInstanceAttribute and by any
# process on the instance, and such a URL would hand them the private key for days. A
# SecureString is encrypted with the account's aws/ssm KMS key and read with the instance
# role, which AmazonSSMManagedInstanceCore already lets read parameters. The parameters'
# Description holds the file's SHA-256, so a second run compares without decrypting anything.

TLS_CERT_FILE="" TLS_KEY_FILE="" # set by the dispatcher's options
TLS_SOURCE=0                     # 1: the ferry instances get the certificate from the parameters
TLS_PARAM_MAX=8192               # bytes: SSM's advanced tier (Intelligent-Tiering picks it above 4 KB)

tls_param_cert() { echo "$FERRY_TLS_PARAMETER_PREFIX/site.pem"; }
tls_param_key() { echo "$FERRY_TLS_PARAMETER_PREFIX/site.key"; }

# require_tls_files: both or neither given; readable PEM; the key belongs to the certificate.
# Called before any AWS call, so a wrong file costs nothing.
require_tls_files() {
  [[ -n $TLS_CERT_FILE$TLS_KEY_FILE ]] || return 0
  [[ -n $TLS_CERT_FILE && -n $TLS_KEY_FILE ]] || die "$EXIT_USAGE" "--tls-cert and --tls-key go together. Nothing was changed."
  local f
  for f in "$TLS_CERT_FILE" "$TLS_KEY_FILE"; do
    [[ -r $f && -f $f ]] || die "$EXIT_MISSING" "cannot read $f. Nothing was changed."
    (($(wc -c <"$f") <= TLS_PARAM_MAX)) || die "$EXIT_USAGE" "$f is larger than an SSM parameter may be ($TLS_PARAM_MAX bytes). Nothing was changed."
  done
  command -v openssl >/dev/null || die "$EXIT_MISSING" "openssl is needed to check the certificate (apt-get install openssl)"
  local cert_pub key_pub
  cert_pub=$(openssl x509 -in "$TLS_CERT_FILE" -noout -pubkey 2>/dev/null) ||
    die "$EXIT_USAGE" "$TLS_CERT_FILE is not a PEM certificate. Nothing was changed."
  key_pub=$(openssl pkey -in "$TLS_KEY_FILE" -pubout -passin pass: 2>/dev/null) ||
    die "$EXIT_USAGE" "$TLS_KEY_FILE is not an unencrypted PEM private key. Nothing was changed."
  [[ $cert_pub == "$key_pub" ]] || die "$EXIT_USAGE" "$TLS_KEY_FILE is not the key of $TLS_CERT_FILE. Nothing was changed."
}

fetch_tls_state() {
  fetch tlsparams ssm describe-parameters \
    --parameter-filters "Key=Name,Option=Equals,Values=$(tls_param_cert),$(tls_param_key)"
}
# tls_param_desc NAME: the parameter's Description ("" when it does not exist).
tls_param_desc() { js tlsparams '.Parameters[]? | select(.Name == $n) | .Description // ""' --arg n "$1"; }
tls_param_exists() { [[ -n $(js tlsparams '.Parameters[]? | select(.Name == $n) | .Name' --arg n "$1") ]]; }
tls_param_ours() { # NAME: it carries the ownership tag
  aws_cli ssm list-tags-for-resource --resource-type Parameter --resource-id "$1" >"$FERRY_TMP/paramtags.json" || return 1
  [[ $(js paramtags '[.TagList[]? | select(.Key == $tk and .Value == $tv)] | length > 0') == true ]]
}

# tls_preflight: parameters of these names that ferry-aws did not make are refused (up would
# overwrite someone's secret); decides TLS_SOURCE for the user-data.
tls_preflight() {
  local name present=0
  for name in "$(tls_param_cert)" "$(tls_param_key)"; do
    tls_param_exists "$name" || continue
    tls_param_ours "$name" || die "$EXIT_IN_USE" "SSM parameter $name exists but ferry-aws did not make it. Nothing was changed."
    present=$((present + 1))
  done
  # Given files, or both parameters from an earlier run: a new instance installs them.
  if [[ -n $TLS_CERT_FILE ]] || ((present == 2)); then TLS_SOURCE=1; fi
}

# ensure_tls_params: store the given files (nothing given: the parameters stay as they are).
ensure_tls_params() {
  if [[ -z $TLS_CERT_FILE ]]; then
    if ((TLS_SOURCE)); then step ok "TLS certificate in SSM parameters under $FERRY_TLS_PARAMETER_PREFIX"; fi
    return 0
  fi
  ensure_tls_param "$(tls_param_cert)" "$TLS_CERT_FILE" certificate
  ensure_tls_param "$(tls_param_key)" "$TLS_KEY_FILE" "private key"
}
# ensure_tls_param NAME FILE WHAT: the file's content as SecureString NAME, unless it is already.
# file:// keeps the key off the command line (and out of ps).
ensure_tls_param() {
  local name=$1 file=$2 what=$3 want
  want="ferry-aws: sha256 $(sha256sum "$file" | cut -d' ' -f1)"
  if [[ $(tls_param_desc "$name") == "$want" ]]; then
    step ok "SSM parameter $name ($what of $(basename "$file"))"
  elif tls_param_exists "$name"; then
    act replace "SSM parameter $name (SecureString: $what of $file)" \
      aws_cli ssm put-parameter --name "$name" --type SecureString --tier Intelligent-Tiering \
      --description "$want" --value "file://$(realpath "$file")" --overwrite
    TLS_CHANGED=1
  else
    act store "SSM parameter $name (SecureString: $what of $file)" \
      aws_cli ssm put-parameter --name "$name" --type SecureString --tier Intelligent-Tiering \
      --description "$want" --value "file://$(realpath "$file")" --tags "$(tag_list "$name")"
    TLS_CHANGED=1
  fi
}
TLS_CHANGED=0

# tls_note_running NAME: an instance that already runs read its certificate at first boot; a
# replaced one reaches it only by hand (deploy/README.md, "HTTPS").
tls_note_running() {
  ((TLS_CHANGED)) || return 0
  step note "$1 still serves its old certificate: install the new one from $FERRY_TLS_PARAMETER_PREFIX and reload ferry (deploy/README.md, HTTPS)"
}

# down_tls_params: the two parameters, if ferry-aws made them.
down_tls_params() {
  local name names=()
  for name in "$(tls_param_cert)" "$(tls_param_key)"; do
    if tls_param_exists "$name" && tls_param_ours "$name"; then names+=("$name"); fi
  done
  ((${#names[@]})) || return 0
  act delete "SSM parameters ${names[*]}" aws_cli ssm delete-parameters --names "${names[@]}"
}
