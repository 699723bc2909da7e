// Runs one WASI command module under node:wasi, the way the benchmark
// needs it:
//
//   node --no-warnings bench/wasi-run.mjs module.wasm [args...]
//
// - the host's whole file system is preopened as "/", and every argument
//   that does not start with "-" is made absolute (this wasi-libc resolves
//   relative paths against "/", not against the host's cwd);
// - every WASI import is wrapped in a plain JS function before
//   instantiation (TOOLCHAIN.md trap 3: node:wasi's fast path keeps a stale
//   view of memory after memory.grow and can abort the process);
// - the module is compiled synchronously before it starts, and the exit
//   status of the module becomes the exit status of this process.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { WASI } from 'node:wasi';

const [modulePath, ...rest] = process.argv.slice(2);
if (!modulePath) {
  process.stderr.write('usage: node wasi-run.mjs module.wasm [args...]\n');
  process.exit(64);
}
const args = rest.map((a) => (a.startsWith('-') ? a : resolve(a)));

const wasi = new WASI({
  version: 'preview1',
  args: [modulePath, ...args],
  env: {},
  preopens: { '/': '/' },
  returnOnExit: true,
});
const imports = wasi.getImportObject();
const calls = imports.wasi_snapshot_preview1;
for (const name of Object.keys(calls)) {
  const f = calls[name];
  calls[name] = (...a) => f(...a);
}
const module = new WebAssembly.Module(readFileSync(modulePath));
const instance = new WebAssembly.Instance(module, imports);
process.exitCode = wasi.start(instance);
