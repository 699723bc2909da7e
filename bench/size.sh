#!/usr/bin/env bash
# Code size of the smallest module that exports malloc, free, calloc,
# realloc and aligned_alloc, for each allocator, and nothing else.
#
#   bench/size.sh            prints a Markdown table, writes
#                            bench/results/size.md and size.json
#
# Environment: WASI_SDK_PREFIX, CLANG, EMCC as in build.sh; LM_BENCH_OUT
# (build directory), LM_BENCH_RESULTS (where size.md/size.json go).
#
# Two numbers per module, each as the Code section and as the whole file
# (custom sections such as names and DWARF stripped):
#   -Oz        lmalloc's sources (and the stub) compiled with -Oz, linked
#              without any wasm-opt pass. The C libraries' allocators are
#              used as shipped: wasi-libc's libc.a and Emscripten's prebuilt
#              libdlmalloc/libemmalloc. emcc always runs wasm-opt at -Oz, so
#              its -Oz number already includes that pass.
#   +wasm-opt  the same module after `wasm-opt -Oz`.
# Rows "... (source -Oz)" compile Emscripten's dlmalloc.c and emmalloc.c
# from /usr/share/emscripten/system/lib at -Oz like lmalloc, for a
# like-for-like comparison with the prebuilt ones. A "baseline" row per
# toolchain is the same link exporting nothing: subtract it to get the
# allocator's own bytes (on Emscripten it holds the runtime's own exports).
set -euo pipefail

source "$(dirname "$0")/toolchain.sh"
out=${LM_BENCH_OUT:-$root/build/bench}/size
results=${LM_BENCH_RESULTS:-$root/bench/results}
mkdir -p "$out" "$results"
emlib=${EMSCRIPTEN_ROOT:-/usr/share/emscripten}/system/lib

exports=(malloc free calloc realloc aligned_alloc)
cflags=(-Oz -std=c11 -DNDEBUG -DLM_PAGES_BASE_ZERO -I"$root/include" -I"$root/src")

# The one translation unit every module links: it defines nothing used.
stub=$out/stub.c
echo 'int lm_size_stub;' >"$stub"

rows=() # "name|code|whole|code_opt|whole_opt"

code_bytes() { # Code section size in bytes (0 when there is none)
  local hex
  hex=$(wasm-objdump -h "$1" | sed -n 's/^ *Code .*(size=\(0x[0-9a-f]*\)).*/\1/p')
  echo $((${hex:-0}))
}

measure() { # measure NAME WASM
  local name=$1 wasm=$2 opt="${2%.wasm}.opt.wasm"
  wasm-opt -Oz --strip-debug --strip-producers "$wasm" -o "$opt" || return 1
  # Whole-file sizes without custom sections, so DWARF and names in
  # prebuilt libraries do not count.
  wasm-opt -O0 --strip-debug --strip-producers "$wasm" -o "$wasm.stripped" || return 1
  rows+=("$name|$(code_bytes "$wasm.stripped")|$(stat -c %s "$wasm.stripped")|$(code_bytes "$opt")|$(stat -c %s "$opt")")
}

wasi_module() { # wasi_module NAME EXPORT? SOURCES...
  local name=$1 export=$2 target="$out/wasi-$1.wasm" objs=() src
  shift 2
  for src in "$stub" "$@"; do
    objs+=("$out/wasi-$name-$(basename "${src%.c}").o")
    "${wasi_cc[@]}" "${cflags[@]}" -c "$src" -o "${objs[-1]}" || return 1
  done
  local flags=(-nostartfiles -Wl,--no-entry -Wl,--strip-all)
  if [[ $export == yes ]]; then
    local e
    for e in "${exports[@]}"; do flags+=("-Wl,--export=$e"); done
  fi
  # No -O flag at link time: clang would run wasm-opt by itself.
  "${wasi_cc[@]}" "${flags[@]}" "${objs[@]}" -o "$target" || return 1
  measure "wasi/$name" "$target"
}

