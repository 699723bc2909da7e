// The walk entries of lmalloc's blocks() (wasm/lmalloc.mjs) packed into one
// Uint32Array, as the replay worker (replay-worker.mjs) hands them to the
// page (replay-view.mjs) by transfer: WORDS words per entry, in the order
// below, kinds as indexes into KINDS, used and top as 0 or 1.

const KINDS = ['block', 'slab', 'object'];
const WORDS = 8;

/** Packs walk entries: the inverse of unpackEntries. */
export function packEntries(entries) {
  const packed = new Uint32Array(entries.length * WORDS);
  entries.forEach((e, i) => packed.set([
    e.ptr, e.header, e.size, e.usable, e.used ? 1 : 0, Math.max(0, KINDS.indexOf(e.kind)), e.span, e.top ? 1 : 0,
  ], i * WORDS));
  return packed;
}

/** The walk entries of a packed array. */
export function unpackEntries(packed) {
  const out = new Array(packed.length / WORDS);
  for (let i = 0, k = 0; k < packed.length; i++, k += WORDS) {
    out[i] = {
      ptr: packed[k], header: packed[k + 1], size: packed[k + 2], usable: packed[k + 3],
      used: packed[k + 4] === 1, kind: KINDS[packed[k + 5]] ?? 'block', span: packed[k + 6],
      top: packed[k + 7] === 1,
    };
  }
  return out;
}
