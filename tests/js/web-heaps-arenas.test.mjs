// Created heaps and arenas in the playground, without a browser: the
// session's steps on the real lmalloc-heaps.wasm (web/session.mjs), the
// snapshot that nests them (web/heaps-arenas.mjs), the memory map's
// labelled regions (web/render.mjs) and the block details (details.mjs).
// Every step leaves every heap healthy (lm_check 0), and undo replays
// heaps and arenas like any other step.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { describeEntry } from '../../web/details.mjs';
import { CHUNK_HEADER, PAGE_SIZE } from '../../web/heap-layout.mjs';
import { statRows } from '../../web/panels.mjs';
import {
  BAR, buildTrack, hitTest, labelOf, layout, locate, partsOf, regionMarks,
} from '../../web/render.mjs';
import { FRAMES, frameSizes, scenario } from '../../web/scenarios.mjs';
import { codeOf } from '../../web/session.mjs';
import { entryAt, entryByPtr, entryStart } from '../../web/snapshot.mjs';
import { newSession } from '../web/helpers.mjs';

// Applies a step and checks that it left every heap healthy.
function step(s, op) {
  const r = s.apply(op);
  const snap = s.snapshot();
  assert.equal(s.heap.check(), 0, `default heap after ${codeOf(op)}`);
  for (const h of s.heaps.values()) if (h.alive) assert.equal(h.heap.check(), 0, `heap ${h.name} after ${codeOf(op)}`);
  assert.equal(snap.check, 0);
  assert.deepEqual(snap.problems, [], `snapshot after ${codeOf(op)}`);
  return r;
}

const arenaEntries = (snap, name) => snap.entries.filter((e) => e.arenaName === name && e.kind === 'bump');
const shape = (snap) => snap.entries.map((e) => `${e.kind}:${e.ptr}:${e.size}:${e.used}:${e.within ?? ''}`).join(' ');
const view = (extra = {}) => ({ width: 1000, height: 20000, rowUnits: 16384, scrollY: 0, ...extra });

