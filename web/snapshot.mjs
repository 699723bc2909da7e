// A snapshot of the heap: everything the page draws, as plain data, built
// from the API's walk (heap.blocks()) and the bytes of linear memory.
//
// The walk gives blocks, slabs and objects; the rest is decoded from memory
// with the layout in heap-layout.mjs (which mirrors src/block.h, bins.h and
// slab.h): each header's flag bits, the free-list links and footers of free
// blocks, the slab header fields, the spans and their markers, and the
// free-list index itself. lmalloc's JS API does not expose the index (the
// heap struct's bitmaps and list heads live in the module's static data),
// so it is rebuilt here from the free blocks: a free block other than top
// is in the list of binClass(size) (heap.h, invariant I4), lists are
// followed through the blocks' real `next` links, and a bitmap bit is set
// iff its list is non-empty (bins.h). Slab lists are rebuilt the same way
// from the slab headers' next/prev fields. Anything that does not add up
// (a list whose links leave the class, a cycle) is recorded in `problems`.
//
// Pure: decodeHeap(entries, bytes, place) does not touch the heap; the
// entries array is augmented in place (it is the walk's fresh copy).

import {
  CLASSES, MAP_WORDS, MARKER_SIZE, PAGE_SIZE, SLAB_CLASSES,
  SLAB_FIELDS, SLAB_HEADER, SPAN_HEADER, binClass, decodeHeader, slabCapacity,
} from './heap-layout.mjs';

/** First byte an entry covers: the header of a block or slab, or an object. */
export const entryStart = (e) => (e.kind === 'object' ? e.ptr : e.header);
/** One past its last byte. */
export const entryEnd = (e) => entryStart(e) + e.size;

function reader(bytes) {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = bytes.byteLength;
  return (at) => (at >= 0 && at + 4 <= n ? dv.getUint32(at, true) : 0);
}

/**
 * Decodes a heap.
 * @param entries the walk (heap.blocks()), in address order; each entry's
 *                top says whether it is the top block (a free block of the
 *                newest span, in no free list: heap.h, I5), which need not
 *                be the span's last block since slabs are cut from its end
 * @param bytes   a Uint8Array of the whole linear memory
 * @param place   { dataStart, dataEnd, stackBase, stackTop } (heap.layout)
 */
export function decodeHeap(entries, bytes, place) {
  const word = reader(bytes);
  const memoryBytes = bytes.byteLength;
  const problems = [];

  // Spans: first block header - 12 .. last block end + marker.
  const spans = [];
  let slabIndex = -1;
  let objIndex = 0;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    e.index = i;
    if (e.kind === 'object') {
      e.slab = slabIndex;
      e.objIndex = objIndex++;
      continue;
    }
    const span = spans[e.span] ??= {
      index: e.span, start: e.header - SPAN_HEADER, end: 0, first: i, last: i,
    };
    span.last = i;
    span.end = e.header + e.size + MARKER_SIZE;
    const h = decodeHeader(word(e.header));
    e.hdr = h;
    if (h.size !== e.size) problems.push({ at: e.header, message: `header size ${h.size} differs from the walk's ${e.size}` });
    if (e.kind === 'slab') {
      slabIndex = i;
      objIndex = 0;
      e.slabInfo = decodeSlab(word, e.ptr);
      e.firstObject = i + 1;
    } else {
      slabIndex = -1;
    }
  }
  for (const s of spans) {
    if (!s) continue;
    s.marker = decodeHeader(word(s.end - MARKER_SIZE));
    s.nextSpan = word(s.start);
    s.recordedEnd = word(s.start + 4);
  }

  // Free blocks: links, footer, class. lmalloc stores links and footers
  // XOR-masked with the heap's key (src/block.h); a free block's footer is
  // its size masked, so the key is footer ^ size. The most common value
  // over all free blocks is taken, so one overwritten footer cannot hide it.
  const byHeader = new Map();
  const keys = new Map();
  for (const e of entries) {
    if (e.kind !== 'block' || e.used || e.top) continue;
    const k = (word(e.header + e.size - 4) ^ e.size) >>> 0;
    keys.set(k, (keys.get(k) || 0) + 1);
  }
  let key = 0;
  for (const [k, n] of keys) if (n > (keys.get(key) || 0)) key = k;
  const unmask = (v) => (v ^ key) >>> 0;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    if (e.kind !== 'block' || e.used) continue;
    byHeader.set(e.header, i);
    e.cls = binClass(e.size);
    if (!e.top) {
      e.links = { next: unmask(word(e.header + 4)), prev: unmask(word(e.header + 8)) };
      e.footer = unmask(word(e.header + e.size - 4));
    }
  }

  const bins = rebuildBins(entries, byHeader, problems);
  const slabLists = rebuildSlabLists(entries, problems);

  const regions = regionsOf(place, spans, memoryBytes);
  return {
    memoryBytes,
    pages: memoryBytes / PAGE_SIZE,
    place,
    regions,
    spans: spans.filter(Boolean),
    entries,
    bins,
    slabLists,
    key, // the heap's link/footer mask, as read off the free blocks' footers
    stackUsed: stackHighWater(bytes, place),
    problems,
  };
}

