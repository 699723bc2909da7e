// Runs a WASI (preview 1) command module under node, the way ctest runs every
// wasm test of the wasi preset (it is CMAKE_CROSSCOMPILING_EMULATOR).
//
//   node tests/run-wasi.mjs [--dir HOST[=GUEST]]... [--env K=V]... \
//        module.wasm [args...]
//
// - --dir preopens HOST at GUEST (default: at HOST's own absolute path, so
//   the program can open the same paths as a native one). The current
//   directory is always preopened, as "." and at its absolute path.
// - The module sees the host environment plus any --env, and its own path
//   as argv[0].
// - Exit status: the module's exit code; 134 after a wasm trap, which is
//   reported on stderr as "wasm trap: <message>" with the stack.
//
// As a library:
//   import { runWasi } from './run-wasi.mjs';
//   const { exitCode, trap } = await runWasi('t.wasm', { args, env, dirs });
//
// Every WASI import is wrapped in a plain JS function (TOOLCHAIN.md trap 3):
// node's fast-call path keeps a stale view of memory after memory.grow and
// can abort the process or drop output; the wrapper takes the slow path.

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

import { isMain } from '../scripts/is-main.mjs';

// Exit status after a trap: what a native program killed by SIGABRT reports.
export const TRAP_EXIT_CODE = 134;

// node:wasi prints an ExperimentalWarning when loaded; keep stderr for the
// program. Other warnings are still printed.
let wasiModulePromise;
function loadWasi() {
  if (!wasiModulePromise) {
    const listeners = process.listeners('warning');
    process.removeAllListeners('warning');
    process.on('warning', (w) => {
      if (w.name === 'ExperimentalWarning' && /WASI/.test(w.message)) return;
      for (const l of listeners) l(w);
    });
    wasiModulePromise = import('node:wasi');
  }
  return wasiModulePromise;
}

// Wraps every function of every import namespace (see trap 3 above).
export function wrapImports(importObject) {
  for (const ns of Object.values(importObject)) {
    for (const name of Object.keys(ns)) {
      const f = ns[name];
      if (typeof f === 'function') ns[name] = (...a) => f(...a);
    }
  }
  return importObject;
}

// Turns dirs ({guest: host} object, or an array of "HOST", "HOST=GUEST" or
// [host, guest]) into node:wasi's preopens ({guest: host}).
export function preopensFrom(dirs = [], { cwd = true } = {}) {
  const preopens = {};
  if (cwd) {
    preopens['.'] = process.cwd();
    preopens[process.cwd()] = process.cwd();
  }
  if (!Array.isArray(dirs)) {
    for (const [guest, host] of Object.entries(dirs)) {
      preopens[guest] = path.resolve(host);
    }
    return preopens;
  }
  for (const d of dirs) {
    let host;
    let guest;
    if (Array.isArray(d)) {
      [host, guest] = d;
    } else {
      const eq = d.indexOf('=');
      host = eq < 0 ? d : d.slice(0, eq);
      guest = eq < 0 ? undefined : d.slice(eq + 1);
    }
    host = path.resolve(host);
    preopens[guest || host] = host;
  }
  return preopens;
}

// Compiles and instantiates a WASI module without starting it.
//   module   path, bytes (Buffer/ArrayBuffer/typed array) or WebAssembly.Module
//   options  { args, env, dirs, cwd, stdin, stdout, stderr, imports }
//            args: argv after argv[0]; env: object (default {}); dirs: see
//            preopensFrom; stdin/stdout/stderr: fds (default 0, 1, 2);
//            imports: extra import namespaces (also wrapped).
// Returns { instance, wasi, memory, exports }.
export async function instantiateWasi(module, options = {}) {
  const {
    args = [],
    env = {},
    dirs = [],
    cwd = true,
    stdin = 0,
    stdout = 1,
    stderr = 2,
    imports = {},
    argv0,
  } = options;
  const { WASI } = await loadWasi();
  let wasmModule = module;
  let name = argv0 ?? 'module.wasm';
  if (typeof module === 'string' || module instanceof URL) {
    const file = module instanceof URL ? fileURLToPath(module) : module;
    name = argv0 ?? file;
    wasmModule = await WebAssembly.compile(await readFile(file));
  } else if (!(module instanceof WebAssembly.Module)) {
    wasmModule = await WebAssembly.compile(module);
  }
  const wasi = new WASI({
    version: 'preview1',
    args: [name, ...args.map(String)],
    env,
    preopens: preopensFrom(dirs, { cwd }),
    returnOnExit: true,
    stdin,
    stdout,
    stderr,
  });
  const importObject = wrapImports({ ...imports, ...wasi.getImportObject() });
  const instance = await WebAssembly.instantiate(wasmModule, importObject);
  return {
    instance,
    wasi,
    exports: instance.exports,
    memory: instance.exports.memory,
  };
}

// Runs a WASI command module (its _start) to completion.
// Options as for instantiateWasi. Returns { exitCode, trap, instance }:
// exitCode is the module's exit status (0 when _start returns), or
// TRAP_EXIT_CODE with trap set to the WebAssembly.RuntimeError.
// Any other error (bad module, missing import) is thrown.
export async function runWasi(module, options = {}) {
  const { instance, wasi } = await instantiateWasi(module, options);
  if (typeof instance.exports._start !== 'function') {
    throw new Error('not a WASI command module: no _start export');
  }
  try {
    const exitCode = wasi.start(instance);
    return { exitCode: exitCode ?? 0, trap: null, instance };
  } catch (err) {
    if (err instanceof WebAssembly.RuntimeError) {
      return { exitCode: TRAP_EXIT_CODE, trap: err, instance };
    }
    throw err;
  }
}

export function formatTrap(err) {
  const stack = String(err.stack || '')
    .split('\n')
    .filter((line) => /^\s+at /.test(line))
    .join('\n');
  return `wasm trap: ${err.message}\n${stack}\n`;
}

const USAGE =
  'usage: node run-wasi.mjs [--dir HOST[=GUEST]]... [--env K=V]... ' +
  'module.wasm [args...]\n';

function parseCommandLine(argv) {
  const dirs = [];
  const env = { ...process.env };
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--dir') dirs.push(value());
    else if (a.startsWith('--dir=')) dirs.push(a.slice(6));
    else if (a === '--env' || a.startsWith('--env=')) {
      const kv = a === '--env' ? value() : a.slice(6);
      const eq = kv.indexOf('=');
      if (eq <= 0) throw new Error(`--env wants K=V, got '${kv}'`);
      env[kv.slice(0, eq)] = kv.slice(eq + 1);
    } else if (a === '--') {
      i++;
      break;
    } else if (a === '-h' || a === '--help') {
      process.stdout.write(USAGE);
      process.exit(0);
    } else if (a.startsWith('--')) throw new Error(`unknown option ${a}`);
    else break;
  }
  if (i >= argv.length) throw new Error('no module given');
  return { module: argv[i], args: argv.slice(i + 1), dirs, env };
}

async function main() {
  let cmd;
  try {
    cmd = parseCommandLine(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`run-wasi: ${err.message}\n${USAGE}`);
    return 2;
  }
  try {
    const { exitCode, trap } = await runWasi(cmd.module, cmd);
    if (trap) process.stderr.write(formatTrap(trap));
    return exitCode;
  } catch (err) {
    process.stderr.write(`run-wasi: ${cmd.module}: ${err.stack || err}\n`);
    return 1;
  }
}

if (isMain(import.meta.url)) {
  process.exitCode = await main();
}
