# What bench/build.sh, bench/size.sh and bench/callgrind.sh share: the
# repository root, the compilers (the same for every allocator), the
# replay programs' flags, lmalloc's sources and stale(). Sourced, not run;
# sets root, wasi_cc, emcc, replay_cflags, lm_wasm and lm_em
# (tests/js/bench-replay.test.mjs reads them too).
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export NODE_PATH=${NODE_PATH:-/usr/share/nodejs} # TOOLCHAIN.md trap 1

if [[ -n ${WASI_SDK_PREFIX:-} ]]; then
  wasi_cc=("$WASI_SDK_PREFIX/bin/clang" --target=wasm32-wasi
           "--sysroot=$WASI_SDK_PREFIX/share/wasi-sysroot")
else
  wasi_cc=("${CLANG:-clang-19}" --target=wasm32-wasi)
fi
emcc=${EMCC:-emcc}

# stale OUT INPUT...: true when OUT is missing or older than an input, or
# FORCE=1 (build.sh, callgrind.sh).
stale() {
  local target=$1 f
  shift
  [[ ${FORCE:-0} == 1 || ! -e $target ]] && return 0
  for f in "$@"; do
    [[ $f -nt $target ]] && return 0
  done
  return 1
}

# The one set of flags every replay program is compiled with (build.sh).
replay_cflags=(-O2 -std=c11 -DNDEBUG -DLM_PAGES_BASE_ZERO -Wall -Wextra -I"$root/include" -I"$root/src")

# lmalloc = the sources of the release library for each platform, as
# CMakeLists.txt lists them (configuring a preset writes
# build/<preset>/lmalloc-sources.txt), compiled with the benchmark's flags.
lm_sources() { # lm_sources PRESET: absolute paths, one per line
  local list="$root/build/$1/lmalloc-sources.txt"
  [[ -f $list ]] || cmake --preset "$1" >/dev/null || return 1
  sed -e "s|^\([^/]\)|$root/\1|" "$list"
}
mapfile -t lm_wasm < <(lm_sources wasi)
mapfile -t lm_em < <(lm_sources emscripten)