em_module() { # em_module NAME MALLOC EXPORT? SOURCES...
  local name=$1 malloc=$2 export=$3 target
  target="$out/em-$(echo "$1" | tr -c 'a-z0-9\n' '-' | sed 's/--*/-/g; s/-$//').js"
  shift 3
  # emcc's default C dialect (gnu): Emscripten's own sources need it.
  local flags=(-Oz -DNDEBUG -DLM_PAGES_BASE_ZERO -I"$root/include" -I"$root/src" --no-entry -sALLOW_MEMORY_GROWTH=1 -sMALLOC="$malloc")
  if [[ $export == yes ]]; then
    flags+=("-sEXPORTED_FUNCTIONS=$(printf '_%s,' "${exports[@]}" | sed 's/,$//')")
  fi
  "$emcc" "${flags[@]}" "$stub" "$@" -o "$target" || return 1
  measure "emscripten/$name" "${target%.js}.wasm"
}

# leaks.c (the leak report at exit) is left out: nothing the five
# functions reach calls it, and a program linking liblmalloc.a gets it only
# when it asks for the report. Linked as an object here, its fflush call
# would pull stdio's fflush in, which the trap's weak reference
# (output_stderr.c) would then keep.
no_leaks() { local s; for s in "$@"; do [[ $s == */src/leaks.c ]] || echo "$s"; done; }
mapfile -t lm_wasm < <(no_leaks "${lm_wasm[@]}")
mapfile -t lm_em < <(no_leaks "${lm_em[@]}")

wasi_module baseline no
wasi_module dlmalloc yes
if [[ -e $root/src/pages_wasm.c ]]; then
  wasi_module lmalloc yes "${lm_wasm[@]}" ||
    echo "size.sh: wasi/lmalloc does not build" >&2
fi

if command -v "$emcc" >/dev/null; then
  em_module baseline none no
  em_module dlmalloc dlmalloc yes
  em_module emmalloc emmalloc yes
  # Emscripten's allocators from source at -Oz, with its sbrk (which
  # -sMALLOC=none leaves out, TOOLCHAIN.md trap 7).
  em_module "dlmalloc (source -Oz)" none yes -fno-builtin "$emlib/dlmalloc.c" "$emlib/sbrk.c" ||
    echo "size.sh: dlmalloc from source does not build" >&2
  em_module "emmalloc (source -Oz)" none yes -fno-builtin "$emlib/emmalloc.c" "$emlib/sbrk.c" ||
    echo "size.sh: emmalloc from source does not build" >&2
  if [[ -e $root/src/pages_emscripten.c ]]; then
    em_module lmalloc none yes "${lm_em[@]}" ||
      echo "size.sh: emscripten/lmalloc does not build" >&2
    # What the hardening and the slabs cost in bytes (LM_HARDEN=0 in
    # src/block.h and LM_SLABS=0 in src/heap.h exist only for such
    # measurements; run.mjs --variants times the same builds).
    for defs in "LM_HARDEN=0" "LM_SLABS=0" "LM_SLABS=0 LM_HARDEN=0"; do
      read -ra dflags <<<"${defs//LM_/-DLM_}"
      em_module "lmalloc (${defs// /, })" none yes "${dflags[@]}" "${lm_em[@]}" ||
        echo "size.sh: emscripten/lmalloc $defs does not build" >&2
    done
  fi
fi

{
  echo "# Code size: malloc, free, calloc, realloc, aligned_alloc"
  echo
  echo "Bytes of a module exporting those five functions; custom sections stripped."
  echo "-Oz: as built (emcc -Oz includes its own wasm-opt pass); +wasm-opt: after \`wasm-opt -Oz\`."
  echo
  echo "| module | code (-Oz) | whole (-Oz) | code (+wasm-opt) | whole (+wasm-opt) |"
  echo "|---|--:|--:|--:|--:|"
  for r in "${rows[@]}"; do
    IFS='|' read -r name c w co wo <<<"$r"
    echo "| $name | $c | $w | $co | $wo |"
  done
} | tee "$results/size.md"

{
  echo "["
  sep=""
  for r in "${rows[@]}"; do
    IFS='|' read -r name c w co wo <<<"$r"
    printf '%s {"module":"%s","code_oz":%s,"whole_oz":%s,"code_opt":%s,"whole_opt":%s}\n' \
      "$sep" "$name" "$c" "$w" "$co" "$wo"
    sep=","
  done
  echo "]"
} >"$results/size.json"
