// The playground's pure rendering (web/render.mjs, index-view.mjs,
// chart.mjs, details.mjs, mistakes.mjs, draw.mjs), without a browser: the
// map is drawn to scale in address order, every block can be found again
// by hit testing, compression keeps small blocks visible, the work stays
// bounded with 100,000 blocks, and the index, chart and details show what
// the snapshot holds.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { chartLayout, SERIES } from '../../web/chart.mjs';
import { describeEntry, dumpStart, headerText, hexDump } from '../../web/details.mjs';
import { draw } from '../../web/draw.mjs';
import { CLASSES, MAP_WORDS, PAGE_SIZE, decodeHeader } from '../../web/heap-layout.mjs';
import { describeIndexRef, indexHit, indexLayout, related } from '../../web/index-view.mjs';
import * as explain from '../../web/mistakes.mjs';
import { statRows } from '../../web/panels.mjs';
import {
  BAR, GUTTER, PITCH, addrOf, buildTrack, compressedLength, fitRowUnits, hitTest, labelOf, layout,
  locate, maxRowUnits, neighbour, partsOf, pointToAddress, segmentsOf, unitOf, zoomAt,
} from '../../web/render.mjs';
import { scenario } from '../../web/scenarios.mjs';
import { entryStart } from '../../web/snapshot.mjs';
import { FAMILY, LEGEND, STYLES } from '../../web/styles.mjs';
import { newSession } from '../web/helpers.mjs';

async function sampleSession() {
  const s = await newSession();
  s.apply({ op: 'malloc', name: 'small', size: 10 });
  s.apply({ op: 'malloc', name: 'mid', size: 290 });
  s.apply({ op: 'malloc', name: 'gone', size: 300 });
  s.apply({ op: 'malloc', name: 'lost', size: 700 });
  s.apply({ op: 'malloc', name: 'big', size: 5000 });
  s.apply({ op: 'assign', name: 'lost', value: null });
  s.apply({ op: 'free', target: { ref: 'gone' } });
  return s;
}

const view = (extra = {}) => ({ width: 1000, height: 600, rowUnits: 4096, scrollY: 0, ...extra });
// The same, scrolled so that the row holding the heap's first byte is the
// first row in view (static data and the stack come before it: how much
// depends on the module's data, which the heaps module makes 64 KiB larger).
function heapView(snap, extra = {}) {
  const v = view(extra);
  const row = Math.floor(unitOf(buildTrack(snap, !!v.compress), snap.spans[0].start) / v.rowUnits);
  return { ...v, scrollY: row * PITCH };
}

test('the track covers all of memory in address order', async () => {
  const snap = (await sampleSession()).snapshot();
  for (const compress of [false, true]) {
    const track = buildTrack(snap, compress);
    let at = 0;
    let u = 0;
    for (const p of track.pieces) {
      assert.equal(p.start, at, `${p.kind} at ${p.start} follows the previous piece`);
      assert.equal(p.u0, u);
      at = p.end;
      u += p.ulen;
    }
    assert.equal(at, snap.memoryBytes);
    assert.equal(track.units, u);
    if (!compress) assert.equal(track.units, snap.memoryBytes, 'uncompressed, one unit is one byte');
  }
  assert.ok(buildTrack(snap, true).units < snap.memoryBytes / 2, 'compression shrinks the free and unused stretches');
  assert.equal(buildTrack(snap, true), buildTrack(snap, true), 'tracks are cached per snapshot');
  assert.equal(compressedLength(100), 100);
  assert.ok(compressedLength(4096) < compressedLength(65536));
});

test('unitOf and addrOf are inverse', async () => {
  const snap = (await sampleSession()).snapshot();
  for (const compress of [false, true]) {
    const track = buildTrack(snap, compress);
    for (const e of snap.entries) {
      const a = entryStart(e);
      assert.equal(addrOf(track, unitOf(track, a)), a, `${compress} ${a}`);
    }
  }
});

