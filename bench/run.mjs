// Benchmark driver: replays every trace through every allocator build and
// writes the comparison.
//
//   node bench/run.mjs [--reps 5] [--traces a,b] [--quick] [--no-build]
//                      [--no-latency] [--no-floor] [--no-synthetic] [--no-size]
//                      [--seed 1] [--out bench/results] [--hardening]
//
// 1. Runs bench/build.sh (which rebuilds only what is stale) and uses every
//    replay program that exists afterwards.
// 2. Decompresses bench/traces/*.trace.gz into build/bench/traces/ and
//    writes the synthetic workloads (bench/gen-synthetic.mjs, seeded) into
//    build/bench/synthetic/, each only when missing or out of date.
// 3. For each trace, `reps` rounds; round r runs every build once, as a
//    fresh process, in an order rotated by r (A B C D E, then B C D E A, ...)
//    so drift in machine load spreads evenly, then every build once more
//    with --floor (replay.c: the harness alone, replaying the addresses
//    that build's allocator gave, in fresh pages, without calling it).
//    Then one --latency run per build (a separate pass: clock reads per
//    operation slow the replay).
// 4. Reports per trace: median ns/op (and the min-max spread over the
//    rounds), speedup against dlmalloc of the same toolchain
//    (dlmalloc_ns / x_ns, > 1 is faster), heap growth in 64 KiB pages and
//    its ratio to dlmalloc's, memory pages at the end, peak live bytes, and
//    the latency pass's p50 / p99.9 / max; the floor (median of the
//    --floor runs) and the allocator's own share (ns/op minus floor). Then
//    the geometric mean of the speedups and of the heap ratios over the
//    traces, and the "Harness floor" table: what a zero-cost allocator
//    with dlmalloc's layout would score, and what 1.5x asks of lmalloc.
//    Written to <out>/latest.md, <out>/latest.json and the chart
//    <out>/latest.svg (bench/chart.mjs), and printed.
// 5. Unless --quick or --no-size: bench/size.sh (code size of a module
//    exporting the five allocation functions) and its table appended.
//
// --quick: 2 rounds, program traces only (no synthetic workloads, no size).
// --hardening: also runs wasi/lmalloc-unhardened (lmalloc with
// -DLM_HARDEN=0, src/block.h) interleaved with the others, and adds a
// "Hardening cost" table: per trace, lmalloc's median ns/op over the
// unhardened build's, and their geometric mean. Writes to
// bench/results/hardening/ unless --out is given.
// Every run uses node --no-liftoff --no-wasm-lazy-compilation: all code is
// compiled by the optimizing tier before main starts, so no run measures
// the baseline compiler or a compilation in the middle of the timed loop
// (wasm has no on-stack replacement: the replay loop would stay in
// baseline code for the whole run).
import { spawnSync } from 'node:child_process';
import {
  createReadStream, createWriteStream, existsSync, mkdirSync, readdirSync,
  readFileSync, renameSync, statSync, writeFileSync,
} from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';

import { chartSvg } from './chart.mjs';
import { fileURLToPath } from 'node:url';
import { createGunzip } from 'node:zlib';

import { WORKLOADS, generate } from './gen-synthetic.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');
const buildDir = join(root, 'build', 'bench');
const nodeFlags = ['--no-warnings', '--no-liftoff', '--no-wasm-lazy-compilation'];
const RUN_TIMEOUT_MS = 300_000;

// Every build the harness knows; those whose file exists are run. The
// first build of each toolchain named dlmalloc is that toolchain's baseline.
const BUILDS = [
  { key: 'wasi/lmalloc', toolchain: 'wasi', allocator: 'lmalloc', file: 'replay-lmalloc.wasm' },
  { key: 'wasi/dlmalloc', toolchain: 'wasi', allocator: 'dlmalloc', file: 'replay-dlmalloc.wasm' },
  { key: 'emscripten/lmalloc', toolchain: 'emscripten', allocator: 'lmalloc', file: 'replay-em-lmalloc.cjs' },
  { key: 'emscripten/dlmalloc', toolchain: 'emscripten', allocator: 'dlmalloc', file: 'replay-em-dlmalloc.cjs' },
  { key: 'emscripten/emmalloc', toolchain: 'emscripten', allocator: 'emmalloc', file: 'replay-em-emmalloc.cjs' },
  { key: 'wasi/lmalloc-unhardened', toolchain: 'wasi', allocator: 'lmalloc-unhardened',
    file: 'replay-lmalloc-unhardened.wasm', only: 'hardening' },
];
const BASELINE = 'dlmalloc';

