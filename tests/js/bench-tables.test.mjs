// The benchmark's numbers (bench/tables.mjs): what the README quotes is
// computed from the runs by these functions, so each figure is checked
// here against values worked out by hand.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  PAGE, addRatios, ballastOf, floorSection, geomean, median, roundOrder, summarize,
  summarizeBuilds, summaryTable, traceTable, variantCost,
} from '../../bench/tables.mjs';

const trace = { name: 'sqlite', kind: 'program' };
const build = (toolchain, allocator) => ({ key: `${toolchain}/${allocator}`, toolchain, allocator });
// A successful run as bench/replay.c prints it.
const run = (ns, pages = 10) => ({
  ok: true, ns_per_op: ns, ops: 1000, break_start: PAGE, break_end: PAGE + pages * PAGE - 100,
  pages_start: 17, pages_end: 17 + pages, peak_live_bytes: 123456,
});

test('median and geometric mean', () => {
  assert.equal(median([]), null);
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(geomean([]), null);
  assert.ok(Math.abs(geomean([1, 4, 16]) - 4) < 1e-12);
  assert.ok(Math.abs(geomean([0.5, 2]) - 1) < 1e-12);
});

test('summarize: medians of the good runs, heap pages from the break, floor and own share', () => {
  const runs = [run(12), run(10), { ok: false, error: 'replay exited 2' }, run(30)];
  const floors = [run(4), run(5), run(6)];
  const lat = { ok: true, p50_ns: 90, p99_ns: 200, p999_ns: 2000, max_ns: 600000, clock_ns: 80 };
  const s = summarize(trace, build('wasi', 'lmalloc'), runs, lat, floors);
  assert.equal(s.runs, 4);
  assert.equal(s.ok_runs, 3);
  assert.deepEqual(s.errors, ['replay exited 2']);
  assert.equal(s.ns_per_op, 12); // median of 12, 10, 30: the failed run is not a 0
  assert.equal(s.ns_min, 10);
  assert.equal(s.ns_max, 30);
  assert.equal(s.heap_pages, 10); // break moved by 10 pages minus 100 bytes: 10 pages
  assert.equal(s.pages_end, 27);
  assert.equal(s.floor_ns, 5);
  assert.equal(s.own_ns, 7);
  assert.equal(s.p999_ns, 2000);
  assert.equal(s.max_ns, 600000);

  const failedFloor = summarize(trace, build('wasi', 'lmalloc'), [run(12)], null, [{ ok: false, error: 'x' }]);
  assert.equal(failedFloor.floor_ns, undefined);
  assert.deepEqual(failedFloor.errors, ['x']);
});

test('summarize: a build that failed --verify gets no figures, however fast its runs', () => {
  const bad = { ok: false, error: 'exit 2: byte 40 is 0x11, expected 0x9b (overwritten: overlapping blocks?)' };
  const s = summarize(trace, build('wasi', 'lmalloc'), [run(1), run(2)], null, [run(1)], bad);
  assert.equal(s.ok_runs, 0);
  assert.equal(s.ns_per_op, undefined);
  assert.deepEqual(s.errors, [bad.error]);
  const rows = [s, summarize(trace, build('wasi', 'dlmalloc'), [run(15)], null, [], { ok: true })];
  addRatios(rows);
  assert.equal(rows[0].speedup, undefined);
  assert.match(traceTable(rows), /\| wasi\/lmalloc \| FAILED \|/);
  assert.equal(rows[1].ns_per_op, 15); // a passed --verify changes nothing
});

test('addRatios: speedup and heap ratio against dlmalloc of the same toolchain only', () => {
  const rows = [
    summarize(trace, build('wasi', 'lmalloc'), [run(10, 9)]),
    summarize(trace, build('wasi', 'dlmalloc'), [run(15, 10)]),
    summarize(trace, build('emscripten', 'lmalloc'), [run(20, 12)]),
    summarize(trace, build('emscripten', 'dlmalloc'), [run(10, 10)]),
  ];
  addRatios(rows);
  assert.equal(rows[0].speedup, 1.5); // 15 / 10: faster
  assert.equal(rows[0].heap_ratio, 0.9);
  assert.equal(rows[1].speedup, 1);
  assert.equal(rows[2].speedup, 0.5); // 10 / 20: slower, against emscripten's dlmalloc
  assert.equal(rows[2].heap_ratio, 1.2);
});

// Runs of rounds 0, 1, ... with these times.
const runsOf = (...ns) => ns.map((x, rep) => ({ ...run(x), rep }));

