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
for dep in libuv1 libyaml-cpp0.7 libprometheus-cpp-core1.0 libssl3 libstdc++6 libc6 adduser; do
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
for c in addgroup adduser install rm systemctl deb-systemd-helper deb-systemd-invoke; do
  printf '#!/bin/sh\necho "%s $*" >>"%s"\nexit 0\n' "$c" "$calls" >"$stubs/$c"
  chmod +x "$stubs/$c"
done
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
check "prerm remove exits 0" run_script prerm remove
prerm_upgrade_keeps_running() { run_script prerm upgrade "$version" && ! grep -q stop "$calls"; }
check "prerm upgrade leaves the service running" prerm_upgrade_keeps_running
postrm_remove_masks() {
  run_script postrm remove && grep -qx "deb-systemd-helper mask ferry.service" "$calls"
}
check "postrm remove masks the unit" postrm_remove_masks
postrm_purge_cleans_up() {
  run_script postrm purge && grep -qx "deb-systemd-helper purge ferry.service" "$calls" &&
    grep -qx "rm -rf /var/log/ferry" "$calls"
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
            "ExecReload=/bin/kill -HUP \$MAINPID" "AmbientCapabilities=CAP_NET_BIND_SERVICE" \
            "LimitNOFILE=1048576" "LogsDirectory=ferry"; do
  check "unit has $line" grep -qxF "$line" "$unit"
done
if command -v systemd-analyze >/dev/null; then
  # verify resolves the ExecStart binaries on the host: point them at the extracted one.
  mkdir -p "$work/unit"
  sed "s#/usr/bin/ferry#$ex/usr/bin/ferry#g" "$unit" >"$work/unit/ferry.service"
  verifies() {
    local out
    out="$(systemd-analyze verify "$work/unit/ferry.service" 2>&1)"
    [[ -z $out ]] || { echo "$out"; false; }
  }
  check "systemd-analyze verify accepts the unit" verifies
else
  echo "# systemd-analyze not installed: unit not verified"
fi
check "logrotate snippet signals ferry with USR1" \
  grep -qF "systemctl kill -s USR1 --kill-who=main ferry.service" "$ex/etc/logrotate.d/ferry"

finish
