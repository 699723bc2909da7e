// The benchmark's numbers and tables, as pure functions of the runs, so
// that what the README quotes is computed by tested code
// (tests/js/bench-tables.test.mjs). bench/run.mjs runs the replays and
// calls these.
//
// A run is the JSON line bench/replay.c prints ({ok, ns_per_op, ops,
// break_start, break_end, pages_start, pages_end, peak_live_bytes}, or
// {ok: false, error}); a row is summarize()'s result for one trace and
// build, which addRatios() then compares with that toolchain's dlmalloc.

// The allocator each toolchain's builds are compared with.
export const BASELINE = 'dlmalloc';

export const median = (xs) => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
export const geomean = (xs) => (xs.length ? Math.exp(xs.reduce((a, x) => a + Math.log(x), 0) / xs.length) : null);
export const PAGE = 65536;

// The ballast of repetition rep (replay.c --ballast): 0, 48, 96, ... bytes
// allocated before the replay, so that each repetition starts from its own
// layout (with 7 rounds, run.mjs's default, 0 to 288 bytes: sizes on both
// sides of lmalloc's 256-byte slab limit; 5 rounds would stop at 192). Pages
// at the end then come as a median over layouts, with their range.
export const BALLAST_STEP = 48;
export const ballastOf = (rep) => rep * BALLAST_STEP;

// The order in which round `rep` runs the builds: rotated by rep / 2, and
// reversed in odd rounds. Rotation alone moves each build through every
// position but keeps most pairs in one order (of A B C D E, A runs
// before B in four rotations of five); with the reversal, every two
// rounds run each pair once in each order, so neither of two builds
// compared round by round (addRatios: "by round") is always the one that
// runs first.
export function roundOrder(items, rep) {
  const k = Math.floor(rep / 2);
  const rotated = items.map((_, i) => items[(i + k) % items.length]);
  return rep % 2 ? rotated.reverse() : rotated;
}