function parseArgs(argv) {
  const o = {
    reps: 5, traces: null, quick: false, build: true, latency: true, floor: true,
    synthetic: true, size: true, seed: 1, out: null, hardening: false,
  };
  const usage = () => {
    console.error('usage: node bench/run.mjs [--reps N] [--traces a,b] [--quick] [--no-build]\n' +
      '                       [--no-latency] [--no-floor] [--no-synthetic] [--no-size] [--seed N]\n' +
      '                       [--out DIR] [--hardening]');
    process.exit(64);
  };
  let repsGiven = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => (i + 1 < argv.length ? argv[++i] : usage());
    if (a === '--reps') { o.reps = Number(value()); repsGiven = true; }
    else if (a === '--traces') o.traces = value().split(',').filter(Boolean);
    else if (a === '--quick') o.quick = true;
    else if (a === '--no-build') o.build = false;
    else if (a === '--no-latency') o.latency = false;
    else if (a === '--no-floor') o.floor = false;
    else if (a === '--no-synthetic') o.synthetic = false;
    else if (a === '--no-size') o.size = false;
    else if (a === '--seed') o.seed = Number(value());
    else if (a === '--out') o.out = resolve(value());
    else if (a === '--hardening') o.hardening = true;
    else usage();
  }
  if (o.quick) {
    if (!repsGiven) o.reps = 2;
    o.synthetic = false;
    o.size = false;
  }
  o.out ??= join(root, 'bench', 'results', ...(o.hardening ? ['hardening'] : []));
  if (!Number.isInteger(o.reps) || o.reps < 1) usage();
  if (!Number.isInteger(o.seed) || o.seed < 0) usage();
  return o;
}

const newer = (a, b) => !existsSync(b) || statSync(a).mtimeMs > statSync(b).mtimeMs;

// The traces to run: program traces first, then synthetic workloads.
async function prepareTraces(opts) {
  const list = [];
  const srcDir = join(root, 'bench', 'traces');
  const outDir = join(buildDir, 'traces');
  mkdirSync(outDir, { recursive: true });
  const gz = existsSync(srcDir) ? readdirSync(srcDir).filter((f) => f.endsWith('.trace.gz')).sort() : [];
  for (const f of gz) {
    const name = basename(f, '.trace.gz');
    const src = join(srcDir, f);
    const dst = join(outDir, `${name}.trace`);
    if (newer(src, dst)) {
      console.error(`decompress ${relative(root, src)}`);
      await pipeline(createReadStream(src), createGunzip(), createWriteStream(`${dst}.tmp`));
      renameSync(`${dst}.tmp`, dst);
    }
    list.push({ name, path: dst, kind: 'program' });
  }
  if (opts.synthetic) {
    const synDir = join(buildDir, 'synthetic');
    const gen = join(here, 'gen-synthetic.mjs');
    // .seed records the seed the files were written with; they are
    // rewritten when it differs or when the generator changed.
    const stamp = join(synDir, '.seed');
    const fresh = existsSync(stamp) && !newer(gen, stamp) &&
      readFileSync(stamp, 'utf8') === String(opts.seed);
    for (const name of WORKLOADS) {
      const path = join(synDir, `${name}.trace`);
      if (!fresh || !existsSync(path)) {
        console.error(`generate synthetic ${name} (seed ${opts.seed})`);
        generate(name, opts.seed, synDir);
      }
      list.push({ name: `syn-${name}`, path, kind: 'synthetic' });
    }
    if (!fresh) writeFileSync(stamp, String(opts.seed));
  }
  if (opts.traces) {
    const want = new Set(opts.traces);
    const picked = list.filter((t) => want.has(t.name) || want.has(t.name.replace(/^syn-/, '')));
    for (const w of want) {
      if (!picked.some((t) => t.name === w || t.name === `syn-${w}`)) {
        console.error(`unknown trace ${w}; have: ${list.map((t) => t.name).join(', ')}`);
        process.exit(64);
      }
    }
    return picked;
  }
  return list;
}

