#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) into build-asan with clang, ASan and UBSan (the build
# scripts/sanitize.sh runs the test suite from: run both and the code compiles once), then runs
# each for SECONDS on its corpus (the committed seeds plus what earlier runs found), printing
# executions and coverage. Exits non-zero if any target crashes, leaks, times out or breaks an
# invariant; the input that did it is kept in build-asan/artifacts/TARGET/.
#   scripts/fuzz.sh [SECONDS] [TARGET...]     SECONDS per target (default 30);
#                                             targets: request response chunked config tls h2 (default all)
#   FERRY_FUZZ_JOBS=N                         build parallelism, and targets fuzzed side by side (default 2)
#   FERRY_FUZZ_ARGS="-fork=1 -ignore_crashes=1"  extra libFuzzer flags (e.g. to keep going and
#                                             collect every distinct crash in a long run)
# Reproduce a failure: build-asan/tests/fuzz/fuzz_TARGET build-asan/artifacts/TARGET/crash-...
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root" || exit 1
seconds="${1:-30}"
shift || true
targets=("$@")
[[ ${#targets[@]} -eq 0 ]] && targets=(request response chunked config tls h2)
build="$root/build-asan"
jobs="${FERRY_FUZZ_JOBS:-2}"
# shellcheck source=scripts/lib/sanitized-build.sh
source "$root/scripts/lib/sanitized-build.sh"

echo "===== build (clang, libFuzzer, ASan+UBSan) into $build"
if ! sanitized_build "$build" address,undefined "${targets[@]/#/fuzz_}"; then
  echo "fuzz.sh: build failed"
  exit 1
fi

read -r -a extra_args <<<"${FERRY_FUZZ_ARGS:-}"
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=1:symbolize=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
# One target: runs it, then writes its summary line to $build/fuzz_$t.line (and its errors to
# $build/fuzz_$t.errors); exits non-zero if it failed.
fuzz_one() {
  local t="$1"
  local bin="$build/tests/fuzz/fuzz_$t"
  local seeds="$root/tests/fuzz/corpus/$t"
  local work="$build/corpus/$t"
  local artifacts="$build/artifacts/$t"
  mkdir -p "$work" "$artifacts"
  local dict="$root/tests/fuzz/http.dict"
  [[ $t == config ]] && dict="$root/tests/fuzz/yaml.dict"
  [[ $t == tls ]] && dict="$root/tests/fuzz/tls.dict"
  local max_len=4096
  [[ $t == request ]] && max_len=8192  # past the 4 KiB head limit the target sets
  local log="$build/fuzz_$t.log"
  # New inputs go to the first directory (work); the committed seeds are only read.
  "$bin" "$work" "$seeds" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2560 \
      -max_len="$max_len" -dict="$dict" -artifact_prefix="$artifacts/" -print_final_stats=1 \
      "${extra_args[@]}" >"$log" 2>&1
  local rc=$?
  local execs rss last cov ft corp eps line
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
  rss="$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -1)"
  last="$(grep -E '^#[0-9]+' "$log" | tail -1)"
  [[ -z $execs ]] && execs="$(sed -n 's/^#\([0-9]*\).*/\1/p' <<<"$last")"  # -fork mode prints no stats
  cov="$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")"
  ft="$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")"
  corp="$(sed -n 's/.* corp: \([0-9]*\/[0-9]*[a-zA-Z]*\).*/\1/p' <<<"$last")"
  eps="$(sed -n 's/.* exec\/s: \([0-9]*\).*/\1/p' <<<"$last")"
  line="fuzz_$t: ${execs:-0} executions (${eps:-?}/s), coverage ${cov:-?} edges, ${ft:-?} features, corpus ${corp:-?}, peak RSS ${rss:-?} MB"
  : >"$build/fuzz_$t.errors"
  if [[ $rc -ne 0 ]]; then
    line="$line -- FAILED (exit $rc)"
    {
      grep -E "ferry fuzz invariant|ERROR: (libFuzzer|AddressSanitizer|LeakSanitizer)|runtime error|SUMMARY" -A2 "$log" | head -20
      find "$artifacts" -type f -printf '    artifact: %p\n' | head -3
    } >"$build/fuzz_$t.errors"
  fi
  echo "$line" >"$build/fuzz_$t.line"
  return "$rc"
}

# Each target is one single-threaded process: $jobs of them run side by side.
failed=0
summary=()
running=()
for t in "${targets[@]}"; do
  echo "===== fuzz_$t for ${seconds}s"
  fuzz_one "$t" &
  running+=($!)
  if ((${#running[@]} >= jobs)); then
    wait "${running[0]}" || true
    running=("${running[@]:1}")
  fi
done
wait
for t in "${targets[@]}"; do
  line="$(cat "$build/fuzz_$t.line" 2>/dev/null || echo "fuzz_$t: no result -- FAILED")"
  [[ $line == *FAILED* ]] && failed=$((failed + 1))
  cat "$build/fuzz_$t.errors" 2>/dev/null
  echo "$line"
  summary+=("$line")
done

echo
echo "===== fuzz summary (${seconds}s per target)"
printf '%s\n' "${summary[@]}"
echo "$(( ${#targets[@]} - failed )) passed, $failed failed"
[[ $failed -eq 0 ]]