test('arena steps: create, alloc, reset, destroy, each with its C line', async () => {
  const s = await newSession();
  const pages0 = s.snapshot().pages;
  const c = step(s, { op: 'arenaCreate', name: 'frame' });
  assert.equal(c.kind, 'info');
  assert.match(c.text, /^frame = 0x[0-9a-f]+: an arena of 1 page at 0x[0-9a-f]+ \(memory\.grow gave it 1 new page\)/);
  const a = s.arenas.get('frame');
  assert.equal(a.addr % PAGE_SIZE, CHUNK_HEADER, 'the struct follows the chunk header of a whole page');
  assert.equal(a.addr, a.arena.address, 'the session keeps the lm_arena_t pointer the API gives');
  assert.deepEqual(a.arena.chunks().map((x) => [x.start, x.end]), [[a.addr - CHUNK_HEADER, a.addr - CHUNK_HEADER + PAGE_SIZE]]);
  assert.equal(s.snapshot().pages, pages0 + 1);

  const p = step(s, { op: 'arenaAlloc', arena: 'frame', name: 'p', size: 24 });
  const q = step(s, { op: 'arenaAlloc', arena: 'frame', name: 'q', size: 100 });
  const al = step(s, { op: 'arenaAlloc', arena: 'frame', name: 'al', size: 8, align: 256 });
  const z = step(s, { op: 'arenaAlloc', arena: 'frame', name: 'z', count: 4, size: 10 });
  assert.equal(q.ptr, p.ptr + 32, 'bump allocation: 24 bytes take 32, no header');
  assert.equal(al.ptr % 256, 0);
  assert.ok(s.peek(z.ptr, 40).every((b) => b === 0), 'lm_arena_calloc zeroes');
  assert.equal(codeOf({ op: 'arenaAlloc', arena: 'frame', name: 'q', size: 100 }), 'q = lm_arena_alloc(frame, 100);');
  assert.equal(codeOf({ op: 'arenaAlloc', arena: 'frame', name: 'al', size: 8, align: 256 }), 'al = lm_arena_aligned_alloc(frame, 256, 8);');
  assert.equal(codeOf({ op: 'arenaAlloc', arena: 'frame', name: 'z', count: 4, size: 10 }), 'z = lm_arena_calloc(frame, 4, 10);');
  assert.equal(codeOf({ op: 'arenaCreate', name: 'frame' }), 'frame = lm_arena_create(0);');
  assert.equal(codeOf({ op: 'arenaReset', arena: 'frame' }), 'lm_arena_reset(frame);');
  assert.equal(codeOf({ op: 'arenaDestroy', arena: 'frame' }), 'lm_arena_destroy(frame);');

  // The snapshot knows what the arena itself reports.
  let snap = s.snapshot();
  const info = a.arena.info();
  const [arena] = snap.arenas;
  assert.deepEqual([arena.used, arena.allocations, arena.held, arena.pages, arena.chunks.length, arena.peak],
    [info.usedBytes, info.allocations, info.heldBytes, info.pages, info.chunks, info.peakBytes]);
  assert.deepEqual(arenaEntries(snap, 'frame').map((e) => [e.ptr, e.label, e.requested, e.size]),
    [[p.ptr, 'p', 24, 32], [q.ptr, 'q', 100, 112], [al.ptr, 'al', 8, 16], [z.ptr, 'z', 40, 48]]);
  assert.deepEqual(snap.vars.map((v) => [v.name, v.state]), [['p', 'live'], ['q', 'live'], ['al', 'live'], ['z', 'live']]);

  const r = step(s, { op: 'arenaReset', arena: 'frame' });
  // 32 + 112 + 32 of alignment padding + 16 + 48 bytes.
  assert.match(r.text, /4 allocations \(240 B\) freed at once in O\(1\)/);
  snap = s.snapshot();
  assert.equal(arenaEntries(snap, 'frame').length, 0);
  assert.deepEqual(snap.vars.map((v) => v.state), ['dangling', 'dangling', 'dangling', 'dangling'], 'pointers into an arena die at its reset');
  assert.equal(snap.arenas[0].used, 0);
  assert.equal(snap.arenas[0].pages, 1, 'the reset keeps the pages');
  const again = step(s, { op: 'arenaAlloc', arena: 'frame', name: 'p2', size: 24 });
  assert.equal(again.ptr, p.ptr, 'after a reset the bump starts over');

  const d = step(s, { op: 'arenaDestroy', arena: 'frame' });
  assert.match(d.text, /1 page went to the page pool/);
  snap = s.snapshot();
  assert.deepEqual(snap.arenas, []);
  assert.deepEqual(snap.pool.map((x) => [x.start, x.end, x.from]), [[a.addr - CHUNK_HEADER, a.addr - CHUNK_HEADER + PAGE_SIZE, 'arena frame']]);
  assert.equal(snap.regions.filter((x) => x.kind === 'pool').length, 1);
  assert.equal(snap.handles.find((h) => h.name === 'frame').alive, false);
  // A new arena reuses the pool's page: no memory.grow.
  const pages = snap.pages;
  const n = step(s, { op: 'arenaCreate', name: 'next' });
  assert.match(n.text, /its pages came from the page pool, without memory\.grow/);
  assert.equal(s.snapshot().pages, pages);
  assert.equal(s.arenas.get('next').addr, a.addr);
  assert.deepEqual(s.snapshot().pool, [], 'the run is taken back from the pool');
});