// mode: 'throughput', 'latency' or 'floor' (replay.c's --latency, --floor).
function runOne(build, trace, mode = 'throughput') {
  const file = join(buildDir, build.file);
  const args = build.file.endsWith('.wasm')
    ? [...nodeFlags, join(here, 'wasi-run.mjs'), file]
    : [...nodeFlags, file];
  if (mode !== 'throughput') args.push(`--${mode}`);
  args.push(trace.path);
  const t0 = Date.now();
  const r = spawnSync(process.execPath, args, {
    encoding: 'utf8', timeout: RUN_TIMEOUT_MS, maxBuffer: 16 << 20,
  });
  const wall = Date.now() - t0;
  const lines = (r.stdout || '').trim().split('\n');
  let json = null;
  try { json = JSON.parse(lines[lines.length - 1]); } catch { /* reported below */ }
  if (r.status === 0 && json && json.ok) return { ...json, wall_ms: wall };
  const why = r.error ? String(r.error.message)
    : r.signal ? `killed by ${r.signal}`
    : `exit ${r.status}`;
  return {
    ok: false, trace: trace.name, build: build.key, mode,
    error: `${why}: ${(r.stderr || '').trim().split('\n').slice(-3).join(' | ')}`, wall_ms: wall,
  };
}

const median = (xs) => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const geomean = (xs) => (xs.length ? Math.exp(xs.reduce((a, x) => a + Math.log(x), 0) / xs.length) : null);
const PAGE = 65536;

// Per (trace, build): the numbers the tables show, from the raw runs.
function summarize(trace, build, runs, lat, floors = []) {
  const ok = runs.filter((r) => r.ok);
  const s = { trace: trace.name, build: build.key, toolchain: build.toolchain, allocator: build.allocator,
    runs: runs.length, ok_runs: ok.length, errors: runs.filter((r) => !r.ok).map((r) => r.error) };
  if (ok.length) {
    const ns = ok.map((r) => r.ns_per_op);
    s.ns_per_op = median(ns);
    s.ns_min = Math.min(...ns);
    s.ns_max = Math.max(...ns);
    s.ops = ok[0].ops;
    // Heap growth during the replay: the program break moved by the
    // allocator (on WASI the break is the memory size; on Emscripten it is
    // sbrk's pointer, which ignores the glue's over-allocation of memory).
    s.heap_pages = median(ok.map((r) => Math.ceil((r.break_end - r.break_start) / PAGE)));
    s.pages_end = median(ok.map((r) => r.pages_end));
    s.pages_start = median(ok.map((r) => r.pages_start));
    s.peak_live_bytes = ok[0].peak_live_bytes;
  }
  const floorOk = floors.filter((r) => r.ok);
  if (floorOk.length) {
    s.floor_ns = median(floorOk.map((r) => r.ns_per_op));
    if (s.ns_per_op != null) s.own_ns = s.ns_per_op - s.floor_ns;
  }
  for (const r of floors) if (!r.ok) s.errors.push(r.error);
  if (lat && lat.ok) {
    for (const k of ['p50_ns', 'p99_ns', 'p999_ns', 'max_ns', 'clock_ns']) s[k] = lat[k];
  } else if (lat) {
    s.errors.push(lat.error);
  }
  return s;
}

function addRatios(rows) {
  for (const r of rows) {
    const base = rows.find((b) => b.toolchain === r.toolchain && b.allocator === BASELINE);
    if (base && base.ns_per_op && r.ns_per_op) r.speedup = base.ns_per_op / r.ns_per_op;
    if (base && base.ns_min && r.ns_min) r.speedup_min = base.ns_min / r.ns_min;
    if (base && base.heap_pages && r.heap_pages != null) r.heap_ratio = r.heap_pages / base.heap_pages;
  }
}

