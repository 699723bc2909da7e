// What the playground knows of lmalloc's memory layout, in one place: the
// constants and bit tricks of src/block.h (block headers, free-list links,
// footers, spans), src/bins.h (the 416 size classes and their two-level
// bitmap) and src/slab.h (slab header fields). Where the module's static
// data and stack lie, the heap itself says (heap.layout, wasm/lmalloc.mjs).
// Everything else in web/ decodes memory through these functions only, so
// a layout change in src/ is one edit here (and tests/js/web-snapshot.test.mjs checks the decoding against
// the real heap's walk and checker).
//
// Pure: no DOM, no wasm; importable from Node.

// --- block.h ----------------------------------------------------------------
export const PAGE_SIZE = 65536;
export const ALIGN = 16;
export const HEADER_SIZE = 4;
export const SEAL_SIZE = 4; // a used block's last word: its keyed seal
export const MIN_BLOCK = 16;
export const SPAN_HEADER = 12; // next span, span end, unused
export const MARKER_SIZE = 4; // the end marker: a header of size 0
export const FLAG_FREE = 1;
export const FLAG_PREV_FREE = 2;
export const FLAG_SLAB = 4;
export const FLAGS_MASK = ALIGN - 1;
export const SIZE_MASK = ~FLAGS_MASK >>> 0;

/** Decodes a block header word: size and the FREE / PREV_FREE / SLAB bits. */
export function decodeHeader(word) {
  word >>>= 0;
  return {
    raw: word,
    size: (word & SIZE_MASK) >>> 0,
    free: (word & FLAG_FREE) !== 0,
    prevFree: (word & FLAG_PREV_FREE) !== 0,
    slab: (word & FLAG_SLAB) !== 0,
  };
}

/** Block size for a request (header and seal added, rounded to 16, at
 * least 16): block_size_for in block.h. */
export function blockSizeFor(size) {
  const nb = Math.ceil((size + HEADER_SIZE + SEAL_SIZE) / ALIGN) * ALIGN;
  return Math.max(nb, MIN_BLOCK);
}

// --- bins.h -----------------------------------------------------------------
export const LINEAR_LIMIT = 1024;
export const LINEAR_LOG2 = 10;
export const SUB_LOG2 = 4;
export const SUBCLASSES = 1 << SUB_LOG2;
export const LINEAR_CLASSES = LINEAR_LIMIT / ALIGN; // 64
export const CLASSES = LINEAR_CLASSES + (32 - LINEAR_LOG2) * SUBCLASSES; // 416
export const MAP_WORDS = Math.ceil(CLASSES / 32); // 13

/** The class holding free blocks of exactly `size` bytes (bin_class). */
export function binClass(size) {
  size >>>= 0;
  if (size < LINEAR_LIMIT) return size >>> 4;
  const k = 31 - Math.clz32(size);
  const sub = (size >>> (k - SUB_LOG2)) & (SUBCLASSES - 1);
  return LINEAR_CLASSES + ((k - LINEAR_LOG2) << SUB_LOG2) + sub;
}

/** Smallest block size of class c (bin_class_min). */
export function binClassMin(c) {
  if (c < LINEAR_CLASSES) return c * ALIGN;
  const k = LINEAR_LOG2 + ((c - LINEAR_CLASSES) >> SUB_LOG2);
  const sub = (c - LINEAR_CLASSES) & (SUBCLASSES - 1);
  return 2 ** k + sub * 2 ** (k - SUB_LOG2);
}

/** Largest block size of class c (the next class's minimum - 16). */
export function binClassMax(c) {
  return c + 1 < CLASSES ? binClassMin(c + 1) - ALIGN : 0xfffffff0;
}

// --- slab.h -----------------------------------------------------------------
export const SLAB_SIZE = 4096;
export const SLAB_HEADER = 64;
export const SLAB_END = SLAB_SIZE - HEADER_SIZE; // the next block's header
export const SLAB_CLASSES = 16; // objects of 16, 32, ... 256 bytes
export const SLAB_MAX = SLAB_CLASSES * ALIGN;
export const SLAB_FIELDS = {
  check: 0, free: 4, spare: 8, size: 12, next: 16, prev: 20, bump: 24, inv: 28, map: 32,
};

export const SLAB_CELL = 16; // bytes per map bit (SLAB_CELL_LOG2: the smallest object)

/** The map bit of the object at `ptr` in the slab at `slab`: one bit per
 *  SLAB_CELL bytes of the objects' area, set where an allocated object
 *  starts (slab_cell). */
export function slabMapBit(slab, ptr) {
  const cell = Math.floor((ptr - slab - SLAB_HEADER) / SLAB_CELL);
  return { word: cell >> 5, bit: cell & 31 };
}

/** Objects a slab of `size`-byte objects holds (slab_capacity). */
export function slabCapacity(size) {
  return Math.floor((SLAB_END - SLAB_HEADER) / size);
}

/** The slab class (1..16) of a request of `size` bytes (<= 256). */
export function slabClass(size) {
  const c = Math.ceil(size / ALIGN);
  return c === 0 ? 1 : c;
}

// --- arena.c (lmalloc_heaps.h) ------------------------------------------------
// Where an arena's chunks are, their data start and bump come from the API
// (arena.chunks(), lm_arena_walk); the map only draws each chunk's header
// apart, the 16 bytes before the arena struct (first chunk) or the data:
//
//   c          c+16             data                               end
//   | next|end|stop | lm_arena_t | allocations, bump -->   ...      |
export const CHUNK_HEADER = 16;

// --- formatting -----------------------------------------------------------------
export const hex = (n, pad = 0) => `0x${(n >>> 0).toString(16).padStart(pad, '0')}`;

/** "12 B", "3.5 KiB", "1.25 MiB". */
export function formatBytes(n) {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let v = n;
  let u = -1;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  const s = v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
  // Trailing zeros of the fraction only ("1.50" -> "1.5", "100" stays).
  return `${s.includes('.') ? s.replace(/\.?0+$/, '') : s} ${units[u]}`;
}

/** A string as a C literal for the page (JSON's quoting): whole when it
 * has at most `max` characters, else its start and end around "…" and its
 * length in a C comment after it, so that a long write does not flood the
 * step log and the banner. */
export function quoteShort(text, max = 40) {
  const chars = [...text]; // code points: a pair of surrogates stays whole
  if (chars.length <= max) return JSON.stringify(text);
  const head = JSON.stringify(chars.slice(0, max - 10).join(''));
  const tail = JSON.stringify(chars.slice(-8).join(''));
  return `${head.slice(0, -1)}…${tail.slice(1)} /* ${chars.length} characters */`;
}
