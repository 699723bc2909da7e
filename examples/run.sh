#!/usr/bin/env bash
# What `npm run example -- <name>` runs: installs what is missing
# (scripts/setup.sh), configures and builds the preset the example needs
# if it has not been, builds the example and runs it under node. The
# example's output and exit status are the command's; build output is
# shown only when the build fails.
#
#   npm run example -- linked-list     C, wasm32-wasi, node:wasi
#   npm run example -- dynamic-array   C, wasm32-wasi, node:wasi
#   npm run example -- allocator-parser C, wasm32-wasi, node:wasi
#   npm run example -- containers      C++, wasm32-wasi, node:wasi
#   npm run example -- emscripten      the linked list with emcc -sMALLOC=none
#   npm run example                    lists them
#
# Without npm: bash examples/run.sh <name>. The commands it runs are in
# examples/README.md.
set -euo pipefail

cd "$(dirname "$0")/.."

usage() {
  cat <<'EOF'
usage: npm run example -- <name>
  linked-list     C: a list made with malloc, heap statistics, leak report
  dynamic-array   C: an array grown with realloc: in place or moved
  allocator-parser C: one parser run with a heap and with an arena (lm_allocator_t)
  containers      C++: std::vector, std::string, std::map on lmalloc
  emscripten      the linked list built with emcc -sMALLOC=none
linked-list, dynamic-array, allocator-parser and containers are wasm32-wasi
programs run by
node:wasi (tests/run-wasi.mjs); emscripten runs under plain node.
EOF
}

name=${1:-}
case "$name" in
  linked-list | dynamic-array | containers | allocator-parser) preset=wasi ;;
  emscripten) preset=emscripten ;;
  "" | -h | --help)
    usage
    exit 0
    ;;
  *)
    echo "example: unknown example '$name'" >&2
    usage >&2
    exit 2
    ;;
esac

log=$(mktemp)
trap 'rm -f "$log"' EXIT
quietly() {
  if ! "$@" >"$log" 2>&1; then
    cat "$log" >&2
    echo "example: failed: $*" >&2
    exit 1
  fi
}

bash scripts/setup.sh
if [ "$preset" = emscripten ]; then
  export NODE_PATH=${NODE_PATH:-/usr/share/nodejs} # TOOLCHAIN.md trap 1
fi
if [ ! -f "build/$preset/CMakeCache.txt" ]; then
  echo "example: configuring the $preset preset (once)" >&2
  quietly cmake --preset "$preset"
fi

if [ "$preset" = wasi ]; then
  quietly cmake --build --preset wasi --target "example-$name"
  exec node tests/run-wasi.mjs "build/wasi/examples/$name.wasm"
else
  quietly cmake --build --preset emscripten --target lmalloc
  exec bash examples/emscripten/build.sh --run build/emscripten/liblmalloc.a \
    build/emscripten/examples-emcc
fi
