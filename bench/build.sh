#!/usr/bin/env bash
# Builds the benchmark programs: bench/replay.c + bench/trace.c, compiled
# with the same compiler and flags for every allocator; only the allocator
# linked in changes. Outputs go to build/bench/ (or $LM_BENCH_OUT):
#
#   replay-lmalloc.wasm     wasm32-wasi, lmalloc's sources linked before libc
#   replay-dlmalloc.wasm    wasm32-wasi, wasi-libc's own malloc (dlmalloc)
#   replay-lmalloc-unhardened.wasm, replay-lmalloc-noslabs.wasm,
#   replay-lmalloc-minimal.wasm
#                           wasm32-wasi, lmalloc built with -DLM_HARDEN=0
#                           (src/block.h), -DLM_SLABS=0 (src/heap.h), and
#                           both: only to measure what those parts cost
#                           and buy (node bench/run.mjs --variants)
#   replay-em-lmalloc.cjs   Emscripten -sMALLOC=none + lmalloc's sources
#   replay-em-dlmalloc.cjs  Emscripten -sMALLOC=dlmalloc
#   replay-em-emmalloc.cjs  Emscripten -sMALLOC=emmalloc
#   (each CommonJS glue file with its .wasm next to it)
#
# A target is rebuilt when it is missing or older than any of its inputs
# (this script included). WASI modules get the wasm-opt -O2 pass that clang
# (and emcc) would run by themselves. lmalloc targets are skipped, with a note, while
# their sources do not exist yet. After linking, the WASI pair is checked
# through the name section: the dlmalloc build must contain dlmalloc's
# functions and the lmalloc build must not.
#
# lmalloc is compiled here from src/ with toolchain.sh's flags rather than taken
# from build/wasi/liblmalloc.a, so both sides get -O2 and no assertions
# (wasi-libc's and Emscripten's dlmalloc are release builds too); set
# LMALLOC_LIB=path/to/liblmalloc.a to link a library instead.
#
# Environment: WASI_SDK_PREFIX (use wasi-sdk's clang and sysroot instead of
# Debian's clang-19 + wasi-libc), CLANG (default clang-19), EMCC (default
# emcc), LM_BENCH_OUT, LMALLOC_LIB, FORCE=1 (rebuild everything).
set -euo pipefail

source "$(dirname "$0")/toolchain.sh"
out=${LM_BENCH_OUT:-$root/build/bench}
mkdir -p "$out"

emflags=(-sENVIRONMENT=node -sWASM_ASYNC_COMPILATION=0
         -sALLOW_MEMORY_GROWTH=1 -sMAXIMUM_MEMORY=4GB -sNODERAWFS=1
         -sEXIT_RUNTIME=1)

harness=("$root/bench/replay.c" "$root/bench/trace.c")
headers=("$root/bench/trace.h" "$0" "$root/bench/toolchain.sh")
lm_headers=("$root"/include/*.h "$root"/src/*.h)

# missing FILE...: prints the first file that does not exist.
missing() {
  local f
  for f in "$@"; do
    [[ -e $f ]] || { echo "$f"; return 0; }
  done
  return 1
}

# names NAME: the function names in the name section of the linked (not
# yet wasm-opt'ed, which drops names) module of replay-NAME.wasm.
names() {
  wasm-objdump -x -j Function "$out/replay-$1.linked.wasm" |
    sed -n 's/.*<\(.*\)>.*/\1/p'
}

run() {
  echo "  $*" | sed "s|$root/||g" >&2
  "$@"
}

built=()
failed=()

# fail TARGET WHY: forget a target that could not be built (or is wrong);
# the others are still built, and the script exits 1 at the end.
fail() {
  rm -f "$1"
  failed+=("${1#$root/}: $2")
  echo "FAILED ${1#$root/}: $2" >&2
}

