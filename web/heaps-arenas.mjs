// Created heaps and arenas in a snapshot (lmalloc_heaps.h): where they are
// in memory and what they hold, as plain data the map draws like the
// default heap's blocks.
//
// - An arena is decoded from memory (the layout of src/arena.c, mirrored in
//   heap-layout.mjs): its struct gives the chunk list, the chunk being
//   filled and the bump pointer. The arena does not remember its
//   allocations; the session does (each lm_arena_alloc's address and
//   size), and they become entries of kind 'bump' inside entries of kind
//   'chunk', one per chunk.
// - A created heap (lm_heap_create in a block of the default heap) is
//   walked like the default heap (its own heap.blocks()) and decoded with
//   decodeHeap; its entries go right after the default heap's block that
//   holds it.
// - The page pool: runs of pages a destroyed arena gave back, which no heap
//   or arena has taken again (the session knows what it released; whatever
//   a span or a chunk covers now was taken back).
//
// nestHeapsAndArenas merges all of it into the snapshot's one entries
// array, in address order, so that hit testing (entryAt), selection,
// keyboard moves and the details work on every entry alike. Nested entries
// carry `within` (the index of the entry that holds them: a created heap's
// block, an arena's chunk) and their owner's name (heapName, arenaName);
// every index the decoders stored (slab, firstObject, spans, top, free
// lists, slab lists) is renumbered.
//
// Pure: no DOM, no wasm, no heap calls; bytes are a copy or view of memory.

import {
  ARENA_FIELDS, ARENA_MAGIC, CHUNK_HEADER, PAGE_SIZE, chunkData, formatBytes,
} from './heap-layout.mjs';
import { decodeHeap, entryStart, regionsOf } from './snapshot.mjs';

function reader(bytes) {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = bytes.byteLength;
  return (at) => (at >= 0 && at + 4 <= n ? dv.getUint32(at, true) : 0);
}

/** Addresses of the live arena structs in memory: an arena's first chunk
 * is whole pages (from memory.grow or the page pool), so its struct sits
 * CHUNK_HEADER bytes after a page boundary and holds its own address XOR
 * ARENA_MAGIC (cleared by lm_arena_destroy). O(pages). */
export function findArenas(bytes) {
  const word = reader(bytes);
  const found = [];
  for (let c = 0; c + PAGE_SIZE <= bytes.byteLength; c += PAGE_SIZE) {
    const a = c + CHUNK_HEADER;
    if (word(a + ARENA_FIELDS.check) === ((a ^ ARENA_MAGIC) >>> 0) && word(a + ARENA_FIELDS.first) === c) found.push(a);
  }
  return found;
}

/** An arena's state, read from its struct at `addr`: chunks in list order
 * ({ start, end, data }), the chunk being filled, the bump pointer, and
 * lm_arena_info's figures (used, allocations, held, pages, chunks, peak). */
export function decodeArena(bytes, addr) {
  const word = reader(bytes);
  const f = (k) => word(addr + ARENA_FIELDS[k]);
  const first = f('first');
  const count = f('chunks');
  const chunks = [];
  const seen = new Set();
  for (let c = first; c && !seen.has(c) && chunks.length < count; c = word(c)) {
    seen.add(c);
    chunks.push({ start: c, end: word(c + 4), data: chunkData(c, first) });
  }
  const current = f('chunk');
  const bump = f('bump');
  const held = f('held');
  return {
    addr,
    alive: f('check') === ((addr ^ ARENA_MAGIC) >>> 0),
    first,
    chunks,
    current,
    bump,
    end: f('end'),
    last: f('last'),
    used: f('usedBefore') + (bump - chunkData(current, first)),
    allocations: f('allocations'),
    held,
    pages: Math.ceil(held / PAGE_SIZE),
    peak: f('peak'),
    complete: chunks.length === count, // the list has as many chunks as the struct counts
  };
}

/** "arena frame: 2 pages, 63.9 KiB used" */
export function arenaTitle(a) {
  return `arena ${a.name}: ${a.pages} page${a.pages === 1 ? '' : 's'}, ${formatBytes(a.used)} used`;
}

