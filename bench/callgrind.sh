#!/usr/bin/env bash
# Counted instructions: builds the replay harness natively, once with
# lmalloc's sources and once with dlmalloc, and runs bench/callgrind.mjs,
# which replays traces under valgrind's callgrind and tables what each
# allocator call costs in instructions, memory reads and writes, and
# simulated cache misses. Counts are the same on every run, however busy
# the machine, so they show small differences that timing on this
# machine cannot; but native code is not wasm code (bench/README.md,
# "Counted instructions", says what they do and do not tell).
#
#   bash bench/callgrind.sh [--traces a,b] [--out DIR]
#
# Builds into build/bench/native/ (or $LM_BENCH_OUT/native), each program
# when missing or older than an input:
#   replay-lmalloc    lmalloc's native release sources (as CMake's native
#                     preset lists them) and src/stdlib.c, the standard names
#   replay-dlmalloc   dlmalloc 2.8.6 as Emscripten ships its source
#                     (system/lib/dlmalloc.c), configured as wasi-libc
#                     configures it (dlmalloc/src/dlmalloc.c there): no
#                     mmap, never trimmed, sanity checks compiled out
#                     (ABORT is __builtin_unreachable()), no time, no
#                     statistics, 16-byte alignment; no locks
# both with the harness flags of toolchain.sh (less -DLM_PAGES_BASE_ZERO,
# which is for linear memory: natively lmalloc loads and subtracts its
# heap's base, which wasm does not) and bench/native.c (sbrk, and for
# dlmalloc the standard names). Environment: CLANG (default clang-19),
# EMSCRIPTEN_ROOT (default /usr/share/emscripten), FORCE=1.
set -euo pipefail

source "$(dirname "$0")/toolchain.sh"
out=${LM_BENCH_OUT:-$root/build/bench}/native
cc=${CLANG:-clang-19}
dlsrc=${EMSCRIPTEN_ROOT:-/usr/share/emscripten}/system/lib/dlmalloc.c

for tool in valgrind callgrind_annotate "$cc"; do
  command -v "$tool" >/dev/null || { echo "callgrind.sh: $tool is missing (npm test installs it)" >&2; exit 1; }
done
[[ -f $dlsrc ]] || { echo "callgrind.sh: $dlsrc is missing (set EMSCRIPTEN_ROOT)" >&2; exit 1; }
mapfile -t lm_native < <(lm_sources native)
(( ${#lm_native[@]} )) || { echo "callgrind.sh: no native source list (cmake --preset native failed?)" >&2; exit 1; }
lm_native+=("$root/src/stdlib.c")

flags=()
for f in "${replay_cflags[@]}"; do
  [[ $f == -DLM_PAGES_BASE_ZERO ]] || flags+=("$f")
done
harness=("$root/bench/replay.c" "$root/bench/trace.c" "$root/bench/native.c")
inputs=("${harness[@]}" "$root/bench/trace.h" "$0" "$root/bench/toolchain.sh" "$root"/include/*.h "$root"/src/*.h)
mkdir -p "$out"

# build NAME SOURCES... -- FLAGS...: replay-NAME, when stale.
build() {
  local target=$out/replay-$1 sources=()
  shift
  while [[ $1 != -- ]]; do sources+=("$1"); shift; done
  shift
  if stale "$target" "${inputs[@]}" "${sources[@]}"; then
    echo "callgrind.sh: building $(basename "$target")" >&2
    "$cc" "${flags[@]}" "$@" "${harness[@]}" "${sources[@]}" -o "$target"
  fi
}

build lmalloc "${lm_native[@]}" -- -DLM_BENCH_ALLOCATOR='"lmalloc"'
build dlmalloc "$dlsrc" -- -DLM_BENCH_ALLOCATOR='"dlmalloc"' -DLM_BENCH_DL_PREFIX -D_DEFAULT_SOURCE \
  -DUSE_DL_PREFIX -DHAVE_MMAP=0 -DMORECORE_CANNOT_TRIM=1 '-DABORT=__builtin_unreachable()' \
  -DLACKS_TIME_H=1 -DNO_MALLINFO=1 -DNO_MALLOC_STATS=1 -DMALLOC_ALIGNMENT=16 -DUSE_LOCKS=0 \
  -w # dlmalloc.c is not ours: no warnings

exec node "$root/bench/callgrind.mjs" --bin "$out" "$@"
