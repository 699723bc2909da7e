#!/usr/bin/env bash
# Fuzzes lmalloc for a set time: builds the libFuzzer targets in build/fuzz
# (clang-19, -fsanitize=fuzzer,address,undefined; the library is
# instrumented too), makes the seed corpus from bench/traces once
# (corpus.mjs), replays the known reproducers (tests/fuzz/crashes), then
# runs the target on build/fuzz/corpus-<target> (kept between runs) plus
# the seeds.
#
#   tests/fuzz/run.sh SECONDS [libFuzzer options...]   default 60 seconds
#   LM_FUZZ_TARGET=fuzz_heap_debug tests/fuzz/run.sh 600 -jobs=2 -workers=2
# Targets: fuzz_heap (the default, and CI's), fuzz_heap_debug, fuzz_misuse,
# fuzz_misuse_debug (tests/fuzz/CMakeLists.txt).
#
# A crash is written to build/fuzz/artifacts/crash-<sha1>; replay it with
#   build/fuzz/tests/fuzz/fuzz_heap build/fuzz/artifacts/crash-<sha1>
# and minimize it with -minimize_crash=1 -runs=100000 (libFuzzer options).
# Exits non-zero when the fuzzer found a failure.
set -euo pipefail
cd "$(dirname "$0")/../.."

secs=${1:-60}
[ "$#" -gt 0 ] && shift
target=${LM_FUZZ_TARGET:-fuzz_heap}
build=build/fuzz

cmake -S . -B "$build" \
  -DCMAKE_C_COMPILER=clang-19 \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g" \
  -DCMAKE_C_FLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" \
  -DLM_BUILD_TESTS=OFF -DLM_BUILD_FUZZERS=ON >/dev/null
cmake --build "$build" -j2 --target "$target" >/dev/null

seeds="$build/seeds"
if [ ! -d "$seeds" ] || [ -z "$(ls -A "$seeds")" ]; then
  node tests/fuzz/corpus.mjs "$seeds"
fi
corpus="$build/corpus-$target"
mkdir -p "$corpus" "$build/artifacts"

# Known reproducers (tests/fuzz/crashes/<target>-*) must not crash, except
# those listed in tests/fuzz/crashes/OPEN (known, unfixed bugs).
shopt -s nullglob
for f in tests/fuzz/crashes/"$target"-*; do
  if grep -qxF "$(basename "$f")" tests/fuzz/crashes/OPEN 2>/dev/null; then
    if "$build/tests/fuzz/$target" "$f" >/dev/null 2>&1; then
      echo "run.sh: $f no longer crashes: remove it from tests/fuzz/crashes/OPEN"
    else
      echo "run.sh: $f still crashes (open bug, tests/fuzz/crashes/README.md)"
    fi
  else
    "$build/tests/fuzz/$target" "$f"
  fi
done

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
exec "$build/tests/fuzz/$target" \
  -max_total_time="$secs" -max_len=2048 -timeout=20 -print_final_stats=1 \
  -artifact_prefix="$build/artifacts/" "$@" "$corpus" "$seeds"
