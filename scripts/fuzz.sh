#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) into build-asan with clang, ASan and UBSan (the build
# scripts/sanitize.sh runs the test suite from: run both and the code compiles once), then runs
# each for SECONDS on its corpus (the committed seeds plus what earlier runs found), printing
# executions and coverage. Exits non-zero if any target crashes, leaks, times out or breaks an
# invariant; the input that did it is kept in build-asan/artifacts/TARGET/.
#   scripts/fuzz.sh [SECONDS] [TARGET...]     SECONDS per target (default 30);
#                                             targets: request response chunked config tls (default all)
#   FERRY_FUZZ_JOBS=N                         build parallelism (default 2)
#   FERRY_FUZZ_ARGS="-fork=1 -ignore_crashes=1"  extra libFuzzer flags (e.g. to keep going and
#                                             collect every distinct crash in a long run)
# Reproduce a failure: build-asan/tests/fuzz/fuzz_TARGET build-asan/artifacts/TARGET/crash-...
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root" || exit 1
seconds="${1:-30}"
shift || true
targets=("$@")
[[ ${#targets[@]} -eq 0 ]] && targets=(request response chunked config tls)
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
failed=0
summary=()
for t in "${targets[@]}"; do
  bin="$build/tests/fuzz/fuzz_$t"
  seeds="$root/tests/fuzz/corpus/$t"
  work="$build/corpus/$t"
  artifacts="$build/artifacts/$t"
  mkdir -p "$work" "$artifacts"
  dict="$root/tests/fuzz/http.dict"
  [[ $t == config ]] && dict="$root/tests/fuzz/yaml.dict"
  [[ $t == tls ]] && dict="$root/tests/fuzz/tls.dict"
  max_len=4096
  [[ $t == request ]] && max_len=8192  # past the 4 KiB head limit the target sets
  log="$build/fuzz_$t.log"
  echo "===== fuzz_$t for ${seconds}s"
  # New inputs go to the first directory (work); the committed seeds are only read.
  "$bin" "$work" "$seeds" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2560 \
      -max_len="$max_len" -dict="$dict" -artifact_prefix="$artifacts/" -print_final_stats=1 \
      "${extra_args[@]}" >"$log" 2>&1
  rc=$?
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
  rss="$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -1)"
  last="$(grep -E '^#[0-9]+' "$log" | tail -1)"
  [[ -z $execs ]] && execs="$(sed -n 's/^#\([0-9]*\).*/\1/p' <<<"$last")"  # -fork mode prints no stats
  cov="$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")"
  ft="$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")"
  corp="$(sed -n 's/.* corp: \([0-9]*\/[0-9]*[a-zA-Z]*\).*/\1/p' <<<"$last")"
  eps="$(sed -n 's/.* exec\/s: \([0-9]*\).*/\1/p' <<<"$last")"
  line="fuzz_$t: ${execs:-0} executions (${eps:-?}/s), coverage ${cov:-?} edges, ${ft:-?} features, corpus ${corp:-?}, peak RSS ${rss:-?} MB"
  if [[ $rc -ne 0 ]]; then
    failed=$((failed + 1))
    line="$line -- FAILED (exit $rc)"
    grep -E "ferry fuzz invariant|ERROR: (libFuzzer|AddressSanitizer|LeakSanitizer)|runtime error|SUMMARY" -A2 "$log" | head -20
    find "$artifacts" -type f -printf '    artifact: %p\n' | head -3
  fi
  echo "$line"
  summary+=("$line")
done

echo
echo "===== fuzz summary (${seconds}s per target)"
printf '%s\n' "${summary[@]}"
echo "$(( ${#targets[@]} - failed )) passed, $failed failed"
[[ $failed -eq 0 ]]
