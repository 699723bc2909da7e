// Builds what the replay page (replay.html) fetches, into build/web/
// (served as /build/web/ by scripts/serve.mjs):
//
//   build/web/traces/<name>.trace.gz   the real-program traces, copied from
//                                      bench/traces/ (the page decompresses
//                                      them itself: DecompressionStream)
//   build/web/traces/index.json        [{ name, file, bytes, ops, ids, title }]
//   build/web/allocators/<name>.wasm   lmalloc, dlmalloc and emmalloc as
//                                      standalone Emscripten modules
//                                      exporting malloc, free, calloc,
//                                      realloc, aligned_alloc and sbrk
//   build/web/allocators/manifest.json what was built, and where each
//                                      allocator's break starts in the
//                                      benchmark harness (see below)
//
//   node web/build.mjs [--force]
//
// Run by `npm start` (scripts/start.sh, the playground build step) and by
// the replay end-to-end tests; each output is rebuilt only when missing or
// older than its inputs, so a second run costs a few stat calls.
//
// The three allocators are built the same way, with the same emcc and
// flags, so the page compares allocators rather than builds:
//   dlmalloc, emmalloc  emcc -sMALLOC=dlmalloc | emmalloc: Emscripten's own
//                       (/usr/share/emscripten/system/lib/{dlmalloc,emmalloc}.c,
//                       prebuilt in its sysroot)
//   lmalloc             emcc -sMALLOC=none + liblmalloc.a, configured by
//                       CMake for Emscripten in build/web/lmalloc-em as a
//                       Release build (-O2 -DNDEBUG, the benchmark's flags),
//                       library target only, so its source list is CMake's.
// -sSTANDALONE_WASM with --no-entry gives a reactor module with no JS glue
// (TOOLCHAIN.md trap 2 does not arise): the page instantiates it itself and
// supplies its one or two imports (allocators.mjs). A 64 KiB stack keeps
// snapshots small (the allocators never recurse).
//
// Agreement with the benchmark: bench/replay.c counts heap pages as
// ceil((break_end - break_start) / 64 KiB), and how far an allocator moves
// the break depends on where in its 64 KiB page the break starts (page
// rounding of its sbrk calls). The harness's break starts after its own
// static data, at an offset that differs per build; the manifest records
// it (breakOffset), read from the harness's replay program run on an empty
// trace, when that program exists (build/bench/, made by bench/build.sh or
// `node bench/run.mjs`). The page starts each allocator's break at the
// same offset, and its figures then equal the harness's to the byte.
// Without a harness build, breakOffset is null and the page starts where
// the module's own break is (it says so).

import { spawnSync } from 'node:child_process';
import {
  copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync,
} from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

import { isMain } from '../scripts/is-main.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');
const out = join(root, 'build', 'web');
const self = fileURLToPath(import.meta.url);
const force = process.argv.includes('--force');

export const ALLOCATORS = [
  { name: 'lmalloc', label: 'lmalloc', malloc: 'none', source: 'liblmalloc.a (src/, CMake Release for Emscripten)' },
  { name: 'dlmalloc', label: 'dlmalloc', malloc: 'dlmalloc', source: 'Emscripten 3.1.6 -sMALLOC=dlmalloc (system/lib/dlmalloc.c)' },
  { name: 'emmalloc', label: 'emmalloc', malloc: 'emmalloc', source: 'Emscripten 3.1.6 -sMALLOC=emmalloc (system/lib/emmalloc.c)' },
];

const EMFLAGS = [
  '-O2', '-DNDEBUG', '--no-entry', '-sSTANDALONE_WASM', '-sALLOW_MEMORY_GROWTH=1', '-sMAXIMUM_MEMORY=4GB',
  '-sTOTAL_STACK=65536', '-sINITIAL_MEMORY=1048576',
  '-sEXPORTED_FUNCTIONS=_malloc,_free,_calloc,_realloc,_aligned_alloc,_sbrk',
];

