#!/usr/bin/env bash
# Mutation testing: plants the small, plausible bugs of scripts/mutants.txt one at a time in a
# private copy of the tree, runs the test suite (ctest) against each, and reports how many the
# suite caught. Run it before resolving an issue: a mutant that survives is a bug the tests
# would let through.
#
#   scripts/mutate.sh                 every mutant (about a minute each on 2 cores)
#   scripts/mutate.sh --only a,b      some of them
#   scripts/mutate.sh --list          the mutants, and whether each still applies to the tree
#   scripts/mutate.sh --show          each mutant as a diff
#
# The working tree is never written: the tracked and untracked (not ignored) files are copied
# into a temporary directory, built there (Release, no benchmarks, warnings not errors), and the
# unmutated suite must pass there first. Then, per mutant: its original text must occur exactly
# once in its file (else it is "stale": an error, not a survivor), it is applied, the copy is
# rebuilt incrementally (a mutant that does not compile is "invalid" and not counted), ctest
# runs (the mutant's hint subset first, then the rest of the suite if that passed; a failure
# counts only if the failed tests fail again when re-run, so a flaky test is not a catch), and
# the file is restored. Restoring gives the file a new mtime, so the next incremental build
# recompiles it: the build never keeps a mutated object.
#
# Exit status: 0 when at least 90% of the counted mutants were caught and none was stale;
# 1 otherwise; 2 when the run could not start (bad options, a broken mutant list, a copy that
# does not build, or an unmutated suite that fails). Other people's unfinished work can break
# the unmutated suite: --exclude-failing then leaves the failing tests out, and says which.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: scripts/mutate.sh [--only NAME[,NAME...]] [--list | --show] [--keep] [-j N] [--mutants FILE]
                         [--exclude REGEX] [--exclude-failing]

  --only NAMES    run only these mutants (comma-separated; the option may repeat)
  --list          list the mutants and check each still applies to the working tree; no build
  --show          print each mutant as a diff against the working tree; no build
  --keep          keep the temporary copy (build, logs) and print where it is
  -j N            parallel jobs for the build and for ctest (default 2)
  --mutants FILE  the mutant list (default scripts/mutants.txt)
  --exclude REGEX leave the tests this ctest regex matches out of every run, the baseline
                  included (a test someone's unfinished work breaks); the report says so
  --exclude-failing
                  instead of stopping when the unmutated suite fails, leave the tests that
                  failed out of every run (named in the report), after checking the rest passes
  -h, --help      this help

Prints one line per mutant, the survivors by name, then one summary line:
  mutate: N of M caught (P%), S survived, I invalid, E stale in TIME
Exit 0 when P >= 90 and nothing is stale, 1 otherwise, 2 when the run could not start.
EOF
}

die() {
  echo "mutate: $*" >&2
  exit 2
}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(git -C "$here" rev-parse --show-toplevel 2>/dev/null) || die "not inside a git checkout"
mutants_file=$root/scripts/mutants.txt
jobs=2
keep=0
list_only=0
only=()
exclude_re=""
exclude_failing=0