test('per-frame arena: after N frames the arena holds the pages it held after frame 1, and nothing fragments', async () => {
  const s = await newSession();
  const sc = scenario('arena');
  const results = sc.steps.map((op) => step(s, op));
  results.forEach((r, k) => {
    assert.equal(r.kind, 'info', `step ${k + 1}: ${r.text}`);
    assert.ok(r.say && r.code, `step ${k + 1} says what it does`);
  });
  const snap = s.snapshot();
  const h = snap.history;
  // Steps 2 .. FRAMES + 1 are the frames.
  const frames = h.slice(2, FRAMES + 2);
  assert.equal(frames.length, FRAMES);
  assert.equal(h[1].arenaHeldBytes, PAGE_SIZE, 'a fresh arena holds one page');
  assert.equal(frames[0].arenaHeldBytes, 2 * PAGE_SIZE, 'frame 1 needed a second chunk');
  for (const f of frames) {
    assert.equal(f.arenaHeldBytes, frames[0].arenaHeldBytes, `frame at step ${f.step}: the same pages as after frame 1`);
    assert.equal(f.memoryBytes, frames[0].memoryBytes, `frame at step ${f.step}: no memory.grow after frame 1`);
  }
  // The arena's used bytes are exactly the frame's requests, rounded to 16.
  for (let k = 1; k <= FRAMES; k++) {
    const want = frameSizes(k).reduce((n, x) => n + Math.ceil(x / 16) * 16, 0);
    assert.equal(h[k + 1].arenaUsedBytes, want, `frame ${k}`);
  }
  // memory.grow: the arena's page, then frame 1 only (arena and heap).
  assert.deepEqual([...new Set(snap.grows.map((g) => g.step))], [1, 2]);
  assert.ok(snap.grows.every((g) => g.step > 1 || g.cause === 'createArena'));
  // The scenario's words: the heap grew by 2 pages in frame 1, 26 slabs,
  // fragmentation of about 40 to 50% on the malloc side.
  assert.equal(snap.grows.filter((g) => g.cause === 'malloc').reduce((n, g) => n + g.newPages - g.oldPages, 0), 2);
  assert.equal(h[6].slabs, 26);
  for (const f of frames) assert.ok(f.fragmentation >= 0.35 && f.fragmentation < 0.55, `malloc side fragmentation ${f.fragmentation}`);
  let total = 0;
  for (let k = 1; k <= FRAMES; k++) total += frameSizes(k).length;
  assert.equal(total, 3860);
  // The last frame's allocations sit back to back: no hole between any two.
  await s.goto(FRAMES + 1);
  const last = s.snapshot();
  const bumps = arenaEntries(last, 'frame');
  assert.equal(bumps.length, frameSizes(FRAMES).length);
  for (let i = 1; i < bumps.length; i++) {
    const prev = bumps[i - 1];
    const gap = bumps[i].ptr - (prev.ptr + prev.size);
    // A chunk change skips the first chunk's tail; never a hole inside a chunk.
    if (bumps[i].within === prev.within) assert.equal(gap, 0, `allocations ${i - 1} and ${i}`);
  }
  assert.equal(last.arenas[0].pages, 2);
  assert.equal(last.arenas[0].used, bumps.reduce((n, e) => n + e.size, 0), 'used: the allocations and nothing else');
});

test('the memory map draws an arena as one framed, labelled region whose extent is its pages', async () => {
  const s = await newSession();
  step(s, { op: 'malloc', name: 'a', size: 300 });
  step(s, { op: 'arenaCreate', name: 'frame' });
  step(s, { op: 'arenaMany', arena: 'frame', name: 'tmp', sizes: frameSizes(1) });
  const snap = s.snapshot();
  const info = s.arenas.get('frame').arena.info();
  assert.equal(info.pages, 2);
  // Regions: one per chunk, together exactly the arena's pages.
  const regions = snap.regions.filter((r) => r.kind === 'arena' && r.arena === 'frame');
  assert.equal(regions.length, info.chunks);
  assert.equal(regions.reduce((n, r) => n + r.end - r.start, 0), info.pages * PAGE_SIZE);
  assert.equal(regions.reduce((n, r) => n + r.end - r.start, 0), info.heldBytes);
  // The map frames them and names the arena with its figures.
  const marks = regionMarks(snap).filter((m) => m.name === 'frame');
  assert.deepEqual(marks.map((m) => [m.start, m.end]), regions.map((r) => [r.start, r.end]));
  const { instructions, geometry: g } = layout(snap, view());
  const tags = instructions.filter((d) => d.kind === 'label' && d.tag === 'arena');
  assert.deepEqual(tags.map((t) => t.text), [`arena frame: 2 pages, ${(info.usedBytes / 1024).toFixed(1)} KiB used`, 'arena frame: chunk 2 of 2']);
  const frames = instructions.filter((d) => d.kind === 'outline' && d.outline === 'arena');
  const framed = frames.reduce((n, d) => n + d.w, 0);
  assert.ok(Math.abs(framed - info.heldBytes * g.ppu) < 1e-6, `the frames cover ${framed}px, the pages ${info.heldBytes * g.ppu}px`);
  // Inside: the chunk headers, the arena struct, every allocation, the bump space.
  const track = buildTrack(snap);
  const inside = track.pieces.filter((p) => p.start >= regions[0].start && p.end <= regions.at(-1).end);
  assert.equal(inside.filter((p) => p.kind === 'entry').length, frameSizes(1).length);
  assert.deepEqual(inside.slice(0, 2).map((p) => labelOf(snap, p)), ['chunk header 16 B', 'arena frame\'s struct 64 B']);
  const styles = new Set(inside.flatMap((p) => partsOf(snap, p).map((x) => x.style)));
  for (const st of ['arenameta', 'bump', 'slack', 'arenafree']) assert.ok(styles.has(st), st);
  // Clicking the tag selects the chunk; clicking an allocation selects it.
  const first = snap.entries[regions[0].entry];
  assert.equal(hitTest(snap, g, tags[0].x + 2, tags[0].y), first.index);
  assert.equal(first.kind, 'chunk');
  const tmp = s.vars.get('tmp').addrs[400];
  const at = locate(g, tmp);
  const i = hitTest(snap, g, at.x + 0.5, at.y + BAR / 2);
  assert.equal(snap.entries[i].label, 'tmp[400]');
  assert.equal(entryAt(snap, regions[0].end - 1), first.index, 'the free bump space belongs to the chunk');
  // Every entry, nested or not, is found again where it is drawn (but for
  // those under a tag, which stands for its region).
  const underTag = (x, y) => g.tags.some((t) => x >= t.x && x <= t.x + t.w && Math.abs(y - t.y) <= 8);
  let checked = 0;
  for (const e of snap.entries) {
    const a = locate(g, entryStart(e));
    const x = a.x + Math.min(0.5, (e.size * g.ppu) / 2);
    if (underTag(x, a.y + BAR / 2)) continue;
    assert.equal(hitTest(snap, g, x, a.y + BAR / 2), e.index, `${e.kind} at ${entryStart(e)}`);
    checked++;
  }
  assert.ok(checked > snap.entries.length * 0.8, `${checked} of ${snap.entries.length} entries checked`);
});

