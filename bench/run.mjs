// Benchmark driver: replays every trace through every allocator build and
// writes the comparison.
//
//   node bench/run.mjs [--reps 7] [--traces a,b] [--quick] [--no-build]
//                      [--no-latency] [--no-floor] [--no-synthetic] [--no-size]
//                      [--seed 1] [--out bench/results] [--variants]
//
// 1. Runs bench/build.sh (which rebuilds only what is stale) and uses every
//    replay program that exists afterwards.
// 2. Decompresses bench/traces/*.trace.gz into build/bench/traces/ and
//    writes the synthetic workloads (bench/gen-synthetic.mjs, seeded) into
//    build/bench/synthetic/, each only when missing or out of date.
// 3. For each trace, first one --verify run per build (replay.c: whole
//    blocks stamped and checked, untimed in effect); a build that fails it
//    gets a FAILED row and is not timed on that trace. Then `reps`
//    rounds; round r runs every build that passed once, as a fresh
//    process, in an order rotated by r / 2 and reversed in odd rounds
//    (A B C D E, E D C B A, B C D E A, A E D C B, ...; tables.mjs:
//    roundOrder) so drift in machine load spreads over positions and
//    every two rounds run each pair once in each order (over an odd
//    number of rounds, one order once more), with the same ballast
//    (replay.c --ballast, tables.mjs ballastOf: its own start-up layout,
//    as pages at the end swing by one with it), then every build once more
//    with --floor (replay.c: the harness alone, replaying the addresses
//    that build's allocator gave, in fresh pages, without calling it).
//    Then one --latency run per build that passed --verify (a separate
//    pass: clock reads per operation slow the replay).
// 4. Reports per trace: median ns/op (and the min-max spread over the
//    rounds), speedup against dlmalloc of the same toolchain
//    (dlmalloc_ns / x_ns, > 1 is faster) and by round (the median over
//    the rounds of that ratio taken within each round, and the rounds
//    won), heap growth in 64 KiB pages
//    (median and min-max over the rounds' layouts) and its ratio to
//    dlmalloc's, memory pages at the end, peak live bytes, and
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
// --variants: also runs lmalloc's sources built without a part, WASI,
// interleaved with the others: wasi/lmalloc-unhardened (-DLM_HARDEN=0,
// src/block.h), wasi/lmalloc-noslabs (-DLM_SLABS=0, src/heap.h) and
// wasi/lmalloc-minimal (both), and adds a "Variants" table: per trace,
// each one's time relative to lmalloc's by round, and their geometric
// means (tables.mjs: variantCost). Writes to bench/results/variants/
// unless --out is given.
// Every run uses node --no-liftoff --no-wasm-lazy-compilation: all code is
// compiled by the optimizing tier before main starts, so no run measures
// the baseline compiler or a compilation in the middle of the timed loop
// (wasm has no on-stack replacement: the replay loop would stay in
// baseline code for the whole run).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';

import { chartSvg } from './chart.mjs';
import { fileURLToPath } from 'node:url';

import { WORKLOADS, generate } from './gen-synthetic.mjs';
import { newer, programTraces } from './program-traces.mjs';
import {
  BALLAST_STEP, PAGE, addRatios, ballastOf, fmt, fmtInt, fmtMiB, floorSection, roundOrder, summarize,
  summarizeBuilds, summaryTable, traceTable, variantCost, VARIANTS,
} from './tables.mjs';

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
  ...VARIANTS.map(({ build }) => {
    const allocator = build.slice('wasi/'.length);
    return { key: build, toolchain: 'wasi', allocator, file: `replay-${allocator}.wasm`, only: 'variants' };
  }),
];

function parseArgs(argv) {
  const o = {
    reps: 7, traces: null, quick: false, build: true, latency: true, floor: true,
    synthetic: true, size: true, seed: 1, out: null, variants: false,
  };
  const usage = () => {
    console.error('usage: node bench/run.mjs [--reps N] [--traces a,b] [--quick] [--no-build]\n' +
      '                       [--no-latency] [--no-floor] [--no-synthetic] [--no-size] [--seed N]\n' +
      '                       [--out DIR] [--variants]');
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
    else if (a === '--variants') o.variants = true;
    else usage();
  }
  if (o.quick) {
    if (!repsGiven) o.reps = 2;
    o.synthetic = false;
    o.size = false;
  }
  o.out ??= join(root, 'bench', 'results', ...(o.variants ? ['variants'] : []));
  if (!Number.isInteger(o.reps) || o.reps < 1) usage();
  if (!Number.isInteger(o.seed) || o.seed < 0) usage();
  return o;
}