const fmt = (x, d = 1) => (x == null || Number.isNaN(x) ? '-' : x.toFixed(d));
const fmtInt = (x) => (x == null ? '-' : Math.round(x).toLocaleString('en-US'));
const fmtMiB = (b) => (b == null ? '-' : `${(b / 1048576).toFixed(2)} MiB`);
const fmtNs = (x) => (x == null ? '-' : x >= 100000 ? `${(x / 1000).toFixed(0)} µs` : `${Math.round(x)}`);

function traceTable(rows) {
  const head = '| allocator | ns/op (median) | min-max | speedup vs dlmalloc | floor ns/op | own ns/op | heap pages | heap vs dlmalloc | pages at end | p50 ns | p99.9 ns | max |';
  const sep = '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|';
  const lines = [head, sep];
  for (const r of rows) {
    if (!r.ok_runs) {
      lines.push(`| ${r.build} | FAILED | | | | | | | | | | |`);
      continue;
    }
    lines.push(`| ${r.build} | ${fmt(r.ns_per_op)} | ${fmt(r.ns_min)}-${fmt(r.ns_max)} | ` +
      `${r.speedup ? `${fmt(r.speedup, 2)}x` : '-'} | ${fmt(r.floor_ns)} | ${fmt(r.own_ns)} | ${fmtInt(r.heap_pages)} | ` +
      `${r.heap_ratio ? fmt(r.heap_ratio, 3) : '-'} | ${fmtInt(r.pages_end)} | ` +
      `${fmtNs(r.p50_ns)} | ${fmtNs(r.p999_ns)} | ${fmtNs(r.max_ns)} |`);
  }
  return lines.join('\n');
}

function summaryTable(byBuild, kinds) {
  const lines = ['| allocator | ' + kinds.map((k) => `speedup (${k})`).join(' | ') +
    ' | speedup of fastest runs (all) | ' +
    kinds.map((k) => `heap vs dlmalloc (${k})`).join(' | ') + ' | traces failed |',
  '|---|' + kinds.map(() => '--:|').join('') + '--:|' + kinds.map(() => '--:|').join('') + '--:|'];
  for (const [key, v] of byBuild) {
    lines.push(`| ${key} | ` + kinds.map((k) => (v[k].speedup ? `${fmt(v[k].speedup, 3)}x` : '-')).join(' | ') +
      ` | ${v.all.speedup_min ? `${fmt(v.all.speedup_min, 3)}x` : '-'} | ` +
      kinds.map((k) => (v[k].heap ? fmt(v[k].heap, 3) : '-')).join(' | ') + ` | ${v.failed} |`);
  }
  return lines.join('\n');
}

