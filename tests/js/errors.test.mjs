// Every error class, in both builds: each misuse gives its typed error
// with a clear message, and leaves every other block as it was (contents,
// used-block count, check() === 0). Bad sizes and alignments are refused
// before any wasm call.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  AllocationError,
  DoubleFreeError,
  InvalidAlignmentError,
  InvalidPointerError,
  InvalidSizeError,
  LmallocError,
  UseAfterFreeError,
  createHeap,
} from '../../wasm/lmalloc.mjs';
import { BUILDS, PAGE, assertUnchanged, populated, snapshot } from './helpers.mjs';

// Runs `bad` (which must throw `Class` matching `message`) and checks the
// heap did not change.
function refuses(heap, ptrs, bad, Class, message) {
  const before = snapshot(heap, ptrs);
  const bytesBefore = heap.memory.buffer.byteLength;
  assert.throws(bad, (e) => {
    assert.ok(e instanceof Class, `${e.name}: ${e.message}, expected ${Class.name}`);
    assert.ok(e instanceof LmallocError || e instanceof RangeError || e instanceof TypeError);
    if (message) assert.match(e.message, message);
    return true;
  });
  assertUnchanged(heap, ptrs, before);
  assert.equal(heap.memory.buffer.byteLength, bytesBefore, 'memory grew');
}

test('every error class extends LmallocError and is named after itself', () => {
  const classes = [
    AllocationError, InvalidSizeError, InvalidAlignmentError,
    DoubleFreeError, InvalidPointerError, UseAfterFreeError,
  ];
  for (const Class of classes) {
    const e = new Class('m', {});
    assert.ok(e instanceof LmallocError);
    assert.ok(e instanceof Error);
    assert.equal(e.name, Class.name);
  }
});

