#!/usr/bin/env bash
# The test suite under sanitizers:
#   1. ASan + UBSan (build-asan): every test, leaks checked, the first error fatal. The same
#      build holds the libFuzzer targets scripts/fuzz.sh runs (scripts/lib/sanitized-build.sh).
#   2. TSan (build-tsan): the tests where several threads meet: multi-worker forwarding, the
#      health checker and publisher, reloads, DNS re-resolution, and the hardening tests that
#      run several workers under churn.
# Ends with one line "N passed, N failed"; exits non-zero on any failure.
#   scripts/sanitize.sh                 both stages
#   FERRY_SANITIZE_STAGES=asan ...      only one stage (asan | tsan)
#   FERRY_TSAN_REGEX='...'              which tests TSan runs (ctest -R)
#   FERRY_SANITIZE_JOBS=N               build and ctest parallelism (default: nproc, at most 2)
# Needs clang (scripts/install-deps.sh installs it).
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root" || exit 1
jobs="${FERRY_SANITIZE_JOBS:-$(nproc)}"
[[ $jobs -gt 2 && -z "${FERRY_SANITIZE_JOBS:-}" ]] && jobs=2
stages="${FERRY_SANITIZE_STAGES:-asan tsan}"
# Not ^Admin: its 40ms health timeout is too tight for TSan's slowdown (a timing failure, no race).
tsan_regex="${FERRY_TSAN_REGEX:-EveryWorkerServes|^Checker\.|Reload|^Health|^Dns|^Prometheus|^BackendChurn|^HealthFlapping|^Slowloris|^Flood|^BackendDeath|^RateLimit\.|^AdminControl\.}"
passed=0
failed=0

# shellcheck source=scripts/lib/sanitized-build.sh
source "$root/scripts/lib/sanitized-build.sh"

stage() { printf '\n===== %s =====\n' "$*"; }

# Runs ctest in `dir` (extra args go to ctest) and adds its counts to the totals.
run_ctest() {
  local dir="$1"
  shift
  local log
  log="$(mktemp)"
  ctest --test-dir "$dir" -j"$jobs" --output-on-failure --timeout 300 "$@" 2>&1 | tee "$log" |
    grep -vE "^ *[0-9]+/[0-9]+ Test +#[0-9]+: .* Passed"
  local total fails
  total="$(sed -n 's/.*tests passed, \([0-9]*\) tests\? failed out of \([0-9]*\).*/\2/p' "$log" | tail -1)"
  fails="$(sed -n 's/.*tests passed, \([0-9]*\) tests\? failed out of \([0-9]*\).*/\1/p' "$log" | tail -1)"
  rm -f "$log"
  if [[ -z "$total" ]]; then
    failed=$((failed + 1))
    return
  fi
  passed=$((passed + total - fails))
  failed=$((failed + fails))
}

start=$SECONDS
for s in $stages; do
  case "$s" in
    asan)
      stage "ASan + UBSan build (clang) in build-asan"
      if sanitized_build build-asan address,undefined; then
        stage "ASan + UBSan: every test"
        ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=1:detect_stack_use_after_return=0" \
        UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1" \
        LSAN_OPTIONS="report_objects=1" \
          run_ctest build-asan
      else
        echo "ASan build failed"
        failed=$((failed + 1))
      fi
      ;;
    tsan)
      stage "TSan build (clang) in build-tsan"
      if sanitized_build build-tsan thread integration_tests hardening_tests health_tests; then
        stage "TSan: tests matching $tsan_regex"
        TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:history_size=4" \
          run_ctest build-tsan -R "$tsan_regex"
      else
        echo "TSan build failed"
        failed=$((failed + 1))
      fi
      ;;
    *)
      echo "unknown stage: $s" >&2
      failed=$((failed + 1))
      ;;
  esac
done

printf '\n(%ds)\n' $((SECONDS - start))
echo "$passed passed, $failed failed"
[[ $failed -eq 0 && $passed -gt 0 ]]
