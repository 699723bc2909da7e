// The memory map, as a pure function: layout(snapshot, viewport) returns
// drawing instructions ({kind: 'rect' | 'line' | 'text' | 'label' | 'break'
// | 'outline', x, y, w, h, style, ...}) that draw.mjs paints on a canvas,
// plus the geometry needed to map a pixel back to an address (hit testing,
// zoom about the pointer, keyboard moves between rows).
//
// The whole linear memory is drawn to scale, in address order, as rows of
// `rowUnits` units each (like a hex editor's lines): one unit is one byte,
// except that with `compress` on, long free or unused stretches shrink to a
// logarithmic length (their true size stays in their label), so that small
// blocks stay visible in a large heap. The address -> unit mapping is a
// "track": pieces in address order (regions, span headers, blocks, slabs,
// end markers), each with its start unit and length in units.
//
// Invariants: the work is bounded by what is visible, not by the heap:
// only rows in the viewport are visited (pieces found by binary search), and
// anything narrower than MIN_PX shares a pixel column with its neighbours
// (the column takes the style of the family covering most of it), so
// 100,000 blocks never become 100,000 instructions.

import {
  CHUNK_HEADER, HEADER_SIZE, MARKER_SIZE, PAGE_SIZE, SEAL_SIZE, SLAB_HEADER, SPAN_HEADER, formatBytes, hex,
} from './heap-layout.mjs';
import { entryAt, nameOf } from './snapshot.mjs';
import { FAMILY, INK } from './styles.mjs';

export const GUTTER = 86; // row address labels
export const PAD_RIGHT = 10;
export const TOP = 4;
export const BAND = 15; // page and grow labels above each bar
export const BAR = 26;
export const GAP = 9;
export const PITCH = BAND + BAR + GAP;
export const MIN_PX = 2; // narrower things share pixel columns
export const LABEL_PX = 64; // narrowest piece that gets a label
export const COMPRESS_FROM = 512; // bytes: longer free/unused pieces shrink
export const MIN_ROW_UNITS = 64;
export const MAX_ROW_UNITS = 2 ** 32;

/** Length in units of a compressed piece of `len` bytes. */
export function compressedLength(len) {
  if (len <= COMPRESS_FROM) return len;
  return Math.round(COMPRESS_FROM * (1 + Math.log2(len / COMPRESS_FROM) / 8));
}

// --- the track ---------------------------------------------------------------

const trackCache = new WeakMap(); // snapshot -> { true: track, false: track }

/** Pieces of memory in address order with their place in units. Cached
 * per snapshot and compress flag. */