test('blocks are drawn to scale: header, requested bytes, slack, seal', async () => {
  const s = await sampleSession();
  const snap = s.snapshot();
  const ppu = (1000 - GUTTER - 10) / 4096;
  const { instructions } = layout(snap, heapView(snap));
  const mid = snap.entries.find((e) => e.label === 'mid');
  const rects = instructions.filter((d) => d.kind === 'rect' && d.ref === mid.index);
  const used = rects.find((d) => d.style === 'used');
  assert.ok(rects.some((d) => d.style === 'header'));
  assert.ok(Math.abs(used.w - 290 * ppu) < 1e-6, `requested part ${used.w}px`);
  // 290 requested of 304 - 8 usable: 6 bytes of slack, then the seal (both
  // under the smallest drawn width at this scale: painted as tiny codes).
  const parts = partsOf(snap, buildTrack(snap).pieces.find((p) => p.entry === mid.index));
  assert.deepEqual(parts.map((p) => [p.style, p.a1 - p.a0]), [['header', 4], ['used', 290], ['slack', 6], ['seal', 4]]);
  assert.equal(parts.at(-1).a1, mid.header + mid.size, 'the seal is the block\'s last 4 bytes');
});

test('used, free, top, leaked, slab and object bytes have distinct styles', async () => {
  const snap = (await sampleSession()).snapshot();
  const track = buildTrack(snap);
  const styles = new Set(track.pieces.flatMap((p) => partsOf(snap, p).map((x) => x.style)));
  for (const st of ['header', 'seal', 'used', 'slack', 'free', 'freemeta', 'top', 'leak', 'slabhdr', 'object', 'objfree', 'data', 'stack', 'stackused', 'spanmeta', 'unused']) {
    assert.ok(styles.has(st), `some byte is drawn as ${st}`);
  }
  // Colour-blind safety: no two styles share both fill and pattern.
  const seen = new Map();
  for (const [name, st] of Object.entries(STYLES)) {
    const key = `${st.fill}|${st.pattern}`;
    assert.ok(!seen.has(key), `${name} and ${seen.get(key)} look the same`);
    seen.set(key, name);
    assert.ok(st.legend, `${name} has a legend`);
    assert.ok(FAMILY[name], `${name} has a family`);
  }
  assert.deepEqual(new Set(LEGEND), new Set(Object.keys(STYLES)));
  // In use versus free never rests on colour alone: their patterns differ.
  const inUse = ['header', 'seal', 'used', 'slack', 'leak', 'object', 'slabhdr', 'spanmeta'];
  const free = ['free', 'freemeta', 'top', 'pad', 'objfree', 'unused'];
  for (const a of inUse) for (const b of free) assert.notEqual(STYLES[a].pattern, STYLES[b].pattern, `${a} vs ${b}`);
  assert.equal(new Set(['used', 'object', 'leak', 'slack'].map((k) => STYLES[k].pattern)).size, 4);
  assert.notEqual(STYLES.stack.pattern, STYLES.stackused.pattern);
  const lost = snap.entries.find((e) => e.label === 'lost');
  assert.match(labelOf(snap, track.pieces.find((p) => p.entry === lost.index)), /^LEAK lost 700\/712 B/);
});

test('every entry is found again at its drawn position', async () => {
  const snap = (await sampleSession()).snapshot();
  for (const compress of [false, true]) {
    const v = view({ width: 1200, height: 20000, rowUnits: 1024, compress });
    const { geometry: g } = layout(snap, v);
    for (const e of snap.entries) {
      const a = entryStart(e);
      const at = locate(g, a);
      const x = at.x + Math.min(1, (e.size * g.ppu) / 2);
      assert.equal(hitTest(snap, g, x, at.y + BAR / 2), e.index, `entry ${e.index} (${e.kind} at ${a}, compress ${compress})`);
      assert.equal(pointToAddress(g, at.x + 0.01, at.y + 2), a);
    }
    assert.equal(pointToAddress(g, GUTTER - 5, 30), -1, 'the gutter is not memory');
  }
});