test('details explain a click on an arena chunk and on an arena allocation', async () => {
  const s = await newSession();
  step(s, { op: 'arenaCreate', name: 'frame' });
  const p = step(s, { op: 'arenaAlloc', arena: 'frame', name: 'p', size: 24 });
  const snap = s.snapshot();
  const log = s.log();
  const e = snap.entries[entryByPtr(snap, p.ptr)];
  const d = describeEntry(snap, e.index, s.peek(e.ptr, 32), log);
  assert.equal(d.title, 'arena allocation "p"');
  const rows = Object.fromEntries(d.rows);
  assert.equal(rows.requested, '24 B');
  assert.equal(rows.size, '32 B (rounded to 16; no header)');
  assert.equal(rows.allocated, 'step 2: p = lm_arena_alloc(frame, 24);');
  assert.match(d.note, /lm_arena_reset\(frame\)/);
  const chunk = snap.entries[e.within];
  const dc = describeEntry(snap, chunk.index, s.peek(chunk.header, 64), log);
  assert.equal(dc.title, 'arena frame: chunk 1 of 1');
  const crow = Object.fromEntries(dc.rows);
  assert.match(crow.state, /^being filled: the bump pointer is at 0x[0-9a-f]+/);
  assert.match(crow.arena, /^frame: 32 B used of 64 KiB \(1 page, 1 chunk\)/);
  assert.equal(crow.created, 'step 1: frame = lm_arena_create(0);');
  const rows2 = Object.fromEntries(statRows(snap).map(([, text, key, value]) => [key, { text, value }]));
  assert.deepEqual(rows2['arena:frame'], { text: '1 page · 32 B used · peak 32 B', value: PAGE_SIZE });
});

test('undo of a reset restores the arena\'s blocks; redo resets again', async () => {
  const s = await newSession();
  step(s, { op: 'arenaCreate', name: 'frame' });
  step(s, { op: 'arenaMany', arena: 'frame', name: 'tmp', count: 3, size: 40 });
  step(s, { op: 'write', target: { ref: 'tmp', index: 1 }, text: 'kept' });
  const before = shape(s.snapshot());
  const addrs = [...s.vars.get('tmp').addrs];
  step(s, { op: 'arenaReset', arena: 'frame' });
  assert.equal(arenaEntries(s.snapshot(), 'frame').length, 0);
  await s.undo();
  const snap = s.snapshot();
  assert.equal(shape(snap), before);
  assert.deepEqual(arenaEntries(snap, 'frame').map((e) => e.ptr), addrs);
  assert.equal(snap.vars.find((v) => v.name === 'tmp').live, 3);
  assert.equal(s.readString(addrs[1]), 'kept', 'the data is back too');
  assert.equal(s.arenas.get('frame').arena.info().allocations, 3);
  s.redo();
  assert.equal(arenaEntries(s.snapshot(), 'frame').length, 0);
  assert.equal(s.heap.check(), 0);
});