export function buildTrack(snapshot, compress = false) {
  let cached = trackCache.get(snapshot);
  if (!cached) trackCache.set(snapshot, (cached = {}));
  if (cached[compress]) return cached[compress];

  const pieces = [];
  let u = 0;
  const push = (piece) => {
    const len = piece.end - piece.start;
    if (len <= 0) return;
    const shrink = compress && piece.compressible && len > COMPRESS_FROM;
    piece.u0 = u;
    piece.ulen = shrink ? compressedLength(len) : len;
    piece.compressed = shrink;
    u += piece.ulen;
    pieces.push(piece);
  };
  const { entries } = snapshot;
  // A span's blocks; `container` is the created heap's block index for a
  // created heap's span (its entries have `within` set to it).
  const pushSpan = (span, container) => {
    push({ kind: 'spanhdr', start: span.start, end: span.start + SPAN_HEADER, label: 'span header' });
    for (let i = span.first; i <= span.last; i++) {
      const e = entries[i];
      if (e.kind === 'object' || e.within !== container) continue;
      if (e.heapBuffer !== undefined) pushHeap(i);
      else push({ kind: 'entry', entry: i, start: e.header, end: e.header + e.size, compressible: !e.used });
    }
    push({ kind: 'marker', start: span.end - MARKER_SIZE, end: span.end, label: 'span end marker' });
  };
  // A created heap, inside the default heap's block that holds it: the
  // block's header, the heap's struct, its spans, the block's slack.
  const pushHeap = (i) => {
    const e = entries[i];
    const h = snapshot.heaps?.find((x) => x.index === i);
    push({ kind: 'sub', start: e.header, end: e.ptr, style: 'header', ref: i });
    let at = e.ptr;
    for (const span of h?.spans ?? []) {
      push({ kind: 'sub', start: at, end: span.start, style: 'heapmeta', ref: i, label: `heap ${h.name}'s struct` });
      pushSpan(span, i);
      at = span.end;
    }
    // The holding block's slack, then its seal (its last 4 bytes).
    const seal = e.header + e.size - SEAL_SIZE;
    push({ kind: 'sub', start: at, end: seal, style: h?.spans.length ? 'slack' : 'heapmeta', ref: i, compressible: true });
    push({ kind: 'sub', start: seal, end: e.header + e.size, style: 'seal', ref: i });
  };
  // An arena's chunk: its header (and the arena struct in the first
  // chunk), the allocations since the last reset, then the bump space.
  const pushChunk = (r) => {
    const c = entries[r.entry];
    push({ kind: 'sub', start: c.header, end: c.header + CHUNK_HEADER, style: 'arenameta', ref: r.entry, label: 'chunk header' });
    push({ kind: 'sub', start: c.header + CHUNK_HEADER, end: c.data, style: 'arenameta', ref: r.entry, label: `arena ${c.arenaName}'s struct` });
    let at = c.data;
    for (let j = r.entry + 1; j < entries.length && entries[j].within === r.entry; j++) {
      const a = entries[j];
      push({ kind: 'sub', start: at, end: a.ptr, style: 'arenapad', ref: r.entry, label: 'alignment gap' });
      push({ kind: 'entry', entry: j, start: a.ptr, end: a.ptr + a.size });
      at = Math.max(at, a.ptr + a.size);
    }
    const end = c.header + c.size;
    if (c.state === 'current') {
      push({ kind: 'sub', start: at, end: c.bump, style: 'arenapad', ref: r.entry, label: 'handed out' });
      at = Math.max(at, c.bump);
    }
    if (c.state === 'full') push({ kind: 'sub', start: at, end, style: 'arenapad', ref: r.entry, compressible: true, label: 'tail: the next allocation did not fit' });
    else push({ kind: 'sub', start: at, end, style: 'arenafree', ref: r.entry, compressible: true, label: 'bump space' });
  };
  for (const r of snapshot.regions) {
    if (r.kind === 'stack') {
      // The untouched part of the stack compresses; the part calls used does not.
      const touched = Math.max(r.start, r.end - snapshot.stackUsed);
      push({ kind: 'stack', start: r.start, end: touched, label: r.label, compressible: true });
      push({ kind: 'stack', start: touched, end: r.end, label: r.label, compressible: false });
      continue;
    }
    if (r.kind === 'arena') {
      pushChunk(r);
      continue;
    }
    if (r.kind !== 'span') {
      push({ kind: r.kind, start: r.start, end: r.end, label: r.label, compressible: true });
      continue;
    }
    pushSpan(snapshot.spans.find((s) => s.start === r.start), undefined);
  }
  // Flat copies for the hot loop (anything narrower than a pixel).
  const n = pieces.length;
  const u0 = new Float64Array(n);
  const ulen = new Float64Array(n);
  const fam = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    u0[i] = pieces[i].u0;
    ulen[i] = pieces[i].ulen;
    fam[i] = FAMILY_CODE[familyOfPiece(snapshot, pieces[i])];
  }
  const track = { pieces, units: u, memoryBytes: snapshot.memoryBytes, compress, u0, ulen, fam };
  cached[compress] = track;
  return track;
}