function popcount(w) {
  let n = 0;
  for (let v = w >>> 0; v; v &= v - 1) n++;
  return n;
}

function decodeSlab(word, s) {
  const f = SLAB_FIELDS;
  const size = word(s + f.size);
  const info = {
    check: word(s + f.check),
    freeHead: word(s + f.free),
    size,
    next: word(s + f.next),
    prev: word(s + f.prev),
    bump: word(s + f.bump),
    inv: word(s + f.inv),
    map: [],
    capacity: size ? slabCapacity(size) : 0,
  };
  for (let a = s + f.map; a < s + SLAB_HEADER; a += 4) info.map.push(word(a));
  // Objects in use: the map's set bits (the core keeps no count).
  info.used = info.map.reduce((n, w) => n + popcount(w), 0);
  info.hasRoom = info.freeHead !== 0 || info.bump !== 0;
  info.slack = size ? SLAB_HEADER + info.capacity * size : 0; // offset where slack starts
  return info;
}

// The free-list index, rebuilt (see the file comment).
function rebuildBins(entries, byHeader, problems) {
  const members = new Map(); // class -> Set of entry indices
  for (const i of byHeader.values()) {
    const e = entries[i];
    if (e.top) continue;
    let set = members.get(e.cls);
    if (!set) members.set(e.cls, (set = new Set()));
    set.add(i);
  }
  const lists = new Map(); // class -> entry indices in list order (head first)
  const map = new Array(MAP_WORDS).fill(0);
  let top = 0;
  for (const [cls, set] of [...members].sort((a, b) => a[0] - b[0])) {
    const heads = [...set].filter((i) => entries[i].links.prev === 0);
    if (heads.length !== 1) {
      problems.push({ at: entries[[...set][0]].header, message: `class ${cls} has ${heads.length} blocks with no previous link (expected 1 head)` });
    }
    const order = [];
    const seen = new Set();
    let i = heads[0];
    while (i !== undefined && !seen.has(i)) {
      if (!set.has(i)) {
        problems.push({ at: entries[i].header, message: `free list ${cls} links to a block of class ${entries[i].cls}` });
        break;
      }
      seen.add(i);
      order.push(i);
      const next = entries[i].links.next;
      if (next === 0) break;
      i = byHeader.get(next);
      if (i === undefined) {
        problems.push({ at: next, message: `free list ${cls} links to ${next}, which is not a free block` });
      } else if (seen.has(i)) {
        problems.push({ at: next, message: `free list ${cls} has a cycle` });
      }
    }
    for (const j of set) {
      if (!seen.has(j)) {
        problems.push({ at: entries[j].header, message: `free block not reachable from the head of list ${cls}` });
        order.push(j);
      }
    }
    order.forEach((j, pos) => { entries[j].listPos = pos; });
    lists.set(cls, order);
    map[cls >> 5] |= 1 << (cls & 31);
    top |= 1 << (cls >> 5);
  }
  for (let w = 0; w < MAP_WORDS; w++) map[w] >>>= 0;
  return { classes: CLASSES, top: top >>> 0, map, lists };
}

function rebuildSlabLists(entries, problems) {
  const lists = [];
  for (let c = 0; c <= SLAB_CLASSES; c++) lists.push({ cls: c, size: c * 16, slabs: [], full: [] });
  const byPtr = new Map();
  for (const e of entries) if (e.kind === 'slab') byPtr.set(e.ptr, e.index);
  for (const e of entries) {
    if (e.kind !== 'slab') continue;
    const c = e.slabInfo.size >> 4;
    if (c < 1 || c > SLAB_CLASSES) {
      problems.push({ at: e.ptr, message: `slab object size ${e.slabInfo.size} is not a slab class` });
      continue;
    }
    if (!e.slabInfo.hasRoom) lists[c].full.push(e.index);
    else if (e.slabInfo.prev === 0) lists[c].head = e.index;
  }
  for (const list of lists) {
    const seen = new Set();
    let i = list.head;
    while (i !== undefined && !seen.has(i)) {
      seen.add(i);
      list.slabs.push(i);
      const next = entries[i].slabInfo.next;
      i = next ? byPtr.get(next) : undefined;
    }
    delete list.head;
    for (const i of seen) entries[i].onList = true;
  }
  for (const e of entries) {
    if (e.kind === 'slab' && e.slabInfo.hasRoom && !e.onList) {
      problems.push({ at: e.ptr, message: 'slab with room is not on its class\'s list' });
    }
  }
  return lists;
}