const mtime = (f) => (existsSync(f) ? statSync(f).mtimeMs : -1);
const stale = (target, inputs) => force || !existsSync(target) || inputs.some((f) => mtime(f) > mtime(target));
const say = (s) => console.error(`web/build: ${s}`);

function run(cmd, args, options = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...options, env: { ...process.env, NODE_PATH: process.env.NODE_PATH || '/usr/share/nodejs', ...options.env } });
  if (r.status !== 0) {
    const text = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').slice(-12).join('\n');
    throw new Error(`${cmd} ${args.join(' ')} failed (${r.error?.message ?? `exit ${r.status}`}):\n${text}`);
  }
  return r.stdout;
}

// --- traces --------------------------------------------------------------------

function buildTraces() {
  const src = join(root, 'bench', 'traces');
  const dst = join(out, 'traces');
  mkdirSync(dst, { recursive: true });
  const files = existsSync(src) ? readdirSync(src).filter((f) => f.endsWith('.trace.gz')).sort() : [];
  const index = join(dst, 'index.json');
  const inputs = files.map((f) => join(src, f));
  if (!stale(index, [...inputs, self])) return;
  const list = [];
  for (const f of files) {
    const from = join(src, f);
    const to = join(dst, f);
    if (stale(to, [from])) copyFileSync(from, to);
    // The header and comment lines are at the very start: read a little.
    const head = gunzipSync(readFileSync(from), { finishFlush: 2 /* Z_SYNC_FLUSH: a prefix is fine */ })
      .subarray(0, 4096).toString('utf8').split('\n');
    const m = /^lmtrace v1 ids (\d+) ops (\d+)/.exec(head[0]);
    const title = (head.find((l) => l.startsWith('# ')) ?? '').slice(2);
    list.push({
      name: basename(f, '.trace.gz'), file: f, bytes: statSync(from).size,
      ids: m ? Number(m[1]) : null, ops: m ? Number(m[2]) : null, title,
    });
  }
  writeFileSync(index, `${JSON.stringify(list, null, 1)}\n`);
  say(`traces: ${list.map((t) => t.name).join(', ')} -> ${relative(root, dst)}`);
}

// --- allocators ------------------------------------------------------------------

function lmallocArchive() {
  const dir = join(out, 'lmalloc-em');
  const cache = join(dir, 'CMakeCache.txt');
  if (!existsSync(cache) || mtime(join(root, 'CMakeLists.txt')) > mtime(cache)) {
    say('configuring lmalloc for Emscripten (Release) in build/web/lmalloc-em');
    run('cmake', [
      '-S', root, '-B', dir,
      '-DCMAKE_TOOLCHAIN_FILE=/usr/share/emscripten/cmake/Modules/Platform/Emscripten.cmake',
      '-DCMAKE_BUILD_TYPE=Release', '-DCMAKE_C_FLAGS_RELEASE=-O2 -DNDEBUG', '-DLM_BUILD_TESTS=OFF',
    ]);
  }
  run('cmake', ['--build', dir, '--target', 'lmalloc', '-j2']);
  return join(dir, 'liblmalloc.a');
}

function buildAllocators() {
  const dir = join(out, 'allocators');
  mkdirSync(dir, { recursive: true });
  const stub = join(dir, 'stub.c');
  if (!existsSync(stub)) writeFileSync(stub, '/* Every allocator module links this empty unit (emcc needs a source). */\nint lm_web_stub;\n');
  const built = [];
  for (const a of ALLOCATORS) {
    const target = join(dir, `${a.name}.wasm`);
    const extra = [];
    const inputs = [self, stub];
    if (a.name === 'lmalloc') {
      const lib = lmallocArchive();
      extra.push(lib);
      inputs.push(lib);
    }
    if (stale(target, inputs)) {
      say(`emcc ${a.name} -> ${relative(root, target)}`);
      const tmp = `${target}.tmp.wasm`;
      run('emcc', [...EMFLAGS, `-sMALLOC=${a.malloc}`, stub, ...extra, '-o', tmp]);
      renameSync(tmp, target);
    }
    built.push({ ...a, file: `${a.name}.wasm`, bytes: statSync(target).size });
  }
  return built;
}