test('page boundaries, memory end and grows are marked', async () => {
  const s = await newSession();
  const start = s.snapshot().pages; // data, stack and the start-up region
  s.apply({ op: 'malloc', name: 'a', size: 100 });
  s.apply({ op: 'malloc', name: 'b', size: 150000 });
  const snap = s.snapshot();
  // One memory.grow of three pages: the slab holding a (100 bytes) is cut
  // from the end of the start-up region's free space, so b (which needs
  // 2.3 pages) cannot join that free space and gets none of it.
  const grown = snap.pages - start;
  assert.equal(grown, 3);
  const { instructions } = layout(snap, view({ rowUnits: 65536, height: 400 }));
  const lines = instructions.filter((d) => d.kind === 'line');
  assert.deepEqual(lines.map((d) => d.line), [...Array(start).fill('page'), 'grow', ...Array(grown - 1).fill('page'), 'end']);
  const texts = instructions.filter((d) => d.kind === 'text').map((d) => d.text);
  assert.ok(texts.includes(`▼ grow 1: step 2 malloc(150000) +${grown}p`), texts.join(' | '));
  assert.ok(texts.includes(`end of memory: ${start + grown} pages`));
  // Rows of one page each: boundaries sit at the start of rows.
  for (const d of lines.filter((l) => l.line === 'page')) assert.equal(d.x1, GUTTER);
});

test('selection, hover and highlights are outlined, frames drawn', async () => {
  const s = await sampleSession();
  s.apply({ op: 'push', fn: 'main', locals: [{ name: 'buf', type: 'char', size: 64 }] });
  const snap = s.snapshot();
  const mid = snap.entries.find((e) => e.label === 'mid').index;
  const big = snap.entries.find((e) => e.label === 'big').index;
  const { instructions } = layout(snap, heapView(snap, { selected: mid, hover: big, highlight: new Set([0]) }));
  const outlines = instructions.filter((d) => d.kind === 'outline');
  const kinds = [...new Set(outlines.map((o) => `${o.outline}:${o.ref}`))];
  assert.deepEqual(kinds, [`highlight:0`, `hover:${big}`, `selected:${mid}`]);
  assert.equal(instructions.at(-1).outline, 'selected', 'the selection is drawn last');
  assert.ok(instructions.some((d) => d.kind === 'rect' && d.style === 'frame'));
  assert.ok(instructions.some((d) => d.kind === 'text' && d.text === 'main() frame 64 B'));
});

test('segmentsOf splits a range at row ends', async () => {
  const snap = (await sampleSession()).snapshot();
  const { geometry: g } = layout(snap, view({ rowUnits: 1024, height: 5000 }));
  const segs = segmentsOf(g, 1000, 3100);
  assert.deepEqual(segs.map((x) => x.row), [0, 1, 2, 3]);
  assert.ok(Math.abs(segs[1].x1 - segs[1].x0 - 1024 * g.ppu) < 1e-6);
});

test('zooming keeps the byte under the pointer in the row under the pointer', async () => {
  const snap = (await sampleSession()).snapshot();
  let v = view({ rowUnits: 4096, height: 600 });
  const x = 500;
  const y = PITCH * 5 + 25;
  for (const factor of [0.5, 0.25, 2, 4]) {
    const before = pointToAddress(layout(snap, v).geometry, x, y);
    v = { ...v, ...zoomAt(layout(snap, v).geometry, x, y, factor) };
    const g = layout(snap, v).geometry;
    const at = locate(g, before);
    assert.ok(at.y <= y && y < at.y + PITCH, `zoom ${factor}: row of ${before} at ${at.y}, pointer at ${y}`);
  }
  assert.equal(v.rowUnits, 4096);
});