for (const build of BUILDS) {
  describe(`${build.name}: errors`, () => {
    test('InvalidSizeError: negative, NaN, fractional, non-number, beyond 4 GiB', async () => {
      const { heap, ptrs } = await populated({ debug: build.debug });
      const bad = [-1, -0.5, NaN, 1.5, Infinity, -Infinity, 2 ** 32, 2 ** 53, '8', 8n, null, undefined, {}];
      for (const n of bad) {
        refuses(heap, ptrs, () => heap.malloc(n), InvalidSizeError, /malloc: size must be an integer/);
        refuses(heap, ptrs, () => heap.tryMalloc(n), InvalidSizeError);
        refuses(heap, ptrs, () => heap.calloc(n, 1), InvalidSizeError, /count/);
        refuses(heap, ptrs, () => heap.calloc(1, n), InvalidSizeError);
        refuses(heap, ptrs, () => heap.realloc(ptrs[3], n), InvalidSizeError);
        refuses(heap, ptrs, () => heap.alignedAlloc(64, n), InvalidSizeError);
      }
      refuses(heap, ptrs, () => heap.calloc(2 ** 16, 2 ** 16), InvalidSizeError, /beyond 4 GiB/);
      const e = assert.throws(() => heap.malloc(-1), (err) => err.size === -1);
      assert.equal(e, undefined);
    });

    test('InvalidAlignmentError: zero, not a power of two, too large, not a number', async () => {
      const { heap, ptrs } = await populated({ debug: build.debug });
      for (const a of [0, 3, 24, 48, -16, 1.5, NaN, 2 ** 31, '16', undefined]) {
        refuses(heap, ptrs, () => heap.alignedAlloc(a, 16), InvalidAlignmentError,
          /alignment must be a power of two/);
      }
      refuses(heap, ptrs, () => heap.view(Float64Array, ptrs[3] + 4, 1), InvalidAlignmentError,
        /multiple of 8/);
    });

    test('AllocationError: out of memory carries the request and the heap size', async () => {
      const heap = await createHeap({ debug: build.debug, maximumPages: 4 });
      const ptrs = [heap.malloc(100), heap.malloc(10000)];
      heap.bytes(ptrs[0], 100).fill(1);
      heap.bytes(ptrs[1], 10000).fill(2);
      for (const n of [5 * PAGE, 0xffff0001, 2 ** 32 - 1]) {
        const before = snapshot(heap, ptrs);
        assert.throws(() => heap.malloc(n), (e) => {
          assert.ok(e instanceof AllocationError);
          assert.equal(e.requestedSize, n);
          assert.equal(e.heapSize, heap.stats().heapBytes);
          assert.match(e.message, /out of memory/);
          return true;
        });
        assertUnchanged(heap, ptrs, before);
      }
      assert.throws(() => heap.calloc(5, PAGE), AllocationError);
      assert.throws(() => heap.alignedAlloc(PAGE, 5 * PAGE), AllocationError);
      assert.throws(() => heap.realloc(ptrs[1], 5 * PAGE), AllocationError);
      assert.ok(heap.read(ptrs[1], 10000).every((b) => b === 2));
      // Filling memory up to the maximum, then failing, leaves it usable.
      const fill = [];
      for (let p; (p = heap.tryMalloc(1000)); ) fill.push(p);
      assert.ok(fill.length > 100);
      assert.equal(heap.check(), 0);
      for (const p of fill) heap.free(p);
      assert.equal(heap.check(), 0);
    });

    test('DoubleFreeError: a block or an object freed twice, or realloc of it', async () => {
      const { heap, ptrs } = await populated({ debug: build.debug });
      const block = heap.malloc(2000);
      heap.free(block);
      refuses(heap, ptrs, () => heap.free(block), DoubleFreeError, /free\(0x[0-9a-f]+\).*already free/);
      refuses(heap, ptrs, () => heap.realloc(block, 10), DoubleFreeError, /realloc/);
      // An object in a slab that still has live objects (ptrs[0] is one).
      const object = heap.malloc(8);
      heap.free(object);
      refuses(heap, ptrs, () => heap.free(object), DoubleFreeError, /double free/);
      const e = (() => {
        try {
          heap.free(block);
        } catch (err) {
          return err;
        }
      })();
      assert.equal(e.ptr, block);
    });

    test('InvalidPointerError: foreign, interior, misaligned, not an address', async () => {
      const { heap, ptrs } = await populated({ debug: build.debug });
      const big = ptrs[4];
      const cases = [
        [16, /outside the heap|not a block/], // below the heap (static data)
        [2 ** 31, /outside the heap|not a block/], // beyond memory
        [big + 1, /16-byte aligned|interior|not a block/],
        [big + 64, /interior|no block starts/],
        [ptrs[1] + 16, /interior|no live object|no block/], // inside a slab
      ];
      for (const [p, message] of cases) {
        refuses(heap, ptrs, () => heap.free(p), InvalidPointerError, message);
        refuses(heap, ptrs, () => heap.realloc(p, 100), InvalidPointerError);
        refuses(heap, ptrs, () => heap.usableSize(p), InvalidPointerError);
      }
      for (const p of [-16, 1.5, NaN, '4096', 2 ** 32, null]) {
        refuses(heap, ptrs, () => heap.free(p), InvalidPointerError, /a pointer is an integer address/);
        refuses(heap, ptrs, () => heap.bytes(p, 1), InvalidPointerError);
      }
      refuses(heap, ptrs, () => heap.read(0, 1), InvalidPointerError, /null pointer/);
    });

    test('UseAfterFreeError: usableSize of a freed block or object', async () => {
      const { heap, ptrs } = await populated({ debug: build.debug });
      for (const size of [3000, 40]) { // ptrs[1] (40 bytes too) keeps the object's slab
        const p = heap.malloc(size);
        heap.free(p);
        refuses(heap, ptrs, () => heap.usableSize(p), UseAfterFreeError, /usableSize\(/);
      }
    });

    test('a thousand refused calls leave the stack and the heap intact', async () => {
      const { heap, ptrs } = await populated({ debug: build.debug });
      const p = heap.malloc(3000);
      heap.free(p);
      const before = snapshot(heap, ptrs);
      for (let i = 0; i < 1000; i++) {
        assert.throws(() => heap.free(p), DoubleFreeError);
        assert.throws(() => heap.free(ptrs[4] + 32), InvalidPointerError);
      }
      assertUnchanged(heap, ptrs, before);
      const q = heap.malloc(100000);
      heap.free(q);
      assert.equal(heap.check(), 0);
    });
  });
}

describe('debug build only', () => {
  test('helpers refuse accesses to freed blocks: UseAfterFreeError', async () => {
    const { heap, ptrs } = await populated({ debug: true });
    const p = heap.malloc(500);
    const q = heap.malloc(8);
    heap.free(p);
    heap.free(q);
    refuses(heap, ptrs, () => heap.bytes(p, 4), UseAfterFreeError, /was freed/);
    refuses(heap, ptrs, () => heap.read(p + 100, 4), UseAfterFreeError);
    refuses(heap, ptrs, () => heap.write(p, [1]), UseAfterFreeError);
    refuses(heap, ptrs, () => heap.view(Uint32Array, p, 1), UseAfterFreeError);
    refuses(heap, ptrs, () => heap.readString(p), UseAfterFreeError);
    refuses(heap, ptrs, () => heap.writeString(q, 'x'), UseAfterFreeError);
  });

  test('helpers refuse ranges past a block or outside every block', async () => {
    const { heap, ptrs } = await populated({ debug: true });
    const p = ptrs[3];
    const usable = heap.usableSize(p);
    assert.equal(heap.bytes(p, usable).length, usable);
    refuses(heap, ptrs, () => heap.bytes(p, usable + 1), RangeError, /1 bytes past the end/);
    refuses(heap, ptrs, () => heap.write(p + usable - 2, [1, 2, 3]), RangeError);
    refuses(heap, ptrs, () => heap.writeString(p, 'x'.repeat(usable)), RangeError);
    refuses(heap, ptrs, () => heap.bytes(16, 4), InvalidPointerError, /not inside a live block/);
    // No NUL inside the block: readString stops at the block's end.
    heap.bytes(p, usable).fill(65);
    refuses(heap, ptrs.filter((x) => x !== p), () => heap.readString(p), RangeError, /no NUL/);
  });

  test('an interior pointer is refused even when it looks like a block', async () => {
    const { heap, ptrs } = await populated({ debug: true });
    const p = ptrs[3];
    // A fake used-block header 4 bytes before p + 32 (size 64): the C
    // core's O(1) header check cannot tell it from a real block; the debug
    // library's keyed header can, and names the block it points into.
    heap.view(Uint32Array, p + 28, 1)[0] = 64;
    ptrs.splice(3, 1); // its contents changed on purpose
    refuses(heap, ptrs, () => heap.free(p + 32), InvalidPointerError,
      /block of 1000 bytes, allocation #4\b.*interior pointer/);
  });

  test('a double free of an object whose slab was given back is a DoubleFreeError', async () => {
    for (const debug of [true, false]) {
      const heap = await createHeap({ debug });
      const p = heap.malloc(100); // the only object of its slab
      heap.free(p); // the empty slab goes back to the heap (into top)
      // Release: no object is there any more, but a pointer inside top
      // was freed already (src/heap.c, block_at).
      assert.throws(() => heap.free(p), DoubleFreeError);
      assert.equal(heap.check(), 0);
    }
  });
});
