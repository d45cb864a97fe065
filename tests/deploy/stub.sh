#!/usr/bin/env bash
# Stand-in for apt-get, systemctl, curl, dpkg, useradd, groupadd, snap, chown and aws (tests/deploy
# links it under those names) when user-data runs locally: logs its name and arguments to
# FERRY_STUB_LOG and succeeds without touching the system.
set -euo pipefail
name=$(basename "$0")
printf '%s %s\n' "$name" "$*" >>"${FERRY_STUB_LOG:-/dev/null}"
if [[ $name == curl ]]; then
  # curl ... -o FILE URL: the artifact URL yields FERRY_STUB_ARTIFACT, anything else a marker
  out="" url=""
  while (($#)); do
    case $1 in
      -o) out=$2; shift ;;
      -*) ;;
      *) url=$1 ;;
    esac
    shift
  done
  if [[ -n $out ]]; then
    if [[ -n ${FERRY_STUB_ARTIFACT_URL:-} && $url == "$FERRY_STUB_ARTIFACT_URL" ]]; then
      cp "$FERRY_STUB_ARTIFACT" "$out"
    else
      printf 'stub download of %s\n' "$url" >"$out"
    fi
  fi
fi
if [[ $name == aws ]]; then
  # aws ssm get-parameter --name NAME ...: the file FERRY_STUB_SSM_DIR/<last part of NAME>
  param=""
  while (($#)); do
    if [[ $1 == --name ]]; then param=$2; fi
    shift
  done
  cat "${FERRY_STUB_SSM_DIR:?}/${param##*/}"
fi
exit 0