test('zooming out stops when the whole memory fits in one row', async () => {
  const snap = (await sampleSession()).snapshot();
  for (const compress of [false, true]) {
    const track = buildTrack(snap, compress);
    const widest = maxRowUnits(track);
    assert.ok(widest >= track.units && widest - track.units < 256, `${widest} units per row for ${track.units}`);
    let v = view({ rowUnits: fitRowUnits(track, 600), height: 600, compress });
    for (let k = 0; k < 30; k++) v = { ...v, ...zoomAt(layout(snap, v).geometry, 500, 100, 2) };
    assert.equal(v.rowUnits, widest, 'thirty zoom-outs end at the limit, not at 4 GiB per row');
    const g = layout(snap, v).geometry;
    assert.equal(g.rows, 1);
    assert.ok(g.ppu * track.units > 0.9 * g.inner, 'the one row is the map\'s width, not a sliver');
  }
});

test('texts in the band above the rows never overlap (end of memory, grows, pages, slabs, stack frames)', async () => {
  // Small texts are ~5.9 px a character (render.mjs textWidth; frames 6).
  const spans = (instructions) => instructions.filter((d) => d.kind === 'text' && d.small).map((d) => {
    const w = d.text.length * 6;
    return { y: d.y, x0: d.align === 'right' ? d.x - w : d.x, x1: d.align === 'right' ? d.x : d.x + w, text: d.text };
  });
  const overlaps = (list) => list.flatMap((a, i) => list.slice(i + 1)
    .filter((b) => a.y === b.y && a.x0 < b.x1 && b.x0 < a.x1).map((b) => `"${a.text}" and "${b.text}"`));
  const oneSlab = await newSession();
  oneSlab.apply({ op: 'malloc', name: 'p', size: 24 }); // a slab at the end of memory
  const stack = await newSession();
  stack.applyAll(scenario('stack').steps);
  const sessions = { oneSlab, sample: await sampleSession(), stack };
  let checked = 0;
  for (const [name, s] of Object.entries(sessions)) {
    const snap = s.snapshot();
    for (const compress of [false, true]) {
      for (const width of [560, 720, 900, 1200]) {
        const track = buildTrack(snap, compress);
        const { instructions } = layout(snap, view({ width, height: 480, rowUnits: fitRowUnits(track, 480), compress }));
        const texts = spans(instructions);
        assert.deepEqual(overlaps(texts), [], `${name}, ${width} px${compress ? ', compressed' : ''}`);
        assert.ok(texts.some((x) => x.text.startsWith('end of memory')), `${name}, ${width} px: the end of memory is labelled`);
        checked += texts.length;
      }
    }
  }
  assert.ok(checked > 50, `${checked} texts checked`);
});

test('fit: the whole memory fits the height', async () => {
  const snap = (await sampleSession()).snapshot();
  const track = buildTrack(snap);
  const ru = fitRowUnits(track, 500);
  const { geometry: g } = layout(snap, view({ rowUnits: ru, height: 500 }));
  assert.ok(g.contentHeight <= 500, `${g.contentHeight}px`);
});

test('arrow keys move between neighbouring entries and rows', async () => {
  const snap = (await sampleSession()).snapshot();
  const { geometry: g } = layout(snap, view({ rowUnits: 1024, height: 20000 }));
  assert.equal(neighbour(snap, g, 3, 'right'), 4);
  assert.equal(neighbour(snap, g, 3, 'left'), 2);
  assert.equal(neighbour(snap, g, 0, 'left'), 0);
  const last = snap.entries.length - 1;
  assert.equal(neighbour(snap, g, last, 'right'), last);
  const i = snap.entries.findIndex((e) => e.label === 'big');
  const down = neighbour(snap, g, i, 'down');
  assert.ok(locate(g, entryStart(snap.entries[down])).row > locate(g, entryStart(snap.entries[i])).row || down === i);
});

