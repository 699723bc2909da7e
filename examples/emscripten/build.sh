#!/usr/bin/env bash
# The linked-list example (examples/c/linked-list.c) built with plain emcc
# against the Emscripten build of liblmalloc.a, with -sMALLOC=none so that
# Emscripten links no allocator of its own, then run with node.
#
#   bash examples/emscripten/build.sh [--run] [LIBLMALLOC.A [OUTDIR]]
#
# Defaults: build/emscripten/liblmalloc.a (from `cmake --build --preset
# emscripten`) and build/emscripten/examples-emcc. Prints the emcc command
# it runs (on stderr); with --run, then runs `node OUTDIR/linked-list.js`
# and exits with its status. `npm run example -- emscripten` builds the
# library first, then runs this with --run.
#
# The flags, and why:
#   -sMALLOC=none               no dlmalloc/emmalloc: malloc, free, sbrk, ...
#                               come from liblmalloc.a
#   -sALLOW_MEMORY_GROWTH=1     the heap grows memory (through lmalloc's sbrk)
#   -sENVIRONMENT=node -sWASM_ASYNC_COMPILATION=0
#                               Emscripten 3.1.6's glue otherwise tries to
#                               fetch() the .wasm under node 20 and fails
#   -sEXIT_RUNTIME=1            main's return value becomes node's exit status
# The output is CommonJS: a package.json saying so is written next to it,
# because the repository's own package.json says "type": "module".
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
run=0
if [ "${1:-}" = --run ]; then
  run=1
  shift
fi
lib=${1:-$root/build/emscripten/liblmalloc.a}
out=${2:-$root/build/emscripten/examples-emcc}

if [ ! -f "$lib" ]; then
  echo "build.sh: $lib not found: run cmake --preset emscripten &&" \
       "cmake --build --preset emscripten --target lmalloc" >&2
  exit 1
fi
# Debian's emcc needs acorn from /usr/share/nodejs (TOOLCHAIN.md trap 1).
if [ -z "${NODE_PATH:-}" ] && [ -d /usr/share/nodejs/acorn ]; then
  export NODE_PATH=/usr/share/nodejs
fi

mkdir -p "$out"
printf '{ "type": "commonjs" }\n' >"$out/package.json"

cmd=(emcc -O2 -std=c11 -I"$root/include" "$root/examples/c/linked-list.c"
     "$lib" -sMALLOC=none -sALLOW_MEMORY_GROWTH=1
     -sENVIRONMENT=node -sWASM_ASYNC_COMPILATION=0 -sEXIT_RUNTIME=1
     -o "$out/linked-list.js")
echo "${cmd[*]}" >&2
"${cmd[@]}"
if [ "$run" = 1 ]; then
  exec node "$out/linked-list.js"
fi
