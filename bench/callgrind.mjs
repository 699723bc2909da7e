// Counted instructions (run through bench/callgrind.sh, which builds the
// native replay programs first): replays each trace once per allocator
// under valgrind's callgrind with its cache simulation, and tables what the
// allocation functions cost per call, their callees included:
// instructions, memory reads and writes, and first-level data cache misses
// (a simulated 32 KiB, 8-way cache). The harness's own stamping and checking
// stay out of these figures (they are counted in main, not in malloc).
//
//   node bench/callgrind.mjs --bin build/bench/native [--traces a,b] [--out bench/results]
//
// Writes <out>/callgrind.md and prints it. The parsing and the table are
// pure functions (tests/js/bench-callgrind.test.mjs).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { isMain } from '../scripts/is-main.mjs';
import { programTraces } from './program-traces.mjs';
import { fmt } from './tables.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));

// The allocation functions, by the trace's operation letters.
export const CALLS = [
  { op: 'a', fn: 'malloc' },
  { op: 'c', fn: 'calloc' },
  { op: 'm', fn: 'aligned_alloc' },
  { op: 'r', fn: 'realloc' },
  { op: 'f', fn: 'free' },
];
export const ALLOCATORS = ['lmalloc', 'dlmalloc'];
const EVENTS = ['Ir', 'Dr', 'Dw', 'I1mr', 'D1mr', 'D1mw', 'ILmr', 'DLmr', 'DLmw'];

// How many operations of each letter a trace has (lmtrace v1 lines).
export function opCounts(text) {
  const n = Object.fromEntries(CALLS.map((c) => [c.op, 0]));
  for (const line of text.split('\n')) {
    const op = line[0];
    if (op in n && line[1] === ' ') n[op]++;
  }
  return n;
}

// The inclusive costs of the named functions, from the output of
// `callgrind_annotate --inclusive=yes --show-percs=no`: a line is the
// event counts (with commas; '.' for zero) and then "file:function", maybe
// followed by "[object]". Only functions of an object whose path contains
// `object` count (the replay program's own, not the C library's); of a
// name listed twice there, the first, the larger.
export function parseInclusive(text, names, object = '') {
  const header = text.split('\n').find((l) => l.startsWith('Events shown:'));
  const events = header ? header.replace('Events shown:', '').trim().split(/\s+/) : EVENTS;
  const out = {};
  for (const line of text.split('\n')) {
    const m = line.match(/^\s*([\d,.]+(?:\s+[\d,.]+)*)\s+(\S+?):(\S+)(?:\s+\[(.*)\])?\s*$/);
    if (!m) continue;
    const fn = m[3];
    if (!names.includes(fn) || fn in out || !(m[4] ?? '').includes(object)) continue;
    const counts = m[1].trim().split(/\s+/).map((x) => (x === '.' ? 0 : Number(x.replace(/,/g, ''))));
    if (counts.length !== events.length) continue;
    out[fn] = Object.fromEntries(events.map((e, i) => [e, counts[i]]));
  }
  return out;
}

const per = (x, n) => (n ? x / n : null);

// Per trace and allocator: per call of each function, and per operation
// over all of them. rows: [{trace, allocator, counts: opCounts, costs:
// parseInclusive}].
export function callgrindTable(rows) {
  const has = (r, c) => r.counts[c.op] && r.costs[c.fn];
  const total = (r, key) => CALLS.reduce((a, c) => a + (has(r, c) ? key(r.costs[c.fn], c) : 0), 0);
  const instrPerOp = (r) => per(total(r, (cost) => cost.Ir), total(r, (_, c) => r.counts[c.op]));
  const md = [];
  md.push('| trace | allocator | instr/op | ' + CALLS.map((c) => `${c.fn} instr`).join(' | ') +
    ' | reads+writes/op | D1 misses/op | vs dlmalloc (instr) |');
  md.push('|---|---|' + '--:|'.repeat(CALLS.length + 4));
  for (const r of rows) {
    const cells = CALLS.map((c) => (has(r, c) ? fmt(per(r.costs[c.fn].Ir, r.counts[c.op]), 1) : '-'));
    const ops = total(r, (_, c) => r.counts[c.op]);
    const mem = total(r, (cost) => cost.Dr + cost.Dw);
    const miss = total(r, (cost) => cost.D1mr + cost.D1mw);
    const dl = rows.find((x) => x.trace === r.trace && x.allocator === 'dlmalloc');
    const mine = per(total(r, (cost) => cost.Ir), ops);
    const dlOp = dl && dl !== r ? instrPerOp(dl) : null;
    const vs = dlOp && mine ? `${fmt(mine / dlOp, 2)}x` : '-';
    md.push(`| ${r.trace} | ${r.allocator} | ${fmt(mine, 1)} | ${cells.join(' | ')} | ` +
      `${fmt(per(mem, ops), 1)} | ${fmt(per(miss, ops), 2)} | ${vs} |`);
  }
  return md.join('\n');
}

