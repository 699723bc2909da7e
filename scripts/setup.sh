#!/usr/bin/env bash
# Installs what lmalloc's build, tests and playground need, and nothing that
# is already there: Debian packages (only those missing; `apt-get update`
# runs once, and only when something must be installed), then the npm
# dependencies (only when node_modules is missing or older than
# package.json / package-lock.json). Safe to run any number of times; says
# nothing when everything is in place.
#
#   bash scripts/setup.sh            # as root, or as a user with sudo
set -euo pipefail

cd "$(dirname "$0")/.."

# Debian 12 package -> why
packages=(
  clang-19                  # C compiler for native and wasm32-wasi
  lld-19                    # wasm-ld
  llvm-19                   # llvm-ar, llvm-ranlib, llvm-symbolizer
  libclang-rt-19-dev        # ASan/UBSan runtimes (native-asan), libFuzzer (tests/fuzz)
  libclang-rt-19-dev-wasm32 # compiler-rt builtins for wasm32
  wasi-libc                 # the wasm32-wasi sysroot
  emscripten                # emcc (emscripten preset)
  binaryen                  # wasm-opt
  wabt                      # wasm-objdump, wasm2wat
  cmake
  valgrind
  chromium                  # headless browser for end-to-end tests
  libc++-19-dev-wasm32
  libc++abi-19-dev-wasm32
)

say() { printf 'setup: %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    say "need root to run: $*" >&2
    exit 1
  fi
}

installed() {
  # dpkg -s succeeds for removed-but-configured packages too; check status.
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'
}

missing=()
for p in "${packages[@]}"; do
  installed "$p" || missing+=("$p")
done

if [ "${#missing[@]}" -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    --no-install-recommends "${missing[@]}"
fi

for tool in node npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    say "$tool not found: install Node.js 20 or newer" >&2
    exit 1
  fi
done

# npm: only when package.json declares dependencies at all, and only when
# node_modules is missing or older than the manifest or the lock file
# (npm writes node_modules/.package-lock.json on every install).
has_deps=$(node -e '
  const p = JSON.parse(require("fs").readFileSync("package.json", "utf8"));
  const n = Object.keys({ ...p.dependencies, ...p.devDependencies,
                          ...p.optionalDependencies }).length;
  process.stdout.write(n > 0 ? "yes" : "no");')
if [ "$has_deps" = yes ]; then
  stamp=node_modules/.package-lock.json
  if [ ! -f "$stamp" ] || [ package.json -nt "$stamp" ] ||
     { [ -f package-lock.json ] && [ package-lock.json -nt "$stamp" ]; }; then
    if [ -f package-lock.json ]; then
      say "npm ci"
      npm ci --no-audit --no-fund --loglevel=error
    else
      say "npm install"
      npm install --no-audit --no-fund --loglevel=error
    fi
    touch "$stamp"
  fi
fi
