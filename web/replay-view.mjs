// What the replay page draws, as pure functions of the data the replay
// worker sends (replay-worker.mjs): no DOM, no canvas, no worker. Drawing
// instructions use draw.mjs's vocabulary ('rect', 'fill', 'line', 'path',
// 'text', 'outline'), like render.mjs.
//
// - replaySnapshot: a worker's 'detail' view (lmalloc's walk, packed, and a
//   copy of its memory) -> the snapshot render.mjs, index-view.mjs,
//   details.mjs and panels.mjs already draw for the playground, with each
//   live block knowing its trace pointer slot (traceId: named p[id] by
//   snapshot.mjs nameOf), its requested size and the step that allocated it.
// - timelineLayout / stepAtX: the timeline strip (heap size along the
//   whole trace, memory.grow ticks, the compared steps A and B, the cursor).
// - diffOverlays: outlines in the memory map for a comparison of two
//   steps (appeared, moved, resized, freed).
// - coverage / occupancyLayout: an allocator's heap as rows of pixels
//   shaded by how much of each pixel's bytes live blocks cover, for the
//   side-by-side comparison (only addresses and sizes are needed, so it
//   works for allocators whose layout the page does not know).
// - compareChartLayout, compareRows: heap size over time and the figures
//   table of the comparison, compareNote what the table's figures are;
//   sharedStep: the one step the views of several replays name together;
//   stopText: what is said of a replay stopped by a refused operation.

import { PAGE_SIZE, formatBytes, hex } from './heap-layout.mjs';
import { PITCH, TOP, segmentsOf } from './render.mjs';
import { unpackEntries } from './packed-walk.mjs';
import { decodeHeap } from './snapshot.mjs';

/**
 * The playground's snapshot for a replay step.
 * @param view    { step, entries (packed), memory (Uint8Array), stats, check, live }
 * @param context { place, history: samples so far, grows: all grow events, count }
 */
export function replaySnapshot(view, { place, history = [], grows = [] }) {
  const entries = unpackEntries(view.entries); // packed-walk.mjs
  const snap = decodeHeap(entries, view.memory, place);
  // Both lists are in address order (the walk's and liveBlocks()'s): a
  // merge join names every live allocation in one pass.
  const { live } = view;
  let matched = 0;
  let j = 0;
  const n = live.ptr.length;
  for (const e of entries) {
    if (e.kind === 'slab' || !e.used) continue;
    while (j < n && live.ptr[j] < e.ptr) j++;
    if (j === n) break;
    if (live.ptr[j] !== e.ptr) continue;
    matched++;
    e.requested = live.size[j];
    e.step = live.born[j];
    e.traceId = live.id[j];
    j++;
  }
  let liveBytes = 0;
  for (let k = 0; k < n; k++) liveBytes += live.size[k];
  const s = view.stats;
  snap.step = view.step;
  snap.stats = { step: view.step, memoryBytes: snap.memoryBytes, ...s, fragmentation: s.freeBytes ? 1 - s.largestFree / s.freeBytes : 0 };
  snap.history = history;
  snap.grows = grows.filter((g) => g.step <= view.step).map((g) => ({
    ...g, at: g.oldPages * PAGE_SIZE, cause: OP_NAMES[g.op] ?? 'op', requestedSize: g.size,
  }));
  snap.frames = [];
  snap.leaks = { count: 0, bytes: 0 };
  snap.vars = [];
  snap.check = view.check ?? 0;
  snap.matched = matched; // live blocks of the trace found in the walk (= live.ptr.length)
  snap.liveBytes = liveBytes;
  return snap;
}

export const OP_NAMES = { 97: 'malloc', 99: 'calloc', 109: 'aligned_alloc', 114: 'realloc', 102: 'free' };

// --- timeline ------------------------------------------------------------------

export const TIMELINE_PAD = 8;

