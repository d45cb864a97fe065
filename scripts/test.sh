#!/usr/bin/env bash
# README command 2: the whole test suite. Installs what is missing, builds with warnings as
# errors, runs every test stage, and ends with one line "N passed, N failed".
#   scripts/test.sh            the default stages: build browser tls package deploy sanitize fuzz
#   FERRY_STAGES="unit deploy" scripts/test.sh   only those stages (unit: the suite on the
#                              Release build too, beside sanitize's run of it under ASan+UBSan)
#   FERRY_FUZZ_SECONDS=N       how long each fuzz target runs (default 10)
# build makes the Release ferry with warnings as errors, which browser (the admin status page in
# headless Chromium, tests/browser/status_page.sh), tls (testssl.sh over loopback,
# tests/tls/grade.sh), package and deploy use. sanitize runs the whole suite (every ctest test)
# under ASan+UBSan and the threaded tests under TSan; fuzz runs each libFuzzer target on its
# corpus from the same ASan build (scripts/sanitize.sh, scripts/fuzz.sh). unit, not a default
# stage, runs the suite once more on the Release build: the CI's time budget (25 minutes on 2
# cores) has no room for the suite built and run twice.
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root" || exit 1
jobs="$(nproc)"
stages="${FERRY_STAGES:-build browser tls package deploy sanitize fuzz}"
passed=0
failed=0

"$root/scripts/install-deps.sh" || exit 1

stage() { printf '\n===== %s (at %ss) =====\n' "$*" "$SECONDS"; }

# Adds a stage's "N passed, N failed" to the totals.
count() {
  local p="$1" f="$2"
  passed=$((passed + p))
  failed=$((failed + f))
}

run_ctest() {
  local dir="$1"
  local log
  log="$(mktemp)"
  ctest --test-dir "$dir" -j"$jobs" --output-on-failure --timeout 300 2>&1 | tee "$log"
  local total fails
  total="$(sed -n 's/.*tests passed, \([0-9]*\) tests\? failed out of \([0-9]*\).*/\2/p' "$log" | tail -1)"
  fails="$(sed -n 's/.*tests passed, \([0-9]*\) tests\? failed out of \([0-9]*\).*/\1/p' "$log" | tail -1)"
  rm -f "$log"
  if [[ -z "$total" ]]; then
    count 0 1
    return
  fi
  count "$((total - fails))" "$fails"
}

# Runs a script that ends with "N passed, N failed" and adds its counts.
run_counted() {
  local log line
  log="$(mktemp)"
  "$@" 2>&1 | tee "$log"
  line="$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)"
  rm -f "$log"
  if [[ -n "$line" ]]; then
    count "$(awk '{print $1}' <<<"$line")" "$(awk '{print $3}' <<<"$line")"
  else
    echo "(no summary line: counted as one failure)"
    count 0 1
  fi
}

for s in $stages; do
  case "$s" in
    build)
      stage "build (Release, warnings as errors): ferry"
      # Without the tests and benchmarks: the package stage builds everything configured here.
      if cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DFERRY_WERROR=ON -DFERRY_TESTS=OFF -DFERRY_BENCH=OFF \
           >/dev/null && cmake --build build -j"$jobs" --target ferry; then
        count 1 0
      else
        echo "build failed"
        count 0 1
      fi
      ;;
    unit)
      stage "build (Release, warnings as errors)"
      if cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DFERRY_WERROR=ON -DFERRY_TESTS=ON -DFERRY_BENCH=ON >/dev/null &&
         cmake --build build -j"$jobs"; then
        stage "unit, loop and integration tests (ctest)"
        run_ctest build
      else
        echo "build failed"
        count 0 1
      fi
      ;;
    browser)
      stage "status page in headless Chromium: ferry on loopback, DOM and screenshot checked"
      run_counted bash tests/browser/status_page.sh "$root/build/ferry"
      ;;
    tls)
      stage "TLS grade: testssl.sh against ferry's intermediate policy on loopback"
      run_counted bash tests/tls/grade.sh "$root/build/ferry"
      ;;
    package)
      stage "Debian package (cpack), installed into a temporary root"
      run_counted env FERRY_DEB_BUILD_DIR=build bash tests/packaging/deb_test.sh
      ;;
    sanitize)
      stage "sanitizers: the suite under ASan+UBSan, the threaded tests under TSan"
      run_counted bash scripts/sanitize.sh
      ;;
    fuzz)
      stage "fuzzing: each libFuzzer target briefly on its corpus"
      run_counted bash scripts/fuzz.sh "${FERRY_FUZZ_SECONDS:-10}"
      ;;
    deploy)
      if [[ -x tests/deploy/run.sh ]]; then
        stage "deploy scripts (offline, against a local AWS emulator)"
        run_counted tests/deploy/run.sh
      fi
      ;;
    *)
      echo "unknown stage: $s" >&2
      count 0 1
      ;;
  esac
done

printf '\n'
echo "$passed passed, $failed failed"
[[ $failed -eq 0 && $passed -gt 0 ]]
