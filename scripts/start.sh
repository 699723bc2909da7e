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
# For now the page only needs the wasi preset build (build/wasi).
# PLAYGROUND BUILD STEP: add the playground's own module build here (e.g. a
# reactor .wasm copied into wasm/) once web/ uses one.
cmake --preset wasi >/dev/null
cmake --build --preset wasi -j2
# ----------------------------------------------------------------------------

exec node scripts/serve.mjs