// The traces to run: program traces first, then synthetic workloads.
async function prepareTraces(opts) {
  const list = (await programTraces()).map((t) => ({ ...t, kind: 'program' }));
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

// mode: 'throughput', 'latency', 'floor' or 'verify' (replay.c's flags);
// ballast: bytes replay.c allocates and keeps before the replay.
function runOne(build, trace, mode = 'throughput', ballast = 0) {
  const file = join(buildDir, build.file);
  const args = build.file.endsWith('.wasm')
    ? [...nodeFlags, join(here, 'wasi-run.mjs'), file]
    : [...nodeFlags, file];
  if (mode !== 'throughput') args.push(`--${mode}`);
  if (ballast) args.push('--ballast', String(ballast));
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
  // One run, kept in `raw` (with its round, if it has one) and reported
  // when it failed.
  const runLogged = (b, trace, mode, ballast = 0, rep = undefined) => {
    const r = runOne(b, trace, mode, ballast);
    if (rep !== undefined) r.rep = rep;
    raw.push({ build: b.key, ...r });
    if (!r.ok) console.error(`  ${trace.name} ${b.key}${mode === 'throughput' ? '' : ` --${mode}`}: ${r.error}`);
    return r;
  };
  for (const trace of traces) {
    const runs = new Map(builds.map((b) => [b.key, []]));
    const floors = new Map(builds.map((b) => [b.key, []]));
    const verified = new Map(builds.map((b) => [b.key, runLogged(b, trace, 'verify')]));
    // A build that failed --verify is not timed on this trace: its row
    // says FAILED (tables.mjs: summarize).
    const timed = builds.filter((b) => verified.get(b.key).ok);
    for (let rep = 0; rep < opts.reps; rep++) {
      const order = roundOrder(timed, rep);
      const ballast = ballastOf(rep);
      // Every build's throughput run, then (unless --no-floor) its floor run.
      const passes = [['throughput', runs], ...(opts.floor ? [['floor', floors]] : [])];
      for (const [mode, into] of passes) {
        for (const b of order) into.get(b.key).push(runLogged(b, trace, mode, ballast, rep));
      }
    }
    const lat = new Map(opts.latency ? timed.map((b) => [b.key, runLogged(b, trace, 'latency')]) : []);
    const traceRows = builds.map((b) => summarize(trace, b, runs.get(b.key), lat.get(b.key), floors.get(b.key),
      verified.get(b.key)));
    addRatios(traceRows);
    for (const r of traceRows) r.kind = trace.kind;
    rows.push(...traceRows);
    const best = traceRows.filter((r) => r.ns_per_op).map((r) => `${r.build} ${fmt(r.ns_per_op)}`).join(', ');
    console.error(`${trace.name}: ${best} ns/op`);
  }

  // Geometric means per build, separately for program traces, synthetic
  // workloads and all together.
  const kinds = ['program', 'synthetic', 'all'].filter((k) => k === 'all' || traces.some((t) => t.kind === k));
  const byBuild = summarizeBuilds(rows, builds.map((b) => b.key), kinds);

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
  md.push(`${opts.reps} round(s) per trace, builds interleaved in rotated, alternately reversed order, each run a fresh process; ` +
    `took ${seconds.toFixed(0)} s.`, '');
  md.push('- **ns/op**: median over the rounds of the timed replay loop divided by the number of operations ' +
    '(includes the harness\'s stamping and checks, the same for every allocator); min-max is the spread.');
  md.push('- **speedup**: dlmalloc ns/op of the same toolchain divided by this ns/op (> 1 is faster). ' +
    'Summary: geometric mean over the traces; "fastest runs" uses each build\'s minimum instead of its ' +
    'median (noise only ever adds time, so it is a check on the medians). **by round**: the median over the ' +
    'rounds of dlmalloc\'s time over this build\'s in the same round (a slow spell of the machine slows both ' +
    'runs of a round, so it moves this less than the medians), and in how many rounds this build\'s run took ' +
    'less time than dlmalloc\'s (a speedup near 1x won in about half of them is a tie); summary: geometric mean.');
  md.push('- **heap pages**: 64 KiB pages the program break moved during the replay (memory the allocator ' +
    'took): median over the rounds, each round starting from its own layout (`--ballast`: round r first ' +
    `allocates and keeps ${BALLAST_STEP}·r bytes, the same for every build), and min-max over them; ` +
    '**heap vs dlmalloc** < 1 is smaller. **pages at end**: whole memory size (harness included; ' +
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
  const variants = opts.variants ? variantCost(rows, traces) : null;
  if (variants) md.push(variants.md, '');
  if (size) md.push(size.md.replace(/^# /, '## '));
  const text = md.join('\n');
  mkdirSync(opts.out, { recursive: true });
  writeFileSync(join(opts.out, 'latest.md'), text);
  writeFileSync(join(opts.out, 'latest.json'), JSON.stringify({
    meta, summary: Object.fromEntries(byBuild), results: rows, size: size ? size.rows : null,
    variants: variants ? variants.rows : null, floor: floor ? floor.rows : null, runs: raw,
  }, null, 1));
  writeFileSync(join(opts.out, 'latest.svg'), chartSvg(rows));
  process.stdout.write(text);
  console.error(`wrote ${relative(root, join(opts.out, 'latest.md'))}, latest.json and latest.svg in ${seconds.toFixed(0)} s`);
}

await main();