/** "heap h: 16 KiB fixed, 2 blocks, 1.2 KiB in use" */
export function heapTitle(h) {
  const s = h.stats;
  return `heap ${h.name}: ${formatBytes(h.bytes)} fixed` +
    (s ? `, ${s.usedBlocks} block${s.usedBlocks === 1 ? '' : 's'}, ${formatBytes(s.usedBytes)} in use` : '');
}

// Renumbers every entry index a decoded snapshot part holds.
function renumber(part, map) {
  for (const e of part.entries) {
    if (e.slab !== undefined) e.slab = map(e.slab);
    if (e.firstObject !== undefined) e.firstObject = map(e.firstObject);
    if (e.padFor !== undefined) e.padFor = map(e.padFor);
  }
  for (const s of part.spans) {
    if (!s) continue;
    s.first = map(s.first);
    s.last = map(s.last);
  }
  if (part.topIndex >= 0) part.topIndex = map(part.topIndex);
  for (const [cls, list] of part.bins.lists) part.bins.lists.set(cls, list.map(map));
  for (const l of part.slabLists) {
    l.slabs = l.slabs.map(map);
    l.full = l.full.map(map);
  }
}

// [start, end) minus the ranges in `taken` (sorted or not).
function subtract(start, end, taken) {
  let parts = [[start, end]];
  for (const [a, b] of taken) {
    parts = parts.flatMap(([s, e]) => (b <= s || a >= e ? [[s, e]] : [[s, Math.min(a, e)], [Math.max(b, s), e]].filter(([x, y]) => y > x)));
  }
  return parts;
}

/**
 * Merges created heaps, arenas and the page pool into a decoded snapshot
 * (decodeHeap of the default heap). Mutates and returns `snap`.
 * @param snap   decodeHeap(default heap's walk, bytes, place)
 * @param bytes  the whole linear memory
 * @param heaps  [{ name, buffer, bytes, entries, stats, check, step }]: a
 *               live created heap, `buffer` the default heap's block that
 *               holds it, `entries` its own walk (a fresh copy)
 * @param arenas [{ name, addr, allocs: [{ ptr, size, ... }], step }]: a
 *               live arena (its struct's address) and the allocations the
 *               session made since its last reset; each alloc's fields
 *               are copied onto its entry
 * @param pool   [{ start, end, from }]: runs given back to the page pool
 */
