// The walk entries of lmalloc's blocks() (wasm/lmalloc.mjs) packed into one
// Uint32Array, as the replay worker (replay-worker.mjs) hands them to the
// page (replay-view.mjs) by transfer: WORDS words per entry, in the order
// below, kinds as indexes into KINDS, used and top as 0 or 1.

const KINDS = ['block', 'slab', 'object'];
const KIND_INDEX = Object.fromEntries(KINDS.map((k, i) => [k, i]));
const WORDS = 8;

/** Packs walk entries: the inverse of unpackEntries. Writes in place (one
 * entry per block of a replayed heap: no array per entry). */
export function packEntries(entries) {
  const packed = new Uint32Array(entries.length * WORDS);
  for (let i = 0, k = 0; i < entries.length; i++, k += WORDS) {
    const e = entries[i];
    packed[k] = e.ptr;
    packed[k + 1] = e.header;
    packed[k + 2] = e.size;
    packed[k + 3] = e.usable;
    packed[k + 4] = e.used ? 1 : 0;
    packed[k + 5] = KIND_INDEX[e.kind] ?? 0;
    packed[k + 6] = e.span;
    packed[k + 7] = e.top ? 1 : 0;
  }
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