/** The step under pixel x of a timeline of `width` pixels. */
export function stepAtX(x, width, count) {
  const inner = Math.max(1, width - 2 * TIMELINE_PAD);
  const f = Math.min(1, Math.max(0, (x - TIMELINE_PAD) / inner));
  return Math.round(f * count);
}

/** The pixel x of a step. */
export function xOfStep(step, width, count) {
  const inner = Math.max(1, width - 2 * TIMELINE_PAD);
  return TIMELINE_PAD + (count ? (step / count) * inner : 0);
}

/**
 * @param o { width, height, count, step, frontier, history: [{step, memoryBytes, liveBytes}],
 *            grows: [{step}], marks: { a, b } }
 */
export function timelineLayout({ width, height, count, step, frontier = 0, history = [], grows = [], marks = {} }) {
  const out = [];
  const x = (s) => xOfStep(s, width, count);
  const top = 4;
  const bottom = height - 12;
  out.push({ kind: 'fill', x: TIMELINE_PAD, y: top, w: width - 2 * TIMELINE_PAD, h: bottom - top, color: '#ececec' });
  out.push({ kind: 'fill', x: TIMELINE_PAD, y: top, w: Math.max(0, x(frontier) - TIMELINE_PAD), h: bottom - top, color: '#f8f8f8' });
  const max = Math.max(1, ...history.map((h) => h.memoryBytes ?? 0));
  const yOf = (v) => bottom - (v / max) * (bottom - top - 2);
  if (history.length > 1) {
    out.push({ kind: 'path', points: history.map((h) => [x(h.step), yOf(h.memoryBytes)]), color: '#1a1a1a', width: 1.5, series: 'memoryBytes' });
    out.push({ kind: 'path', points: history.map((h) => [x(h.step), yOf(h.liveBytes)]), color: '#0072B2', width: 1.5, dash: [4, 2], series: 'liveBytes' });
  }
  // memory.grow ticks, at most one per pixel.
  let lastX = -1;
  for (const g of grows) {
    const gx = Math.round(x(g.step));
    if (gx === lastX) continue;
    lastX = gx;
    out.push({ kind: 'line', x1: gx, y1: bottom, x2: gx, y2: bottom + 5, line: 'grow' });
  }
  for (const [name, s] of Object.entries(marks)) {
    if (s === null || s === undefined) continue;
    out.push({ kind: 'line', x1: x(s), y1: top, x2: x(s), y2: bottom, line: 'mark' });
    out.push({ kind: 'text', x: x(s) + 3, y: top + 7, text: name.toUpperCase(), small: true });
  }
  out.push({ kind: 'line', x1: x(step), y1: top - 3, x2: x(step), y2: bottom + 3, line: 'cursor' });
  out.push({ kind: 'text', x: TIMELINE_PAD, y: height - 4, text: '0', small: true, style: 'muted' });
  out.push({ kind: 'text', x: width - TIMELINE_PAD, y: height - 4, text: count.toLocaleString('en-US'), small: true, style: 'muted', align: 'right' });
  out.push({ kind: 'text', x: width / 2, y: height - 4, text: `memory (solid), live bytes (dashed); ▲ memory.grow${frontier < count ? '; shaded: not replayed yet' : ''}`, small: true, style: 'muted', align: 'center' });
  return out;
}

// --- comparing two steps in the map ------------------------------------------------

/**
 * Outlines for a comparison of two steps (diffLive), drawn over the map of
 * step b: blocks that appeared and moved blocks at their new place, freed
 * blocks and the old place of moved ones as ghosts. Only rows in view.
 */