// The stack grows down from stackTop; memory starts zeroed, so the lowest
// non-zero byte bounds how deep lmalloc's calls have gone.
function stackHighWater(bytes, place) {
  const end = Math.min(place.stackTop, bytes.byteLength);
  for (let a = place.stackBase; a < end; a++) {
    if (bytes[a] !== 0) return end - (a & ~15);
  }
  return 0;
}

/** The regions of memory in address order, tiling [0, memoryBytes): the
 * low guard, static data, the stack, the default heap's spans, `extra`
 * regions claimed by others ({ kind, start, end, label, ... }: arena
 * chunks, page-pool runs; heaps-arenas.mjs), and unused memory between
 * them. Before the first malloc (no span), the start-up region after the
 * stack is "unclaimed". */
export function regionsOf(place, spans, memoryBytes, extra = []) {
  const regions = [];
  const push = (kind, start, end, label, more) => {
    if (end > start) regions.push({ kind, start, end, label, ...more });
  };
  push('guard', 0, place.dataStart, 'unused: low addresses (null stays invalid)');
  push('data', place.dataStart, place.dataEnd, 'static data');
  push('stack', place.stackBase, place.stackTop, 'shadow stack');
  let at = place.stackTop;
  const live = spans.filter(Boolean);
  const claims = [
    ...live.map((s) => ({ kind: 'span', start: s.start, end: s.end, label: `heap span ${s.index}` })),
    ...extra,
  ].sort((a, b) => a.start - b.start);
  if (!live.length) {
    // The start-up region runs to the end of the page the stack ends in.
    const end = extra.length ? Math.ceil(place.stackTop / PAGE_SIZE) * PAGE_SIZE : memoryBytes;
    push('unclaimed', at, Math.min(end, claims[0]?.start ?? end), 'start-up region: the heap claims it at the first malloc');
    at = regions.at(-1).end;
  }
  for (const c of claims) {
    push('unused', at, c.start, 'not the heap');
    const { kind, start, end, label, ...more } = c;
    push(kind, start, end, label, more);
    at = Math.max(at, c.end);
  }
  push('unused', at, memoryBytes, 'unused memory');
  return regions;
}

/** The entry covering `address` (the innermost: an object before its slab,
 * a created heap's block before the block holding that heap, an arena
 * allocation before its chunk), or -1. O(log entries). */
export function entryAt(snapshot, address) {
  const es = snapshot.entries;
  let lo = 0;
  let hi = es.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (entryStart(es[mid]) <= address) lo = mid + 1;
    else hi = mid;
  }
  let i = lo - 1;
  while (i >= 0) {
    const e = es[i];
    if (address < entryEnd(e)) return i;
    // Past the entry: maybe still inside what holds it (an object's slab,
    // a created heap's block, an arena allocation's chunk).
    if (e.kind === 'object') i = e.slab;
    else if (e.within !== undefined) i = e.within;
    else return -1;
  }
  return -1;
}

/** The entry whose payload or object starts at `ptr`, or -1. */
export function entryByPtr(snapshot, ptr) {
  const i = entryAt(snapshot, ptr);
  return i >= 0 && snapshot.entries[i].ptr === ptr ? i : -1;
}

/** The name of a live allocation: its label (the playground's pointer
 * names), or for a replayed trace its pointer slot p[id] (made on demand:
 * a replayed heap has hundreds of thousands of them). */
export const nameOf = (e) => e.label ?? (e.traceId !== undefined ? `p[${e.traceId}]` : undefined);

/** Live allocations: used blocks, used objects and arena allocations (not
 * slabs, not arena chunks). */
export const isAllocation = (e) => e.used && e.kind !== 'slab' && e.kind !== 'chunk';

/** External fragmentation: the share of free memory not in the largest
 * free block, 1 - largestFree / freeBytes (0 when nothing is free). */
export function fragmentation(stats) {
  return stats.freeBytes ? 1 - stats.largestFree / stats.freeBytes : 0;
}

