#!/usr/bin/env bash
# Builds the Debian package in a temporary build directory (Release, no tests, no benchmarks),
# then checks what is in it: the files, conffiles, dependencies, maintainer scripts (run against
# stub commands, so nothing on this machine changes), the unit, and the extracted ferry itself.
# Ends with "N passed, N failed"; exits non-zero when something failed.
#   tests/packaging/deb_test.sh
#   FERRY_DEB_BUILD_DIR=build tests/packaging/deb_test.sh    package an existing build directory
#     (kept; configured as it is), or make and keep a new one there
# Checks are functions that check() calls by name, which shellcheck cannot follow.
# shellcheck disable=SC2317
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/ferry-deb-test.XXXXXX")"
build="${FERRY_DEB_BUILD_DIR:-$work/build}"
trap 'rm -rf "$work"' EXIT
passed=0
failed=0

pass() { passed=$((passed + 1)); echo "ok   - $*"; }
fail() { failed=$((failed + 1)); echo "FAIL - $*"; }
# check DESCRIPTION COMMAND...: passes when COMMAND exits 0.
check() {
  local what="$1"
  shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}
finish() {
  echo "$passed passed, $failed failed"
  ((failed == 0))
  exit
}

version="$(sed -n 's/^project(ferry VERSION \([0-9.]*\).*/\1/p' "$root/CMakeLists.txt")"
if [[ -z $version ]]; then
  fail "version found in CMakeLists.txt project()"
  finish
fi

# A build directory given and already configured (scripts/test.sh's Release build, say) is
# used as it is; otherwise a fresh Release build without tests and benchmarks.
configure() {
  if [[ -n ${FERRY_DEB_BUILD_DIR:-} && -f $build/CMakeCache.txt ]]; then
    cmake "$build"
  else
    cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DFERRY_TESTS=OFF -DFERRY_BENCH=OFF
  fi
}
echo "# building the package in $build"
if configure >"$work/cmake.log" 2>&1 &&
   cmake --build "$build" -j"$(nproc)" >>"$work/cmake.log" 2>&1 &&
   (cd "$build" && cpack -G DEB) >>"$work/cmake.log" 2>&1; then
  pass "cmake, build and cpack -G DEB"
else
  tail -30 "$work/cmake.log"
  fail "cmake, build and cpack -G DEB"
  finish
fi