export function diffOverlays(snapshot, g, diff, { limit = 4000 } = {}) {
  const out = [];
  if (!diff || !g) return out;
  const first = Math.floor((g.scrollY - TOP) / PITCH);
  const last = Math.floor((g.scrollY + g.height - TOP) / PITCH);
  let n = 0;
  const mark = (start, len, outline) => {
    if (n >= limit) return;
    for (const s of segmentsOf(g, start, start + Math.max(1, len))) {
      if (s.row < first || s.row > last) continue;
      out.push({ kind: 'outline', x: s.x0, y: s.y, w: Math.max(2, s.x1 - s.x0), h: s.h, outline });
      n++;
    }
  };
  for (const b of diff.freed) mark(b.ptr, b.size, 'freed');
  for (const b of diff.moved) mark(b.from, b.oldSize, 'movedFrom');
  for (const b of diff.appeared) mark(b.ptr, b.size, 'appeared');
  for (const b of diff.resized) mark(b.ptr, b.size, 'resized');
  for (const b of diff.moved) mark(b.to, b.size, 'moved');
  return out;
}

// --- the side-by-side comparison -------------------------------------------------

/**
 * Live-byte coverage of `buckets` equal slices of [start, start + buckets *
 * perBucket): out[k] is the share (0..1) of slice k's bytes inside a live
 * block. O(blocks + buckets).
 */
export function coverage(ptr, size, start, perBucket, buckets) {
  const acc = new Float64Array(buckets + 1);
  const end = start + perBucket * buckets;
  for (let j = 0; j < ptr.length; j++) {
    let a = Math.max(ptr[j], start);
    const b = Math.min(ptr[j] + size[j], end);
    while (a < b) {
      const k = Math.floor((a - start) / perBucket);
      const edge = Math.min(b, start + (k + 1) * perBucket);
      if (edge - a >= perBucket) {
        // Whole buckets at once.
        const whole = Math.floor((b - a) / perBucket);
        for (let q = 0; q < whole; q++) acc[k + q] += perBucket;
        a += whole * perBucket;
        continue;
      }
      acc[k] += edge - a;
      a = edge;
    }
  }
  const out = new Float32Array(buckets);
  for (let k = 0; k < buckets; k++) out[k] = Math.min(1, acc[k] / perBucket);
  return out;
}

// Coverage shades, light to dark (sequential blues, readable in greyscale).
export const SHADES = ['#ffffff', '#deebf7', '#c6dbef', '#9ecae1', '#6baed6', '#4292c6', '#2171b5', '#08519c', '#08306b'];
const shadeOf = (f) => (f <= 0 ? 0 : 1 + Math.min(SHADES.length - 2, Math.floor(f * (SHADES.length - 1))));

export const OCC = { top: 18, left: 50, right: 6, rowGap: 3 };

/**
 * One allocator's heap in a comparison: rows of pixels from the heap's
 * start, each shaded by live coverage; past the break in grey; a tick
 * where memory grew. All allocators of a comparison share `span` (bytes
 * drawn) so equal sizes look equal.
 * @param view { heapStart, heapTop, memoryBytes, live: { ptr, size } }
 * @param o    { width, height, span, rows, grows: [{oldPages}] }
 */