// The harness floor against the 1.5x target, per toolchain and program
// trace: dlmalloc's ns/op over the floor of dlmalloc's own layout is the
// speedup a zero-cost allocator laying blocks out as dlmalloc does would
// show (the ceiling); own ns/op (ns/op minus the build's floor) compares
// the allocators' own work; and 1.5x needs lmalloc's ns/op at dlmalloc's
// over 1.5, that is an own share of at most that minus lmalloc's floor.
function floorSection(rows, traces) {
  const out = [];
  for (const tc of [...new Set(rows.map((r) => r.toolchain))]) {
    for (const t of traces.filter((x) => x.kind === 'program')) {
      const dl = rows.find((r) => r.trace === t.name && r.toolchain === tc && r.allocator === BASELINE);
      const lm = rows.find((r) => r.trace === t.name && r.toolchain === tc && r.allocator === 'lmalloc');
      if (!dl?.floor_ns || !lm?.floor_ns || !dl.ns_per_op || !lm.ns_per_op) continue;
      out.push({ trace: t.name, toolchain: tc, dl_ns: dl.ns_per_op, dl_floor: dl.floor_ns,
        ceiling: dl.ns_per_op / dl.floor_ns, dl_own: dl.own_ns, lm_own: lm.own_ns,
        own_speedup: dl.own_ns / lm.own_ns, lm_own_for_target: dl.ns_per_op / 1.5 - lm.floor_ns });
    }
  }
  if (!out.length) return null;
  const md = ['## Harness floor (program traces)', '',
    'Every build also runs `--floor`: the same replay with the addresses its allocator gave, moved into ' +
    'fresh pages, and no allocator call (bench/replay.c). That is the cost of the harness\'s stamping, ' +
    'checking and first touch of memory with that layout. **ceiling**: dlmalloc\'s ns/op over the floor ' +
    'of its own layout, the speedup a zero-cost allocator with that layout would show. **own**: ns/op ' +
    'minus the build\'s floor. **own for 1.5x**: lmalloc\'s own share that would make it 1.5x dlmalloc.', '',
    '| toolchain | trace | dlmalloc ns/op | dlmalloc floor | ceiling | dlmalloc own | lmalloc own | own speedup | lmalloc own for 1.5x |',
    '|---|---|--:|--:|--:|--:|--:|--:|--:|'];
  for (const r of out) {
    md.push(`| ${r.toolchain} | ${r.trace} | ${fmt(r.dl_ns)} | ${fmt(r.dl_floor)} | ${fmt(r.ceiling, 2)}x | ` +
      `${fmt(r.dl_own)} | ${fmt(r.lm_own)} | ${fmt(r.own_speedup, 2)}x | ${fmt(r.lm_own_for_target)} |`);
  }
  for (const tc of [...new Set(out.map((r) => r.toolchain))]) {
    const mine = out.filter((r) => r.toolchain === tc);
    md.push(`| **${tc}** | **geomean** | | | **${fmt(geomean(mine.map((r) => r.ceiling)), 2)}x** | | | ` +
      `**${fmt(geomean(mine.map((r) => r.own_speedup)), 2)}x** | |`);
  }
  return { md: md.join('\n'), rows: out };
}