test('100,000 blocks: the map is bounded by pixels, not blocks', async () => {
  const s = await newSession();
  s.apply({ op: 'many', name: 'bulk', count: 100000, size: 300 });
  s.apply({ op: 'freeEvery', name: 'bulk', stride: 3 });
  const snap = s.snapshot();
  assert.ok(snap.entries.length >= 100000, `${snap.entries.length} entries`);
  for (const compress of [false, true]) {
    const track = buildTrack(snap, compress);
    const v = view({ width: 1000, height: 500, rowUnits: fitRowUnits(track, 500), compress, selected: 50000 });
    const { instructions, geometry } = layout(snap, v);
    const pixels = (geometry.rows) * 1000;
    assert.ok(instructions.length < pixels, `${instructions.length} instructions for ${snap.entries.length} entries`);
    assert.ok(instructions.some((d) => d.dense), 'tiny blocks share pixel columns');
    assert.ok(instructions.some((d) => d.outline === 'selected'));
    // Zoomed in, only the visible rows are laid out.
    const near = layout(snap, { ...v, rowUnits: 2048, scrollY: 100000 }).instructions;
    assert.ok(near.length < 2000, `${near.length} instructions zoomed in`);
  }
});

test('the index shows every class bit and the slab lists', async () => {
  const s = await sampleSession();
  s.apply({ op: 'many', name: 'a', count: 300, size: 16 });
  const snap = s.snapshot();
  const idx = indexLayout(snap, { width: 700, highlightClasses: new Set([19]) });
  const cells = idx.instructions.filter((d) => d.kind === 'cell');
  assert.equal(cells.filter((c) => c.ref.cls !== undefined).length, CLASSES);
  assert.equal(cells.filter((c) => c.ref.topWord !== undefined).length, MAP_WORDS);
  for (const c of cells) {
    if (c.ref.cls !== undefined) assert.equal(c.on, snap.bins.lists.has(c.ref.cls), `class ${c.ref.cls}`);
    else assert.equal(c.on, !!((snap.bins.top >>> c.ref.topWord) & 1));
  }
  const boxes = idx.instructions.filter((d) => d.kind === 'slabbox');
  assert.equal(boxes.length, snap.entries.filter((e) => e.kind === 'slab').length);
  assert.ok(boxes.some((b) => !b.listed), 'a full slab is shown off the list');
  assert.ok(idx.instructions.some((d) => d.kind === 'outline'));
  const [cls] = [...snap.bins.lists.keys()];
  const cell = cells.find((c) => c.ref.cls === cls);
  assert.deepEqual(indexHit(idx, cell.x + 2, cell.y + 2), { cls });
  assert.match(describeIndexRef(snap, { cls }), new RegExp(`^class ${cls} .*1 block, map\\[${cls >> 5}\\] bit ${cls & 31} = 1`));
  const rel = related(snap, { ref: { cls } });
  assert.deepEqual([...rel.entries], snap.bins.lists.get(cls));
  const gone = snap.entries.find((e) => e.kind === 'block' && !e.used && !e.top);
  assert.deepEqual([...related(snap, { entry: gone.index }).classes], [gone.cls]);
});

test('the chart has one line per series and marks grows', async () => {
  const s = await newSession();
  s.apply({ op: 'malloc', name: 'a', size: 100 });
  s.apply({ op: 'malloc', name: 'b', size: 100000 });
  const snap = s.snapshot();
  const out = chartLayout(snap.history, { width: 300, height: 140, grows: snap.grows });
  const paths = out.filter((d) => d.kind === 'path');
  // No arena in this session: the arena series have no samples.
  assert.deepEqual(paths.map((p) => p.series), SERIES.map((x) => x.key).filter((k) => !k.startsWith('arena')));
  for (const p of paths) assert.equal(p.points.length, 3);
  assert.equal(out.filter((d) => d.line === 'grow').length, 1);
  assert.equal(new Set(SERIES.map((x) => `${x.color}${x.dash}`)).size, SERIES.length);
});

