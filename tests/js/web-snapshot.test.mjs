// The playground's view of memory (web/heap-layout.mjs, web/snapshot.mjs)
// against the real heap: every walk entry decoded, spans and regions tiling
// memory, and the free-list index rebuilt from memory agreeing with the
// layout rules of src/bins.h and with lmalloc's own checker.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  CLASSES, MAP_WORDS, PAGE_SIZE, SLAB_FIELDS, SLAB_HEADER, SLAB_SIZE, binClass, binClassMax,
  binClassMin, blockSizeFor, decodeHeader, formatBytes, hex, slabCapacity, slabMapBit,
} from '../../web/heap-layout.mjs';
import { decodeHeap, entryAt, entryByPtr, entryEnd, entryStart, fragmentation } from '../../web/snapshot.mjs';
import { newSession } from '../web/helpers.mjs';

function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEED = Number(process.env.LM_SEED ?? 0x5eed);

// A session with a mix of blocks, slab objects, free holes and an aligned block.
async function busySession(seed = SEED, steps = 400) {
  const s = await newSession();
  const random = rng(seed);
  const names = [];
  for (let k = 0; k < steps; k++) {
    const live = names.filter((n) => s.vars.get(n)?.addr && s.meta.has(s.vars.get(n).addr));
    if (live.length && random() < 0.4) {
      const name = live[Math.floor(random() * live.length)];
      s.apply({ op: 'free', target: { ref: name } });
    } else if (random() < 0.05) {
      const name = `a${k}`;
      names.push(name);
      s.apply({ op: 'aligned', name, align: 2 ** (5 + Math.floor(random() * 6)), size: 1 + Math.floor(random() * 600) });
    } else {
      const name = `p${k}`;
      names.push(name);
      const size = random() < 0.5 ? Math.floor(random() * 257) : 257 + Math.floor(random() * 6000);
      s.apply({ op: 'malloc', name, size });
    }
  }
  return s;
}

test('size classes follow bins.h', () => {
  assert.equal(CLASSES, 416);
  assert.equal(MAP_WORDS, 13);
  assert.equal(binClass(16), 1);
  assert.equal(binClass(1008), 63);
  assert.equal(binClass(1024), 64);
  assert.equal(binClass(1088), 65);
  assert.equal(binClass(2048), 80);
  assert.equal(binClass(0xfffffff0), 415);
  for (let c = 1; c < CLASSES - 1; c++) {
    assert.equal(binClass(binClassMin(c)), c, `class ${c} starts at its minimum`);
    assert.equal(binClass(binClassMax(c)), c, `class ${c} ends at its maximum`);
    assert.equal(binClassMax(c) + 16, binClassMin(c + 1));
  }
});

test('block sizes and headers follow block.h', () => {
  // Header (4) and seal (4) added, rounded up to 16.
  assert.equal(blockSizeFor(0), 16);
  assert.equal(blockSizeFor(8), 16);
  assert.equal(blockSizeFor(9), 32);
  assert.equal(blockSizeFor(296), 304);
  assert.equal(blockSizeFor(300), 320);
  assert.deepEqual(decodeHeader(0x133), { raw: 0x133, size: 0x130, free: true, prevFree: true, slab: false });
  assert.deepEqual(decodeHeader(0x1004), { raw: 0x1004, size: 4096, free: false, prevFree: false, slab: true });
  assert.equal(slabCapacity(16), 251);
  assert.equal(hex(255, 4), '0x00ff');
  assert.equal(formatBytes(1536), '1.5 KiB');
  assert.equal(formatBytes(100), '100 B');
});

test('the heap starts where the page thinks the stack ends', async () => {
  const s = await newSession();
  s.apply({ op: 'malloc', name: 'p', size: 300 });
  const snap = s.snapshot();
  assert.equal(snap.spans[0].start, s.place.stackTop, `first span at ${hex(snap.spans[0].start)}, stack top ${hex(s.place.stackTop)}`);
  assert.ok(s.place.dataStart >= 1024 && s.place.dataEnd > s.place.dataStart);
  assert.equal(s.place.stackBase, s.place.dataEnd);
  assert.ok(snap.stackUsed > 0 && snap.stackUsed <= s.place.stackTop - s.place.stackBase, `stack used ${snap.stackUsed}`);
});

