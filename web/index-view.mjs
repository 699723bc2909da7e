// The free-space index of lmalloc, as a pure layout: the two-level bitmap
// of the 416 size classes (13 words of 32 bits, one bit per non-empty free
// list, and the top word with one bit per non-zero word: bins.h), and the
// slab lists (slabs with room per object size, in list order; full slabs
// are off the list: slab.h). Returns drawing instructions in the same
// vocabulary as render.mjs, and hit boxes carrying what each box stands
// for, so the page can highlight a class's blocks in the map on hover.

import { MAP_WORDS, SLAB_CLASSES, binClassMax, binClassMin, formatBytes } from './heap-layout.mjs';

export const INDEX_TOP = 16;

/**
 * @param snapshot  from Session.snapshot()
 * @param options   { width, highlightClasses: Set<class>, highlightSlabs: Set<entry index> }
 * @returns { instructions, hits: [{x, y, w, h, ref: {cls} | {slab}}], height }
 */
export function indexLayout(snapshot, { width = 640, highlightClasses, highlightSlabs } = {}) {
  const out = [];
  const hits = [];
  const gridX = 78;
  const topX = 52;
  const cs = Math.max(8, Math.min(14, Math.floor((width - 270 - gridX) / 32)));
  const { bins } = snapshot;

  for (let b = 0; b < 32; b += 8) {
    out.push({ kind: 'text', x: gridX + b * cs + 1, y: INDEX_TOP - 8, text: `bit ${b}`, style: 'muted', small: true });
  }
  out.push({ kind: 'text', x: topX + cs / 2, y: INDEX_TOP - 8, text: 'top', style: 'muted', small: true, align: 'center' });
  for (let w = 0; w < MAP_WORDS; w++) {
    const y = INDEX_TOP + w * cs;
    out.push({ kind: 'text', x: topX - 4, y: y + cs / 2, text: `map[${w}]`, align: 'right', style: 'muted', small: true });
    const topBit = (bins.top >>> w) & 1;
    out.push({ kind: 'cell', x: topX, y, w: cs - 1, h: cs - 1, on: !!topBit, text: cs >= 11 ? String(topBit) : '', ref: { topWord: w } });
    hits.push({ x: topX, y, w: cs, h: cs, ref: { topWord: w } });
    for (let b = 0; b < 32; b++) {
      const cls = w * 32 + b;
      const list = bins.lists.get(cls);
      const x = gridX + b * cs;
      const n = list?.length ?? 0;
      out.push({
        kind: 'cell', x, y, w: cs - 1, h: cs - 1, on: n > 0, style: n ? 'freemeta' : null,
        text: n && cs >= 11 ? (n > 99 ? '∞' : String(n)) : '', ref: { cls },
      });
      hits.push({ x, y, w: cs, h: cs, ref: { cls } });
      if (highlightClasses?.has(cls)) out.push({ kind: 'outline', x: x - 1, y: y - 1, w: cs + 1, h: cs + 1, outline: 'highlight' });
    }
  }
  const gridBottom = INDEX_TOP + MAP_WORDS * cs;
  out.push({ kind: 'text', x: gridX, y: gridBottom + 9, text: 'class c: blocks of binClassMin(c) .. bytes; word c/32, bit c%32', style: 'muted', small: true });

  // Slab lists.
  const sx = gridX + 32 * cs + 26;
  const rowH = Math.max(cs, 12);
  out.push({ kind: 'text', x: sx, y: INDEX_TOP - 8, text: 'slab lists (→ has room · full)', style: 'muted', small: true });
  const boxW = 30;
  const labelW = 40;
  for (let c = 1; c <= SLAB_CLASSES; c++) {
    const y = INDEX_TOP + (c - 1) * rowH;
    const list = snapshot.slabLists[c];
    out.push({ kind: 'text', x: sx + labelW - 4, y: y + rowH / 2, text: `${c * 16} B`, align: 'right', style: 'muted', small: true });
    let x = sx + labelW;
    const room = width - x - 4;
    const all = [...list.slabs.map((i) => [i, true]), ...list.full.map((i) => [i, false])];
    const fit = Math.max(0, Math.floor(room / (boxW + 4)));
    all.slice(0, fit).forEach(([i, listed], k) => {
      const s = snapshot.entries[i].slabInfo;
      if (!listed && k > 0 && all[k - 1][1]) x += 6; // a gap before the full ones
      out.push({ kind: 'slabbox', x, y: y + 1, w: boxW, h: rowH - 2, used: s.used, capacity: s.capacity, listed, ref: { slab: i } });
      hits.push({ x, y, w: boxW, h: rowH, ref: { slab: i } });
      if (highlightSlabs?.has(i)) out.push({ kind: 'outline', x: x - 1, y, w: boxW + 2, h: rowH, outline: 'highlight' });
      x += boxW + 4;
    });
    if (all.length > fit) out.push({ kind: 'text', x, y: y + rowH / 2, text: `+${all.length - fit}`, style: 'muted', small: true });
  }
  const height = Math.max(gridBottom + 16, INDEX_TOP + SLAB_CLASSES * rowH + 4);
  return { instructions: out, hits, height };
}