export function occupancyLayout(view, { width, height, span, rows = 24, grows = [] }) {
  const out = [];
  const inner = Math.max(10, Math.floor(width - OCC.left - OCC.right));
  const rowH = Math.max(3, Math.floor((height - OCC.top - 4) / rows) - OCC.rowGap);
  const perRow = Math.max(16, Math.ceil(span / rows / 16) * 16);
  const perPx = perRow / inner;
  const start = view.heapStart;
  const bucket = Math.max(1, Math.floor(perPx));
  const nb = Math.ceil((perRow * rows) / bucket);
  const cov = coverage(view.live.ptr, view.live.size, start, bucket, nb);
  const topAt = view.heapTop - start;
  for (let r = 0; r < rows; r++) {
    const y = OCC.top + r * (rowH + OCC.rowGap);
    if (y + rowH > height) break;
    const rowStart = r * perRow;
    if (r % Math.max(1, Math.round(rows / 6)) === 0) {
      out.push({ kind: 'text', x: OCC.left - 4, y: y + rowH / 2, text: formatBytes(rowStart), align: 'right', small: true, style: 'muted' });
    }
    // Runs of equal shade in this row.
    let runX = 0;
    let runShade = null; // -2: past the break, else an index in SHADES
    const flush = (xEnd) => {
      if (runShade === null || xEnd <= runX) return;
      const color = runShade === -2 ? '#d9d9d9' : SHADES[runShade];
      out.push({ kind: 'fill', x: OCC.left + runX, y, w: xEnd - runX, h: rowH, color });
    };
    for (let px = 0; px < inner; px++) {
      const a = rowStart + px * perPx;
      let shade;
      if (a >= topAt) shade = -2; // past the break: not the heap (yet)
      else {
        const k = Math.floor(a / bucket);
        shade = shadeOf(cov[k] ?? 0);
      }
      if (shade !== runShade) {
        flush(px);
        runX = px;
        runShade = shade;
      }
    }
    flush(inner);
  }
  // Where memory grew (ticks above the row holding that address).
  let lastKey = '';
  for (const g of grows) {
    const at = g.oldPages * PAGE_SIZE - start;
    if (at < 0 || at >= perRow * rows) continue;
    const r = Math.floor(at / perRow);
    const x = Math.round(OCC.left + ((at - r * perRow) / perRow) * inner);
    const key = `${r}:${x >> 1}`;
    if (key === lastKey) continue;
    lastKey = key;
    const y = OCC.top + r * (rowH + OCC.rowGap);
    if (y + rowH > height) continue;
    out.push({ kind: 'line', x1: x, y1: y - 2, x2: x, y2: y + rowH + 1, line: 'growThin' });
  }
  out.push({ kind: 'text', x: OCC.left, y: 8, text: `${formatBytes(perRow)} per row, from ${hex(start)}`, small: true, style: 'muted' });
  return { instructions: out, perRow, rowH, inner };
}

const COMPARE_COLORS = ['#0072B2', '#D55E00', '#009E73', '#CC79A7'];
const COMPARE_DASH = [[], [6, 3], [2, 2], [8, 3, 2, 3]];

/** Style of allocator k in the comparison's chart and legend. */
export const compareStyle = (k) => ({ color: COMPARE_COLORS[k % 4], dash: COMPARE_DASH[k % 4] });

/**
 * Heap size (break moved) over the trace for each allocator, plus the live
 * bytes (the same for all), and the cursor.
 * @param runs [{ label, history: [{step, growthBytes, liveBytes}] }]
 */
export function compareChartLayout(runs, { width, height, count, cursor }) {
  const pad = { left: 56, right: 10, top: 8, bottom: 16 };
  const out = [];
  const x0 = pad.left;
  const x1 = width - pad.right;
  const y0 = height - pad.bottom;
  const y1 = pad.top;
  let max = 1;
  for (const r of runs) for (const h of r.history) max = Math.max(max, h.growthBytes ?? 0, h.liveBytes ?? 0);
  const xOf = (s) => x0 + (count ? s / count : 0) * (x1 - x0);
  const yOf = (v) => y0 - (v / max) * (y0 - y1);
  out.push({ kind: 'line', x1: x0, y1: y0, x2: x1, y2: y0, line: 'axis' });
  out.push({ kind: 'line', x1: x0, y1: y0, x2: x0, y2: y1, line: 'axis' });
  out.push({ kind: 'text', x: x0 - 4, y: y1 + 4, text: formatBytes(max), align: 'right', small: true, style: 'muted' });
  out.push({ kind: 'text', x: x0 - 4, y: y0, text: '0', align: 'right', small: true, style: 'muted' });
  out.push({ kind: 'text', x: x1, y: y0 + 10, text: `step ${count.toLocaleString('en-US')}`, align: 'right', small: true, style: 'muted' });
  const longest = runs.reduce((best, r) => (r.history.length > (best?.history.length ?? 0) ? r : best), null);
  if (longest && longest.history.length > 1) {
    out.push({ kind: 'path', points: longest.history.map((h) => [xOf(h.step), yOf(h.liveBytes)]), color: '#5a5a5a', width: 1, dash: [1, 2], series: 'live' });
  }
  runs.forEach((r, k) => {
    if (r.history.length < 2) return;
    const st = compareStyle(k);
    out.push({ kind: 'path', points: r.history.map((h) => [xOf(h.step), yOf(h.growthBytes)]), color: st.color, dash: st.dash, width: 2, series: r.label });
  });
  if (cursor !== undefined) out.push({ kind: 'line', x1: xOf(cursor), y1: y0, x2: xOf(cursor), y2: y1, line: 'cursor' });
  return out;
}

