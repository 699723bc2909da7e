// Expected figures for the replay page's tests, computed here and never
// typed by hand:
// - runHarness: the benchmark harness itself (bench/replay.c, the
//   Emscripten builds replay-em-<allocator>.cjs) on a trace file: heap
//   pages grown, peak live bytes, live bytes and blocks at the end.
// - nodeLmalloc: lmalloc.wasm through wasm/lmalloc.mjs in Node, replayed
//   by a loop of its own (not web/replay-engine.mjs): lmalloc's stats and
//   walk after a trace, and the live pointers at chosen steps.
// - traceFile / prefixFile: bundled traces decompressed, and their first N
//   operations as a trace of their own (header rewritten, lines copied).
// - ensureWebBuild: node web/build.mjs, once per process, after making
//   sure harness programs exist (the manifest records where each harness's
//   break starts).
//
// Harness programs: build/bench/ (bench/build.sh, node bench/run.mjs) when
// present, else built once into build/web/harness/ with
// LM_BENCH_OUT=build/web/harness bash bench/build.sh (never touching
// build/bench/). An allocator whose harness cannot be built is reported
// by harnessProgram() as null, with the reason in harnessProblems.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

import { createHeap } from '../../wasm/lmalloc.mjs';
import { artifactDir, root } from './helpers.mjs';

export const ALLOCATORS = ['lmalloc', 'dlmalloc', 'emmalloc'];
const PAGE = 65536;
export const harnessProblems = [];

let benchBuilt = false;

/** The harness program (.cjs) for an allocator, or null. */
export function harnessProgram(name) {
  const find = () => [join(root, 'build', 'bench'), join(root, 'build', 'web', 'harness')]
    .map((d) => join(d, `replay-em-${name}.cjs`))
    .find((f) => existsSync(f) && existsSync(f.replace(/\.cjs$/, '.wasm')));
  let program = find();
  if (!program && !benchBuilt) {
    benchBuilt = true;
    // One build at a time across the test processes (mkdir is atomic).
    const lock = join(root, 'build', 'web', '.harness-lock');
    mkdirSync(join(root, 'build', 'web'), { recursive: true });
    let mine = false;
    for (let k = 0; k < 3000 && !mine; k++) {
      try {
        mkdirSync(lock);
        mine = true;
      } catch {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
      }
    }
    try {
      program = find();
      if (!program) {
        const r = spawnSync('bash', [join(root, 'bench', 'build.sh')], {
          encoding: 'utf8', env: { ...process.env, LM_BENCH_OUT: join(root, 'build', 'web', 'harness') },
        });
        if (r.status !== 0) harnessProblems.push(`bench/build.sh: ${(r.stderr || '').trim().split('\n').slice(-4).join(' | ')}`);
        program = find();
      }
    } finally {
      if (mine) rmSync(lock, { recursive: true, force: true });
    }
  }
  return program ?? null;
}

let webBuilt = null;

/** Builds build/web/ (traces, allocator modules, manifest) once. */
export function ensureWebBuild() {
  if (webBuilt) return webBuilt;
  for (const a of ALLOCATORS) harnessProgram(a);
  const r = spawnSync(process.execPath, [join(root, 'web', 'build.mjs')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`node web/build.mjs failed:\n${r.stderr}`);
  webBuilt = JSON.parse(readFileSync(join(root, 'build', 'web', 'allocators', 'manifest.json'), 'utf8'));
  return webBuilt;
}

/** Runs bench/replay.c (Emscripten build of `name`) on a trace file. */
export function runHarness(name, tracePath) {
  const program = harnessProgram(name);
  if (!program) return null;
  const r = spawnSync(process.execPath, ['--no-warnings', program, tracePath], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`${program} ${tracePath}: exit ${r.status}: ${r.stderr}`);
  const json = JSON.parse(r.stdout.trim().split('\n').pop());
  json.heap_pages = Math.ceil((json.break_end - json.break_start) / PAGE);
  json.program = program;
  return json;
}

function scratch() {
  const d = join(artifactDir(), 'replay');
  mkdirSync(d, { recursive: true });
  return d;
}

/** A bundled trace decompressed (cached in build/test-artifacts/web/replay/). */
export function traceFile(name) {
  const out = join(scratch(), `${name}.trace`);
  if (!existsSync(out)) writeFileSync(out, gunzipSync(readFileSync(join(root, 'bench', 'traces', `${name}.trace.gz`))));
  return out;
}

/** The first n operations of a bundled trace as a trace file: { path, text }. */
export function prefixFile(name, n) {
  const lines = readFileSync(traceFile(name), 'utf8').split('\n');
  const m = /^lmtrace v1 ids (\d+) ops (\d+)$/.exec(lines[0]);
  const out = [`lmtrace v1 ids ${m[1]} ops ${n}`];
  let k = 0;
  for (let i = 1; i < lines.length && k < n; i++) {
    const l = lines[i];
    if (!l) continue;
    if (l[0] !== '#') k++;
    out.push(l);
  }
  const text = `${out.join('\n')}\n`;
  const path = join(scratch(), `${name}-${n}.trace`);
  writeFileSync(path, text);
  return { path, text };
}

/** Operations of lmtrace or CS:APP text as [op, id, a, b] (no validation). */
export function opsOf(text) {
  const ops = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (!/^[acmrf]$/.test(f[0]) || f.length < 2) continue;
    ops.push([f[0], Number(f[1]), Number(f[2] ?? 0), Number(f[3] ?? 0)]);
  }
  return ops;
}

/**
 * Replays operations on a fresh lmalloc.wasm heap (release) in Node.
 * @param ops   from opsOf
 * @param at    steps at which to record the live pointers
 * @returns { stats, blocks, pagesGrown, memoryPages,
 *            live: Map step -> [[id, ptr, born step]] in id order }
 */
export async function nodeLmalloc(ops, at = []) {
  const heap = await createHeap({ debug: false });
  const start = heap.memory.buffer.byteLength;
  const ptr = new Map();
  const born = new Map();
  const live = new Map();
  const want = new Set(at);
  const snap = (step) => live.set(step, [...ptr].map(([id, p]) => [id, p, born.get(id)]).sort((x, y) => x[0] - y[0]));
  if (want.has(0)) snap(0);
  ops.forEach(([op, id, a, b], i) => {
    if (op !== 'r' && op !== 'f') born.set(id, i + 1);
    if (op === 'r' && !ptr.has(id)) born.set(id, i + 1);
    switch (op) {
      case 'a': ptr.set(id, heap.malloc(a)); break;
      case 'c': ptr.set(id, heap.calloc(1, a)); break;
      case 'm': ptr.set(id, heap.alignedAlloc(a, b)); break;
      case 'r':
        if (ptr.has(id)) ptr.set(id, heap.realloc(ptr.get(id), a));
        else ptr.set(id, heap.malloc(a)); // CS:APP: r of a free id
        break;
      default:
        heap.free(ptr.get(id));
        ptr.delete(id);
    }
    if (want.has(i + 1)) snap(i + 1);
  });
  return {
    stats: heap.stats(), blocks: heap.blocks(), live,
    pagesGrown: (heap.memory.buffer.byteLength - start) / PAGE, memoryPages: heap.memory.buffer.byteLength / PAGE,
  };
}
