// Reads the function names of a linked wasm module from its "name" custom
// section, and checks which functions a module contains: the proof that a
// program linked with liblmalloc.a carries no dlmalloc (tests/wasi).
//
//   node tests/wasi/wasm-names.mjs MODULE.wasm [--has NAMES] [--lacks NAMES]
//        [MODULE.wasm [--has NAMES] [--lacks NAMES]]...
//   node tests/wasi/wasm-names.mjs --list MODULE.wasm
//
// NAMES is a comma-separated list of function names. Each --has / --lacks
// name is one check; the last line is "N passed, N failed" and the exit
// status is 1 if any check failed. A module without a name section (or
// with fewer than 10 named functions) fails outright: the absence of a
// name proves nothing when the names were stripped. wasm-ld keeps the
// name section unless told to strip; clang 19 loses it when it runs
// wasm-opt after linking at -O1 and above (see cmake/wasi-toolchain.cmake).
//
// As a library: import { functionNames } from './wasm-names.mjs'.

import { readFileSync } from 'node:fs';
import process from 'node:process';

import { isMain } from '../../scripts/is-main.mjs';
import { readU32, sections } from '../../scripts/wasm-binary.mjs';

function readName(bytes, pos) {
  const [len, start] = readU32(bytes, pos);
  const end = start + len;
  if (end > bytes.length) throw new Error('truncated name');
  return [new TextDecoder().decode(bytes.subarray(start, end)), end];
}

// The function names of a module (Uint8Array/Buffer of a .wasm file), as a
// Set, or null when it has no name section or the section has no function
// names. Imported functions are included (they have names there too).
export function functionNames(bytes) {
  for (const { id, body } of sections(bytes)) {
    if (id === 0) {
      const [name, payload] = readName(body, 0);
      if (name === 'name') return parseNameSection(body, payload);
    }
  }
  return null;
}

// Subsection 1 of the name section: a vector of (function index, name).
function parseNameSection(bytes, pos) {
  while (pos < bytes.length) {
    const sub = bytes[pos++];
    let size;
    [size, pos] = readU32(bytes, pos);
    const subEnd = pos + size;
    if (sub === 1) {
      const names = new Set();
      let count;
      [count, pos] = readU32(bytes, pos);
      for (let i = 0; i < count; i++) {
        let name;
        [, pos] = readU32(bytes, pos); // function index
        [name, pos] = readName(bytes, pos);
        names.add(name);
      }
      return names;
    }
    pos = subEnd;
  }
  return null;
}

// Enough named functions to believe the section was not stripped.
const MIN_NAMES = 10;

function parseArgs(argv) {
  const modules = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const list = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a list of names`);
      return argv[++i].split(',').filter(Boolean);
    };
    if (a === '--has' || a === '--lacks') {
      if (!modules.length) throw new Error(`${a} before any module`);
      modules.at(-1)[a === '--has' ? 'has' : 'lacks'].push(...list());
    } else if (a.startsWith('--')) {
      throw new Error(`unknown option ${a}`);
    } else {
      modules.push({ file: a, has: [], lacks: [] });
    }
  }
  if (!modules.length) throw new Error('no module given');
  return modules;
}

function main(argv) {
  if (argv[0] === '--list') {
    const names = functionNames(readFileSync(argv[1]));
    if (!names) throw new Error(`${argv[1]}: no function names`);
    process.stdout.write([...names].sort().join('\n') + '\n');
    return 0;
  }
  let passed = 0;
  let failed = 0;
  const check = (ok, text) => {
    if (ok) passed++;
    else failed++;
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${text}`);
  };
  for (const m of parseArgs(argv)) {
    const names = functionNames(readFileSync(m.file));
    const count = names ? names.size : 0;
    check(count >= MIN_NAMES,
      `${m.file}: name section with ${count} function names`);
    if (count < MIN_NAMES) continue;
    for (const n of m.has) check(names.has(n), `${m.file}: has ${n}`);
    for (const n of m.lacks) check(!names.has(n), `${m.file}: lacks ${n}`);
  }
  console.log(`${passed} passed, ${failed} failed`);
  return failed ? 1 : 0;
}

if (isMain(import.meta.url)) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`wasm-names: ${err.message}\n`);
    process.exitCode = 2;
  }
}