test('details decode the header and dump the first bytes', async () => {
  const s = await sampleSession();
  s.apply({ op: 'write', target: { ref: 'mid' }, text: 'hello' });
  const snap = s.snapshot();
  const log = s.log();
  const mid = snap.entries.find((e) => e.label === 'mid');
  const d = describeEntry(snap, mid.index, s.peek(dumpStart(mid), 32), log);
  const rows = Object.fromEntries(d.rows);
  assert.equal(d.title, 'block "mid"');
  assert.equal(rows.address, `0x${mid.ptr.toString(16)} (header at 0x${mid.header.toString(16)})`);
  assert.equal(rows.requested, '290 B');
  assert.equal(rows.usable, '296 B');
  assert.equal(rows.slack, '6 B (rounding to 16 B)');
  assert.equal(rows['block size'], '304 B (304 B), header and seal included');
  assert.match(rows.seal, new RegExp(`^the last 4 bytes \\(at 0x${(mid.header + 300).toString(16)}\\)`));
  assert.equal(rows.allocated, 'step 2: mid = malloc(290);');
  assert.match(rows.header, /^0x00000130 = size 304/);
  assert.match(d.hex[0], /^0x[0-9a-f]{6} {2}30 01 00 00 68 65 6c 6c {2}6f 00/);
  assert.match(d.hex[0], /\|0\.\.\.hello\./);
  const free = snap.entries.find((e) => e.kind === 'block' && !e.used && !e.top);
  const fd = Object.fromEntries(describeEntry(snap, free.index, s.peek(dumpStart(free), 16), log).rows);
  assert.match(fd['size class'], new RegExp(`^${free.cls} `));
  assert.match(fd.footer, /= size/);
  const slab = snap.entries.find((e) => e.kind === 'slab');
  const sd = describeEntry(snap, slab.index, s.peek(dumpStart(slab), 16), log);
  assert.match(sd.title, /^slab of 16-byte objects/);
  const obj = snap.entries.find((e) => e.kind === 'object' && e.used);
  const od = Object.fromEntries(describeEntry(snap, obj.index, s.peek(obj.ptr, 16), log).rows);
  assert.equal(od['map bit'], '1 (word 0, bit 0)');
  assert.equal(headerText(decodeHeader(0x133)), '0x00000133 = size 304 | FREE | PREV_FREE');
  assert.equal(hexDump(new Uint8Array([65, 0]), 16)[0], '0x000010  41 00                                             |A.|');
});

test('the stats table shows the heap\'s own numbers', async () => {
  const s = await sampleSession();
  const snap = s.snapshot();
  const rows = Object.fromEntries(statRows(snap).map(([, text, key, value]) => [key, { text, value }]));
  const stats = s.heap.stats();
  for (const k of ['heapBytes', 'usedBytes', 'freeBytes', 'overheadBytes', 'largestFree', 'growCount', 'slabs']) {
    assert.equal(rows[k].value, stats[k], k);
  }
  assert.equal(snap.memoryBytes, s.heap.memory.buffer.byteLength);
  assert.equal(rows.memoryBytes.text, `${snap.pages} pages · ${snap.pages * 64} KiB`);
  assert.equal(rows.leaks.text, '1 block, 712 B'); // 700 requested, 712 usable
  assert.equal(rows.fragmentation.value, 1 - stats.largestFree / stats.freeBytes);
  assert.equal(rows.check.text, '0 problems');
});