/**
 * The step the page shows for one or more replays (their figures; null
 * while a replay has not answered yet: step 0). A replay stopped by a
 * refused operation (figures.error: step e refused, pos e - 1) has gone as
 * far as it can: it holds back no replay still running, and alone it
 * shows step e, the operation refused (its heap is the one before it).
 */
export function sharedStep(figuresList) {
  let running = Infinity;
  let stopped = Infinity;
  for (const f of figuresList) {
    if (f?.error) stopped = Math.min(stopped, f.error.step);
    else running = Math.min(running, f?.step ?? 0);
  }
  if (running !== Infinity) return running;
  return stopped !== Infinity ? stopped : 0;
}

/**
 * The one sentence for a replay stopped by a refused operation
 * (figures.error: { step, message }): "[label ]stopped at step N: why", or
 * "stopped here" when `here` is that step. The message strip, the status
 * line, the explanation line and the comparison's status row all say it.
 */
export function stopText(error, { label = '', here } = {}) {
  const where = error.step === here ? 'stopped here' : `stopped at step ${error.step.toLocaleString('en-US')}`;
  return `${label ? `${label} ` : ''}${where}: ${error.message}`;
}

const pct = (x) => `${(x * 100).toFixed(1)} %`;

/**
 * The comparison table: one column per allocator.
 * @param runs [{ label, figures (Replay.figures()), breakOffset, naturalOffset }]
 * @returns { head: [labels], rows: [[name, ...cells, key]] } cells are text;
 *          `values` holds the numbers (for tests and data attributes)
 */
export function compareRows(runs) {
  const rows = [];
  const add = (key, name, f) => rows.push({ key, name, cells: runs.map((r) => f(r.figures ?? {}, r)) });
  const num = (x) => x.toLocaleString('en-US');
  add('heapPages', 'heap pages grown (Emscripten)', (f) => ({ text: f.heapPages === undefined ? '-' : String(f.heapPages), value: f.heapPages }));
  add('growthBytes', 'break moved', (f) => ({ text: f.growthBytes === undefined ? '-' : formatBytes(f.growthBytes), value: f.growthBytes, title: f.growthBytes === undefined ? '' : `${num(f.growthBytes)} bytes` }));
  add('growEvents', 'memory.grow', (f) => ({ text: f.growEvents === undefined ? '-' : `${f.growEvents} → ${formatBytes(f.memoryBytes)}`, value: f.growEvents, title: 'memory.grow calls so far, and the memory size now' }));
  add('liveBytes', 'live now', (f) => ({ text: f.liveBytes === undefined ? '-' : `${formatBytes(f.liveBytes)} · ${num(f.liveBlocks)}`, value: f.liveBytes, title: 'bytes requested by live blocks, and how many blocks' }));
  add('peakLiveBytes', 'peak live', (f) => ({ text: f.peakLiveBytes === undefined ? '-' : num(f.peakLiveBytes), value: f.peakLiveBytes, title: 'bytes, as bench/replay.c counts them' }));
  // Not the heap tab's "fragmentation" (1 - largest free / free: lmalloc's own stats).
  add('notLive', 'heap not live', (f) => {
    const v = f.growthBytes > 0 ? 1 - f.liveBytes / f.growthBytes : undefined;
    return { text: v === undefined ? '-' : pct(v), value: v, title: v === undefined ? '' : `1 − live / break moved: ${formatBytes(f.growthBytes - f.liveBytes)} of the heap not holding live bytes` };
  });
  add('nsPerOp', 'time per op', (f) => {
    const t = f.timed?.nsPerOp ?? f.nsPerOp;
    if (t === null || t === undefined || (!f.timed && f.opsTimed < 1000)) return { text: '-', value: undefined, title: 'too few operations to time' };
    const how = f.timed ? 'alone' : f.timedAll ? 'whole trace' : `${num(f.opsTimed)} ops`;
    return { text: `${t.toFixed(0)} ns (${how})`, value: t, title: f.timed ? 'the whole trace replayed alone, uninterrupted' : 'timed while replaying (other workers may run at the same time)' };
  });
  add('breakOffset', 'break starts at', (f, r) => ({
    text: r.breakOffset === null || r.breakOffset === undefined ? `+${r.naturalOffset ?? '?'} (own)` : `+${r.breakOffset} (harness)`,
    value: r.breakOffset ?? r.naturalOffset,
    title: 'offset in its 64 KiB page where the break starts: as in the benchmark harness, or the module\'s own',
  }));
  add('error', 'status', (f) => (f.error ? {
    text: stopText(f.error), value: 1,
    title: 'the allocator refused this operation, as the benchmark harness would stop: its figures are those of the step before',
  } : { text: f.step === f.count ? 'at the end' : `at ${f.step === undefined ? '-' : num(f.step)}`, value: 0, title: '' }));
  return { head: runs.map((r) => r.label), rows };
}