test('before the first malloc the heap is an unclaimed region', async () => {
  const s = await newSession();
  const snap = s.snapshot();
  assert.equal(snap.entries.length, 0);
  assert.deepEqual(snap.regions.map((r) => r.kind), ['guard', 'data', 'stack', 'unclaimed']);
  // The start-up region runs from the stack's top to the first page end.
  assert.equal(snap.regions.at(-1).start, s.place.stackTop);
  assert.equal(snap.regions.at(-1).end, Math.ceil(s.place.stackTop / PAGE_SIZE) * PAGE_SIZE);
  assert.equal(snap.memoryBytes, snap.regions.at(-1).end);
});

test('every walk entry is decoded, and regions tile memory', async () => {
  const s = await busySession();
  const snap = s.snapshot();
  const walk = s.heap.blocks();
  assert.equal(snap.entries.length, walk.length);
  snap.entries.forEach((e, i) => {
    const w = walk[i];
    assert.deepEqual({ ptr: e.ptr, size: e.size, used: e.used, kind: e.kind, span: e.span },
      { ptr: w.ptr, size: w.size, used: w.used, kind: w.kind, span: w.span });
    if (e.kind !== 'object') {
      assert.equal(e.hdr.size, e.size);
      assert.equal(e.hdr.free, !e.used);
      assert.equal(e.hdr.slab, e.kind === 'slab');
    }
  });
  let at = 0;
  for (const r of snap.regions) {
    assert.equal(r.start, at, `${r.kind} starts where the previous region ended`);
    assert.ok(r.end > r.start);
    at = r.end;
  }
  assert.equal(at, snap.memoryBytes);
  for (const span of snap.spans) {
    assert.equal(span.recordedEnd, span.end, 'the span header records its end');
    assert.equal(span.marker.size, 0, 'the end marker is a header of size 0');
  }
  assert.deepEqual(snap.problems, []);
  assert.equal(s.heap.check(), 0);
});

test('the rebuilt free-list index agrees with bins.h', async () => {
  const s = await busySession(SEED + 1, 600);
  const snap = s.snapshot();
  const { entries, bins } = snap;
  const listed = new Set();
  for (const [cls, list] of bins.lists) {
    assert.ok(list.length > 0);
    assert.equal((bins.map[cls >> 5] >>> (cls & 31)) & 1, 1, `class ${cls} has its bit`);
    assert.equal((bins.top >>> (cls >> 5)) & 1, 1, `word ${cls >> 5} has its top bit`);
    assert.equal(entries[list[0]].links.prev, 0, 'the head has no previous block');
    list.forEach((i, pos) => {
      const e = entries[i];
      assert.equal(e.cls, cls);
      assert.ok(e.size >= binClassMin(cls) && e.size <= binClassMax(cls));
      assert.equal(e.footer, e.size, 'a free block repeats its size in its footer');
      assert.equal(e.links.next, pos + 1 < list.length ? entries[list[pos + 1]].header : 0, 'next links follow the list');
      listed.add(i);
    });
  }
  let bitsSet = 0;
  for (let w = 0; w < MAP_WORDS; w++) {
    for (let b = 0; b < 32; b++) if ((bins.map[w] >>> b) & 1) bitsSet++;
    assert.equal((bins.top >>> w) & 1, bins.map[w] ? 1 : 0);
  }
  assert.equal(bitsSet, bins.lists.size, 'a bit is set iff its list is non-empty');
  const free = entries.filter((e) => e.kind === 'block' && !e.used);
  const tops = free.filter((e) => e.top);
  assert.ok(tops.length <= 1);
  for (const e of free) assert.equal(listed.has(e.index), !e.top, 'every free block but top is listed');
  if (tops.length) assert.equal(tops[0].span, snap.spans.at(-1).index, 'top is in the newest span (heap.h, I5)');
  assert.ok(free.length > 3, 'the test made some holes');
});