test('the stats table splits free memory into free blocks and free slab objects, each with its count', async () => {
  const s = await newSession();
  s.apply({ op: 'malloc', name: 'p', size: 24 }); // a 32-byte object: a slab of 125 is cut from top
  const rows = Object.fromEntries(statRows(s.snapshot()).map(([label, text, key, value]) => [key, { label, text, value }]));
  const walk = s.heap.blocks();
  const freeBlocks = walk.filter((e) => e.kind === 'block' && !e.used);
  const freeObjects = walk.filter((e) => e.kind === 'object' && !e.used);
  const stats = s.heap.stats();
  assert.equal(freeBlocks.length, 1);
  assert.equal(freeObjects.length, 124);
  const blockBytes = freeBlocks.reduce((n, e) => n + e.size, 0);
  const objectBytes = freeObjects.reduce((n, e) => n + e.size, 0);
  assert.equal(rows.freeBytes.value, stats.freeBytes);
  assert.equal(rows.freeBytes.value, blockBytes + objectBytes);
  assert.deepEqual([rows.freeBytes.label, rows.freeBytes.text], ['free (blocks + objects)', `${stats.freeBytes} B`]);
  assert.deepEqual(rows.freeBlockBytes, { label: '· in free blocks', text: `${blockBytes} B in 1 block`, value: blockBytes });
  assert.deepEqual(rows.freeObjectBytes, { label: '· in free slab objects', text: `${objectBytes} B in 124 objects`, value: objectBytes });
  // The one free block is the largest: the figures agree.
  assert.equal(rows.largestFree.value, blockBytes);
  assert.equal(rows.largestFree.label, 'largest free block');
});

test('mistake explanations say what C would do', () => {
  assert.match(explain.doubleFree({ name: 'p', addr: 0x100, freedStep: 3 }), /freed at step 3.*undefined behaviour/s);
  assert.match(explain.interiorFree({ expr: 'p + 8', addr: 0x108, block: { ptr: 0x100, label: 'p' }, offset: 8, headerWord: 0 }), /8 bytes into the block at 0x100.*hold 0x0, which is not a valid header/s);
  assert.match(explain.interiorFree({ expr: 'p + 48', addr: 0x130, block: { ptr: 0x100, label: 'p' }, offset: 48, headerWord: 768 }),
    /hold 0x300, which reads like the header of a 768-byte block in use; but .* seal/s);
  assert.match(explain.writeAfterFree({ expr: 'p', addr: 0x100, freedStep: 2, holds: 'hold links' }), /silently/);
  assert.match(explain.overflow({ expr: 'p', addr: 0x100, usable: 12, length: 20, over: 8, next: 'the next header' }), /8 bytes past its end\. The 8 extra bytes would land on the next header/);
  assert.match(explain.leak({ blocks: [{ ptr: 0x100, label: 'n', usable: 16 }], cause: 'p = NULL;' }), /lost the last pointer to the block 0x100 \("n"\)/);
});

test('draw paints instructions on a 2D context', () => {
  const calls = [];
  const ctx = new Proxy({ measureText: (t) => ({ width: t.length * 6 }) }, {
    get: (target, k) => (k in target ? target[k] : (...a) => calls.push([k, ...a])),
    set: (target, k, v) => {
      target[k] = v;
      return true;
    },
  });
  draw(ctx, [
    { kind: 'rect', x: 0, y: 0, w: 10, h: 10, style: 'used' },
    { kind: 'rect', x: 10, y: 0, w: 10, h: 10, style: 'free' },
    { kind: 'label', x: 0, y: 5, text: 'hello', maxWidth: 100 },
    { kind: 'line', x1: 0, y1: 0, x2: 0, y2: 9, line: 'grow' },
    { kind: 'outline', x: 0, y: 0, w: 10, h: 10, outline: 'selected' },
    { kind: 'path', points: [[0, 0], [5, 5]], color: '#000' },
    { kind: 'cell', x: 0, y: 0, w: 9, h: 9, on: true, style: 'freemeta', text: '2' },
    { kind: 'slabbox', x: 0, y: 0, w: 30, h: 9, used: 3, capacity: 10, listed: true },
    { kind: 'break', x: 5, y: 0, h: 10 },
  ], { 'hatch:dark': 'P' });
  const names = calls.map((c) => c[0]);
  assert.ok(names.filter((n) => n === 'fillRect').length >= 4);
  assert.ok(names.includes('fillText') && names.includes('stroke') && names.includes('strokeRect'));
  assert.equal(PAGE_SIZE, 65536);
});