/**
 * What the comparison's figures are, in sentences, for the builds in the
 * manifest (web/build.mjs): which build each allocator is, whether the
 * breaks start where the benchmark harness's do (then the figures equal
 * the harness's) or at each module's own offset, and what "heap not live"
 * is.
 * @param allocators the manifest's [{ label, breakOffset: number | null }]
 */
export function compareNote(allocators) {
  const names = (list) => list.map((a) => a.label).join(list.length > 2 ? ', ' : ' and ');
  const breaks = (list) => (list.length > 1 ? `the breaks of ${names(list)} start` : `the break of ${names(list)} starts`);
  const harness = allocators.filter((a) => a.breakOffset !== null && a.breakOffset !== undefined);
  const own = allocators.filter((a) => !harness.includes(a));
  const out = [
    'Each allocator is a standalone Emscripten build (web/build.mjs) replaying the same trace in its own worker. '
    + 'lmalloc here is liblmalloc.a built for Emscripten, whose granule is 8 bytes (alignof(max_align_t), src/block.h); '
    + 'the lmalloc heap tab runs wasm/dist/lmalloc.wasm, built for WASI with a 16-byte granule, so its figures can differ from this column\'s.',
    'Heap pages grown = ceil(break moved / 64 KiB), as bench/replay.c counts them.',
  ];
  if (!own.length) {
    out.push('Each break starts at the same offset in its 64 KiB page as in the benchmark harness, so these figures equal the harness\'s (the emscripten rows of bench/results).');
  } else {
    const sentence = `${harness.length ? `${breaks(harness)} at the benchmark harness's offset, so ${harness.length > 1 ? 'their' : 'its'} figures equal the harness's; ` : ''}`
      + `no harness was built for ${own.length === allocators.length ? 'any allocator' : names(own)} when web/build.mjs ran, `
      + `so ${own.length === allocators.length ? 'each break starts' : breaks(own)} at the module's own offset ("own" under "break starts at"), `
      + 'and heap pages grown may differ by one from the harness\'s (for equal figures: bash bench/build.sh, then node web/build.mjs).';
    out.push(sentence[0].toUpperCase() + sentence.slice(1));
  }
  out.push('Heap not live: 1 − live bytes / break moved, the share of the heap not holding requested bytes '
    + '(not the heap tab\'s fragmentation, which is 1 − largest free block / free bytes).');
  return out.join(' ');
}
