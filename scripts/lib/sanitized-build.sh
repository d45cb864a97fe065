# shellcheck shell=bash
# Sourced by scripts/sanitize.sh and scripts/fuzz.sh: one way to configure and build ferry with
# clang and sanitizers, so the two share a build directory instead of compiling everything twice.
#
#   sanitized_build DIR SANITIZERS [TARGET...]
#
# SANITIZERS "address,undefined" also compiles with coverage for libFuzzer (fuzzer-no-link) and
# adds the fuzz targets: the test binaries and the fuzzers then link the very same objects.
# -O1 -g: quick to build, fast enough to run, and frames kept for the reports.
# Build output goes to DIR/build.log; on failure its errors are printed. Uses $jobs (default 2).

sanitized_build() {
  local dir="$1" sanitizers="$2"
  shift 2
  if ! command -v clang++ >/dev/null; then
    echo "clang++ not found: scripts/install-deps.sh installs clang and libclang-rt-14-dev" >&2
    return 1
  fi
  local fuzz=(-DFERRY_FUZZ=OFF)
  local coverage=""
  if [[ $sanitizers == address,undefined ]]; then
    fuzz=(-DFERRY_FUZZ=ON)
    coverage="-fsanitize=fuzzer-no-link"
  fi
  local targets=()
  for t in "$@"; do targets+=(--target "$t"); done
  mkdir -p "$dir"
  if ! CC=clang CXX=clang++ cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Debug \
      -DFERRY_SANITIZE="$sanitizers" -DFERRY_TESTS=ON -DFERRY_BENCH=OFF "${fuzz[@]}" \
      -DCMAKE_C_FLAGS="$coverage" -DCMAKE_CXX_FLAGS="$coverage" \
      -DCMAKE_C_FLAGS_DEBUG="-O1 -gline-tables-only" -DCMAKE_CXX_FLAGS_DEBUG="-O1 -gline-tables-only -fno-sanitize-recover=undefined" \
      >"$dir/configure.log" 2>&1; then
    cat "$dir/configure.log"
    return 1
  fi
  if ! cmake --build "$dir" -j"${jobs:-2}" "${targets[@]}" >"$dir/build.log" 2>&1; then
    grep -E "error|Error" "$dir/build.log" | head -40
    return 1
  fi
}