/** What is under (x, y) in an index layout: a hit's ref, or null. */
export function indexHit(result, x, y) {
  for (const h of result.hits) {
    if (x >= h.x && x < h.x + h.w && y >= h.y && y < h.y + h.h) return h.ref;
  }
  return null;
}

/** One line describing a class, a top word or a slab, for the status line. */
export function describeIndexRef(snapshot, ref) {
  if (!ref) return '';
  if (ref.cls !== undefined) {
    const list = snapshot.bins.lists.get(ref.cls) ?? [];
    const lo = binClassMin(ref.cls);
    const hi = binClassMax(ref.cls);
    const range = lo === hi ? `${lo} B` : `${formatBytes(lo)} .. ${formatBytes(hi)}`;
    const bit = `map[${ref.cls >> 5}] bit ${ref.cls & 31}`;
    if (!list.length) return `class ${ref.cls} (free blocks of ${range}): empty, ${bit} = 0`;
    return `class ${ref.cls} (free blocks of ${range}): ${list.length} block${list.length === 1 ? '' : 's'}, ${bit} = 1; ` +
      `list (LIFO) ${list.slice(0, 6).map((i) => `0x${snapshot.entries[i].header.toString(16)}`).join(' → ')}${list.length > 6 ? ' → …' : ''}`;
  }
  if (ref.topWord !== undefined) {
    const on = (snapshot.bins.top >>> ref.topWord) & 1;
    return `top bit ${ref.topWord} = ${on}: map[${ref.topWord}] (classes ${ref.topWord * 32}..${ref.topWord * 32 + 31}) ${on ? 'has a non-empty list' : 'is all zero'}`;
  }
  if (ref.slab !== undefined) {
    const e = snapshot.entries[ref.slab];
    const s = e.slabInfo;
    return `slab at 0x${e.ptr.toString(16)}: ${s.size}-byte objects, ${s.used}/${s.capacity} used, ${s.hasRoom ? 'on its class list (has room)' : 'full: off the list'}`;
  }
  return '';
}

/** The class cells and slab boxes related to map entry i (for hover), and
 * the map entries related to an index ref. */
export function related(snapshot, { entry, ref }) {
  const classes = new Set();
  const slabs = new Set();
  const entries = new Set();
  // Only the default heap's entries are in this index (a created heap has
  // its own; an arena has none).
  const own = entry !== undefined && entry >= 0 && snapshot.entries[entry].heapName === undefined;
  if (own) {
    const e = snapshot.entries[entry];
    if (e.kind === 'block' && !e.used && !e.top) classes.add(e.cls);
    if (e.kind === 'slab') slabs.add(entry);
    if (e.kind === 'object') slabs.add(e.slab);
  }
  if (ref?.cls !== undefined) for (const i of snapshot.bins.lists.get(ref.cls) ?? []) entries.add(i);
  if (ref?.topWord !== undefined) {
    for (const [cls, list] of snapshot.bins.lists) if (cls >> 5 === ref.topWord) for (const i of list) entries.add(i);
  }
  if (ref?.slab !== undefined) entries.add(ref.slab);
  return { classes, slabs, entries };
}