// The index of the last piece whose `key` (start or u0, both ascending)
// is at most v, or -1: a binary search.
function lastPieceAtOrBelow(ps, key, v) {
  let lo = 0;
  let hi = ps.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ps[mid][key] <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

const pieceAtAddr = (track, addr) => lastPieceAtOrBelow(track.pieces, 'start', addr);
const pieceAtUnit = (track, u) => lastPieceAtOrBelow(track.pieces, 'u0', u);

const scaleOf = (p) => p.ulen / (p.end - p.start);

/** Address -> unit. */
export function unitOf(track, addr) {
  const i = pieceAtAddr(track, addr);
  if (i < 0) return 0;
  const p = track.pieces[i];
  if (addr >= p.end) return p.u0 + p.ulen;
  return p.u0 + (addr - p.start) * scaleOf(p);
}

/** Unit -> address (the byte drawn there). */
export function addrOf(track, u) {
  const i = pieceAtUnit(track, u);
  if (i < 0) return 0;
  const p = track.pieces[i];
  return Math.min(p.end - 1, p.start + Math.floor((u - p.u0) / scaleOf(p)));
}

// --- the parts of a piece ---------------------------------------------------

/** The styled address ranges a piece is drawn as: [{a0, a1, style, ref}]. */
export function partsOf(snapshot, piece) {
  const { entries } = snapshot;
  const out = [];
  const part = (a0, a1, style, ref) => {
    if (a1 > a0) out.push({ a0, a1, style, ref });
  };
  switch (piece.kind) {
    case 'data':
      part(piece.start, piece.end, 'data');
      break;
    case 'stack': {
      const top = snapshot.place.stackTop;
      const touched = Math.max(piece.start, Math.min(piece.end, top - snapshot.stackUsed));
      part(piece.start, touched, 'stack');
      part(touched, piece.end, 'stackused');
      break;
    }
    case 'spanhdr':
    case 'marker':
      part(piece.start, piece.end, 'spanmeta');
      break;
    case 'sub':
      part(piece.start, piece.end, piece.style, piece.ref);
      break;
    case 'pool':
      part(piece.start, piece.end, 'pool');
      break;
    case 'entry': {
      const i = piece.entry;
      const e = entries[i];
      const h = e.header;
      const end = h + e.size;
      if (e.kind === 'bump') {
        // An arena allocation: no header, rounded to 16 bytes.
        const req = Math.min(e.requested ?? e.size, e.size);
        part(e.ptr, e.ptr + req, 'bump', i);
        part(e.ptr + req, end, 'slack', i);
        break;
      }
      part(h, h + HEADER_SIZE, 'header', i);
      if (e.kind === 'slab') {
        part(e.ptr, e.ptr + SLAB_HEADER, 'slabhdr', i);
        let j = e.firstObject;
        for (; j < entries.length && entries[j].kind === 'object' && entries[j].slab === i; j++) {
          const o = entries[j];
          if (!o.used) part(o.ptr, o.ptr + o.size, 'objfree', j);
          else {
            const req = Math.min(o.requested ?? o.size, o.size);
            part(o.ptr, o.ptr + req, o.leaked ? 'leak' : 'object', j);
            part(o.ptr + req, o.ptr + o.size, 'slack', j);
          }
        }
        const tail = e.slabInfo?.slack ? e.ptr + e.slabInfo.slack : end;
        part(tail, end, 'slack', i);
      } else if (e.used) {
        const req = Math.min(e.requested ?? e.usable, e.usable);
        part(e.ptr, e.ptr + req, e.leaked ? 'leak' : 'used', i);
        part(e.ptr + req, end - SEAL_SIZE, 'slack', i);
        part(end - SEAL_SIZE, end, 'seal', i);
      } else if (e.top) {
        part(e.ptr, end, 'top', i);
      } else {
        const body = e.padFor !== undefined ? 'pad' : 'free';
        part(e.ptr, e.ptr + 8, 'freemeta', i);
        part(e.ptr + 8, end - 4, body, i);
        part(Math.max(e.ptr + 8, end - 4), end, 'freemeta', i);
      }
      break;
    }
    default: // guard, unused, unclaimed
      part(piece.start, piece.end, 'unused');
  }
  return out;
}

/** The style family a piece too narrow for its parts is drawn with. */
export function familyOfPiece(snapshot, piece) {
  if (piece.kind === 'sub') return FAMILY[piece.style] ?? 'unused';
  if (piece.kind !== 'entry') {
    return { data: 'data', stack: 'stack', spanhdr: 'spanmeta', marker: 'spanmeta', pool: 'pool' }[piece.kind] ?? 'unused';
  }
  const e = snapshot.entries[piece.entry];
  if (e.kind === 'bump') return 'bump';
  if (e.kind === 'slab') return 'object';
  if (!e.used) return 'free';
  return e.leaked ? 'leak' : 'used';
}

/** A short label for a piece ('' for none). */
export function labelOf(snapshot, piece) {
  const len = piece.end - piece.start;
  switch (piece.kind) {
    case 'data': return `static data ${formatBytes(len)}`;
    case 'stack': {
      const size = snapshot.place.stackTop - snapshot.place.stackBase;
      return piece.end === snapshot.place.stackTop && piece.start > snapshot.place.stackBase
        ? `stack used ${formatBytes(len)}` : `shadow stack ${formatBytes(size)} (grows ←)`;
    }
    case 'guard': return `unused ${formatBytes(len)}`;
    case 'unclaimed': return `start-up region ${formatBytes(len)} (claimed at first malloc)`;
    case 'unused': return `unused ${formatBytes(len)}`;
    case 'pool': return `${piece.label} (${formatBytes(len)})`;
    case 'sub': return piece.label ? `${piece.label} ${formatBytes(len)}` : '';
    case 'entry': {
      const e = snapshot.entries[piece.entry];
      if (e.kind === 'bump') return `${nameOf(e) ?? hex(e.ptr)} ${e.requested ?? e.size}/${e.size} B`;
      if (e.kind === 'slab') {
        const s = e.slabInfo;
        return `slab of ${s.size} B objects: ${s.used}/${s.capacity} used`;
      }
      if (e.top) return `top (free) ${formatBytes(e.size)}`;
      if (!e.used) return `${e.padFor !== undefined ? 'align gap' : 'free'} ${formatBytes(e.size)}`;
      const name = nameOf(e) ?? hex(e.ptr);
      return `${e.leaked ? 'LEAK ' : ''}${name} ${e.requested ?? e.usable}/${e.usable} B`;
    }
    default: return '';
  }
}

// --- layout --------------------------------------------------------------------

/** The row length (a multiple of 16 units) that fills `height` pixels
 * with the whole memory. */
export function fitRowUnits(track, height) {
  const rowsFit = Math.max(1, Math.floor((height - TOP) / PITCH));
  const exact = track.units / rowsFit;
  const step = exact >= 4096 ? 256 : 16; // rows start at round addresses
  const ru = Math.ceil(exact / step) * step;
  return Math.min(MAX_ROW_UNITS, Math.max(MIN_ROW_UNITS, ru));
}

/** The widest zoom: the whole memory in one row (zooming out further
 * would only shrink the map). */
export function maxRowUnits(track) {
  return fitRowUnits(track, 0);
}

function geometryOf(track, viewport) {
  const width = Math.max(GUTTER + 40, viewport.width);
  const rowUnits = viewport.rowUnits;
  const inner = width - GUTTER - PAD_RIGHT;
  const rows = Math.max(1, Math.ceil(track.units / rowUnits));
  const contentHeight = TOP + rows * PITCH;
  return {
    track, width, height: viewport.height, rowUnits, ppu: inner / rowUnits, rows,
    contentHeight, scrollY: viewport.scrollY ?? 0, inner,
  };
}

const rowTop = (g, r) => TOP + r * PITCH - g.scrollY;

/** Pixel segments, one per row, covering the address range [a0, a1). */
export function segmentsOf(g, a0, a1) {
  const u0 = unitOf(g.track, a0);
  const u1 = unitOf(g.track, a1);
  const out = [];
  for (let r = Math.floor(u0 / g.rowUnits); r * g.rowUnits < u1 && r < g.rows; r++) {
    const s = Math.max(u0, r * g.rowUnits);
    const e = Math.min(u1, (r + 1) * g.rowUnits);
    const y = rowTop(g, r);
    out.push({ row: r, x0: GUTTER + (s - r * g.rowUnits) * g.ppu, x1: GUTTER + (e - r * g.rowUnits) * g.ppu, y: y + BAND, h: BAR });
  }
  return out;
}

/** The widest of segmentsOf(g, a0, a1) (the first, on a tie), or null when
 * the range draws nothing. */
export function widestSegment(g, a0, a1) {
  let best = null;
  for (const seg of segmentsOf(g, a0, a1)) {
    if (!best || seg.x1 - seg.x0 > best.x1 - best.x0) best = seg;
  }
  return best;
}

/** Where an address is drawn: { x, y (bar top), row }. */
export function locate(g, addr) {
  const u = unitOf(g.track, addr);
  const row = Math.min(g.rows - 1, Math.floor(u / g.rowUnits));
  return { row, x: GUTTER + (u - row * g.rowUnits) * g.ppu, y: rowTop(g, row) + BAND };
}

/** The address drawn at pixel (x, y), or -1 outside the map. */
export function pointToAddress(g, x, y) {
  if (x < GUTTER || x > GUTTER + g.inner) return -1;
  const row = Math.floor((y + g.scrollY - TOP) / PITCH);
  if (row < 0 || row >= g.rows) return -1;
  const u = row * g.rowUnits + (x - GUTTER) / g.ppu;
  if (u >= g.track.units) return -1;
  return addrOf(g.track, u);
}

/** The snapshot entry (index) drawn at pixel (x, y), or -1. A region's
 * tag (a created heap's or an arena's name, drawn over its first bytes)
 * stands for the region: its block, or its chunk. */
export function hitTest(snapshot, g, x, y) {
  const tag = g.tags?.find((t) => x >= t.x && x <= t.x + t.w && Math.abs(y - t.y) <= 8);
  if (tag) return entryAt(snapshot, tag.start);
  const a = pointToAddress(g, x, y);
  return a < 0 ? -1 : entryAt(snapshot, a);
}

/** A new { rowUnits, scrollY } zoomed by `factor` (2: twice as many bytes
 * per row, i.e. out) keeping the byte under (x, y) where it is; from
 * MIN_ROW_UNITS to the whole memory in one row (maxRowUnits). */
export function zoomAt(g, x, y, factor) {
  const rowUnits = Math.min(maxRowUnits(g.track), Math.max(MIN_ROW_UNITS, Math.round((g.rowUnits * factor) / 16) * 16));
  const row = Math.max(0, Math.floor((y + g.scrollY - TOP) / PITCH));
  const inRow = y + g.scrollY - TOP - row * PITCH;
  const u = Math.min(g.track.units, row * g.rowUnits + Math.max(0, x - GUTTER) / g.ppu);
  const newRow = Math.floor(u / rowUnits);
  return { rowUnits, scrollY: Math.max(0, TOP + newRow * PITCH + inRow - y) };
}

/** scrollY clamped to the content. */
export function clampScroll(g, scrollY) {
  return Math.max(0, Math.min(scrollY, g.contentHeight - g.height + GAP));
}

const FAMILIES = [...new Set(Object.values(FAMILY))];
const FAMILY_CODE = Object.fromEntries(FAMILIES.map((f, i) => [f, i]));

// Emits rectangles left to right, merging anything narrower than MIN_PX
// into one-pixel columns (the family covering most of a column wins).
class Painter {
  constructor(out) {
    this.out = out;
    this.weight = new Float64Array(FAMILIES.length);
    this.bx0 = -1; // the open column's left edge, -1 when none is open
    this.bx1 = 0;
    this.last = null;
  }

  row(y) {
    this.flush();
    this.y = y;
    this.last = null;
  }

  rect(x0, x1, style, ref) {
    this.flush();
    const r = { kind: 'rect', x: x0, y: this.y, w: x1 - x0, h: BAR, style, ref };
    this.out.push(r);
    this.last = null;
    return r;
  }

  tiny(x0, x1, style) {
    this.tinyCode(x0, x1, FAMILY_CODE[FAMILY[style] ?? style] ?? 0);
  }

  tinyCode(x0, x1, code) {
    if (this.bx0 >= 0 && x0 >= this.bx0 + 1) this.flush();
    if (this.bx0 < 0) {
      this.bx0 = Math.floor(x0);
      this.bx1 = x1;
    } else if (x1 > this.bx1) {
      this.bx1 = x1;
    }
    this.weight[code] += x1 - x0;
  }

  flush() {
    if (this.bx0 < 0) return;
    const w = this.weight;
    let best = 0;
    for (let k = 1; k < w.length; k++) if (w[k] > w[best]) best = k;
    w.fill(0);
    const style = FAMILIES[best];
    const bx0 = this.bx0;
    const x1 = Math.max(this.bx1, bx0 + 1);
    this.bx0 = -1;
    const last = this.last;
    if (last && last.style === style && last.x + last.w >= bx0 - 0.001) {
      last.w = x1 - last.x;
      return;
    }
    const r = { kind: 'rect', x: bx0, y: this.y, w: x1 - bx0, h: BAR, style, dense: true };
    this.out.push(r);
    this.last = r;
  }
}

/**
 * Lays out the memory map.
 * @param snapshot from Session.snapshot() (or decodeHeap)
 * @param viewport { width, height, rowUnits, scrollY, compress,
 *                   selected: entry index, hover: entry index,
 *                   highlight: Set of entry indices }
 * @returns { instructions, geometry }
 */
export function layout(snapshot, viewport) {
  const track = buildTrack(snapshot, !!viewport.compress);
  const g = geometryOf(track, viewport);
  const out = [];
  const breaks = [];
  const labels = [];
  const overlays = [];
  const painter = new Painter(out);
  const band = new Band();
  const firstRow = Math.max(0, Math.floor((g.scrollY - TOP) / PITCH));
  const lastRow = Math.min(g.rows - 1, Math.floor((g.scrollY + g.height - TOP) / PITCH));
  const xOf = (u, r) => GUTTER + (u - r * g.rowUnits) * g.ppu;

  // The band above each row holds small texts, first come first placed:
  // the stack frames' names, then page and grow labels, then slab figures
  // (in the row loop below).

  // Illustrative stack frames: boxes on the stack, named in the band above
  // (right-aligned at the frame's top end, since the stack grows down).
  let bandRight = Infinity;
  for (const f of snapshot.frames ?? []) {
    for (const s of segmentsOf(g, f.bottom, f.top)) {
      if (s.row < firstRow || s.row > lastRow) continue;
      overlays.push({ kind: 'rect', x: s.x0, y: s.y + 3, w: Math.max(2, s.x1 - s.x0), h: s.h - 6, style: 'frame', frame: f.fn });
      const text = `${f.fn}() frame ${f.size} B`;
      const right = Math.min(s.x1, bandRight);
      overlays.push({ kind: 'text', x: right, y: s.y - BAND / 2 + 1, text, align: 'right', small: true });
      band.take(s.row, right - text.length * 6, right);
      bandRight = right - text.length * 6 - 8;
    }
  }

  pageLines(snapshot, g, firstRow, lastRow, overlays, band);

  for (let r = firstRow; r <= lastRow; r++) {
    const y = rowTop(g, r);
    const r0 = r * g.rowUnits;
    const r1 = Math.min(r0 + g.rowUnits, track.units);
    out.push({ kind: 'text', x: GUTTER - 6, y: y + BAND + BAR / 2, text: hex(addrOf(track, r0), 5), align: 'right', style: 'muted' });
    painter.row(y + BAND);
    const { u0: U0, ulen: UL, fam: FAM } = track;
    const n = U0.length;
    const tinyUnits = MIN_PX / g.ppu;
    const base = GUTTER - r0 * g.ppu;
    for (let i = Math.max(0, pieceAtUnit(track, r0)); i < n; i++) {
      const pu = U0[i];
      if (pu >= r1) break;
      const pl = UL[i];
      if (pl < tinyUnits) {
        // The hot path for huge heaps: no objects, no parts.
        const a = pu > r0 ? pu : r0;
        const b = pu + pl < r1 ? pu + pl : r1;
        if (b > a) painter.tinyCode(base + a * g.ppu, base + b * g.ppu, FAM[i]);
        continue;
      }
      const p = track.pieces[i];
      const su0 = Math.max(p.u0, r0);
      const su1 = Math.min(p.u0 + p.ulen, r1);
      if (su1 <= su0) continue;
      const x0 = xOf(su0, r);
      const x1 = xOf(su1, r);
      const scale = scaleOf(p);
      const pieceW = p.ulen * g.ppu;
      const parts = partsOf(snapshot, p);
      let header = null;
      for (const part of parts) {
        const pu0 = Math.max(su0, p.u0 + (part.a0 - p.start) * scale);
        const pu1 = Math.min(su1, p.u0 + (part.a1 - p.start) * scale);
        if (pu1 <= pu0) continue;
        const px0 = xOf(pu0, r);
        const px1 = xOf(pu1, r);
        if (part.style === 'header') header = { x: px0, ref: part.ref };
        if (px1 - px0 < MIN_PX) painter.tiny(px0, px1, part.style);
        else painter.rect(px0, px1, part.style, part.ref);
      }
      painter.flush();
      if (header && pieceW >= 4) {
        // A block always shows where it starts: its header, at least 1px.
        out.push({ kind: 'rect', x: header.x, y: y + BAND, w: Math.max(1, HEADER_SIZE * scale * g.ppu), h: BAR, style: 'header', ref: header.ref });
      } else if (pieceW >= 4 && p.u0 >= r0 && p.kind === 'entry' && snapshot.entries[p.entry].kind === 'bump') {
        // Arena allocations have no header: a hairline where each starts.
        out.push({ kind: 'fill', x: x0, y: y + BAND, w: 1, h: BAR, color: INK.bumpEdge });
      }
      if (p.compressed) {
        const mid = xOf(p.u0 + p.ulen / 2, r);
        if (mid > x0 + 3 && mid < x1 - 3) breaks.push({ kind: 'break', x: mid, y: y + BAND, h: BAR });
      }
      const slab = p.kind === 'entry' && snapshot.entries[p.entry].kind === 'slab';
      if (x1 - x0 >= LABEL_PX) {
        let text = labelOf(snapshot, p);
        if (p.compressed) text += ' (compressed)';
        // A slab's label goes in the band above it, off its objects, and
        // within the slab's width (short form, or none, when it is narrow)
        // so that neighbouring slabs' labels never overlap.
        if (text && slab) {
          const s = snapshot.entries[p.entry].slabInfo;
          const fit = [text, `${s.size} B: ${s.used}/${s.capacity}`].find((t) => textWidth(t) <= x1 - x0 - 4 && band.fits(r, x0 + 2, x0 + 2 + textWidth(t)));
          if (fit) {
            labels.push({ kind: 'text', x: x0 + 2, y: y + BAND / 2 + 1, text: fit, small: true, style: 'muted' });
            band.take(r, x0 + 2, x0 + 2 + textWidth(fit));
          }
        } else if (text) labels.push({ kind: 'label', x: x0 + 3, y: y + BAND + BAR / 2, text, maxWidth: x1 - x0 - 6 });
      }
      if (slab) {
        // Objects wide enough to read get their own labels.
        for (const part of parts) {
          const o = snapshot.entries[part.ref];
          if (part.style !== 'object' && part.style !== 'leak') continue;
          const ox0 = xOf(Math.max(su0, p.u0 + (o.ptr - p.start) * scale), r);
          const ox1 = xOf(Math.min(su1, p.u0 + (o.ptr + o.size - p.start) * scale), r);
          if (ox1 - ox0 >= LABEL_PX) {
            labels.push({ kind: 'label', x: ox0 + 2, y: y + BAND + BAR / 2, text: `${o.leaked ? 'LEAK ' : ''}${nameOf(o) ?? ''} ${o.requested ?? o.size}/${o.size}`, maxWidth: ox1 - ox0 - 4 });
          }
        }
      }
    }
    painter.flush();
  }

  // Created heaps and arenas: a frame around each, and its name and
  // figures on a tag at its start (piece labels under a tag give way).
  const tags = [];
  for (const m of regionMarks(snapshot)) {
    let tagged = false;
    for (const sg of segmentsOf(g, m.start, m.end)) {
      if (sg.row < firstRow || sg.row > lastRow) continue;
      overlays.push({ kind: 'outline', x: sg.x0, y: sg.y, w: Math.max(2, sg.x1 - sg.x0), h: sg.h, outline: m.region, name: m.name });
      if (!tagged && sg.x1 - sg.x0 >= 40) {
        tagged = true;
        const maxWidth = sg.x1 - sg.x0 - 4;
        // w: the tag's drawn width, estimated (12px text), for hit testing.
        const w = Math.min(maxWidth, m.text.length * 6.8 + 6);
        tags.push({ kind: 'label', tag: m.region, x: sg.x0 + 2, y: sg.y + BAR / 2, w, text: m.text, maxWidth, name: m.name, start: m.start, end: m.end });
      }
    }
  }
  const underTag = (l) => tags.some((t) => Math.abs(t.y - l.y) < 1 && l.x < t.x + Math.min(t.maxWidth, textWidth(t.text) + 12) && l.x + 20 > t.x);

  // Outlines: highlighted (index hover), hovered, selected (drawn last).
  const outline = (i, kind) => {
    const e = snapshot.entries[i];
    if (!e) return;
    const start = e.kind === 'object' ? e.ptr : e.header;
    for (const s of segmentsOf(g, start, start + e.size)) {
      if (s.row < firstRow || s.row > lastRow) continue;
      overlays.push({ kind: 'outline', x: s.x0, y: s.y, w: Math.max(2, s.x1 - s.x0), h: s.h, outline: kind, ref: i });
    }
  };
  if (viewport.highlight) {
    const lo = addrOf(track, firstRow * g.rowUnits);
    const hi = addrOf(track, Math.min(track.units - 1, (lastRow + 1) * g.rowUnits));
    for (const i of viewport.highlight) {
      const e = snapshot.entries[i];
      if (!e) continue;
      const start = e.kind === 'object' ? e.ptr : e.header;
      if (start + e.size >= lo && start <= hi) outline(i, 'highlight');
    }
  }
  if (viewport.hover >= 0 && viewport.hover !== viewport.selected) outline(viewport.hover, 'hover');
  if (viewport.selected >= 0) outline(viewport.selected, 'selected');

  g.tags = tags;
  return { instructions: out.concat(breaks, labels.filter((l) => !underTag(l)), overlays, tags), geometry: g };
}

/** The regions the map frames and names: each arena chunk and each created
 * heap's block, { region: 'arena' | 'heap', name, start, end, text }. */
export function regionMarks(snapshot) {
  const marks = [];
  for (const a of snapshot.arenas ?? []) {
    a.chunks.forEach((c, n) => {
      const text = n === 0 ? a.title : `arena ${a.name}: chunk ${n + 1} of ${a.chunks.length}`;
      marks.push({ region: 'arena', name: a.name, start: c.start, end: c.end, text });
    });
  }
  for (const h of snapshot.heaps ?? []) {
    const e = snapshot.entries[h.index];
    marks.push({ region: 'heap', name: h.name, start: e.header, end: e.header + e.size, text: h.title });
  }
  return marks;
}

// Width of a small label (10.5px system-ui), estimated without a canvas.
const textWidth = (t) => t.length * 5.9;

// The band above the rows: the x ranges its texts take, per row. A text
// fits where it keeps 4 px from every text already placed in its row.
class Band {
  rows = new Map();

  fits(row, x0, x1) {
    return !(this.rows.get(row) ?? []).some(([a, b]) => x0 < b + 4 && x1 > a - 4);
  }

  take(row, x0, x1) {
    if (!this.rows.has(row)) this.rows.set(row, []);
    this.rows.get(row).push([x0, x1]);
  }
}

function pageLines(snapshot, g, firstRow, lastRow, out, band) {
  const growAt = new Map();
  snapshot.grows?.forEach((gr, k) => growAt.set(gr.at, { ...gr, n: k + 1 }));
  let lastX = -Infinity;
  let lastLabelX = -Infinity;
  let lastRowSeen = -1;
  const pages = snapshot.memoryBytes / PAGE_SIZE;
  const dense = PAGE_SIZE * g.ppu < 48; // pages narrower than 48 px
  // Only the boundaries that can be in view.
  const loAddr = addrOf(g.track, firstRow * g.rowUnits);
  const hiAddr = addrOf(g.track, Math.min(g.track.units - 1, (lastRow + 1) * g.rowUnits));
  for (let p = Math.max(0, Math.floor(loAddr / PAGE_SIZE)); p <= pages; p++) {
    const addr = p * PAGE_SIZE;
    if (addr > hiAddr + PAGE_SIZE && p < pages) break;
    const u = p === pages ? g.track.units : unitOf(g.track, addr);
    let row = Math.floor(u / g.rowUnits);
    if (p === pages && row > 0 && u === row * g.rowUnits) row--; // the end of the last row
    if (row < firstRow || row > lastRow) continue;
    const x = GUTTER + (u - row * g.rowUnits) * g.ppu;
    if (row !== lastRowSeen) {
      lastX = lastLabelX = -Infinity;
      lastRowSeen = row;
    }
    const grow = growAt.get(addr);
    if (!grow && p !== pages && x - lastX < 3) continue;
    lastX = x;
    const y = rowTop(g, row);
    const kind = grow ? 'grow' : p === pages ? 'end' : 'page';
    if (grow && dense) {
      // Many pages per row (a replayed heap): a tick in the band, so the
      // blocks stay readable; the timeline lists the grows.
      out.push({ kind: 'line', x1: x, y1: y + 3, x2: x, y2: y + BAND, line: 'growThin' });
    } else {
      out.push({ kind: 'line', x1: x, y1: y + 2, x2: x, y2: y + BAND + BAR + 2, line: kind });
    }
    let text = null;
    if (grow) {
      text = `▼ grow ${grow.n}: step ${grow.step} ${grow.cause}${grow.requestedSize !== undefined ? `(${grow.requestedSize})` : ''} +${grow.newPages - grow.oldPages}p`;
    } else if (p === pages) {
      text = `end of memory: ${pages} page${pages === 1 ? '' : 's'}`;
    } else {
      text = `page ${p}`;
    }
    // Labels never overlap (the band knows what is placed): a grow label
    // too long for the room left gets its short form (▼n), or none; page
    // labels keep 44 px apart.
    const right = x > g.width - (grow ? 230 : 160);
    const span = (t) => (right ? [x - 3 - textWidth(t), x] : [x, x + 3 + textWidth(t)]);
    const room = (t) => band.fits(row, ...span(t));
    const place = (t, style) => {
      out.push({ kind: 'text', x: right ? x - 3 : x + 3, y: y + BAND / 2 + 1, text: t, align: right ? 'right' : 'left', style, small: true });
      band.take(row, ...span(t));
      lastLabelX = x;
    };
    if (grow) {
      let t = dense ? `▼${grow.n}` : text;
      if (!room(t)) t = `▼${grow.n}`;
      if (room(t)) place(t, 'grow');
    } else if (x - lastLabelX >= 44 && room(text)) {
      place(text, 'muted');
    }
  }
}

/** Entry index to move to from entry i with an arrow key (dir: 'left',
 * 'right', 'up', 'down'), or i itself at the ends. */
export function neighbour(snapshot, g, i, dir) {
  const es = snapshot.entries;
  if (!es.length) return -1;
  if (i < 0) return 0;
  if (dir === 'left') return Math.max(0, i - 1);
  if (dir === 'right') return Math.min(es.length - 1, i + 1);
  const e = es[i];
  const at = locate(g, e.kind === 'object' ? e.ptr : e.header);
  const row = at.row + (dir === 'up' ? -1 : 1);
  if (row < 0 || row >= g.rows) return i;
  const y = TOP + row * PITCH - g.scrollY + BAND + 1;
  for (let dx = 0; dx < g.inner; dx += 4) {
    for (const x of [at.x + 1 - dx, at.x + 1 + dx]) {
      const j = hitTest(snapshot, g, Math.max(GUTTER, Math.min(GUTTER + g.inner - 1, x)), y);
      if (j >= 0) return j;
    }
  }
  return i;
}