function run(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.error) throw r.error;
  return r;
}

async function main(argv) {
  const opts = { bin: null, out: join(root, 'bench/results'), traces: null };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--bin') opts.bin = argv[++i];
    else if (argv[i] === '--out') opts.out = argv[++i];
    else if (argv[i] === '--traces') opts.traces = argv[++i].split(',');
    else throw new Error(`callgrind.mjs: unknown argument ${argv[i]}`);
  }
  if (!opts.bin) throw new Error('callgrind.mjs: --bin DIR (bash bench/callgrind.sh builds it)');
  // By name, a trace of bench/traces (decompressed as run.mjs does it);
  // otherwise a path.
  const known = await programTraces();
  const files = (opts.traces ?? known.map((t) => t.name)).map((t) => {
    const file = known.find((k) => k.name === t)?.path ?? t;
    if (!existsSync(file)) throw new Error(`callgrind.mjs: no trace ${t} (neither in bench/traces nor a file)`);
    return file;
  });
  const rows = [];
  const work = join(opts.bin, 'callgrind');
  mkdirSync(work, { recursive: true });
  for (const file of files) {
    const name = basename(file, '.trace');
    const counts = opCounts(readFileSync(file, 'utf8'));
    for (const allocator of ALLOCATORS) {
      const cg = join(work, `${name}.${allocator}.out`);
      const r = run('valgrind', ['--tool=callgrind', '--cache-sim=yes', `--callgrind-out-file=${cg}`,
        join(opts.bin, `replay-${allocator}`), file]);
      const report = r.stdout.trim().split('\n').pop();
      if (r.status !== 0 || !report.includes('"ok":true')) {
        throw new Error(`callgrind.mjs: ${allocator} on ${name} failed (${r.status}): ${(r.stderr || report).trim().split('\n').slice(-3).join(' | ')}`);
      }
      const ann = run('callgrind_annotate', ['--inclusive=yes', '--show-percs=no', '--auto=no', '--threshold=100', cg]);
      const costs = parseInclusive(ann.stdout, CALLS.map((c) => c.fn), `/replay-${allocator}`);
      for (const c of CALLS) {
        if (counts[c.op] && !costs[c.fn]) throw new Error(`callgrind.mjs: no cost of ${c.fn} in ${cg}`);
      }
      rows.push({ trace: name, allocator, counts, costs });
      console.error(`${name} ${allocator}: ${fmt(per(costs.free.Ir, counts.f), 1)} instructions per free`);
    }
  }
  const vg = run('valgrind', ['--version']).stdout.trim();
  const md = ['# Counted instructions (callgrind)', '',
    `${new Date().toISOString()}, ${vg}, ${cpus()[0]?.model ?? ''}: \`bash bench/callgrind.sh\`. ` +
    'Native x86-64 builds of bench/replay.c (bench/callgrind.sh), one replay each under ' +
    '`valgrind --tool=callgrind --cache-sim=yes`. Per call of each function and per operation over all ' +
    'of them, callees included: instructions, memory reads and writes, simulated first-level data ' +
    'cache misses (32 KiB, 8-way, 64-byte lines); **vs dlmalloc**: instructions per operation over ' +
    'dlmalloc\'s on the same trace (above 1: more). The same on every run. Native code is not wasm code, ' +
    'and dlmalloc\'s chunk headers hold 8-byte sizes here (4 on wasm32), lmalloc\'s 4 bytes either way.', '',
    callgrindTable(rows), ''];
  mkdirSync(opts.out, { recursive: true });
  writeFileSync(join(opts.out, 'callgrind.md'), md.join('\n'));
  process.stdout.write(md.join('\n'));
}

if (isMain(import.meta.url)) {
  main(process.argv.slice(2)).catch((e) => {
    console.error(e.message);
    process.exit(1);
  });
}
