// Tests of the benchmark's replay harness (bench/replay.c), built for
// wasm32-wasi and run under node:wasi as bench/run.mjs runs it:
//   - with lmalloc: every mode succeeds, and what it reports (ops, peak and
//     final live bytes, blocks left) equals what this file computes from
//     the trace itself;
//   - with tests/bench/faulty_malloc.c, an allocator with one mistake per
//     build: the control build (no mistake) passes, and every mistake makes
//     the replay fail with exit status 2 and a message naming it, so a
//     wrong allocator fails the benchmark instead of winning it.
// The trace is random: its seed is printed, LM_SEED=<seed> replays it.
//
//   node --test tests/js/bench-replay.test.mjs
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { rng, root, seedFromEnv } from './helpers.mjs';

const dir = mkdtempSync(join(tmpdir(), 'lm-replay-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// The WASI compiler, the replay programs' flags and lmalloc's sources, as
// bench/build.sh gets them (bench/toolchain.sh).
function toolchain() {
  const out = execFileSync('bash', ['-c',
    'source bench/toolchain.sh && printf "%s\\n" "${wasi_cc[@]}" -- "${replay_cflags[@]}" -- "${lm_wasm[@]}"'], {
    cwd: root, encoding: 'utf8',
  });
  const words = out.trim().split('\n');
  const cut = words.indexOf('--');
  const cut2 = words.indexOf('--', cut + 1);
  return { cc: [...words.slice(0, cut), ...words.slice(cut + 1, cut2)], lmalloc: words.slice(cut2 + 1) };
}

// Builds replay.c + trace.c with `sources`, under bench/build.sh's flags
// (part of `cc`).
function buildReplay(cc, name, sources, defines = []) {
  const out = join(dir, `replay-${name}.wasm`);
  execFileSync(cc[0], [
    ...cc.slice(1), `-DLM_BENCH_ALLOCATOR="${name}"`, ...defines,
    `${root}bench/replay.c`, `${root}bench/trace.c`, ...sources, '-o', out,
  ], { stdio: ['ignore', 'ignore', 'inherit'] });
  return out;
}

// Runs a replay build: { status, json, stderr }.
function replay(wasm, ...args) {
  const r = spawnSync(process.execPath, ['--no-warnings', join(root, 'bench/wasi-run.mjs'), wasm, ...args], {
    encoding: 'utf8',
  });
  const last = r.stdout.trim().split('\n').pop();
  let json = null;
  try { json = JSON.parse(last); } catch { /* no report: a failed run */ }
  return { status: r.status, json, stderr: r.stderr };
}

// A random trace in lmtrace v1 (../shared/traces/README.md) with every
// operation: small, medium and large blocks, calloc, aligned blocks,
// reallocs up and down; most blocks stay live a while, so a block handed
// out twice is still in use when the mistake happens. Returns the text and
// what the harness must report about it.
function randomTrace(seed, count = 4000) {
  const r = rng(seed);
  const ids = 600;
  const live = new Map(); // id -> size
  const free = Array.from({ length: ids }, (_, i) => ids - 1 - i);
  const lines = [];
  let bytes = 0;
  let peak = 0;
  const size = () => {
    const k = r.next();
    if (k < 0.3) return 1 + r.int(16);
    if (k < 0.7) return 17 + r.int(240);
    if (k < 0.95) return 257 + r.int(8000);
    return 8257 + r.int(120000);
  };
  const add = (id, n) => {
    live.set(id, n);
    bytes += n;
    peak = Math.max(peak, bytes);
  };
  for (let i = 0; i < count; i++) {
    if (free.length && (live.size < 40 || r.next() < 0.55)) {
      const id = free.pop();
      const k = r.next();
      if (k < 0.7) {
        const n = size();
        lines.push(`a ${id} ${n}`);
        add(id, n);
      } else if (k < 0.9) {
        const n = size();
        lines.push(`c ${id} ${n}`);
        add(id, n);
      } else {
        const align = r.pick([32, 64, 4096]);
        const n = align * (1 + r.int(4));
        lines.push(`m ${id} ${align} ${n}`);
        add(id, n);
      }
    } else {
      const id = r.pick([...live.keys()]);
      if (r.next() < 0.25) {
        const n = size();
        lines.push(`r ${id} ${n}`);
        bytes -= live.get(id);
        add(id, n);
      } else {
        lines.push(`f ${id}`);
        bytes -= live.get(id);
        live.delete(id);
        free.push(id);
      }
    }
  }
  const text = `lmtrace v1 ids ${ids} ops ${lines.length}\n# random, seed ${seed}\n${lines.join('\n')}\n`;
  return { text, expect: { ops: lines.length, peak_live_bytes: peak, live_bytes_end: bytes, live_blocks_end: live.size } };
}

const seed = seedFromEnv();
const { text, expect } = randomTrace(seed);
const tracePath = join(dir, 'random.trace');
writeFileSync(tracePath, text);
let cc;
let lmalloc;
before(() => {
  ({ cc, lmalloc } = toolchain());
});

test(`lmalloc: every mode replays the trace and reports what it holds (seed ${seed}, LM_SEED to replay)`, (t) => {
  t.diagnostic(`seed ${seed} (replay with LM_SEED=${seed})`);
  const wasm = buildReplay(cc, 'lmalloc', lmalloc);
  for (const mode of ['throughput', 'verify', 'latency', 'floor']) {
    const r = mode === 'throughput' ? replay(wasm, tracePath) : replay(wasm, `--${mode}`, tracePath);
    assert.equal(r.status, 0, `${mode}: ${r.stderr}`);
    assert.equal(r.json.ok, true);
    assert.equal(r.json.mode, mode);
    assert.equal(r.json.allocator, 'lmalloc');
    for (const k of Object.keys(expect)) assert.equal(r.json[k], expect[k], `${mode}: ${k}`);
    assert.ok(r.json.ns_per_op > 0 && r.json.pages_end >= r.json.pages_start, JSON.stringify(r.json));
    if (mode === 'latency') {
      const { p50_ns: p50, p99_ns: p99, p999_ns: p999, max_ns: max } = r.json;
      assert.ok(p50 <= p99 && p99 <= p999 && p999 <= max, JSON.stringify(r.json));
    }
    if (mode === 'floor') assert.ok(r.json.recorded_ns_per_op > 0);
  }
  // The ballast is allocated through the allocator and reported.
  const b = replay(wasm, '--ballast', '4000', tracePath);
  assert.equal(b.status, 0, b.stderr);
  assert.equal(b.json.ballast, 4000);
  // One mode at a time: a usage error, not a guess.
  const both = replay(wasm, '--verify', '--floor', tracePath);
  assert.equal(both.status, 64);
  assert.match(both.stderr, /usage: replay/);
});

// Each mistake of faulty_malloc.c, the mode that must catch it, and the
// harness's message for it.
const FAULTS = [
  // Two live blocks sharing bytes show at the next check of either: a
  // free (overwritten stamp) or a realloc (contents not kept).
  { fault: 1, what: 'the same block twice', mode: 'throughput', message: /overlapping blocks\?|contents not kept/ },
  { fault: 2, what: 'a block inside a live one', mode: 'verify', message: /overlapping blocks\?|contents not kept/ },
  { fault: 3, what: 'calloc memory not zero', mode: 'throughput', message: /calloc block .* not zero/ },
  { fault: 4, what: 'realloc that does not copy', mode: 'throughput', message: /contents not kept/ },
  { fault: 5, what: 'aligned_alloc not aligned', mode: 'throughput', message: /aligned_alloc\(\d+, \d+\) returned .*not aligned/ },
  { fault: 6, what: 'malloc returning NULL', mode: 'throughput', message: /malloc returned NULL/ },
  { fault: 7, what: 'malloc not aligned for any object', mode: 'throughput', message: /malloc\(\d+\) returned .*not aligned to 16/ },
];

test(`faulty allocator: the control passes, each mistake fails the replay (seed ${seed})`, (t) => {
  t.diagnostic(`seed ${seed} (replay with LM_SEED=${seed})`);
  const source = join(root, 'tests/bench/faulty_malloc.c');
  const control = buildReplay(cc, 'faulty-0', [source], ['-DFAULT=0']);
  for (const mode of ['throughput', 'verify']) {
    const r = replay(control, ...(mode === 'verify' ? ['--verify'] : []), tracePath);
    assert.equal(r.status, 0, `control, ${mode}: ${r.stderr}`);
    assert.equal(r.json.peak_live_bytes, expect.peak_live_bytes);
  }
  for (const f of FAULTS) {
    const wasm = buildReplay(cc, `faulty-${f.fault}`, [source], [`-DFAULT=${f.fault}`]);
    const r = replay(wasm, ...(f.mode === 'verify' ? ['--verify'] : []), tracePath);
    assert.equal(r.status, 2, `${f.what} (${f.mode}) was not caught: ${r.stderr}${JSON.stringify(r.json)}`);
    assert.match(r.stderr, new RegExp(`replay random \\[faulty-${f.fault}\\]: FAILED`));
    assert.match(r.stderr, f.message, f.what);
    assert.equal(r.json, null, 'a failed replay prints no report');
  }
});