build_wasi() { # build_wasi NAME [-DMACRO=VALUE...] EXTRA_SOURCES_OR_LIBS...
  local name=$1 target="$out/replay-$1.wasm" defs=()
  shift
  while [[ ${1:-} == -D* ]]; do
    defs+=("$1")
    shift
  done
  if stale "$target" "${harness[@]}" "${headers[@]}" "$@" "${lm_headers[@]}"; then
    echo "build $target" | sed "s|$root/||" >&2
    # Compiled at -O2, then linked without an -O flag, so clang does not run
    # wasm-opt by itself (that would drop the name section the check below
    # reads; clang 19's --no-wasm-opt skips the link altogether); then the
    # same wasm-opt -O2 pass clang would have run.
    local objdir="$out/obj-$name" src objs=() links=()
    mkdir -p "$objdir"
    for src in "${harness[@]}" "$@"; do
      case $src in
        *.c) objs+=("$objdir/$(basename "${src%.c}").o")
             run "${wasi_cc[@]}" "${replay_cflags[@]}" "${defs[@]}" \
               -DLM_BENCH_ALLOCATOR="\"$name\"" -c "$src" -o "${objs[-1]}" ||
               { fail "$target" "${src#$root/} does not compile"; return 0; } ;;
        *) links+=("$src") ;;
      esac
    done
    rm -f "$target"
    run "${wasi_cc[@]}" "${objs[@]}" "${links[@]}" \
        -o "$out/replay-$name.linked.wasm" &&
      run wasm-opt -O2 "$out/replay-$name.linked.wasm" -o "$target" ||
      { fail "$target" "link failed"; return 0; }
  fi
  built+=("$target")
}

build_em() { # build_em NAME MALLOC EXTRA_SOURCES...
  local name=$1 malloc=$2 target="$out/replay-em-$1.cjs"
  shift 2
  if stale "$target" "${harness[@]}" "${headers[@]}" "$@" "${lm_headers[@]}"; then
    echo "build $target" | sed "s|$root/||" >&2
    rm -f "$target"
    # The glue is CommonJS: named .cjs, since the repository's package.json
    # says "type": "module".
    run "$emcc" "${replay_cflags[@]}" "${emflags[@]}" -sMALLOC="$malloc" \
        -DLM_BENCH_ALLOCATOR="\"$name\"" "${harness[@]}" "$@" \
        -o "${target%.cjs}.js" &&
      mv "${target%.cjs}.js" "$target" ||
      { fail "$target" "emcc failed"; return 0; }
  fi
  built+=("$target")
}

# --- wasm32-wasi ---------------------------------------------------------
build_wasi dlmalloc
if [[ -n ${LMALLOC_LIB:-} ]]; then
  build_wasi lmalloc -Wl,--undefined=malloc "$LMALLOC_LIB"
elif m=$(missing "${lm_wasm[@]}"); then
  echo "skip replay-lmalloc.wasm: ${m#$root/} does not exist yet" >&2
else
  build_wasi lmalloc "${lm_wasm[@]}"
  build_wasi lmalloc-unhardened -DLM_HARDEN=0 "${lm_wasm[@]}"
  build_wasi lmalloc-noslabs -DLM_SLABS=0 "${lm_wasm[@]}"
  build_wasi lmalloc-minimal -DLM_SLABS=0 -DLM_HARDEN=0 "${lm_wasm[@]}"
fi

# The allocator really is the one named (name section of each module).
if [[ -e $out/replay-dlmalloc.wasm ]] && ! names dlmalloc | grep -qx dlmalloc; then
  fail "$out/replay-dlmalloc.wasm" "no dlmalloc function in the name section"
fi
if [[ -e $out/replay-lmalloc.wasm ]]; then
  if names lmalloc | grep -qxE 'dlmalloc|dlfree|dispose_chunk'; then
    fail "$out/replay-lmalloc.wasm" "contains wasi-libc's dlmalloc"
  elif ! names lmalloc | grep -q '^lm_'; then
    fail "$out/replay-lmalloc.wasm" "no lm_* function in the name section"
  fi
fi

# --- Emscripten ----------------------------------------------------------
if command -v "$emcc" >/dev/null; then
  build_em dlmalloc dlmalloc
  build_em emmalloc emmalloc
  if m=$(missing "${lm_em[@]}"); then
    echo "skip replay-em-lmalloc.cjs: ${m#$root/} does not exist yet" >&2
  else
    build_em lmalloc none "${lm_em[@]}"
  fi
else
  echo "skip Emscripten builds: $emcc not found" >&2
fi

for f in "${built[@]}"; do
  [[ -e $f ]] && echo "$f"
done
if ((${#failed[@]})); then
  printf 'build.sh: %d target(s) failed:\n' "${#failed[@]}" >&2
  printf '  %s\n' "${failed[@]}" >&2
  exit 1
fi