// What the release library's hardening costs: lmalloc's median ns/op over
// that of the same sources built with -DLM_HARDEN=0, per trace, and the
// geometric mean over the program traces (the issue's budget: 5%).
function hardeningCost(rows, traces) {
  const out = [];
  for (const t of traces) {
    const hard = rows.find((r) => r.trace === t.name && r.build === 'wasi/lmalloc');
    const soft = rows.find((r) => r.trace === t.name && r.build === 'wasi/lmalloc-unhardened');
    if (!hard?.ns_per_op || !soft?.ns_per_op) continue;
    out.push({ trace: t.name, kind: t.kind, hardened: hard.ns_per_op, unhardened: soft.ns_per_op,
      cost: hard.ns_per_op / soft.ns_per_op - 1 });
  }
  const program = out.filter((r) => r.kind === 'program');
  const mean = program.length ? geomean(program.map((r) => 1 + r.cost)) - 1 : null;
  const pct = (x) => `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)}%`;
  const md = ['## Hardening cost (wasi)', '',
    'lmalloc as shipped against the same sources built with `-DLM_HARDEN=0` (links and footers ' +
    'unmasked, no checks of free-block metadata), interleaved in the same rounds.', '',
    '| trace | hardened ns/op | unhardened ns/op | cost |', '|---|--:|--:|--:|',
    ...out.map((r) => `| ${r.trace} | ${fmt(r.hardened)} | ${fmt(r.unhardened)} | ${pct(r.cost)} |`)];
  if (mean !== null) md.push(`| **geomean (program traces)** | | | **${pct(mean)}** |`);
  return { md: md.join('\n'), rows: out, geomean: mean };
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const started = Date.now();
  if (opts.build) {
    const b = spawnSync('bash', [join(here, 'build.sh')], { stdio: ['ignore', 'ignore', 'inherit'] });
    if (b.status !== 0) console.error('warning: build.sh reported failures; running the builds that exist');
  }
  const builds = BUILDS.filter((b) => existsSync(join(buildDir, b.file)) && (!b.only || opts[b.only]));
  if (!builds.length) {
    console.error('no replay program was built');
    process.exit(1);
  }
  const traces = await prepareTraces(opts);
  console.error(`builds: ${builds.map((b) => b.key).join(', ')}`);
  console.error(`traces: ${traces.map((t) => t.name).join(', ')}; ${opts.reps} round(s)` +
    (opts.floor ? ', each with a floor run' : '') + (opts.latency ? ' + 1 latency pass' : ''));

  const raw = [];
  const rows = [];
  for (const trace of traces) {
    const runs = new Map(builds.map((b) => [b.key, []]));
    const floors = new Map(builds.map((b) => [b.key, []]));
    for (let rep = 0; rep < opts.reps; rep++) {
      const order = builds.map((_, i) => builds[(i + rep) % builds.length]);
      for (const b of order) {
        const r = runOne(b, trace);
        r.rep = rep;
        raw.push({ build: b.key, ...r });
        runs.get(b.key).push(r);
        if (!r.ok) console.error(`  ${trace.name} ${b.key}: ${r.error}`);
      }
      if (!opts.floor) continue;
      for (const b of order) {
        const r = runOne(b, trace, 'floor');
        r.rep = rep;
        raw.push({ build: b.key, ...r });
        floors.get(b.key).push(r);
        if (!r.ok) console.error(`  ${trace.name} ${b.key} --floor: ${r.error}`);
      }
    }
    const lat = new Map();
    if (opts.latency) {
      for (const b of builds) {
        const r = runOne(b, trace, 'latency');
        raw.push({ build: b.key, ...r });
        lat.set(b.key, r);
        if (!r.ok) console.error(`  ${trace.name} ${b.key} --latency: ${r.error}`);
      }
    }
    const traceRows = builds.map((b) => summarize(trace, b, runs.get(b.key), lat.get(b.key), floors.get(b.key)));
    addRatios(traceRows);
    for (const r of traceRows) r.kind = trace.kind;
    rows.push(...traceRows);
    const best = traceRows.filter((r) => r.ns_per_op).map((r) => `${r.build} ${fmt(r.ns_per_op)}`).join(', ');
    console.error(`${trace.name}: ${best} ns/op`);
  }

  // Geometric means per build, separately for program traces, synthetic
  // workloads and all together.
  const kinds = ['program', 'synthetic', 'all'].filter((k) => k === 'all' || traces.some((t) => t.kind === k));
  const byBuild = new Map();
  for (const b of builds) {
    const mine = rows.filter((r) => r.build === b.key);
    const v = { failed: mine.filter((r) => r.errors.length).length };
    for (const k of kinds) {
      const sel = mine.filter((r) => k === 'all' || r.kind === k);
      v[k] = {
        speedup: geomean(sel.filter((r) => r.speedup).map((r) => r.speedup)),
        speedup_min: geomean(sel.filter((r) => r.speedup_min).map((r) => r.speedup_min)),
        heap: geomean(sel.filter((r) => r.heap_ratio).map((r) => r.heap_ratio)),
      };
    }
    byBuild.set(b.key, v);
  }

  // Code size (bench/size.sh writes size.md and size.json next to ours).
  let size = null;
  if (opts.size) {
    const z = spawnSync('bash', [join(here, 'size.sh')], {
      encoding: 'utf8', env: { ...process.env, LM_BENCH_RESULTS: opts.out },
    });
    if (z.status === 0) {
      size = { md: readFileSync(join(opts.out, 'size.md'), 'utf8'),
        rows: JSON.parse(readFileSync(join(opts.out, 'size.json'), 'utf8')) };
    } else {
      console.error(`warning: size.sh failed: ${(z.stderr || '').trim().split('\n').slice(-3).join(' | ')}`);
    }
  }

  const seconds = (Date.now() - started) / 1000;
  const meta = {
    date: new Date().toISOString(), node: process.version, node_flags: nodeFlags,
    cpus: cpus().length, cpu_model: cpus()[0]?.model, loadavg_end: loadavg(),
    reps: opts.reps, latency: opts.latency, floor: opts.floor, synthetic_seed: opts.synthetic ? opts.seed : null,
    builds: builds.map((b) => b.key), traces: traces.map((t) => t.name), seconds,
  };

  const md = [];
  md.push('# lmalloc benchmark results', '');
  md.push(`${meta.date}, node ${meta.node} (${nodeFlags.join(' ')}), ${meta.cpus} CPU(s) ${meta.cpu_model || ''}, ` +
    `load average at the end ${meta.loadavg_end.map((x) => x.toFixed(2)).join(' ')}.`);
  md.push(`${opts.reps} round(s) per trace, builds interleaved in rotated order, each run a fresh process; ` +
    `took ${seconds.toFixed(0)} s.`, '');
  md.push('- **ns/op**: median over the rounds of the timed replay loop divided by the number of operations ' +
    '(includes the harness\'s stamping and checks, the same for every allocator); min-max is the spread.');
  md.push('- **speedup**: dlmalloc ns/op of the same toolchain divided by this ns/op (> 1 is faster). ' +
    'Summary: geometric mean over the traces; "fastest runs" uses each build\'s minimum instead of its ' +
    'median (noise only ever adds time, so it is a check on the medians).');
  md.push('- **heap pages**: 64 KiB pages the program break moved during the replay (memory the allocator ' +
    'took); **heap vs dlmalloc** < 1 is smaller. **pages at end**: whole memory size (harness included; ' +
    'Emscripten over-grows memory by up to 20%).');
  md.push('- **floor ns/op**: median of the --floor runs (one per round): the harness replaying the addresses ' +
    'this build\'s allocator gave, in fresh pages, without calling it. **own ns/op**: ns/op minus floor, the ' +
    'allocator\'s own share. See "Harness floor" below.');
  md.push('- **p50 / p99.9 / max**: per-operation times from a separate --latency run; each includes one clock ' +
    'read (median clock cost is given per trace).', '');
  md.push('## Summary (geometric means over traces)', '', summaryTable(byBuild, kinds), '');
  for (const trace of traces) {
    const traceRows = rows.filter((r) => r.trace === trace.name);
    const first = traceRows.find((r) => r.ops);
    const clocks = [...new Set(traceRows.filter((r) => r.clock_ns != null).map((r) => r.toolchain))]
      .map((tc) => `${traceRows.find((r) => r.toolchain === tc && r.clock_ns != null).clock_ns} ns (${tc})`);
    md.push(`## ${trace.name}`, '');
    if (first) {
      md.push(`${fmtInt(first.ops)} ops, peak live ${fmtMiB(first.peak_live_bytes)} ` +
        `(${fmtInt(Math.ceil(first.peak_live_bytes / PAGE))} pages)` +
        (clocks.length ? `; one clock read ≈ ${clocks.join(', ')}` : '') + '.', '');
    }
    md.push(traceTable(traceRows), '');
    for (const r of traceRows) for (const e of r.errors) md.push(`- **${r.build} failed**: ${e}`);
    if (traceRows.some((r) => r.errors.length)) md.push('');
  }
  const floor = opts.floor ? floorSection(rows, traces) : null;
  if (floor) md.push(floor.md, '');
  const hardening = opts.hardening ? hardeningCost(rows, traces) : null;
  if (hardening) md.push(hardening.md, '');
  if (size) md.push(size.md.replace(/^# /, '## '));
  const text = md.join('\n');
  mkdirSync(opts.out, { recursive: true });
  writeFileSync(join(opts.out, 'latest.md'), text);
  writeFileSync(join(opts.out, 'latest.json'), JSON.stringify({
    meta, summary: Object.fromEntries(byBuild), results: rows, size: size ? size.rows : null,
    hardening: hardening ? hardening.rows : null, floor: floor ? floor.rows : null, runs: raw,
  }, null, 1));
  writeFileSync(join(opts.out, 'latest.svg'), chartSvg(rows));
  process.stdout.write(text);
  console.error(`wrote ${relative(root, join(opts.out, 'latest.md'))}, latest.json and latest.svg in ${seconds.toFixed(0)} s`);
}

await main();