test('addRatios: rounds won against dlmalloc, paired by round', () => {
  const rows = [
    // Slower by the median, yet faster in rounds 0 and 2: the count says so.
    summarize(trace, build('wasi', 'lmalloc'), runsOf(9, 20, 9, 20, 20)),
    summarize(trace, build('wasi', 'dlmalloc'), runsOf(10, 10, 10, 10, 10)),
    // A round dlmalloc did not finish is not counted.
    summarize(trace, build('emscripten', 'lmalloc'), runsOf(5, 5, 5)),
    summarize(trace, build('emscripten', 'dlmalloc'), [...runsOf(6, 4), { ok: false, error: 'x', rep: 2 }]),
  ];
  addRatios(rows);
  assert.equal(rows[0].speedup, 0.5);
  assert.equal(rows[0].rounds_faster, 2);
  assert.equal(rows[0].rounds_paired, 5);
  assert.equal(rows[1].rounds_paired, undefined); // dlmalloc against itself
  assert.equal(rows[2].rounds_faster, 1);
  assert.equal(rows[2].rounds_paired, 2);
  const md = traceTable(rows);
  assert.equal(rows[0].speedup_round, 0.5); // 10/9, 0.5, 10/9, 0.5, 0.5
  assert.equal(rows[2].speedup_round, 1); // 6/5 and 4/5
  assert.match(md, /\| wasi\/lmalloc \| 20\.0 \| 9\.0-20\.0 \| 0\.50x \| 0\.50x, 2 of 5 \|/);
  assert.match(md, /\| wasi\/dlmalloc \| 10\.0 \| 10\.0-10\.0 \| 1\.00x \| - \|/);
});

test('addRatios: the median of the rounds\' ratios holds where a slow spell hits one build\'s runs', () => {
  // lmalloc faster in rounds 0 (by 25%), 1 and 4 (by 11%); in rounds 2
  // and 3 a slow spell hit its runs harder: the medians say 0.67x, the
  // rounds 1.11x, the fastest runs 1.25x.
  const rows = [
    summarize(trace, build('wasi', 'lmalloc'), runsOf(8, 18, 30, 30, 36)),
    summarize(trace, build('wasi', 'dlmalloc'), runsOf(10, 20, 20, 20, 40)),
  ];
  addRatios(rows);
  assert.ok(Math.abs(rows[0].speedup - 20 / 30) < 1e-12);
  assert.ok(Math.abs(rows[0].speedup_round - 10 / 9) < 1e-12);
  assert.equal(rows[0].rounds_faster, 3);
  assert.match(traceTable(rows), /\| wasi\/lmalloc \| 30\.0 \| 8\.0-36\.0 \| 0\.67x \| 1\.11x, 3 of 5 \|/);
  const by = summarizeBuilds(rows.map((r) => ({ ...r, kind: 'program' })), ['wasi/lmalloc', 'wasi/dlmalloc'],
    ['program', 'all']);
  assert.ok(Math.abs(by.get('wasi/lmalloc').program.speedup_round - 10 / 9) < 1e-12);
  assert.equal(by.get('wasi/dlmalloc').program.speedup_round, null); // never compared with itself
  const md = summaryTable(by, ['program', 'all']).split('\n');
  // Columns: speedup per kind, by round per kind, fastest runs (all).
  assert.match(md[2], /^\| wasi\/lmalloc \| 0\.667x \| 0\.667x \| 1\.111x \| 1\.111x \| 1\.250x \|/);
  const cells = (line) => line.split('|').length;
  assert.ok(md.every((line) => cells(line) === cells(md[0])), 'header, separator and rows have as many columns');
});

test('summarizeBuilds: geometric means per kind, failed rows counted', () => {
  const rows = [
    { build: 'wasi/lmalloc', kind: 'program', speedup: 2, speedup_min: 2, heap_ratio: 1, errors: [] },
    { build: 'wasi/lmalloc', kind: 'program', speedup: 0.5, speedup_min: 1, heap_ratio: 0.25, errors: [] },
    { build: 'wasi/lmalloc', kind: 'synthetic', speedup: 8, speedup_min: 8, heap_ratio: 4, errors: ['boom'] },
  ];
  const by = summarizeBuilds(rows, ['wasi/lmalloc'], ['program', 'synthetic', 'all']);
  const v = by.get('wasi/lmalloc');
  assert.equal(v.failed, 1);
  assert.ok(Math.abs(v.program.speedup - 1) < 1e-12);
  assert.ok(Math.abs(v.program.heap - 0.5) < 1e-12);
  assert.ok(Math.abs(v.synthetic.speedup - 8) < 1e-12);
  assert.ok(Math.abs(v.all.speedup - 2) < 1e-12); // cube root of 2 * 0.5 * 8
  const md = summaryTable(by, ['program', 'synthetic', 'all']);
  assert.match(md, /\| wasi\/lmalloc \| 1\.000x \| 8\.000x \| 2\.000x \|/);
});