test('slab lists: slabs with room are listed, full ones are not', async () => {
  const s = await newSession();
  s.apply({ op: 'many', name: 'a', count: 300, size: 16 }); // one full slab of 251 and one with room
  const snap = s.snapshot();
  const list = snap.slabLists[1];
  assert.equal(list.size, 16);
  assert.equal(list.full.length, 1);
  assert.equal(list.slabs.length, 1);
  const full = snap.entries[list.full[0]];
  assert.equal(full.slabInfo.used, full.slabInfo.capacity);
  assert.equal(full.slabInfo.hasRoom, false);
  const room = snap.entries[list.slabs[0]];
  assert.equal(room.slabInfo.used, 300 - 251);
  assert.equal(room.ptr % SLAB_SIZE, 0, 'a slab payload is 4 KiB aligned');
  const objects = snap.entries.filter((e) => e.kind === 'object' && e.slab === room.index);
  assert.equal(objects.length, room.slabInfo.capacity);
  assert.equal(objects.filter((o) => o.used).length, room.slabInfo.used);
  // The map bit slabMapBit names is the one the C core keeps (the walk's
  // "used" comes from it): read it from memory, for every object.
  const mapBitsMatch = (slab, objs) => {
    const view = new DataView(s.peek(slab.ptr, SLAB_HEADER).buffer);
    for (const o of objs) {
      const { word, bit } = slabMapBit(slab.ptr, o.ptr);
      const set = (view.getUint32(SLAB_FIELDS.map + 4 * word, true) >>> bit) & 1;
      assert.equal(set, o.used ? 1 : 0, `map bit of the ${slab.slabInfo.size}-byte object at ${o.ptr}`);
    }
  };
  mapBitsMatch(room, objects);
  // 48-byte objects: object n starts at cell 3n, so a bit per object index
  // (16-byte objects cannot tell the two apart) names the wrong bit.
  s.apply({ op: 'many', name: 'b', count: 10, size: 48 });
  const snap48 = s.snapshot();
  const list48 = snap48.slabLists.find((l) => l && l.size === 48);
  assert.equal(list48.slabs.length, 1);
  const slab48 = snap48.entries[list48.slabs[0]];
  const objects48 = snap48.entries.filter((e) => e.kind === 'object' && e.slab === slab48.index);
  assert.equal(objects48.filter((o) => o.used).length, 10);
  mapBitsMatch(slab48, objects48);
});

test('entryAt finds the entry covering any address', async () => {
  const s = await busySession(SEED + 2, 200);
  const snap = s.snapshot();
  snap.entries.forEach((e, i) => {
    assert.equal(entryAt(snap, entryStart(e)), i);
    assert.equal(entryAt(snap, entryEnd(e) - 1), i);
    if (e.used && e.kind !== 'slab') assert.equal(entryByPtr(snap, e.ptr), i);
  });
  const slab = snap.entries.find((e) => e.kind === 'slab');
  if (slab) {
    assert.equal(entryAt(snap, slab.ptr + 8), slab.index, 'the slab header belongs to the slab');
    assert.equal(entryAt(snap, slab.header + slab.size - 1), slab.index, 'the slab tail belongs to the slab');
  }
  assert.equal(entryAt(snap, 100), -1);
});

test('a corrupt free list is reported, not followed forever', async () => {
  const s = await newSession();
  s.apply({ op: 'many', name: 'a', count: 8, size: 500 });
  s.apply({ op: 'freeEvery', name: 'a', stride: 2 });
  const bytes = s.peek(0, s.heap.memory.buffer.byteLength);
  const snap = s.snapshot();
  const [cls, list] = [...snap.bins.lists][0];
  assert.ok(list.length >= 2, `class ${cls} holds the holes`);
  const head = snap.entries[list[0]];
  // Make the list a cycle: the second block links back to the head (links
  // are stored masked with the heap's key, src/block.h).
  const second = snap.entries[list[1]];
  new DataView(bytes.buffer).setUint32(second.header + 4, (head.header ^ snap.key) >>> 0, true);
  const bad = decodeHeap(s.heap.blocks(), bytes, s.place);
  assert.equal(bad.bins.lists.get(cls).length, list.length, 'every block still shows up once');
  assert.ok(bad.problems.some((p) => /has a cycle/.test(p.message)), JSON.stringify(bad.problems));
  if (list.length > 2) assert.ok(bad.problems.some((p) => /not reachable from the head/.test(p.message)));
  new DataView(bytes.buffer).setUint32(second.header + 4, 12345, true);
  const worse = decodeHeap(s.heap.blocks(), bytes, s.place);
  assert.ok(worse.problems.some((p) => /not a free block/.test(p.message)), JSON.stringify(worse.problems));
});

test('external fragmentation is the free share outside the largest block', () => {
  assert.equal(fragmentation({ freeBytes: 0, largestFree: 0 }), 0);
  assert.equal(fragmentation({ freeBytes: 1000, largestFree: 1000 }), 0);
  assert.equal(fragmentation({ freeBytes: 1000, largestFree: 250 }), 0.75);
});
