// Every method of the heap, in both builds: what it returns, what it
// writes, and what the heap looks like afterwards (check() === 0).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { createHeap, HeapCorruptionError } from '../../wasm/lmalloc.mjs';
import { BUILDS, PAGE, usedBlocks } from './helpers.mjs';

for (const build of BUILDS) {
  const make = (options = {}) => createHeap({ debug: build.debug, ...options });

  describe(`${build.name}: allocation`, () => {
    test('malloc returns distinct 16-aligned blocks of at least the size', async () => {
      const heap = await make();
      const sizes = [0, 1, 12, 16, 17, 255, 256, 257, 1000, 4096, 100000];
      const ptrs = sizes.map((n) => heap.malloc(n));
      assert.equal(new Set(ptrs).size, ptrs.length);
      ptrs.forEach((p, i) => {
        assert.equal(p % 16, 0);
        assert.ok(heap.usableSize(p) >= sizes[i]);
      });
      assert.notEqual(heap.malloc(0), heap.malloc(0), 'malloc(0): unique blocks');
      assert.equal(heap.check(), 0);
      for (const p of ptrs) heap.free(p);
      assert.equal(heap.check(), 0);
    });

    test('tryMalloc returns 0 when out of memory, malloc throws', async () => {
      const heap = await make();
      heap.setHeapLimit(4 * PAGE);
      assert.equal(heap.tryMalloc(8 * PAGE), 0);
      assert.throws(() => heap.malloc(8 * PAGE), { name: 'AllocationError' });
      const p = heap.tryMalloc(100);
      assert.ok(p > 0);
      assert.throws(() => heap.tryMalloc(-1), { name: 'InvalidSizeError' });
      heap.free(p);
      assert.equal(heap.check(), 0);
    });

    test('calloc zeroes, also memory that was used before', async () => {
      const heap = await make();
      const dirty = heap.malloc(5000);
      heap.bytes(dirty, 5000).fill(0xab);
      heap.free(dirty);
      const p = heap.calloc(100, 50);
      assert.ok(heap.read(p, 5000).every((b) => b === 0));
      const small = heap.calloc(3, 4);
      assert.ok(heap.read(small, 12).every((b) => b === 0));
      assert.throws(() => heap.calloc(2 ** 20, 2 ** 20), { name: 'InvalidSizeError' });
      assert.equal(heap.check(), 0);
    });

    test('realloc keeps contents when it grows, shrinks and moves', async () => {
      const heap = await make();
      let p = heap.malloc(10);
      heap.write(p, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      const blocker = heap.malloc(10);
      for (const n of [100, 300, 5000, 70000, 40, 8]) {
        p = heap.realloc(p, n);
        assert.deepEqual([...heap.read(p, 8)], [1, 2, 3, 4, 5, 6, 7, 8]);
        assert.ok(heap.usableSize(p) >= n);
        assert.equal(heap.check(), 0);
      }
      const q = heap.realloc(0, 50); // realloc(0, n) is malloc(n)
      assert.ok(heap.usableSize(q) >= 50);
      assert.equal(heap.realloc(q, 0), 0); // realloc(p, 0) frees p
      assert.throws(() => heap.free(q), /already free|not a block|no block/);
      heap.free(p);
      heap.free(blocker);
      assert.equal(usedBlocks(heap), 0);
      assert.equal(heap.check(), 0);
    });

    test('realloc that fails leaves the block as it was', async () => {
      const heap = await make();
      heap.setHeapLimit(4 * PAGE);
      const p = heap.malloc(1000);
      heap.bytes(p, 1000).fill(7);
      assert.throws(() => heap.realloc(p, 10 * PAGE), (e) => {
        assert.equal(e.name, 'AllocationError');
        assert.equal(e.requestedSize, 10 * PAGE);
        assert.ok(e.heapSize > 0 && e.heapSize <= 4 * PAGE);
        return true;
      });
      assert.ok(heap.read(p, 1000).every((b) => b === 7));
      heap.free(p);
      assert.equal(heap.check(), 0);
    });

    test('free(0) does nothing; free gives memory back', async () => {
      const heap = await make();
      heap.free(0);
      const before = heap.stats();
      const ptrs = Array.from({ length: 50 }, (_, i) => heap.malloc(i * 37));
      for (const p of ptrs) heap.free(p);
      assert.equal(usedBlocks(heap), 0); // the debug build's quarantine emptied
      const after = heap.stats();
      assert.equal(after.usedBlocks, 0);
      assert.equal(after.usedBytes, 0);
      assert.equal(after.heapBytes, after.freeBytes + after.overheadBytes);
      assert.equal(before.usedBlocks, 0);
      assert.equal(heap.check(), 0);
    });

    test('alignedAlloc honours every power of two', async () => {
      const heap = await make();
      const ptrs = [];
      for (let a = 1; a <= 2 ** 16; a *= 2) {
        for (const n of [1, 100, 5000]) {
          const p = heap.alignedAlloc(a, n);
          assert.equal(p % a, 0, `alignedAlloc(${a}, ${n}) = ${p}`);
          assert.ok(heap.usableSize(p) >= n);
          ptrs.push(p);
        }
      }
      assert.equal(heap.check(), 0);
      for (const p of ptrs) heap.free(p);
      assert.equal(heap.check(), 0);
    });

    test('usableSize is 0 for 0 and at least the request otherwise', async () => {
      const heap = await make();
      assert.equal(heap.usableSize(0), 0);
      const p = heap.malloc(300);
      assert.ok(heap.usableSize(p) >= 300);
      heap.free(p);
    });

    test('setHeapLimit caps growth; 0 removes the cap', async () => {
      const heap = await make();
      heap.setHeapLimit(2 * PAGE);
      assert.throws(() => heap.malloc(3 * PAGE), { name: 'AllocationError' });
      heap.setHeapLimit(0);
      const p = heap.malloc(3 * PAGE);
      heap.free(p);
      assert.equal(heap.check(), 0);
      assert.throws(() => heap.setHeapLimit(-1), { name: 'InvalidSizeError' });
    });
  });

  describe(`${build.name}: memory access`, () => {
    test('bytes is a live view; read is a copy; write copies in', async () => {
      const heap = await make();
      const p = heap.malloc(64);
      const view = heap.bytes(p, 64);
      view.fill(3);
      const copy = heap.read(p, 64);
      view[0] = 9;
      assert.equal(copy[0], 3);
      assert.equal(heap.read(p, 1)[0], 9);
      assert.equal(heap.write(p, new Uint16Array([0x0102])), 2);
      assert.deepEqual([...heap.read(p, 2)], [2, 1]);
      assert.equal(heap.write(p + 2, new Uint8Array([5, 6]).buffer), 2);
      assert.equal(heap.write(p + 4, [7, 8]), 2);
      assert.deepEqual([...heap.read(p, 6)], [2, 1, 5, 6, 7, 8]);
      assert.throws(() => heap.write(p, 'text'), TypeError);
      assert.throws(() => heap.bytes(0, 4), { name: 'InvalidPointerError' });
      const end = heap.memory.buffer.byteLength;
      assert.throws(() => heap.read(end - 2, 4), RangeError);
    });

    test('view makes typed views and checks alignment', async () => {
      const heap = await make();
      const p = heap.malloc(64);
      const f = heap.view(Float64Array, p, 8);
      f.set([1.5, -2, 3e300]);
      assert.deepEqual([...heap.view(Float64Array, p, 3)], [1.5, -2, 3e300]);
      const big = heap.view(BigInt64Array, p + 32, 2);
      big[0] = -5n;
      assert.equal(heap.view(BigInt64Array, p + 32, 1)[0], -5n);
      assert.equal(heap.view(Int32Array, p + 4, 1).length, 1);
      assert.throws(() => heap.view(Float64Array, p + 4, 1), { name: 'InvalidAlignmentError' });
      assert.throws(() => heap.view(Uint32Array, p + 2, 1), { name: 'InvalidAlignmentError' });
      assert.throws(() => heap.view(Object, p, 1), TypeError);
      assert.throws(() => heap.view(Uint8Array, p, -1), { name: 'InvalidSizeError' });
    });

    test('strings are UTF-8, NUL-terminated; length counts bytes', async () => {
      const heap = await make();
      const text = 'héllo, wörld ✓ 🎉';
      const size = new TextEncoder().encode(text).length;
      const p = heap.malloc(size + 1);
      heap.bytes(p, size + 1).fill(0xff); // so the NUL must be written
      assert.equal(heap.writeString(p, text), size);
      assert.equal(heap.read(p + size, 1)[0], 0);
      assert.equal(heap.readString(p), text);
      assert.equal(heap.readString(p, 5), 'héll'); // 'é' is two bytes
      assert.equal(heap.readString(p, 0), '');
      const q = heap.allocString(text);
      assert.equal(heap.readString(q), text);
      assert.ok(heap.usableSize(q) >= size + 1);
      const empty = heap.allocString('');
      assert.equal(heap.readString(empty), '');
    });

    test('views made after growth see the same bytes', async () => {
      const heap = await make({ initialPages: 1 });
      const p = heap.malloc(100);
      heap.bytes(p, 100).fill(0x5a);
      const stale = heap.bytes(p, 100);
      heap.malloc(50 * PAGE); // grows memory: the old buffer is detached
      assert.equal(stale.length, 0, 'old view detached by memory.grow');
      assert.ok(heap.bytes(p, 100).every((b) => b === 0x5a));
    });
  });

  describe(`${build.name}: introspection`, () => {
    test('stats counts blocks, bytes and growth', async () => {
      const heap = await make({ initialPages: 1 });
      const empty = heap.stats();
      assert.deepEqual(Object.keys(empty), [
        'heapBytes', 'pagesGrown', 'growCount', 'spans', 'usedBytes', 'usedBlocks',
        'freeBytes', 'freeBlocks', 'overheadBytes', 'largestFree', 'slabs',
      ]);
      assert.equal(empty.usedBlocks, 0);
      const small = heap.malloc(10);
      const big = heap.malloc(3 * PAGE);
      const s = heap.stats();
      assert.equal(s.usedBlocks, 2);
      const usable = heap.usableSize(small) + heap.usableSize(big);
      if (build.debug) {
        // The debug library counts each block's 32-byte header and its
        // guard (16 to 31 bytes) as used bytes too.
        assert.ok(s.usedBytes >= usable + 2 * (32 + 16), `${s.usedBytes} used bytes`);
      } else {
        assert.equal(s.usedBytes, usable);
      }
      assert.equal(s.slabs, 1);
      assert.ok(s.pagesGrown >= 3 && s.growCount >= 1);
      assert.equal(s.spans, 1);
      assert.equal(s.heapBytes, s.usedBytes + s.freeBytes + s.overheadBytes);
      assert.ok(s.largestFree <= s.freeBytes);
    });

    test('blocks lists the walk: blocks, slabs and their objects', async () => {
      const heap = await make();
      const a = heap.malloc(1000);
      const b = heap.malloc(20);
      heap.free(a);
      const entries = heap.blocks();
      for (const e of entries) {
        assert.deepEqual(Object.keys(e), ['ptr', 'header', 'size', 'usable', 'used', 'kind', 'span', 'top']);
        assert.ok(['block', 'slab', 'object'].includes(e.kind));
      }
      // One top block: free, a block; the slab was cut from its end.
      const tops = entries.filter((e) => e.top);
      assert.equal(tops.length, 1);
      assert.ok(tops[0].kind === 'block' && !tops[0].used);
      const slab = entries.find((e) => e.kind === 'slab');
      assert.equal(tops[0].header + tops[0].size, slab.header, 'the slab lies right after top');
      const freed = entries.find((e) => e.ptr === a);
      assert.equal(freed.used, false); // debug: in the quarantine
      assert.equal(freed.kind, 'block');
      // Debug: the core block's 4-byte header, then the 32-byte debug header.
      assert.equal(freed.header, a - 4 - (build.debug ? 32 : 0));
      const object = entries.find((e) => e.ptr === b);
      assert.equal(object.kind, 'object');
      assert.equal(object.used, true);
      assert.equal(object.header, 0);
      assert.ok(entries.some((e) => e.kind === 'slab' && e.used));
      const blocksOnly = entries.filter((e) => e.kind !== 'object');
      for (let i = 1; i < blocksOnly.length; i++) {
        assert.ok(blocksOnly[i].ptr > blocksOnly[i - 1].ptr, 'address order');
      }
      assert.equal(entries.filter((e) => e.used && e.kind !== 'slab').length, usedBlocks(heap));
    });

    test('check is 0 on a healthy heap and counts broken invariants', async () => {
      // No quarantine: the debug build then gives q back to the core at once.
      const heap = await make({ quarantineBytes: 0 });
      const p = heap.malloc(1000);
      const q = heap.malloc(1000);
      heap.malloc(1000);
      heap.free(q);
      assert.equal(heap.check(), 0);
      // Overwrite the free block's footer through raw memory (the checked
      // helpers would refuse this write, so use the memory).
      const free = heap.blocks().find((e) => !e.used && e.header < q && q < e.header + e.size);
      const footer = free.header + free.size - 4;
      new DataView(heap.memory.buffer).setUint32(footer, 0x12345670, true);
      const findings = [];
      const n = heap.check((f) => findings.push(f));
      assert.ok(n > 0);
      assert.equal(findings.length, n);
      assert.equal(typeof findings[0].message, 'string');
      assert.ok(findings[0].message.length > 0);
      // Freeing p would merge it with the broken neighbour: the hardened
      // core refuses, and the heap then refuses everything but the walks.
      assert.throws(() => heap.free(p), HeapCorruptionError);
      assert.throws(() => heap.malloc(16), HeapCorruptionError);
      assert.ok(heap.check() > 0);
      assert.ok(heap.blocks().length > 0);
    });

    test('onGrow reports memory.grow with its cause and request', async () => {
      const events = [];
      const heap = await make({ initialPages: 1, onGrow: (e) => events.push(e) });
      heap.malloc(100); // fits in the first page
      assert.equal(events.length, 0);
      heap.malloc(5 * PAGE);
      assert.equal(events.length, 1);
      assert.equal(events[0].cause, 'malloc');
      assert.equal(events[0].requestedSize, 5 * PAGE);
      assert.equal(events[0].oldPages, 1);
      assert.ok(events[0].newPages >= 6);

      const more = [];
      const off = heap.onGrow((e) => more.push(e));
      let p = heap.calloc(4, 3 * PAGE);
      assert.equal(more.at(-1).cause, 'calloc');
      assert.equal(more.at(-1).requestedSize, 12 * PAGE);
      p = heap.realloc(p, 40 * PAGE);
      assert.equal(more.at(-1).cause, 'realloc');
      heap.alignedAlloc(PAGE, 20 * PAGE);
      assert.equal(more.at(-1).cause, 'alignedAlloc');
      off();
      const seen = more.length;
      // Growth by someone else is seen at the next call.
      const old = heap.memory.grow(2);
      heap.usableSize(p);
      assert.equal(more.length, seen, 'unsubscribed');
      const external = events.at(-1);
      assert.equal(external.cause, 'external');
      assert.equal(external.oldPages, old);
      assert.equal(external.newPages, old + 2);
      assert.equal(events.length, 1 + seen + 1);
      assert.equal(heap.check(), 0);
    });
  });

  describe(`${build.name}: createHeap options`, () => {
    test('initialPages sets the start-up size; maximumPages caps memory', async () => {
      const heap = await make({ initialPages: 8, maximumPages: 10 });
      assert.equal(heap.memory.buffer.byteLength, 8 * PAGE);
      const p = heap.malloc(6 * PAGE); // fits in the start-up region
      assert.equal(heap.memory.buffer.byteLength, 8 * PAGE);
      assert.equal(heap.stats().growCount, 0);
      assert.throws(() => heap.malloc(4 * PAGE), (e) => e.name === 'AllocationError' && /at most 10/.test(e.message));
      heap.free(p);
      assert.equal(heap.check(), 0);
      await assert.rejects(make({ initialPages: -1 }), RangeError);
      await assert.rejects(make({ maximumPages: 0 }), /below the 1 pages/);
      await assert.rejects(make({ memory: {} }), TypeError);
      await assert.rejects(make({ onGrow: 5 }), TypeError);
    });
  });
}