test('floorSection: the ceiling, the own shares, and the own share 1.5x needs', () => {
  const rows = [
    { trace: 'sqlite', toolchain: 'wasi', allocator: 'dlmalloc', ns_per_op: 13, floor_ns: 7, own_ns: 6 },
    { trace: 'sqlite', toolchain: 'wasi', allocator: 'lmalloc', ns_per_op: 14, floor_ns: 6, own_ns: 8 },
  ];
  const f = floorSection(rows, [trace, { name: 'syn-small', kind: 'synthetic' }]);
  assert.equal(f.rows.length, 1); // synthetic workloads are not in the table
  const r = f.rows[0];
  assert.equal(r.ceiling, 13 / 7);
  assert.equal(r.own_speedup, 6 / 8);
  assert.ok(Math.abs(r.lm_own_for_target - (13 / 1.5 - 6)) < 1e-12);
  assert.match(f.md, /\| wasi \| sqlite \| 13\.0 \| 7\.0 \| 1\.86x \| 6\.0 \| 8\.0 \| 0\.75x \| 2\.7 \|/);
  assert.equal(floorSection([rows[0]], [trace]), null); // no lmalloc row: no table
});

test('floorSection: a floor above the timed runs gives no own share, and the geomean says over how many', () => {
  const gcc = { name: 'gcc-cc1', kind: 'program' };
  const rows = [
    { trace: 'sqlite', toolchain: 'wasi', allocator: 'dlmalloc', ns_per_op: 13, floor_ns: 7, own_ns: 6 },
    { trace: 'sqlite', toolchain: 'wasi', allocator: 'lmalloc', ns_per_op: 14, floor_ns: 6, own_ns: 8 },
    { trace: 'gcc-cc1', toolchain: 'wasi', allocator: 'dlmalloc', ns_per_op: 20, floor_ns: 10, own_ns: 10 },
    { trace: 'gcc-cc1', toolchain: 'wasi', allocator: 'lmalloc', ns_per_op: 20, floor_ns: 105, own_ns: -85 },
  ];
  const f = floorSection(rows, [trace, gcc]);
  assert.equal(f.rows.find((r) => r.trace === 'gcc-cc1').own_speedup, null);
  assert.match(f.md, /\| wasi \| gcc-cc1 \| 20\.0 \| 10\.0 \| 2\.00x \| 10\.0 \| -85\.0 \| no share \|/);
  // The geomean is sqlite's alone (0.75x), not NaN from a negative share.
  assert.match(f.md, /\*\*0\.75x\*\* \(1 of 2 traces\)/);
});

test('variantCost: paired by round where both builds ran the same rounds', () => {
  // The variant is 10% slower in rounds 0, 1 and 3; a slow spell hit
  // lmalloc's run of round 2 and the variant's of round 4. The medians
  // (12 and 11) would say +9.1%.
  const rows = [
    { trace: 'sqlite', build: 'wasi/lmalloc', ns_per_op: 11, ns_by_rep: { 0: 10, 1: 10, 2: 30, 3: 20, 4: 11 } },
    { trace: 'sqlite', build: 'wasi/lmalloc-noslabs', ns_per_op: 12, ns_by_rep: { 0: 11, 1: 11, 2: 12, 3: 22, 4: 30 } },
  ];
  const v = variantCost(rows, [trace]);
  assert.ok(Math.abs(v.rows[0].variants['wasi/lmalloc-noslabs'].change - 0.1) < 1e-12);
  assert.ok(v.md.includes('| sqlite | 11.0 | 12.0 (+10.0%) |'));
});