test('bad input is refused with the typed error and loses nothing', async () => {
  const s = await newSession();
  step(s, { op: 'arenaCreate', name: 'frame' });
  step(s, { op: 'arenaMany', arena: 'frame', name: 'tmp', count: 5, size: 24 });
  const info = () => s.arenas.get('frame').arena.info();
  let before = [shape(s.snapshot()), JSON.stringify(info())];
  const neg = step(s, { op: 'arenaAlloc', arena: 'frame', name: 'p', size: -1 });
  assert.equal(neg.kind, 'error');
  assert.equal(neg.error, 'InvalidSizeError');
  assert.match(neg.explain, /checks every size before it calls into wasm, so nothing changed/);
  assert.deepEqual([shape(s.snapshot()), JSON.stringify(info())], before);
  const many = step(s, { op: 'arenaMany', arena: 'frame', name: 'more', sizes: [16, 16, -3, 16] });
  assert.equal(many.error, 'InvalidSizeError', 'one bad size refuses the whole loop');
  assert.deepEqual([shape(s.snapshot()), JSON.stringify(info())], before);
  assert.equal(s.vars.has('more'), false);
  const heapNeg = step(s, { op: 'malloc', name: 'm', size: -5 });
  assert.equal(heapNeg.error, 'InvalidSizeError');
  const bad = step(s, { op: 'arenaAlloc', arena: 'nosuch', name: 'p', size: 8 });
  assert.equal(bad.error, 'StepError');

  step(s, { op: 'arenaDestroy', arena: 'frame' });
  before = shape(s.snapshot());
  const pages = s.snapshot().pages;
  for (const op of [
    { op: 'arenaAlloc', arena: 'frame', name: 'p', size: 8 },
    { op: 'arenaReset', arena: 'frame' },
    { op: 'arenaDestroy', arena: 'frame' },
  ]) {
    const r = step(s, op);
    assert.equal(r.kind, 'error', codeOf(op));
    assert.equal(r.error, 'DestroyedError', codeOf(op));
    assert.match(r.explain, /After lm_arena_destroy the handle is dangling/);
    assert.equal(shape(s.snapshot()), before, `${codeOf(op)} changed nothing`);
    assert.equal(s.snapshot().pages, pages);
  }
  assert.equal(s.vars.has('p'), false);
  // A refused step is a step: undo and redo go through it.
  const n = s.cursor;
  await s.undo();
  s.redo();
  assert.equal(s.cursor, n);
  assert.equal(shape(s.snapshot()), before);
});

test('arena mistakes: free, overflow, use after reset, write into reused memory', async () => {
  const s = await newSession();
  step(s, { op: 'arenaCreate', name: 'frame' });
  const p = step(s, { op: 'arenaAlloc', arena: 'frame', name: 'p', size: 24 });
  const q = step(s, { op: 'arenaAlloc', arena: 'frame', name: 'q', size: 24 });
  const before = shape(s.snapshot());
  const f = step(s, { op: 'free', target: { ref: 'p' } });
  assert.deepEqual([f.kind, f.error, f.at], ['error', 'ArenaFree', p.ptr]);
  assert.match(f.explain, /is in arena frame, not a block of the default heap/);
  const r = step(s, { op: 'realloc', target: { ref: 'p' }, size: 100 });
  assert.equal(r.error, 'ArenaFree');
  assert.equal(shape(s.snapshot()), before);
  const o = step(s, { op: 'write', target: { ref: 'p' }, text: 'x'.repeat(40) });
  assert.equal(o.error, 'Overflow');
  assert.match(o.explain, /runs 9 bytes past its end\. The 9 extra bytes would land on the next allocation of arena frame, "q"/);
  assert.ok(s.peek(q.ptr, 16).every((b) => b === 0), 'q is untouched');
  const ok = step(s, { op: 'write', target: { ref: 'p' }, text: 'hello' });
  assert.equal(ok.kind, 'info');
  assert.equal(s.readString(p.ptr), 'hello');
  step(s, { op: 'arenaReset', arena: 'frame' });
  const u = step(s, { op: 'write', target: { ref: 'p' }, text: 'late' });
  assert.equal(u.error, 'UseAfterReset');
  assert.match(u.explain, /which was reset at step 8/);
  step(s, { op: 'arenaAlloc', arena: 'frame', name: 'n', size: 24 });
  const w = step(s, { op: 'write', target: { ref: 'p' }, text: 'late' });
  assert.equal(w.error, 'WriteToReused', 'the new frame\'s data changed');
  assert.equal(s.readString(p.ptr), 'late');
  assert.match(w.explain, /now belongs to "n"/);
});

