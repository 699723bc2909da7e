// Created heaps and arenas in a snapshot (lmalloc_heaps.h): where they are
// in memory and what they hold, as plain data the map draws like the
// default heap's blocks.
//
// - An arena is what the API says of it (lmalloc.mjs: arena.address,
//   arena.chunks(), which is lm_arena_walk, and arena.info()): its chunks,
//   the chunk being filled and its bump pointer. The arena does not
//   remember its allocations; the session does (each lm_arena_alloc's
//   address and size), and they become entries of kind 'bump' inside
//   entries of kind 'chunk', one per chunk.
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
// every index the decoders stored (slab, firstObject, padFor, spans, free
// lists, slab lists) is renumbered.
//
// Pure: no DOM, no wasm, no heap calls; bytes are a copy or view of memory.

import { formatBytes } from './heap-layout.mjs';
import { decodeHeap, entryStart, regionsOf } from './snapshot.mjs';

/** An arena's state from what the API reports: `addr` its lm_arena_t
 * pointer (arena.address), `chunks` arena.chunks() (lm_arena_walk: { start,
 * data, end, used, current } in list order), `info` arena.info(). Gives
 * the chunks ({ start, end, data, used }), `first` (the first chunk's
 * start), `current` (the start of the chunk being filled, -1 if none),
 * its bump pointer, and lm_arena_info's figures (used, allocations, held,
 * pages, peak). */
export function arenaState(addr, chunks, info) {
  const now = chunks.find((c) => c.current);
  return {
    addr,
    first: chunks[0]?.start ?? 0,
    chunks: chunks.map(({ start, end, data, used }) => ({ start, end, data, used })),
    current: now ? now.start : -1,
    bump: now ? now.data + now.used : 0,
    used: info.usedBytes,
    allocations: info.allocations,
    held: info.heldBytes,
    pages: info.pages,
    peak: info.peakBytes,
  };
}

/** "arena frame: 2 pages, 63.9 KiB used" */
function arenaTitle(a) {
  return `arena ${a.name}: ${a.pages} page${a.pages === 1 ? '' : 's'}, ${formatBytes(a.used)} used`;
}

/** "heap h: 16 KiB fixed, 2 blocks, 1.2 KiB in use" */
function heapTitle(h) {
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
 * @param arenas [{ name, state, allocs: [{ ptr, size, ... }], step }]: a
 *               live arena (`state` from arenaState) and the allocations
 *               the session made since its last reset; each alloc's
 *               fields are copied onto its entry
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
    const info = { ...a.state, chunks: a.state.chunks.map((c) => ({ ...c })), name: a.name, step: a.step };
    if (info.current < 0) {
      snap.problems.push({ at: info.addr, message: `arena ${a.name}: no chunk being filled at ${info.addr}` });
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
    spans: part.spans.filter(Boolean), bins: part.bins, slabLists: part.slabLists, key: part.key,
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