test('variantCost: each variant against lmalloc, geomean over program traces only', () => {
  const rows = [
    { trace: 'sqlite', build: 'wasi/lmalloc', ns_per_op: 10 },
    { trace: 'sqlite', build: 'wasi/lmalloc-unhardened', ns_per_op: 9 },
    { trace: 'sqlite', build: 'wasi/lmalloc-noslabs', ns_per_op: 15 },
    { trace: 'syn-small', build: 'wasi/lmalloc', ns_per_op: 10 },
    { trace: 'syn-small', build: 'wasi/lmalloc-noslabs', ns_per_op: 40 },
  ];
  const v = variantCost(rows, [trace, { name: 'syn-small', kind: 'synthetic' }]);
  assert.ok(Math.abs(v.rows[0].variants['wasi/lmalloc-noslabs'].change - 0.5) < 1e-12);
  assert.ok(Math.abs(v.geomean['wasi/lmalloc-noslabs'] - 0.5) < 1e-12); // the synthetic +300% is not in it
  assert.ok(Math.abs(v.geomean['wasi/lmalloc-unhardened'] + 0.1) < 1e-12);
  assert.equal(v.rows[1].variants['wasi/lmalloc-unhardened'], null); // no run: a "-" cell
  assert.ok(!('wasi/lmalloc-minimal' in v.geomean)); // never run: no column
  const md = v.md.split('\n');
  assert.match(md.find((l) => l.startsWith('| trace')), /\| unhardened \(LM_HARDEN=0\) \| no slabs \(LM_SLABS=0\) \|$/);
  assert.ok(md.includes('| sqlite | 10.0 | 9.0 (-10.0%) | 15.0 (+50.0%) |'));
  assert.ok(md.includes('| syn-small | 10.0 | - | 40.0 (+300.0%) |'));
  assert.ok(md.includes('| **geomean (program traces)** | | **-10.0%** | **+50.0%** |'));
  assert.equal(variantCost(rows.filter((r) => r.build === 'wasi/lmalloc'), [trace]), null);
});

test('traceTable: a failed build is a FAILED row, numbers are rounded as printed', () => {
  const ok = summarize(trace, build('wasi', 'lmalloc'), [run(12.345)]);
  const bad = summarize(trace, build('wasi', 'dlmalloc'), [{ ok: false, error: 'trap' }]);
  ok.speedup = 1.234;
  ok.p999_ns = 123456;
  const md = traceTable([ok, bad]).split('\n');
  assert.equal(md.length, 4);
  assert.match(md[2], /^\| wasi\/lmalloc \| 12\.3 \| 12\.3-12\.3 \| 1\.23x \|/);
  assert.match(md[2], /\| 123 µs \|/);
  assert.equal(md[3], '| wasi/dlmalloc | FAILED | | | | | | | | | | | | |');
  // Every row has as many cells as the header.
  const cells = (line) => line.split('|').length;
  assert.equal(cells(md[2]), cells(md[0]));
  assert.equal(cells(md[3]), cells(md[0]));
});

test('heap pages: median over the repetitions\' layouts, with their range', () => {
  // Each repetition starts from its own ballast: 0 for the first, then
  // growing, and never the same twice.
  const b = [0, 1, 2, 3, 4, 5, 6].map(ballastOf);
  assert.equal(b[0], 0);
  assert.equal(new Set(b).size, b.length);
  assert.ok(b.some((x) => x > 0 && x <= 256) && b.some((x) => x > 256));
  const s = summarize(trace, build('wasi', 'lmalloc'), [run(10, 9), run(10, 11), run(10, 9), run(10, 10)]);
  assert.equal(s.heap_pages, 9.5); // median of 9, 9, 10, 11
  assert.equal(s.heap_pages_min, 9);
  assert.equal(s.heap_pages_max, 11);
  const md = traceTable([s]).split('\n');
  assert.match(md[2], /\| 10 \| 9-11 \|/); // 9.5 printed rounded, then the range
});

test('roundOrder: every two rounds run each pair of builds once in each order, and each build in every position', () => {
  const builds = ['A', 'B', 'C', 'D', 'E'];
  const rounds = Array.from({ length: 10 }, (_, rep) => roundOrder(builds, rep));
  assert.deepEqual(rounds[0], builds);
  assert.deepEqual(rounds[1], ['E', 'D', 'C', 'B', 'A']);
  assert.deepEqual(rounds[2], ['B', 'C', 'D', 'E', 'A']);
  for (const r of rounds) assert.deepEqual([...r].sort(), builds); // each build once per round
  for (let rep = 0; rep < rounds.length; rep += 2) {
    for (const x of builds) {
      for (const y of builds) {
        if (x === y) continue;
        const first = [rounds[rep], rounds[rep + 1]].filter((r) => r.indexOf(x) < r.indexOf(y)).length;
        assert.equal(first, 1, `rounds ${rep}-${rep + 1}: ${x} before ${y}`);
      }
    }
  }
  for (const x of builds) {
    const at = builds.map((_, pos) => rounds.filter((r) => r[pos] === x).length);
    assert.deepEqual(at, [2, 2, 2, 2, 2], `${x}'s positions over 10 rounds`);
  }
  assert.deepEqual(roundOrder(['A', 'B'], 0), ['A', 'B']);
  assert.deepEqual(roundOrder(['A', 'B'], 1), ['B', 'A']);
});