test('a created heap: its own region inside a block of the default heap, with its blocks in it', async () => {
  const s = await newSession();
  step(s, { op: 'malloc', name: 'a', size: 300 });
  const c = step(s, { op: 'heapCreate', name: 'h', bytes: 16384 });
  assert.match(c.text, /^h: a heap of its own in a 16 KiB block of the default heap/);
  assert.equal(codeOf({ op: 'heapCreate', name: 'h', bytes: 16384 }), 'h_mem = malloc(16384); h = lm_heap_create(h_mem, 16384);');
  const b1 = step(s, { op: 'malloc', name: 'b1', size: 1000, heap: 'h' });
  const b2 = step(s, { op: 'malloc', name: 'b2', size: 40, heap: 'h' });
  const b3 = step(s, { op: 'calloc', name: 'b3', count: 3, size: 100, heap: 'h' });
  assert.equal(codeOf({ op: 'malloc', name: 'b1', size: 1000, heap: 'h' }), 'b1 = lm_heap_malloc(h, 1000);');
  assert.equal(codeOf({ op: 'free', target: { ref: 'b1' }, heap: 'h' }), 'lm_heap_free(h, b1);');
  let snap = s.snapshot();
  const [h] = snap.heaps;
  const buffer = snap.entries[h.index];
  assert.equal(buffer.heapBuffer, 'h');
  assert.equal(buffer.ptr, s.heaps.get('h').buffer);
  // Its walk's entries follow the block that holds them, inside it.
  const inner = snap.entries.filter((e) => e.heapName === 'h');
  assert.equal(inner.length, s.heaps.get('h').heap.blocks().length);
  for (const e of inner) {
    assert.ok(entryStart(e) >= buffer.ptr && entryStart(e) + e.size <= buffer.header + buffer.size, `${e.kind} at ${e.ptr} inside`);
  }
  for (const r of [b1, b2, b3]) assert.equal(snap.entries[entryByPtr(snap, r.ptr)].heapName, 'h');
  assert.equal(snap.entries[entryByPtr(snap, b1.ptr)].label, 'b1');
  // Framed and labelled in the map.
  const { instructions } = layout(snap, view());
  const tag = instructions.find((d) => d.kind === 'label' && d.tag === 'heap');
  assert.equal(tag.text, 'heap h: 16 KiB fixed, 3 blocks, 1.33 KiB in use');
  assert.deepEqual([tag.start, tag.end], [buffer.header, buffer.header + buffer.size]);
  // The holding block ends with its seal, as every block in use does.
  const own = buildTrack(snap).pieces.filter((p) => p.kind === 'sub' && p.ref === h.index);
  assert.deepEqual(own.map((p) => [p.style, p.end - p.start]).at(-1), ['seal', 4]);
  assert.equal(own.at(-1).end, buffer.header + buffer.size);
  const d = describeEntry(snap, entryByPtr(snap, b1.ptr), s.peek(b1.ptr - 4, 16), s.log());
  assert.equal(d.title, 'heap h: block "b1"');
  // free on the wrong heap, free of its block, and the right free.
  const before = shape(snap);
  const wrong = step(s, { op: 'free', target: { ref: 'b1' } });
  assert.equal(wrong.error, 'WrongHeap');
  assert.match(wrong.explain, /belongs to heap h/);
  const other = step(s, { op: 'free', target: { ref: 'a' }, heap: 'h' });
  assert.equal(other.error, 'WrongHeap');
  const inUse = step(s, { op: 'free', target: { addr: buffer.ptr } });
  assert.equal(inUse.error, 'HeapInUse');
  assert.equal(shape(s.snapshot()), before);
  const right = step(s, { op: 'free', target: { ref: 'b1' }, heap: 'h' });
  assert.equal(right.kind, 'info');
  const twice = step(s, { op: 'free', target: { ref: 'b1' }, heap: 'h' });
  assert.equal(twice.error, 'DoubleFreeError');
  const wr = step(s, { op: 'write', target: { ref: 'b2' }, text: 'in h' });
  assert.equal(wr.kind, 'info');
  assert.equal(s.readString(b2.ptr), 'in h');
  // Destroy: its blocks go at once, its block goes back to the default heap.
  const gone = step(s, { op: 'heapDestroy', name: 'h' });
  assert.match(gone.text, /freed its 2 blocks at once/);
  snap = s.snapshot();
  assert.deepEqual(snap.heaps, []);
  assert.equal(snap.entries.some((e) => e.heapName), false);
  assert.deepEqual(snap.vars.filter((v) => v.name.startsWith('b')).map((v) => v.state), ['dangling', 'dangling', 'dangling']);
  const again = step(s, { op: 'malloc', name: 'x', size: 10, heap: 'h' });
  assert.equal(again.error, 'DestroyedError');
  await s.goto(4);
  assert.equal(s.snapshot().heaps[0].stats.usedBlocks, 2, 'undo brings the heap back');
});