while (($# > 0)); do
  case $1 in
    --only)
      (($# >= 2)) || die "--only needs a name"
      IFS=, read -r -a names <<<"$2"
      only+=("${names[@]}")
      shift 2
      ;;
    --only=*)
      IFS=, read -r -a names <<<"${1#--only=}"
      only+=("${names[@]}")
      shift
      ;;
    --list) list_only=1; shift ;;
    --show) list_only=2; shift ;;
    --keep) keep=1; shift ;;
    -j)
      (($# >= 2)) || die "-j needs a number"
      jobs=$2
      shift 2
      ;;
    -j*) jobs=${1#-j}; shift ;;
    --jobs=*) jobs=${1#--jobs=}; shift ;;
    --mutants)
      (($# >= 2)) || die "--mutants needs a file"
      mutants_file=$2
      shift 2
      ;;
    --mutants=*) mutants_file=${1#--mutants=}; shift ;;
    --exclude)
      (($# >= 2)) || die "--exclude needs a regex"
      exclude_re=$2
      shift 2
      ;;
    --exclude=*) exclude_re=${1#--exclude=}; shift ;;
    --exclude-failing) exclude_failing=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown option '$1'" ;;
  esac
done
[[ $jobs =~ ^[1-9][0-9]*$ ]] || die "-j wants a positive number, got '$jobs'"
[[ -f $mutants_file ]] || die "no mutant list at $mutants_file"

# ------------------------------------------------------------------ the mutant list
m_name=() m_file=() m_desc=() m_hint=() m_orig=() m_repl=()

# Appends the entry gathered so far (if any) after checking it is whole.
cur_name="" cur_file="" cur_desc="" cur_hint="" cur_orig="" cur_repl="" cur_line=0 cur_keys=""
end_entry() {
  [[ -n $cur_keys ]] || return 0
  local where="$mutants_file:$cur_line"
  local key
  for key in name file desc orig repl; do
    [[ " $cur_keys " == *" $key "* ]] || die "$where: entry without '$key'"
  done
  [[ $cur_name =~ ^[a-z0-9][a-z0-9-]*$ ]] || die "$where: name '$cur_name' is not [a-z0-9-]"
  [[ -n $cur_orig ]] || die "$where: empty 'orig'"
  [[ $cur_orig != "$cur_repl" ]] || die "$where: 'repl' is the same as 'orig'"
  local existing
  for existing in "${m_name[@]}"; do
    [[ $existing != "$cur_name" ]] || die "$where: duplicate name '$cur_name'"
  done
  m_name+=("$cur_name") m_file+=("$cur_file") m_desc+=("$cur_desc")
  m_hint+=("$cur_hint") m_orig+=("$cur_orig") m_repl+=("$cur_repl")
  cur_name="" cur_file="" cur_desc="" cur_hint="" cur_orig="" cur_repl="" cur_keys=""
}

lineno=0
while IFS= read -r line || [[ -n $line ]]; do
  lineno=$((lineno + 1))
  line=${line%$'\r'}
  if [[ -z ${line//[[:space:]]/} ]]; then
    end_entry
    continue
  fi
  [[ $line == \#* ]] && continue
  [[ $line == *:* ]] || die "$mutants_file:$lineno: expected 'key: value'"
  key=${line%%:*}
  value=${line#*:}
  value=${value# }
  [[ -n $cur_keys ]] || cur_line=$lineno
  [[ " $cur_keys " != *" $key "* ]] || die "$mutants_file:$lineno: '$key' given twice in one entry"
  case $key in
    name) cur_name=$value ;;
    file) cur_file=$value ;;
    desc) cur_desc=$value ;;
    hint) cur_hint=$value ;;
    orig) cur_orig=$value ;;
    repl) cur_repl=$value ;;
    orig+ | repl+)
      [[ " $cur_keys " == *" ${key%+} "* ]] || die "$mutants_file:$lineno: '$key' before '${key%+}'"
      if [[ $key == orig+ ]]; then cur_orig+=$'\n'$value; else cur_repl+=$'\n'$value; fi
      continue
      ;;
    *) die "$mutants_file:$lineno: unknown key '$key' (name, file, desc, hint, orig, orig+, repl, repl+)" ;;
  esac
  cur_keys+=" $key"
done <"$mutants_file"
end_entry
((${#m_name[@]} > 0)) || die "$mutants_file lists no mutants"

# Which entries run: all, or those --only names (in the list's order).
selected=()
if ((${#only[@]} > 0)); then
  for want in "${only[@]}"; do
    [[ -n $want ]] || continue
    found=0
    for i in "${!m_name[@]}"; do
      if [[ ${m_name[i]} == "$want" ]]; then found=1; fi
    done
    ((found)) || die "no mutant named '$want' (see --list)"
  done
  for i in "${!m_name[@]}"; do
    for want in "${only[@]}"; do
      if [[ ${m_name[i]} == "$want" ]]; then
        selected+=("$i")
        break
      fi
    done
  done
else
  selected=("${!m_name[@]}")
fi

# How often a mutant's original text occurs in `file` (exact bytes, no regex).
occurrences() {
  local file=$1 orig=$2
  [[ -f $file ]] || { echo 0; return; }
  ORIG=$orig perl -0777 -ne 'my $n = () = /\Q$ENV{ORIG}\E/g; print $n, "\n"' "$file"
}

# Writes `file` with the mutant's original text replaced (the caller checked it occurs once).
apply_mutant() {
  local file=$1 orig=$2 repl=$3
  ORIG=$orig REPL=$repl perl -0777 -pi -e 's/\Q$ENV{ORIG}\E/$ENV{REPL}/' "$file"
}

if ((list_only)); then
  stale=0
  scratch=$(mktemp)
  for i in "${selected[@]}"; do
    n=$(occurrences "$root/${m_file[i]}" "${m_orig[i]}")
    state=ok
    if [[ $n != 1 ]]; then
      state="STALE (found $n times)"
      stale=$((stale + 1))
    fi
    printf '%-40s %-32s %s\n' "${m_name[i]}" "${m_file[i]}" "$state"
    printf '    %s\n' "${m_desc[i]}"
    if ((list_only == 2)) && [[ $n == 1 ]]; then
      cp "$root/${m_file[i]}" "$scratch"
      apply_mutant "$scratch" "${m_orig[i]}" "${m_repl[i]}"
      diff -U1 --label "a/${m_file[i]}" --label "b/${m_file[i]}" "$root/${m_file[i]}" "$scratch" |
        sed 's/^/    /' || true
    fi
  done
  rm -f "$scratch"
  echo "${#selected[@]} mutants, $stale stale"
  if ((stale > 0)); then exit 1; fi
  exit 0
fi

for tool in cmake ctest perl tar timeout; do
  command -v "$tool" >/dev/null || die "$tool is needed"
done

fmt_time() {
  local s=$1
  if ((s >= 3600)); then
    printf '%dh%02dm%02ds' $((s / 3600)) $((s % 3600 / 60)) $((s % 60))
  elif ((s >= 60)); then
    printf '%dm%02ds' $((s / 60)) $((s % 60))
  else
    printf '%ds' "$s"
  fi
}

# ------------------------------------------------------------------ the private copy
work=$(mktemp -d "${TMPDIR:-/tmp}/ferry-mutate.XXXXXX")
src=$work/src
build=$src/build-mutate
logs=$work/logs
mkdir -p "$src" "$logs"
# The file being mutated and its original bytes, while a mutant is applied.
active_file=""
active_backup=$work/original
kept_noted=0

# shellcheck disable=SC2317  # run by the EXIT trap
cleanup() {
  local rc=$?
  if [[ -n $active_file ]]; then
    cat "$active_backup" >"$active_file" 2>/dev/null || true
  fi
  if ((keep)); then
    ((kept_noted)) || echo "mutate: kept $work (copy in src/, build in src/build-mutate, logs in logs/)" >&2
  else
    rm -rf "$work"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

started=$SECONDS
echo "mutate: copying $root (tracked and untracked files) to $src"
# Only files that exist: a tracked file deleted in the working tree is listed but not copied.
git -C "$root" ls-files -co --exclude-standard -z |
  while IFS= read -r -d '' path; do
    if [[ -e $root/$path || -L $root/$path ]]; then printf '%s\0' "$path"; fi
  done |
  tar -C "$root" --null -T - -cf - | tar -C "$src" -xf -

generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
echo "mutate: configuring and building (Release, -j$jobs)"
if ! cmake -S "$src" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DFERRY_BENCH=OFF \
  -DFERRY_WERROR=OFF -DFERRY_TESTS=ON >"$logs/configure.log" 2>&1; then
  tail -n 30 "$logs/configure.log" >&2
  keep=1
  die "cmake could not configure the copy (log: $logs/configure.log)"
fi
if ! cmake --build "$build" -j "$jobs" >"$logs/build.log" 2>&1; then
  tail -n 40 "$logs/build.log" >&2
  keep=1
  die "the unmutated copy does not build (log: $logs/build.log)"
fi

ctest_args=(--test-dir "$build" --stop-on-failure -j "$jobs" --timeout 120 --no-tests=ignore)

# The tests a ctest log names as failed, one a line.
failed_test_lines() {
  sed -n '/The following tests FAILED:/,$p' "$1" | sed -n 's/^[[:space:]]*[0-9]* - \(.*\) (.*)$/\1/p'
}
# The same, on one line ("" if none).
failed_tests() {
  failed_test_lines "$1" | paste -sd';' - | sed 's/;/; /g'
}

# A ctest regex for one test however its parameter is printed: gtest_discover_tests names some
# parameterised tests after object bytes that change from build to build, so only the part
# through "Suite.Test" is kept.
test_regex() {
  local stem
  stem=$(sed -E 's/^([^.]*\.[A-Za-z0-9_]+).*/\1/' <<<"$1")
  printf '^%s([/ ]|$)' "$(sed -E 's/[][\.^$*+?(){}|]/\\&/g' <<<"$stem")"
}

base_exclude=()
if [[ -n $exclude_re ]]; then
  base_exclude=(-E "$exclude_re")
  echo "mutate: leaving out the tests matching '$exclude_re' (--exclude)"
fi
echo "mutate: running the unmutated suite"
base_start=$SECONDS
baseline_args=("${ctest_args[@]}")
if ((exclude_failing)); then
  # Every failure, not only the first.
  baseline_args=(--test-dir "$build" -j "$jobs" --timeout 120 --no-tests=ignore)
fi
if ! ctest "${baseline_args[@]}" "${base_exclude[@]}" >"$logs/baseline.log" 2>&1; then
  failing=$(failed_tests "$logs/baseline.log")
  if ((exclude_failing == 0)) || [[ -z $failing ]]; then
    tail -n 30 "$logs/baseline.log" >&2
    keep=1
    die "the unmutated suite fails (${failing:-see the log}); fix that first (log: $logs/baseline.log)"
  fi
  mapfile -t failing_tests < <(failed_test_lines "$logs/baseline.log")
  for t in "${failing_tests[@]}"; do
    exclude_re+="${exclude_re:+|}$(test_regex "$t")"
  done
  base_exclude=(-E "$exclude_re")
  echo "mutate: the unmutated suite fails ${#failing_tests[@]} test(s); leaving them out (--exclude-failing):"
  printf '  %s\n' "${failing_tests[@]}"
  base_start=$SECONDS
  if ! ctest "${ctest_args[@]}" "${base_exclude[@]}" >"$logs/baseline2.log" 2>&1; then
    tail -n 30 "$logs/baseline2.log" >&2
    keep=1
    die "without them, the unmutated suite still fails ($(failed_tests "$logs/baseline2.log")): flaky? (log: $logs/baseline2.log)"
  fi
fi
base_time=$((SECONDS - base_start))
total_tests=$(ctest --test-dir "$build" -N "${base_exclude[@]}" | sed -n 's/^Total Tests: //p')
echo "mutate: baseline passes: ${total_tests:-?} tests in $(fmt_time "$base_time")"
# A mutant's ctest runs, together, get this long: a hang is caught, not waited out.
test_budget=$((3 * base_time + 300))
build_budget=3600

# A hint that matches nothing only costs the fail-fast step; say so rather than hide it.
for i in "${selected[@]}"; do
  hint=${m_hint[i]}
  [[ -n $hint ]] || continue
  matched=$(ctest --test-dir "$build" -N -R "$hint" 2>/dev/null | sed -n 's/^Total Tests: //p')
  if [[ ${matched:-0} == 0 ]]; then
    echo "mutate: note: ${m_name[i]}'s hint '$hint' matches no test; the whole suite runs for it"
  fi
done

# Runs ctest with extra args into a log. 0 = passed, 1 = a test failed or timed out, 2 = ctest
# itself failed (bad regex...), 3 = the budget ran out (a hang: counted as caught).
run_tests() {
  local log=$1 budget=$2
  shift 2
  local rc=0
  timeout -k 30 "$budget" ctest "${ctest_args[@]}" "$@" >"$log" 2>&1 || rc=$?
  if ((rc == 0)); then return 0; fi
  if ((rc == 124 || rc == 137)); then return 3; fi
  if grep -q 'tests failed out of\|The following tests FAILED' "$log"; then return 1; fi
  return 2
}

# run_tests, but a failure counts only if the failed tests fail again when re-run at once: a
# test that fails once and then passes is flaky, not a catch. Then the whole step runs once
# more, and if it fails the same unrepeatable way again the step counts as passed. Notes each
# unrepeated failure in `flaky`.
run_step() {
  local log=$1
  shift
  local attempt rc
  for attempt in 1 2; do
    rc=0
    run_tests "$log" "$test_budget" "$@" || rc=$?
    ((rc == 1)) || return "$rc"
    # By name, not --rerun-failed: that goes by test number, and ctest has been seen to rerun
    # another test under the failed one's number (names with "#" in them).
    local again="" t
    while IFS= read -r t; do
      again+="${again:+|}$(test_regex "$t")"
    done < <(failed_test_lines "$log")
    if [[ -z $again ]] ||
      ! ctest --test-dir "$build" -R "$again" -j "$jobs" --timeout 120 --no-tests=error >"$log.rerun" 2>&1; then
      return 1
    fi
    flaky+=("$name: $(failed_tests "$log") failed once, passed when re-run (attempt $attempt)")
    echo "$label note: $(failed_tests "$log") failed, then passed when re-run: not counted"
  done
  return 0
}

caught=0 survived=0 invalid=0 stale=0
flaky=()
survivors=() invalids=() stales=()
count=${#selected[@]}
index=0
echo "mutate: $count mutants"
for i in "${selected[@]}"; do
  index=$((index + 1))
  name=${m_name[i]}
  file=$src/${m_file[i]}
  hint=${m_hint[i]}
  t0=$SECONDS
  label=$(printf '[%2d/%d] %-42s' "$index" "$count" "$name")

  n=$(occurrences "$file" "${m_orig[i]}")
  if [[ $n != 1 ]]; then
    stale=$((stale + 1))
    stales+=("$name (${m_file[i]}: original text found $n times)")
    echo "$label STALE: original text found $n times in ${m_file[i]}"
    continue
  fi

  cp "$file" "$active_backup"
  active_file=$file
  apply_mutant "$file" "${m_orig[i]}" "${m_repl[i]}"
  if cmp -s "$file" "$active_backup"; then
    die "$name: applying the mutant left ${m_file[i]} unchanged"
  fi

  verdict=""
  if ! timeout -k 30 "$build_budget" cmake --build "$build" -j "$jobs" >"$logs/$name.build.log" 2>&1; then
    invalid=$((invalid + 1))
    invalids+=("$name")
    verdict="invalid (does not build; $logs/$name.build.log)"
  else
    rc=0
    by=""
    rest=("${base_exclude[@]}")
    if [[ -n $hint ]]; then
      if [[ -n $exclude_re ]]; then rest=(-E "($hint)|($exclude_re)"); else rest=(-E "$hint"); fi
      run_step "$logs/$name.hint.log" -R "$hint" "${base_exclude[@]}" || rc=$?
      if ((rc == 1)); then by="$(failed_tests "$logs/$name.hint.log") (hint)"; fi
      if ((rc == 3)); then by="a hang in the hinted tests"; fi
      if ((rc == 2)); then
        echo "$label note: ctest -R '$hint' failed to run (see $logs/$name.hint.log); running everything"
        rc=0
        rest=("${base_exclude[@]}")
      fi
    fi
    if ((rc == 0)); then
      # The hinted tests passed: the rest of the suite decides.
      run_step "$logs/$name.test.log" "${rest[@]}" || rc=$?
      if ((rc == 1)); then by=$(failed_tests "$logs/$name.test.log"); fi
      if ((rc == 3)); then by="a hang (ctest over $(fmt_time "$test_budget"))"; fi
      if ((rc == 2)); then
        tail -n 20 "$logs/$name.test.log" >&2
        die "$name: ctest failed to run (log: $logs/$name.test.log)"
      fi
    fi
    if ((rc == 0)); then
      survived=$((survived + 1))
      survivors+=("$name")
      verdict="SURVIVED"
    else
      caught=$((caught + 1))
      verdict="caught by ${by:-a failing test}"
    fi
  fi

  # Restore the original bytes. The write gives the file a new mtime, newer than the mutated
  # object, so the next build recompiles it (restoring the old mtime would keep the mutant).
  cat "$active_backup" >"$file"
  touch "$file"
  cmp -s "$file" "$active_backup" || die "$name: could not restore ${m_file[i]}"
  active_file=""
  echo "$label $verdict  $(fmt_time $((SECONDS - t0)))"
done

desc_of() {
  local want=$1 i
  for i in "${!m_name[@]}"; do
    if [[ ${m_name[i]} == "$want" ]]; then
      printf '%s: %s' "${m_file[i]}" "${m_desc[i]}"
      return
    fi
  done
}

if ((${#survivors[@]} > 0)); then
  echo
  echo "Survivors (bugs the suite lets through):"
  for s in "${survivors[@]}"; do echo "  $s  -- $(desc_of "$s")"; done
fi
if ((${#invalids[@]} > 0)); then
  echo
  echo "Invalid (did not build; not counted):"
  for s in "${invalids[@]}"; do echo "  $s"; done
fi
if ((${#stales[@]} > 0)); then
  echo
  echo "Stale (fix scripts/mutants.txt; counted as errors):"
  for s in "${stales[@]}"; do echo "  $s"; done
fi

counted=$((caught + survived))
if ((counted > 0)); then
  percent=$(awk -v c="$caught" -v n="$counted" 'BEGIN { printf "%.1f", 100 * c / n }')
else
  percent="0.0"
fi
if ((keep)); then
  echo
  echo "Kept $work (copy in src/, build in src/build-mutate, logs in logs/)"
  kept_noted=1
fi
if ((${#flaky[@]} > 0)); then
  echo
  echo "Failures that did not repeat (flaky tests; not counted as catches):"
  for s in "${flaky[@]}"; do echo "  $s"; done
fi
if [[ -n $exclude_re ]]; then
  echo
  echo "Left out of every run (--exclude/--exclude-failing): tests matching '$exclude_re'"
fi
echo "mutate: $caught of $counted caught ($percent%), $survived survived, $invalid invalid, $stale stale in $(fmt_time $((SECONDS - started)))"
if ((counted > 0 && 10 * caught >= 9 * counted && stale == 0)); then exit 0; fi
exit 1
