#!/usr/bin/env bash
# What `npm test` and .ci/run run: set-up, then for each CMake preset
# configure + build + ctest, then the JavaScript tests (node --test) when
# tests/js has any *.test.mjs. Stops at the first failing stage with a
# non-zero status. The last line is always the tally, "N passed, N failed":
# every ctest test of every preset plus every node test.
#
#   bash scripts/test.sh                 # all presets
#   bash scripts/test.sh wasi native     # only these presets (npm test -- wasi)
#   LM_PRESETS="native" npm test         # same, through the environment
set -euo pipefail

cd "$(dirname "$0")/.."

if [ "$#" -gt 0 ]; then
  presets=("$@")
else
  read -r -a presets <<<"${LM_PRESETS:-native native-asan native-align8 wasi emscripten}"
fi

passed=0
failed=0
ctest_passed=0
ctest_failed=0
node_passed=0
node_failed=0
fuzz_result=""
stage=""
ran=()
log=$(mktemp)
started=$SECONDS

finish() {
  local status=$?
  rm -f "$log"
  echo
  echo "==> summary ($((SECONDS - started))s)"
  echo "ctest (${ran[*]:-no preset}): $ctest_passed passed, $ctest_failed failed"
  echo "node --test: $node_passed passed, $node_failed failed"
  [ -z "$fuzz_result" ] || echo "fuzz smoke: $fuzz_result"
  if [ "$status" -ne 0 ]; then
    echo "FAILED at stage: ${stage:-?} (exit status $status)"
  fi
  echo "$passed passed, $failed failed"
  exit "$status"
}
trap finish EXIT

begin() {
  stage=$1
  printf '\n==> %s\n' "$stage"
}

# Adds the counts from a ctest log: "NN% tests passed, F tests failed out of M".
count_ctest() {
  local line f m
  line=$(grep -Eo '[0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1 || true)
  [ -n "$line" ] || return 0
  f=${line%% *}
  m=${line##* }
  ctest_passed=$((ctest_passed + m - f))
  ctest_failed=$((ctest_failed + f))
  passed=$((passed + m - f))
  failed=$((failed + f))
}

# Adds the counts from node's spec reporter: "ℹ pass N" / "ℹ fail N".
count_node() {
  local p f
  p=$(sed -nE 's/^. pass ([0-9]+)$/\1/p' "$log" | tail -n 1)
  f=$(sed -nE 's/^. fail ([0-9]+)$/\1/p' "$log" | tail -n 1)
  node_passed=$((node_passed + ${p:-0}))
  node_failed=$((node_failed + ${f:-0}))
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0}))
}

begin "setup"
bash scripts/setup.sh

# Once tests/c exists, a preset that registers no test is an error.
no_tests=()
if [ -f tests/c/CMakeLists.txt ]; then
  no_tests=(--no-tests=error)
fi

for preset in "${presets[@]}"; do
  ran+=("$preset")
  begin "$preset: configure"
  cmake --preset "$preset"

  begin "$preset: build"
  cmake --build --preset "$preset" -j2

  begin "$preset: test"
  set +e
  ctest --preset "$preset" --output-on-failure -j2 "${no_tests[@]}" 2>&1 |
    tee "$log"
  rc=${PIPESTATUS[0]}
  set -e
  count_ctest
  [ "$rc" -eq 0 ] || exit "$rc"
done

# The native tests again, each under valgrind memcheck (ctest -T memcheck in
# the native preset's build directory: dashboard mode does not take
# --preset; valgrind copes with the host page source's 4 GiB PROT_NONE
# reservation). Counted as preset "native-valgrind".
# LM_VALGRIND=0 skips it.
if [[ " ${presets[*]} " == *" native "* ]] && [ "${LM_VALGRIND:-1}" != 0 ]; then
  ran+=("native-valgrind")
  begin "native: valgrind memcheck"
  set +e
  ctest --test-dir build/native -T memcheck --output-on-failure -j2 \
    "${no_tests[@]}" \
    --overwrite "MemoryCheckCommand=$(command -v valgrind)" \
    --overwrite "MemoryCheckCommandOptions=--error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite" \
    2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  set -e
  count_ctest
  [ "$rc" -eq 0 ] || exit "$rc"
fi

# Short libFuzzer runs (tests/fuzz/run.sh: clang-19, ASan + UBSan, seeds
# from bench/traces; it builds build/fuzz itself): fuzz_heap (valid call
# sequences) and fuzz_misuse (bad pointers and writes, which the release
# library must report or survive; its saved reproducers are replayed
# first). Each counts as one test. LM_FUZZ_SECONDS sets each one's length
# (default 15); 0 skips them.
fuzz_seconds=${LM_FUZZ_SECONDS:-15}
if [[ " ${presets[*]} " == *" native"* ]] && [ "$fuzz_seconds" != 0 ]; then
  for target in fuzz_heap fuzz_misuse; do
    begin "fuzz smoke: LM_FUZZ_TARGET=$target tests/fuzz/run.sh $fuzz_seconds"
    set +e
    LM_FUZZ_TARGET=$target bash tests/fuzz/run.sh "$fuzz_seconds" 2>&1 | tee "$log" |
      grep -E '^(run.sh:|INFO: seed corpus|Done|stat::|==[0-9]+==|SUMMARY|artifact_prefix|Test unit written)'
    rc=${PIPESTATUS[0]}
    set -e
    if [ "$rc" -eq 0 ]; then
      fuzz_ok=$((${fuzz_ok:-0} + 1))
      fuzz_runs="${fuzz_runs:+$fuzz_runs, }$target $(grep -Eo 'Done [0-9]+ runs' "$log" | tail -n 1)"
      fuzz_result="$fuzz_ok passed, 0 failed ($fuzz_runs)"
      passed=$((passed + 1))
    else
      fuzz_result="${fuzz_ok:-0} passed, 1 failed ($target)"
      failed=$((failed + 1))
      tail -n 60 "$log"
      exit "$rc"
    fi
  done
fi

mapfile -t js_tests < <(find tests/js -name '*.test.mjs' -type f 2>/dev/null | sort)
if [ "${#js_tests[@]}" -gt 0 ]; then
  begin "node --test tests/js (${#js_tests[@]} files)"
  set +e
  # A hard time limit: node 20 can deadlock at process exit
  # (nodejs/node#54918); a hung run must fail, not eat CI's time.
  timeout --kill-after=30 "${LM_NODE_TEST_TIMEOUT:-1500}" \
    node --test --test-reporter=spec "${js_tests[@]}" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  set -e
  count_node
  [ "$rc" -eq 0 ] || exit "$rc"
fi

stage="done"