// Where the benchmark harness's break starts within its 64 KiB page, per
// allocator: its replay program run on an empty trace reports break_start
// (the harness takes its own memory in whole pages, so the offset is the
// same for every trace).
function harnessOffsets(previous) {
  const empty = join(out, 'allocators', 'empty.trace');
  writeFileSync(empty, 'lmtrace v1 ids 1 ops 0\n');
  const result = {};
  for (const a of ALLOCATORS) {
    const candidates = [join(root, 'build', 'bench', `replay-em-${a.name}.cjs`), join(out, 'harness', `replay-em-${a.name}.cjs`)];
    const program = candidates.find((f) => existsSync(f) && existsSync(f.replace(/\.cjs$/, '.wasm')));
    if (!program) {
      result[a.name] = { breakOffset: null, harness: null };
      continue;
    }
    const stamp = Math.max(mtime(program), mtime(program.replace(/\.cjs$/, '.wasm')));
    const old = previous?.[a.name];
    if (!force && old?.harness === relative(root, program) && old.harnessMtime === stamp) {
      result[a.name] = old;
      continue;
    }
    try {
      const json = JSON.parse(run(process.execPath, ['--no-warnings', program, empty]).trim().split('\n').pop());
      result[a.name] = { breakOffset: json.break_start % 65536, harness: relative(root, program), harnessMtime: stamp, harnessBreakStart: json.break_start };
    } catch (e) {
      say(`cannot read the harness's break from ${relative(root, program)}: ${e.message.split('\n')[0]}`);
      result[a.name] = { breakOffset: null, harness: null };
    }
  }
  return result;
}

// One build at a time: the test files run in parallel processes and may
// all ask for it. mkdir is atomic; a lock older than 10 minutes is stale.
function withLock(work) {
  const lock = join(out, '.build-lock');
  mkdirSync(out, { recursive: true });
  const t0 = Date.now();
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
      if (Date.now() - mtime(lock) > 600000) rmSync(lock, { recursive: true, force: true });
      else if (Date.now() - t0 > 900000) throw new Error(`${lock} is held for too long`);
      else Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
    }
  }
  try {
    return work();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

export function build() {
  return withLock(buildUnlocked);
}

function buildUnlocked() {
  mkdirSync(out, { recursive: true });
  buildTraces();
  const allocators = buildAllocators();
  const manifestFile = join(out, 'allocators', 'manifest.json');
  let previous = null;
  try {
    previous = Object.fromEntries(JSON.parse(readFileSync(manifestFile, 'utf8')).allocators.map((a) => [a.name, a]));
  } catch { /* first build */ }
  const offsets = harnessOffsets(previous);
  const manifest = {
    built: new Date().toISOString(),
    emflags: EMFLAGS,
    allocators: allocators.map((a) => ({ ...a, ...offsets[a.name] })),
  };
  const text = `${JSON.stringify(manifest, null, 1)}\n`;
  const same = existsSync(manifestFile) && readFileSync(manifestFile, 'utf8').replace(/"built": "[^"]*"/, '') === text.replace(/"built": "[^"]*"/, '');
  if (!same) writeFileSync(manifestFile, text);
  return manifest;
}

if (isMain(import.meta.url)) {
  try {
    const m = build();
    say(`allocators: ${m.allocators.map((a) => `${a.name} (${a.bytes} B, harness break offset ${a.breakOffset ?? 'unknown'})`).join(', ')}`);
  } catch (e) {
    console.error(`web/build: ${e.message}`);
    process.exit(1);
  }
}
