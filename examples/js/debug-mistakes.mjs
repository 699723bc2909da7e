// The classic C mistakes, made from JavaScript with raw writes to the wasm
// memory, and what the debug build (lmalloc-debug.wasm, the C debug
// library) says about each: an overflow by one byte, a write after free,
// a double free, and a leak.
//
//   node examples/js/debug-mistakes.mjs   (after `npm test` or `npm start`,
//                                          which build wasm/dist/*.wasm)

import { createHeap, DoubleFreeError, OverflowError } from '../../wasm/lmalloc.mjs';

const heap = await createHeap({ debug: true });
const memory = () => new Uint8Array(heap.memory.buffer); // fresh: memory may grow

// An overflow by one byte: the guard after the block catches it at free.
const name = heap.malloc(5); // "Grace" needs 6 bytes with its NUL
memory().set(new TextEncoder().encode('Grace'), name); // 5 bytes...
memory()[name + 5] = 0; // ...and the NUL, one past the end
try {
  heap.free(name);
} catch (e) {
  if (!(e instanceof OverflowError)) throw e;
  console.log(`${e.name}: ${e.message}`);
  memory()[name + 5] = 0xfd; // mend the guard byte (LM_DEBUG_GUARD_BYTE) to free it
  heap.free(name);
}

// A write after free: the freed block waits in the quarantine, filled
// with 0xDD; check() finds the write.
const record = heap.malloc(24);
heap.free(record);
memory()[record + 8] = 42;
heap.check((f) => console.log(`check(): ${f.kind} at +${f.offset} of the block of ${f.size} bytes ` +
  `(allocation #${f.allocSeq}, freed #${f.freeSeq}): ${f.message}`));
heap.flushQuarantine(); // it leaves the quarantine: its memory is reused from now on

// A double free: both sequence numbers say when the block came and went.
const buffer = heap.malloc(100);
heap.free(buffer);
try {
  heap.free(buffer);
} catch (e) {
  if (!(e instanceof DoubleFreeError)) throw e;
  console.log(`${e.name}: ${e.message}`);
}

// A leak: what is still live at the end.
heap.malloc(48);
for (const leak of heap.leaks()) {
  console.log(`leak: ${leak.size} bytes at 0x${leak.ptr.toString(16)}, allocation #${leak.allocSeq}`);
}
console.log(`heap.check() = ${heap.check()}`);