export function nestHeapsAndArenas(snap, bytes, { heaps = [], arenas = [], pool = [] } = {}) {
  if (!heaps.length && !arenas.length && !pool.length) {
    // Nothing to nest: the default heap's snapshot as it is (100,000 blocks
    // are not copied for nothing).
    Object.assign(snap, { heaps: [], arenas: [], pool: [] });
    return snap;
  }
  const outer = snap.entries;
  const byPtr = new Map();
  outer.forEach((e, i) => {
    if (e.kind === 'block' && e.used) byPtr.set(e.ptr, i);
  });

  // Created heaps: decoded alone, then placed after their block.
  const inside = new Map(); // outer index -> { heap, part }
  for (const h of heaps) {
    const b = byPtr.get(h.buffer);
    if (b === undefined) {
      snap.problems.push({ at: h.buffer, message: `heap ${h.name}: its block at ${h.buffer} is not a used block of the default heap` });
      continue;
    }
    const part = decodeHeap(h.entries, bytes, snap.place);
    for (const e of part.entries) e.heapName = h.name;
    for (const p of part.problems) snap.problems.push({ at: p.at, message: `heap ${h.name}: ${p.message}` });
    inside.set(b, { heap: h, part });
  }

  // Arenas: a chunk entry per chunk, then the allocations in it.
  const arenaInfo = [];
  const groups = []; // { start, entries } in address order, outside spans
  for (const a of arenas) {
    const info = decodeArena(bytes, a.addr);
    info.name = a.name;
    info.step = a.step;
    if (!info.alive || !info.complete) {
      snap.problems.push({ at: a.addr, message: `arena ${a.name}: no live arena struct at ${a.addr}` });
      continue;
    }
    const allocs = [...a.allocs].sort((x, y) => x.ptr - y.ptr);
    const currentIndex = info.chunks.findIndex((c) => c.start === info.current);
    let k = 0;
    info.chunks.forEach((c, n) => {
      const list = [];
      // Chunks before the current one were filled since the last reset
      // ('full': their tail is lost until then), those after it wait.
      const state = n < currentIndex ? 'full' : n === currentIndex ? 'current' : 'empty';
      const chunk = {
        kind: 'chunk', header: c.start, ptr: c.data, size: c.end - c.start, usable: c.end - c.data, used: true,
        arenaName: a.name, chunkIndex: n, chunkCount: info.chunks.length, data: c.data, state,
        bump: state === 'current' ? info.bump : undefined,
      };
      while (k < allocs.length && allocs[k].ptr < c.start) k++; // not in any chunk: dropped
      while (k < allocs.length && allocs[k].ptr < c.end) {
        const m = allocs[k++];
        list.push({ ...m, kind: 'bump', header: m.ptr, ptr: m.ptr, size: m.size, usable: m.size, used: true, arenaName: a.name });
      }
      c.allocations = list.length;
      groups.push({ start: c.start, arena: info, chunk: c, entries: [chunk, ...list] });
    });
    arenaInfo.push(info);
  }
  groups.sort((x, y) => x.start - y.start);

  // One array in address order; old index -> new index for each part.
  const merged = [];
  const outerMap = new Int32Array(outer.length);
  let g = 0;
  const flushGroups = (before) => {
    while (g < groups.length && groups[g].start < before) {
      const group = groups[g++];
      const base = merged.length;
      group.chunk.index = base;
      group.entries.forEach((e, j) => {
        if (j > 0) e.within = base;
        merged.push(e);
      });
    }
  };
  for (let i = 0; i < outer.length; i++) {
    const e = outer[i];
    if (e.kind !== 'object') flushGroups(entryStart(e));
    outerMap[i] = merged.length;
    merged.push(e);
    const nested = inside.get(i);
    if (nested) {
      // The heap's entries follow its block (objects after their slabs).
      const base = merged.length;
      const { part } = nested;
      for (const x of part.entries) {
        if (x.kind !== 'object') x.within = outerMap[i];
        merged.push(x);
      }
      renumber(part, (k) => base + k);
      nested.first = base;
      nested.last = merged.length - 1;
    }
  }
  flushGroups(Infinity);
  // Objects of the default heap are in `outer`; only their slab index moves.
  renumber(snap, (k) => outerMap[k]);
  merged.forEach((e, i) => {
    e.index = i;
  });
  snap.entries = merged;

  snap.heaps = [...inside.values()].map(({ heap, part, first, last }) => ({
    name: heap.name, step: heap.step, buffer: heap.buffer, bytes: heap.bytes, stats: heap.stats, check: heap.check,
    index: outerMap[byPtr.get(heap.buffer)], first, last,
    spans: part.spans.filter(Boolean), topIndex: part.topIndex, bins: part.bins, slabLists: part.slabLists, key: part.key,
  }));
  for (const h of snap.heaps) {
    const e = merged[h.index];
    e.heapBuffer = h.name;
    e.label ??= `${h.name}_mem`;
    e.requested ??= h.bytes;
    h.title = heapTitle(h);
  }
  snap.arenas = arenaInfo.map((a) => ({ ...a, title: arenaTitle(a) }));

  // Regions: arena chunks and what is left of the released runs.
  const extra = [];
  for (const group of groups) {
    const { arena, chunk } = group;
    extra.push({
      kind: 'arena', start: chunk.start, end: chunk.end, arena: arena.name, chunk: group.entries[0].chunkIndex,
      entry: chunk.index, label: `arena ${arena.name}, chunk ${group.entries[0].chunkIndex + 1} of ${arena.chunks.length}`,
    });
  }
  const taken = [
    ...snap.spans.filter(Boolean).map((s) => [s.start, s.end]),
    ...groups.map((x) => [x.chunk.start, x.chunk.end]),
  ];
  snap.pool = [];
  for (const run of pool) {
    for (const [start, end] of subtract(run.start, Math.min(run.end, snap.memoryBytes), taken)) {
      snap.pool.push({ start, end, from: run.from });
      extra.push({ kind: 'pool', start, end, from: run.from, label: `page pool: released by ${run.from}` });
    }
  }
  snap.regions = regionsOf(snap.place, snap.spans, snap.memoryBytes, extra);
  return snap;
}