deb="$build/ferry_${version}_amd64.deb"
if [[ ! -f $deb ]]; then
  ls "$build"/*.deb 2>/dev/null
  fail "package named ferry_${version}_amd64.deb"
  finish
fi
pass "package named ferry_${version}_amd64.deb"

# --- contents
contents="$(dpkg-deb -c "$deb")"
# has_file PATH MODE: the package holds ./PATH with permissions MODE (e.g. -rwxr-xr-x).
has_file() {
  awk -v p="./$1" -v m="$2" '$6 == p && $1 == m { found = 1 } END { exit !found }' <<<"$contents"
}
check "contains /usr/bin/ferry (0755)" has_file usr/bin/ferry -rwxr-xr-x
check "contains /etc/ferry/ferry.yaml (0644)" has_file etc/ferry/ferry.yaml -rw-r--r--
check "contains /lib/systemd/system/ferry.service (0644)" has_file lib/systemd/system/ferry.service -rw-r--r--
check "contains /lib/systemd/system/ferry.socket (0644)" has_file lib/systemd/system/ferry.socket -rw-r--r--
check "contains /etc/logrotate.d/ferry (0644)" has_file etc/logrotate.d/ferry -rw-r--r--
check "contains the operations guide" has_file usr/share/doc/ferry/README-operations.md -rw-r--r--
check "contains the Prometheus example" has_file usr/share/doc/ferry/prometheus.yml -rw-r--r--
check "contains the Grafana dashboard" has_file usr/share/doc/ferry/grafana/ferry-dashboard.json -rw-r--r--
check "files belong to root" test -z "$(awk '$2 != "root/root"' <<<"$contents")"
no_stray_paths() { ! grep -E "usr/local|/build|/tmp" <<<"$contents"; }
check "nothing under /usr/local or the build tree" no_stray_paths

# --- control
info="$(dpkg-deb -I "$deb")"
field() { dpkg-deb -f "$deb" "$1"; }
check "Package: ferry" test "$(field Package)" = ferry
check "Version: $version" test "$(field Version)" = "$version"
check "Architecture: amd64" test "$(field Architecture)" = amd64
depends="$(field Depends)"
echo "#   Depends: $depends"
# depends_on NAME: Depends names the package NAME (any version).
depends_on() { tr ',' '\n' <<<"$depends" | awk -v n="$1" '$1 == n { found = 1 } END { exit !found }'; }
for dep in libuv1 liburing2 libyaml-cpp0.7 libprometheus-cpp-core1.0 libssl3 libstdc++6 libc6 adduser; do
  check "Depends on $dep" depends_on "$dep"
done
lists_control_files() {
  local f
  for f in conffiles postinst prerm postrm; do
    grep -qE "^ +[0-9]+ bytes, +[0-9]+ lines +\*? *$f" <<<"$info" || return 1
  done
}
check "dpkg-deb -I lists conffiles, postinst, prerm, postrm" lists_control_files

mkdir -p "$work/control"
dpkg-deb -e "$deb" "$work/control"
check "conffiles: /etc/ferry/ferry.yaml and /etc/logrotate.d/ferry" \
  test "$(sort "$work/control/conffiles")" = "$(printf '/etc/ferry/ferry.yaml\n/etc/logrotate.d/ferry')"
executable_sh() { [[ -x $1 ]] && sh -n "$1"; }
for s in postinst prerm postrm; do
  check "$s is executable and valid sh" executable_sh "$work/control/$s"
done

# --- maintainer scripts, against stubs that log their arguments instead of acting
stubs="$work/stubs"
calls="$work/calls.log"
mkdir -p "$stubs"
for c in addgroup adduser install rm deb-systemd-helper deb-systemd-invoke sleep; do
  printf '#!/bin/sh\necho "%s $*" >>"%s"\nexit 0\n' "$c" "$calls" >"$stubs/$c"
  chmod +x "$stubs/$c"
done
# systemctl: logs too; `show -p NAME --value UNIT` prints $state/NAME (nothing if absent), and
# `kill` moves NAME.after files over NAME (what the service shows once the signal has acted).
state="$work/systemd-state"
cat >"$stubs/systemctl" <<STUB
#!/bin/sh
echo "systemctl \$*" >>"$calls"
case "\$1" in
  show) cat "$state/\$3" 2>/dev/null || true ;;
  kill) for f in "$state"/*.after; do [ -f "\$f" ] && mv "\$f" "\${f%.after}"; done ;;
esac
exit 0
STUB
chmod +x "$stubs/systemctl"
# ferry --check: fails when FERRY_STUB_CHECK_FAILS=1.
cat >"$stubs/ferry" <<'STUB'
#!/bin/sh
[ "${FERRY_STUB_CHECK_FAILS:-0}" != 1 ]
STUB
chmod +x "$stubs/ferry"
# getent: "no such user or group" unless FERRY_STUB_USER_EXISTS=1.
cat >"$stubs/getent" <<'EOF'
#!/bin/sh
[ "${FERRY_STUB_USER_EXISTS:-0}" = 1 ]
EOF
chmod +x "$stubs/getent"
run_script() {  # run_script SCRIPT ARGS...: runs it with the stubs first on PATH
  : >"$calls"
  PATH="$stubs:$PATH" sh "$work/control/$1" "${@:2}" >"$work/script.out" 2>&1
}
check "postinst configure (first install) exits 0" run_script postinst configure
check "postinst creates the ferry group" grep -qx "addgroup --system --quiet ferry" "$calls"
check "postinst creates the ferry system user without a shell" \
  grep -qE "^adduser --system .*--ingroup ferry .*--shell /usr/sbin/nologin .*ferry$" "$calls"
check "postinst makes /var/log/ferry for ferry" \
  grep -qx "install -d -o ferry -g ferry -m 0750 /var/log/ferry" "$calls"
check "postinst enables the unit" grep -qx "deb-systemd-helper enable ferry.service" "$calls"
socket_not_enabled() {
  ! grep -qx "deb-systemd-helper enable ferry.socket" "$calls" &&
    grep -qx "deb-systemd-helper update-state ferry.socket" "$calls"
}
check "postinst records ferry.socket without enabling it" socket_not_enabled
if [[ -d /run/systemd/system ]]; then
  reloads_and_starts() {
    grep -qx "systemctl --system daemon-reload" "$calls" &&
      grep -qx "deb-systemd-invoke start ferry.service" "$calls"
  }
  check "postinst reloads systemd and starts ferry" reloads_and_starts
else
  leaves_systemctl_alone() { ! grep -qE "^(systemctl|deb-systemd-invoke) " "$calls"; }
  check "postinst leaves systemctl alone without systemd running" leaves_systemctl_alone
fi
export FERRY_STUB_USER_EXISTS=1
check "postinst configure (upgrade) exits 0" run_script postinst configure 0.0.9
creates_no_user() { ! grep -qE "^(adduser|addgroup) " "$calls"; }
check "postinst on upgrade leaves an existing user alone" creates_no_user
unset FERRY_STUB_USER_EXISTS

# --- postinst and prerm where systemd runs: copies that see $work/run-systemd as
# /run/systemd/system, and the stubs ferry and policy-rc.d as /usr/bin/ferry and
# /usr/sbin/policy-rc.d.
mkdir -p "$work/run-systemd" "$work/control-systemd"
for s in postinst prerm; do
  sed -e "s#/run/systemd/system#$work/run-systemd#g" -e "s#/usr/bin/ferry#$stubs/ferry#g" \
    -e "s#/usr/sbin/policy-rc.d#$stubs/policy-rc.d#g" "$work/control/$s" >"$work/control-systemd/$s"
done
run_systemd_script() {  # like run_script, on the copy
  : >"$calls"
  PATH="$stubs:$PATH" sh "$work/control-systemd/$1" "${@:2}" >"$work/script.out" 2>&1
}
# service_state ACTIVE MAINPID STATUS [MAINPID_AFTER_USR2 [STATUS_AFTER_USR2]]
service_state() {
  rm -rf "$state"
  mkdir -p "$state"
  printf '%s\n' "$1" >"$state/ActiveState"
  printf '%s\n' "$2" >"$state/MainPID"
  printf '%s\n' "$3" >"$state/StatusText"
  if [[ -n ${4:-} ]]; then printf '%s\n' "$4" >"$state/MainPID.after"; fi
  if [[ -n ${5:-} ]]; then printf '%s\n' "$5" >"$state/StatusText.after"; fi
}
signalled() { grep -qx "systemctl kill -s USR2 --kill-who=main ferry.service" "$calls"; }
restarted() { grep -qx "deb-systemd-invoke restart ferry.service" "$calls"; }
sleeps() { grep -c "^sleep " "$calls"; }
first_install_starts() {
  service_state inactive 0 ""
  run_systemd_script postinst configure && grep -qx "systemctl --system daemon-reload" "$calls" &&
    grep -qx "deb-systemd-invoke start ferry.service" "$calls" && ! signalled
}
check "postinst (systemd) first install: daemon-reload and start, no USR2" first_install_starts
upgrade_hands_over() {
  service_state active 4242 serving 4343
  run_systemd_script postinst configure 0.0.9 && signalled && ! restarted &&
    grep -q "pid 4343 serves, pid 4242 drains" "$work/script.out"
}
check "postinst (systemd) upgrade of a running ferry: SIGUSR2 to the main process, no restart" \
  upgrade_hands_over
upgrade_of_stopped_restarts() {
  service_state inactive 0 ""
  run_systemd_script postinst configure 0.0.9 && ! signalled && restarted
}
check "postinst (systemd) upgrade of a stopped ferry: restart, as before" upgrade_of_stopped_restarts
upgrade_of_silent_ferry_restarts() {
  service_state active 4242 ""
  run_systemd_script postinst configure 0.0.9 && ! signalled && restarted
}
check "postinst (systemd) upgrade of a ferry that sets no sd_notify status: restart, no USR2" \
  upgrade_of_silent_ferry_restarts
upgrade_without_takeover_restarts() {
  service_state active 4242 serving
  run_systemd_script postinst configure 0.0.9 && signalled && restarted && [[ $(sleeps) == 35 ]] &&
    grep -q "did not complete" "$work/script.out"
}
check "postinst (systemd) upgrade whose new process never takes over: restart after 35s" \
  upgrade_without_takeover_restarts
upgrade_failure_seen_early() {
  service_state active 4242 serving "" "serving; the last upgrade failed: new process exited with status 1"
  run_systemd_script postinst configure 0.0.9 && signalled && restarted && [[ $(sleeps) == 1 ]]
}
check "postinst (systemd) upgrade that ferry reports failed: restart without waiting it out" \
  upgrade_failure_seen_early
upgrade_bad_config_keeps_old() {
  service_state active 4242 serving 4343
  FERRY_STUB_CHECK_FAILS=1 run_systemd_script postinst configure 0.0.9 && ! signalled && ! restarted &&
    grep -q "keeps serving" "$work/script.out"
}
check "postinst (systemd) upgrade to a binary that refuses the config: the old ferry keeps serving" \
  upgrade_bad_config_keeps_old
upgrade_policy_forbids() {
  printf '#!/bin/sh\nexit 101\n' >"$stubs/policy-rc.d"
  chmod +x "$stubs/policy-rc.d"
  service_state active 4242 serving 4343
  local rc=0
  run_systemd_script postinst configure 0.0.9 || rc=$?
  rm -f "$stubs/policy-rc.d"
  ((rc == 0)) && ! signalled && restarted
}
check "postinst (systemd) upgrade where policy-rc.d answers 101: no USR2, deb-systemd-invoke decides" \
  upgrade_policy_forbids
prerm_stops_socket_then_service() {
  run_systemd_script prerm remove &&
    test "$(grep "^deb-systemd-invoke stop" "$calls")" = "$(printf 'deb-systemd-invoke stop ferry.socket\ndeb-systemd-invoke stop ferry.service')"
}
check "prerm (systemd) remove stops ferry.socket, then ferry.service" prerm_stops_socket_then_service

check "prerm remove exits 0" run_script prerm remove
prerm_upgrade_keeps_running() { run_script prerm upgrade "$version" && ! grep -q stop "$calls"; }
check "prerm upgrade leaves the service running" prerm_upgrade_keeps_running
postrm_remove_masks() {
  run_script postrm remove && grep -qx "deb-systemd-helper mask ferry.service" "$calls" &&
    grep -qx "deb-systemd-helper mask ferry.socket" "$calls"
}
check "postrm remove masks both units" postrm_remove_masks
postrm_purge_cleans_up() {
  run_script postrm purge && grep -qx "deb-systemd-helper purge ferry.service" "$calls" &&
    grep -qx "deb-systemd-helper purge ferry.socket" "$calls" && grep -qx "rm -rf /var/log/ferry" "$calls" &&
    grep -qx "rm -rf /var/lib/ferry" "$calls"
}
check "postrm purge removes state and logs" postrm_purge_cleans_up
if command -v shellcheck >/dev/null; then
  check "shellcheck (sh) passes on the maintainer scripts" \
    shellcheck -s sh "$work/control/postinst" "$work/control/prerm" "$work/control/postrm"
fi

# --- the extracted files
ex="$work/root"
mkdir -p "$ex"
dpkg -x "$deb" "$ex"
out="$("$ex/usr/bin/ferry" --version 2>&1)"
check "extracted usr/bin/ferry --version prints ferry $version" test "$out" = "ferry $version"
out="$(cd "$ex" && usr/bin/ferry --check -c etc/ferry/ferry.yaml 2>&1)"
check "extracted ferry --check -c etc/ferry/ferry.yaml prints config OK" test "$out" = "config OK"
[[ $out == "config OK" ]] || echo "#   got: $out"
check "etc/ferry/ferry.yaml is deploy/packaging/ferry.yaml" cmp -s "$ex/etc/ferry/ferry.yaml" "$root/deploy/packaging/ferry.yaml"
stripped() { ! file "$ex/usr/bin/ferry" | grep -q "not stripped"; }
check "the binary is stripped" stripped
unit="$ex/lib/systemd/system/ferry.service"
for line in "User=ferry" "Group=ferry" "ExecStart=/usr/bin/ferry -c /etc/ferry/ferry.yaml" \
            "ExecStartPre=/usr/bin/ferry --check -c /etc/ferry/ferry.yaml" \
            "ExecReload=/usr/bin/ferry --check -c /etc/ferry/ferry.yaml" \
            "ExecReload=/bin/kill -HUP \$MAINPID" "AmbientCapabilities=CAP_NET_BIND_SERVICE" \
            "LimitNOFILE=1048576" "LogsDirectory=ferry" "StateDirectory=ferry" "Type=notify" "NotifyAccess=main" \
            "KillMode=control-group" "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX"; do
  check "unit has $line" grep -qxF "$line" "$unit"
done
check "unit says how to upgrade in place" grep -qF "systemctl kill -s USR2 --kill-who=main ferry" "$unit"
socket="$ex/lib/systemd/system/ferry.socket"
# listen_addresses: the `listen:` items of the packaged ferry.yaml, one a line.
listen_addresses() {
  awk '/^listen:/ { on = 1; next } on && /^[^ ]/ { on = 0 } on && /^ *- / { gsub(/[-" ]/, ""); print }' \
    "$ex/etc/ferry/ferry.yaml"
}
socket_matches_listen() {
  local want got
  want="$(listen_addresses | sort)"
  got="$(sed -n 's/^ListenStream=//p' "$socket" | sort)"
  [[ -n $want && $want == "$got" ]] || { echo "#   listen: $want; ListenStream: $got"; false; }
}
check "ferry.socket listens where the packaged ferry.yaml does" socket_matches_listen
check "ferry.socket is wanted by sockets.target" grep -qx "WantedBy=sockets.target" "$socket"
if command -v systemd-analyze >/dev/null; then
  # verify resolves the ExecStart binaries on the host: point them at the extracted one.
  mkdir -p "$work/unit"
  sed "s#/usr/bin/ferry#$ex/usr/bin/ferry#g" "$unit" >"$work/unit/ferry.service"
  cp "$socket" "$work/unit/ferry.socket"
  verifies() {  # verifies UNIT...: systemd-analyze verify says nothing about them
    local out
    out="$(systemd-analyze verify "$@" 2>&1)"
    [[ -z $out ]] || { echo "$out"; false; }
  }
  check "systemd-analyze verify accepts ferry.service" verifies "$work/unit/ferry.service"
  check "systemd-analyze verify accepts ferry.socket (beside its service)" \
    verifies "$work/unit/ferry.socket" "$work/unit/ferry.service"
else
  echo "# systemd-analyze not installed: units not verified"
fi
check "logrotate snippet signals ferry with USR1" \
  grep -qF "systemctl kill -s USR1 --kill-who=main ferry.service" "$ex/etc/logrotate.d/ferry"

finish
