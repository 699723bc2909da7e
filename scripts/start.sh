#!/usr/bin/env bash
# What `npm start` runs: set-up, build what the playground page needs, then
# serve web/ (plus the repo's wasm/ and build/ folders, read-only) on
# http://localhost:${PORT:-8080}/ until interrupted.
#
#   PORT=9000 HOST=0.0.0.0 npm start
set -euo pipefail

cd "$(dirname "$0")/.."

bash scripts/setup.sh

# --- Build what web/ needs -------------------------------------------------
# PLAYGROUND BUILD STEP. The page (web/app.mjs) loads the project's JS API,
# wasm/lmalloc.mjs, with wasm/dist/lmalloc-heaps.wasm (web/session.mjs:
# WASM_FILE), which the wasi preset builds and copies there (target
# lmalloc_wasm_dist, part of ALL). web/ itself is plain ES modules: nothing
# to bundle.
cmake --preset wasi >/dev/null
cmake --build --preset wasi -j2
for f in wasm/lmalloc.mjs wasm/dist/lmalloc-heaps.wasm; do
  if [ ! -f "$f" ]; then
    echo "start: $f is missing after the wasi build; the playground needs it" >&2
    exit 1
  fi
done
# The replay page (web/replay.html): the bundled traces and the comparison's
# allocator modules (lmalloc, dlmalloc, emmalloc built with emcc) in
# build/web/; rebuilt only when stale (web/build.mjs says what and why).
# A failure there leaves the playground itself working, so it only warns.
node web/build.mjs ||
  echo "start: build/web/ is incomplete (see above): the replay page will say what is missing" >&2
# ----------------------------------------------------------------------------

exec node scripts/serve.mjs