test('100,000 arena allocations: the map stays bounded by pixels', async () => {
  const s = await newSession();
  step(s, { op: 'arenaCreate', name: 'big' });
  step(s, { op: 'arenaMany', arena: 'big', name: 'tmp', count: 100000, size: 16 });
  const snap = s.snapshot();
  assert.equal(arenaEntries(snap, 'big').length, 100000);
  const t0 = performance.now();
  const { instructions } = layout(snap, { width: 1000, height: 600, rowUnits: 65536 * 4, scrollY: 0 });
  const ms = performance.now() - t0;
  assert.ok(instructions.length < 5000, `${instructions.length} instructions`);
  assert.ok(ms < 1500, `${ms} ms`);
  assert.equal(snap.arenas[0].allocations, 100000);
});

test('the memory.grow stat counts every grow the map marks, arenas\' too', async () => {
  const statsOf = (snap) => Object.fromEntries(statRows(snap).map(([label, text, key, value]) => [key, { label, text, value }]));
  const s = await newSession();
  step(s, { op: 'arenaCreate', name: 'frame' });
  step(s, { op: 'arenaAlloc', arena: 'frame', name: 'x', size: 70000 });
  step(s, { op: 'arenaCreate', name: 'big', chunkBytes: 200000 });
  const snap = s.snapshot();
  assert.equal(snap.pages, 9);
  assert.equal(snap.grows.length, 3, 'three grow markers');
  const rows = statsOf(snap);
  assert.deepEqual(rows.memoryGrows, { label: 'memory.grow (all)', text: '3 (7 pages)', value: 3 });
  // The default heap's own figure (lm_stats) stays, labelled as such.
  assert.deepEqual(rows.growCount, { label: '· by the default heap', text: '0 (0 pages)', value: 0 });

  // The per-frame arena scenario: 4 markers, 2 of them the default heap's.
  const f = await newSession();
  f.applyAll(scenario('arena').steps);
  const fs = f.snapshot();
  const frows = statsOf(fs);
  assert.equal(frows.memoryGrows.value, fs.grows.length);
  assert.equal(frows.memoryGrows.text, `${fs.grows.length} (${fs.grows.reduce((n, g) => n + g.newPages - g.oldPages, 0)} pages)`);
  assert.equal(frows.growCount.value, f.heap.stats().growCount);
  assert.ok(fs.grows.length > frows.growCount.value, `${fs.grows.length} grows, ${frows.growCount.value} of them the default heap's`);

  // Without arenas the one row is both. The start-up region is filled
  // first, so the big block needs one page wherever the heap starts.
  const d = await newSession();
  step(d, { op: 'many', name: 'a', fill: true, size: 1000 });
  step(d, { op: 'malloc', name: 'big', size: 30000 });
  const drows = statsOf(d.snapshot());
  assert.equal(drows.memoryGrows, undefined);
  assert.deepEqual(drows.growCount, { label: 'memory.grow', text: '1 (1 page)', value: 1 });
});