// Per (trace, build): the numbers the tables show, from the raw runs.
export function summarize(trace, build, runs, lat, floors = [], verify = null) {
  // A build that failed the --verify run handed out memory wrongly: none
  // of its runs counts, so it shows as FAILED rather than as a time.
  const unverified = verify && !verify.ok;
  const ok = unverified ? [] : runs.filter((r) => r.ok);
  const s = { trace: trace.name, build: build.key, toolchain: build.toolchain, allocator: build.allocator,
    runs: runs.length, ok_runs: ok.length, errors: runs.filter((r) => !r.ok).map((r) => r.error) };
  if (unverified) s.errors.push(verify.error);
  if (ok.length) {
    const ns = ok.map((r) => r.ns_per_op);
    s.ns_per_op = median(ns);
    s.ns_min = Math.min(...ns);
    s.ns_max = Math.max(...ns);
    // Each round's time, by round, for addRatios' round-by-round count.
    s.ns_by_rep = Object.fromEntries(ok.filter((r) => r.rep !== undefined).map((r) => [r.rep, r.ns_per_op]));
    s.ops = ok[0].ops;
    // Heap growth during the replay: the program break moved by the
    // allocator (on WASI the break is the memory size; on Emscripten it is
    // sbrk's pointer, which ignores the glue's over-allocation of memory).
    const pages = ok.map((r) => Math.ceil((r.break_end - r.break_start) / PAGE));
    s.heap_pages = median(pages);
    s.heap_pages_min = Math.min(...pages);
    s.heap_pages_max = Math.max(...pages);
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

// Two builds' runs paired by round (ns_by_rep of each): the rounds both
// ran, and the median over them of num's time over den's. null when no
// round is paired.
export function pairedRounds(num, den) {
  if (!num?.ns_by_rep || !den?.ns_by_rep) return null;
  const reps = Object.keys(num.ns_by_rep).filter((k) => k in den.ns_by_rep);
  if (!reps.length) return null;
  return { reps, ratio: median(reps.map((k) => num.ns_by_rep[k] / den.ns_by_rep[k])) };
}

export function addRatios(rows) {
  for (const r of rows) {
    const base = rows.find((b) => b.toolchain === r.toolchain && b.allocator === BASELINE);
    if (base && base.ns_per_op && r.ns_per_op) r.speedup = base.ns_per_op / r.ns_per_op;
    if (base && base.ns_min && r.ns_min) r.speedup_min = base.ns_min / r.ns_min;
    if (base && base.heap_pages && r.heap_pages != null) r.heap_ratio = r.heap_pages / base.heap_pages;
    // Round by round, of the rounds both ran: the two ran close together
    // in each round, so a slow spell of the machine slows both. The median
    // of the rounds' ratios (speedup_round) is what a spell that hits one
    // build's runs more than the other's moves least, and the rounds this
    // build won tell a real difference from noise (a 0.99x won in 3 of 7
    // rounds is a tie).
    const paired = base && base !== r ? pairedRounds(base, r) : null;
    if (paired) {
      r.rounds_paired = paired.reps.length;
      r.rounds_faster = paired.reps.filter((k) => r.ns_by_rep[k] < base.ns_by_rep[k]).length;
      r.speedup_round = paired.ratio;
    }
  }
}

export const fmt = (x, d = 1) => (x == null || Number.isNaN(x) ? '-' : x.toFixed(d));
export const fmtInt = (x) => (x == null ? '-' : Math.round(x).toLocaleString('en-US'));
export const fmtMiB = (b) => (b == null ? '-' : `${(b / 1048576).toFixed(2)} MiB`);
export const fmtNs = (x) => (x == null ? '-' : x >= 100000 ? `${(x / 1000).toFixed(0)} µs` : `${Math.round(x)}`);

export function traceTable(rows) {
  const cols = ['allocator', 'ns/op (median)', 'min-max', 'speedup vs dlmalloc', 'by round: speedup, won', 'floor ns/op',
    'own ns/op',
    'heap pages', 'min-max', 'heap vs dlmalloc', 'pages at end', 'p50 ns', 'p99.9 ns', 'max'];
  const lines = [`| ${cols.join(' | ')} |`, `|---|${'--:|'.repeat(cols.length - 1)}`];
  for (const r of rows) {
    if (!r.ok_runs) {
      lines.push(`| ${r.build} | FAILED |${' |'.repeat(cols.length - 2)}`);
      continue;
    }
    lines.push(`| ${r.build} | ${fmt(r.ns_per_op)} | ${fmt(r.ns_min)}-${fmt(r.ns_max)} | ` +
      `${r.speedup ? `${fmt(r.speedup, 2)}x` : '-'} | ` +
      `${r.rounds_paired ? `${fmt(r.speedup_round, 2)}x, ${r.rounds_faster} of ${r.rounds_paired}` : '-'} | ` +
      `${fmt(r.floor_ns)} | ${fmt(r.own_ns)} | ${fmtInt(r.heap_pages)} | ` +
      `${fmtInt(r.heap_pages_min)}-${fmtInt(r.heap_pages_max)} | ` +
      `${r.heap_ratio ? fmt(r.heap_ratio, 3) : '-'} | ${fmtInt(r.pages_end)} | ` +
      `${fmtNs(r.p50_ns)} | ${fmtNs(r.p999_ns)} | ${fmtNs(r.max_ns)} |`);
  }
  return lines.join('\n');
}

export function summaryTable(byBuild, kinds) {
  const x3 = (x) => (x ? `${fmt(x, 3)}x` : '-');
  const lines = ['| allocator | ' + kinds.map((k) => `speedup (${k})`).join(' | ') + ' | ' +
    kinds.map((k) => `by round (${k})`).join(' | ') + ' | speedup of fastest runs (all) | ' +
    kinds.map((k) => `heap vs dlmalloc (${k})`).join(' | ') + ' | traces failed |',
  '|---|' + kinds.map(() => '--:|').join('').repeat(2) + '--:|' + kinds.map(() => '--:|').join('') + '--:|'];
  for (const [key, v] of byBuild) {
    lines.push(`| ${key} | ` + kinds.map((k) => x3(v[k].speedup)).join(' | ') + ' | ' +
      kinds.map((k) => x3(v[k].speedup_round)).join(' | ') + ` | ${x3(v.all.speedup_min)} | ` +
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
export function floorSection(rows, traces) {
  const out = [];
  for (const tc of [...new Set(rows.map((r) => r.toolchain))]) {
    for (const t of traces.filter((x) => x.kind === 'program')) {
      const dl = rows.find((r) => r.trace === t.name && r.toolchain === tc && r.allocator === BASELINE);
      const lm = rows.find((r) => r.trace === t.name && r.toolchain === tc && r.allocator === 'lmalloc');
      if (!dl?.floor_ns || !lm?.floor_ns || !dl.ns_per_op || !lm.ns_per_op) continue;
      out.push({ trace: t.name, toolchain: tc, dl_ns: dl.ns_per_op, dl_floor: dl.floor_ns,
        ceiling: dl.ns_per_op / dl.floor_ns, dl_own: dl.own_ns, lm_own: lm.own_ns,
        // A floor that came out above the timed runs (noise: the two are
        // separate processes) leaves no share to compare: no ratio then.
        own_speedup: dl.own_ns > 0 && lm.own_ns > 0 ? dl.own_ns / lm.own_ns : null,
        lm_own_for_target: dl.ns_per_op / 1.5 - lm.floor_ns });
    }
  }
  if (!out.length) return null;
  const md = ['## Harness floor (program traces)', '',
    'Every build also runs `--floor`: the same replay with the addresses its allocator gave, moved into ' +
    'fresh pages, and no allocator call (bench/replay.c). That is the cost of the harness\'s stamping ' +
    'and checking with that layout; zeroing calloc memory and copying a moved realloc stay in the ' +
    'allocator\'s share. **ceiling**: dlmalloc\'s ns/op over the floor ' +
    'of its own layout, the speedup a zero-cost allocator with that layout would show. **own**: ns/op ' +
    'minus the build\'s floor ("no share" where either build\'s floor came out at or above its timed runs: noise). **own for 1.5x**: ' +
    'lmalloc\'s own share that would make it 1.5x dlmalloc.', '',
    '| toolchain | trace | dlmalloc ns/op | dlmalloc floor | ceiling | dlmalloc own | lmalloc own | own speedup | lmalloc own for 1.5x |',
    '|---|---|--:|--:|--:|--:|--:|--:|--:|'];
  for (const r of out) {
    const own = r.own_speedup == null ? 'no share' : `${fmt(r.own_speedup, 2)}x`;
    md.push(`| ${r.toolchain} | ${r.trace} | ${fmt(r.dl_ns)} | ${fmt(r.dl_floor)} | ${fmt(r.ceiling, 2)}x | ` +
      `${fmt(r.dl_own)} | ${fmt(r.lm_own)} | ${own} | ${fmt(r.lm_own_for_target)} |`);
  }
  for (const tc of [...new Set(out.map((r) => r.toolchain))]) {
    const mine = out.filter((r) => r.toolchain === tc);
    const shares = mine.filter((r) => r.own_speedup != null).map((r) => r.own_speedup);
    const over = shares.length < mine.length ? ` (${shares.length} of ${mine.length} traces)` : '';
    md.push(`| **${tc}** | **geomean** | | | **${fmt(geomean(mine.map((r) => r.ceiling)), 2)}x** | | | ` +
      `**${fmt(geomean(shares), 2)}x**${over} | |`);
  }
  return { md: md.join('\n'), rows: out };
}

// The builds `node bench/run.mjs --variants` adds: lmalloc's own sources
// with a part left out, each by a switch that exists only for this
// measurement (src/block.h, src/heap.h).
export const VARIANTS = [
  { build: 'wasi/lmalloc-unhardened', label: 'unhardened', flags: 'LM_HARDEN=0' },
  { build: 'wasi/lmalloc-noslabs', label: 'no slabs', flags: 'LM_SLABS=0' },
  { build: 'wasi/lmalloc-minimal', label: 'neither', flags: 'LM_SLABS=0, LM_HARDEN=0' },
];

// What each part of lmalloc costs or buys in time: per trace, each
// variant's time relative to lmalloc as shipped (+10% = the variant is 10%
// slower): the median over the rounds of the variant's time over
// lmalloc's in the same round (as addRatios' "by round"), or where the
// rounds were not paired the ratio of the medians; and the geometric mean
// over the program traces. Variants with no run are left out. null when
// lmalloc or every variant is missing.
export function variantCost(rows, traces) {
  const rowOf = (trace, build) => rows.find((r) => r.trace === trace && r.build === build);
  const present = VARIANTS.filter((v) => traces.some((t) => rowOf(t.name, v.build)?.ns_per_op));
  const out = [];
  for (const t of traces) {
    const lmRow = rowOf(t.name, 'wasi/lmalloc');
    const lm = lmRow?.ns_per_op;
    if (!lm) continue;
    const rel = Object.fromEntries(present.map((v) => {
      const r = rowOf(t.name, v.build);
      if (!r?.ns_per_op) return [v.build, null];
      const ratio = pairedRounds(r, lmRow)?.ratio ?? r.ns_per_op / lm;
      return [v.build, { ns: r.ns_per_op, change: ratio - 1 }];
    }));
    out.push({ trace: t.name, kind: t.kind, lmalloc: lm, variants: rel });
  }
  if (!present.length || !out.length) return null;
  const program = out.filter((r) => r.kind === 'program');
  const means = present.map((v) => {
    const ok = program.filter((r) => r.variants[v.build]);
    return ok.length ? geomean(ok.map((r) => 1 + r.variants[v.build].change)) - 1 : null;
  });
  const pct = (x) => (x == null ? '-' : `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)}%`);
  const cell = (c) => (c ? `${fmt(c.ns)} (${pct(c.change)})` : '-');
  const md = ['## Variants (wasi)', '',
    'lmalloc as shipped against its own sources built without a part, interleaved in the same ' +
    'rounds: ns/op (median), and in brackets the time relative to lmalloc (+ = the variant is slower), ' +
    'by round: the median over the rounds of the two builds\' ratio in the same round, which a slow spell ' +
    'on one build\'s runs can set apart from the ratio of the two medians. ' +
    'Unhardened: links and footers unmasked, no checks of free-block metadata. No slabs: every ' +
    'request is a block with a header. Their speedups and heap pages against dlmalloc are in ' +
    'the tables above; their code size is in the size table (Emscripten).', '',
    `| trace | lmalloc ns/op | ${present.map((v) => `${v.label} (${v.flags})`).join(' | ')} |`,
    `|---|--:|${present.map(() => '--:|').join('')}`,
    ...out.map((r) => `| ${r.trace} | ${fmt(r.lmalloc)} | ` +
      `${present.map((v) => cell(r.variants[v.build])).join(' | ')} |`)];
  if (program.length) {
    md.push(`| **geomean (program traces)** | | ${means.map((m) => `**${pct(m)}**`).join(' | ')} |`);
  }
  return { md: md.join('\n'), rows: out,
    geomean: Object.fromEntries(present.map((v, i) => [v.build, means[i]])) };
}

// Geometric means per build over the rows of each kind ('program',
// 'synthetic', or 'all'): speedup, speedup by round, speedup of the
// fastest runs, heap ratio;
// and how many of the build's rows have errors. Map: build key -> summary.
export function summarizeBuilds(rows, buildKeys, kinds) {
  const byBuild = new Map();
  for (const key of buildKeys) {
    const mine = rows.filter((r) => r.build === key);
    const v = { failed: mine.filter((r) => r.errors.length).length };
    for (const k of kinds) {
      const sel = mine.filter((r) => k === 'all' || r.kind === k);
      const gm = (field) => geomean(sel.map((r) => r[field]).filter(Boolean));
      v[k] = {
        speedup: gm('speedup'),
        speedup_min: gm('speedup_min'),
        speedup_round: gm('speedup_round'),
        heap: gm('heap_ratio'),
      };
    }
    byBuild.set(key, v);
  }
  return byBuild;
}
