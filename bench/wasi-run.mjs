// Runs one WASI command module under node:wasi, the way the benchmark
// needs it:
//
//   node --no-warnings bench/wasi-run.mjs module.wasm [args...]
//
// - every argument that names an existing file is passed as /in<i>/<name>,
//   its directory preopened as /in<i>, and the program is called "replay":
//   wasi-libc mallocs the command line at start-up, so its length must not
//   depend on where the repository is checked out (one byte more there
//   moved jq-transform's pages at the end by one); the rest of the host's
//   file system is preopened as "/";
// - every WASI import is wrapped in a plain JS function before
//   instantiation (tests/run-wasi.mjs wrapImports; TOOLCHAIN.md trap 3:
//   node:wasi's fast path keeps a stale view of memory after memory.grow
//   and can abort the process);
// - the module is compiled synchronously before it starts, and the exit
//   status of the module becomes the exit status of this process.
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { WASI } from 'node:wasi';

import { wrapImports } from '../tests/run-wasi.mjs';

const [modulePath, ...rest] = process.argv.slice(2);
if (!modulePath) {
  process.stderr.write('usage: node wasi-run.mjs module.wasm [args...]\n');
  process.exit(64);
}
const preopens = { '/': '/' };
const args = rest.map((a, i) => {
  if (a.startsWith('-') || !existsSync(a)) return a;
  preopens[`/in${i}`] = dirname(resolve(a));
  return `/in${i}/${basename(a)}`;
});

const wasi = new WASI({
  version: 'preview1',
  args: ['replay', ...args],
  env: {},
  preopens,
  returnOnExit: true,
});
const imports = wrapImports(wasi.getImportObject());
const module = new WebAssembly.Module(readFileSync(modulePath));
const instance = new WebAssembly.Instance(module, imports);
process.exitCode = wasi.start(instance);
