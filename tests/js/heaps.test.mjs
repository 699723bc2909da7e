// Heaps and arenas from JavaScript (lmalloc_heaps.h behind
// heap.createArena and heap.createHeap, in lmalloc-heaps.wasm and
// lmalloc-heaps-debug.wasm, which createHeap({ heaps: true }) loads): the
// modules' imports and exports; then in both builds: arenas allocate,
// reset, report what they hold and refuse use after destroy; fixed heaps
// fill up with AllocationError and recover after frees; a parent heap and
// two fixed heaps inside it stay independent under random operations
// (shadow byte maps, check() === 0 for all after every step; the seed is
// printed and LM_SEED=<seed> replays it; LM_STEPS=<n> sets the length);
// a pointer freed on the wrong heap is an InvalidPointerError and leaves
// every heap as it was.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { readFileSync } from 'node:fs';

import { createHeap } from '../../wasm/lmalloc.mjs';
import {
  BUILDS, PAGE, Shadow, assertUnchanged, built, rng, seedFromEnv, snapshot, usedBlocks,
} from './helpers.mjs';

const STEPS = Number(process.env.LM_STEPS ?? 600);

const HEAPS_EXPORTS = [
  'lm_arena_aligned_alloc', 'lm_arena_alloc', 'lm_arena_calloc', 'lm_arena_create',
  'lm_arena_destroy', 'lm_arena_reset', 'lm_heap_aligned_alloc', 'lm_heap_calloc',
  'lm_heap_check', 'lm_heap_create', 'lm_heap_destroy', 'lm_heap_free', 'lm_heap_malloc',
  'lm_heap_realloc', 'lm_heap_usable_size', 'lmjs_arena_chunks', 'lmjs_arena_info', 'lmjs_heap_stats', 'lmjs_heap_walk',
];

describe('the heaps modules', () => {
  for (const [plain, heaps] of [['release', 'heaps'], ['debug', 'heapsDebug']]) {
    test(`${heaps}: the plain module's imports; its exports plus heaps and arenas`, () => {
      const base = new WebAssembly.Module(readFileSync(built[plain]));
      const module = new WebAssembly.Module(readFileSync(built[heaps]));
      const key = (i) => `${i.module}.${i.name}:${i.kind}`;
      assert.deepEqual(
        WebAssembly.Module.imports(module).map(key).sort(),
        WebAssembly.Module.imports(base).map(key).sort(),
        'no WASI import, nothing new',
      );
      const names = (m) => WebAssembly.Module.exports(m).map((e) => e.name);
      // The debug library also lists a created heap's leaks.
      const debugOnly = heaps === 'heapsDebug' ? ['lmjs_heap_leaks'] : [];
      assert.deepEqual(names(module).sort(), [...names(base), ...HEAPS_EXPORTS, ...debugOnly].sort());
    });
  }

  test('the plain modules have no heaps; heaps must match the module', async () => {
    const plain = await createHeap();
    assert.throws(() => plain.createHeap({ bytes: 8192 }), /heaps: true/);
    assert.throws(() => plain.createArena(), /heaps: true/);
    await assert.rejects(createHeap({ module: built.release, heaps: true }), /has no heaps/);
    await assert.rejects(createHeap({ module: built.heaps, heaps: false }), /has heaps/);
    const detected = await createHeap({ module: built.heapsDebug });
    assert.equal(detected.debug, true);
    detected.createArena().destroy();
  });
});

for (const build of BUILDS) {
  const make = (options = {}) => createHeap({ debug: build.debug, heaps: true, ...options });

  describe(`${build.name}: arenas`, () => {
    test('alloc, alignedAlloc and calloc hand out distinct, aligned, writable bytes', async () => {
      const heap = await make();
      const arena = heap.createArena({ chunkBytes: 4096 });
      const sizes = [0, 1, 15, 16, 17, 100, 1000, 5000];
      const ptrs = sizes.map((n) => arena.alloc(n));
      assert.equal(new Set(ptrs).size, ptrs.length, 'alloc(0) too is unique');
      ptrs.forEach((p, i) => {
        assert.equal(p % 16, 0);
        arena.bytes(p, sizes[i]).fill(i + 1);
      });
      ptrs.forEach((p, i) => assert.ok(arena.bytes(p, sizes[i]).every((b) => b === i + 1)));
      for (let a = 1; a <= 2 ** 14; a *= 2) {
        const p = arena.alignedAlloc(a, 24);
        assert.equal(p % a, 0, `alignedAlloc(${a}) = ${p}`);
      }
      const big = arena.alloc(3 * PAGE); // larger than any chunk so far
      arena.bytes(big, 3 * PAGE).fill(9);
      const info = arena.info();
      assert.deepEqual(Object.keys(info), ['usedBytes', 'allocations', 'heldBytes', 'pages', 'chunks', 'peakBytes']);
      assert.equal(info.allocations, sizes.length + 15 + 1);
      assert.ok(info.usedBytes >= sizes.reduce((a, b) => a + b, 0) + 3 * PAGE);
      assert.ok(info.heldBytes >= info.usedBytes);
      assert.equal(info.pages, Math.ceil(info.heldBytes / PAGE));
      assert.ok(info.chunks >= 2);
      assert.equal(info.peakBytes, info.usedBytes);
      assert.equal(heap.check(), 0, 'the heap is untouched by its arenas');
      arena.destroy();
    });

    test('calloc zeroes memory reused after a reset', async () => {
      const heap = await make();
      const arena = heap.createArena();
      const p = arena.alloc(1000);
      arena.bytes(p, 1000).fill(0xab);
      arena.reset();
      const q = arena.calloc(10, 100);
      assert.equal(q, p, 'reset: the first chunk is filled again from its start');
      assert.ok(arena.bytes(q, 1000).every((b) => b === 0));
      assert.throws(() => arena.calloc(2 ** 20, 2 ** 20), { name: 'InvalidSizeError' });
      arena.destroy();
    });

    test('reset frees everything and keeps the chunks; info follows', async () => {
      const heap = await make();
      const arena = heap.createArena({ chunkBytes: PAGE });
      const fresh = arena.info();
      assert.equal(fresh.usedBytes, 0);
      assert.equal(fresh.allocations, 0);
      assert.equal(fresh.chunks, 1);
      for (let i = 0; i < 200; i++) arena.alloc(1000);
      const full = arena.info();
      assert.equal(full.allocations, 200);
      assert.ok(full.usedBytes >= 200 * 1000);
      assert.ok(full.chunks > 1);
      arena.reset();
      const reset = arena.info();
      assert.equal(reset.usedBytes, 0);
      assert.equal(reset.allocations, 0);
      assert.equal(reset.chunks, full.chunks, 'chunks kept for reuse');
      assert.equal(reset.heldBytes, full.heldBytes);
      assert.equal(reset.peakBytes, full.usedBytes);
      const pagesBefore = heap.memory.buffer.byteLength;
      for (let i = 0; i < 200; i++) arena.alloc(1000);
      assert.equal(heap.memory.buffer.byteLength, pagesBefore, 'the same work again needs no memory.grow');
      assert.equal(arena.info().chunks, full.chunks);
      arena.destroy();
    });

    test('address and chunks(): the struct in the first chunk; chunks add up to info(); bumps end the last allocations', async () => {
      const heap = await make();
      const arena = heap.createArena();
      const allocs = [];
      const take = (size) => allocs.push({ ptr: arena.alloc(size), size });
      const agree = (when) => {
        const info = arena.info();
        const chunks = arena.chunks();
        assert.equal(chunks.length, info.chunks, when);
        assert.deepEqual(Object.keys(chunks[0]), ['start', 'data', 'end', 'used', 'current']);
        assert.equal(chunks.reduce((n, c) => n + c.end - c.start, 0), info.heldBytes, when);
        assert.equal(chunks.reduce((n, c) => n + c.used, 0), info.usedBytes, when);
        assert.ok(chunks[0].start < arena.address && arena.address < chunks[0].data, 'the struct is in the first chunk');
        const current = chunks.findIndex((c) => c.current);
        assert.ok(current >= 0 && chunks.filter((c) => c.current).length === 1, when);
        chunks.forEach((c, i) => {
          assert.ok(c.start % PAGE === 0 && c.end % PAGE === 0 && c.data + c.used <= c.end, when);
          if (i > current) assert.equal(c.used, 0, `${when}: chunk ${i} after the current one is empty`);
          const inside = allocs.filter((a) => a.ptr >= c.start && a.ptr < c.end);
          const lastEnd = Math.max(c.data, ...inside.map((a) => a.ptr + Math.max(16, Math.ceil(a.size / 16) * 16)));
          assert.equal(c.data + c.used, lastEnd, `${when}: chunk ${i}'s bump ends its last allocation`);
        });
        return chunks;
      };
      agree('new');
      // Sizes that leave tails and take 9 chunks (lmjs_arena_chunks hands
      // them over 8 at a time).
      for (const size of [100, 0, 70000, 1000, 200000, 500000, 1e6, 2e6, 3e6, 5e6, 8e6, 24]) take(size);
      const chunks = agree('filled');
      assert.ok(chunks.length >= 9, `${chunks.length} chunks`);
      assert.ok(chunks.some((c) => !c.current && c.data + c.used < c.end), 'a chunk left with a tail');
      arena.reset();
      allocs.length = 0;
      assert.deepEqual(agree('reset').map((c) => [c.used, c.current]), chunks.map((c, i) => [0, i === 0]));
      take(3 * PAGE); // skips the first chunks (too small), which stay at used 0
      agree('after a reset');
      const address = arena.address;
      arena.destroy();
      assert.equal(arena.address, address, 'the address stays readable');
      assert.throws(() => arena.chunks(), { name: 'DestroyedError' });
    });

    test('bad sizes and alignments are typed errors; out of memory is AllocationError', async () => {
      const heap = await make({ maximumPages: 8 });
      assert.throws(() => heap.createArena({ chunkBytes: -1 }), { name: 'InvalidSizeError' });
      assert.throws(() => heap.createArena({ chunkBytes: 1.5 }), { name: 'InvalidSizeError' });
      const arena = heap.createArena();
      assert.throws(() => arena.alloc(-1), { name: 'InvalidSizeError' });
      assert.throws(() => arena.alloc('8'), { name: 'InvalidSizeError' });
      assert.throws(() => arena.alloc(2 ** 32), { name: 'InvalidSizeError' });
      assert.throws(() => arena.alignedAlloc(3, 8), { name: 'InvalidAlignmentError' });
      assert.throws(() => arena.alignedAlloc(0, 8), { name: 'InvalidAlignmentError' });
      assert.throws(() => arena.alignedAlloc(16, -8), { name: 'InvalidSizeError' });
      assert.throws(() => arena.calloc(-1, 8), { name: 'InvalidSizeError' });
      assert.throws(() => arena.alloc(20 * PAGE), (e) => {
        assert.equal(e.name, 'AllocationError');
        assert.equal(e.requestedSize, 20 * PAGE);
        return true;
      });
      assert.ok(arena.alloc(100) > 0, 'usable after an AllocationError');
      assert.throws(() => heap.createArena({ chunkBytes: 20 * PAGE }), { name: 'AllocationError' });
      arena.destroy();
    });

    test('use after destroy is a DestroyedError, and the pages are reused', async () => {
      const heap = await make();
      const arena = heap.createArena({ chunkBytes: 4 * PAGE });
      const p = arena.alloc(100);
      arena.destroy();
      for (const call of [
        () => arena.alloc(1), () => arena.alignedAlloc(16, 1), () => arena.calloc(1, 1),
        () => arena.reset(), () => arena.info(), () => arena.destroy(), () => arena.bytes(p, 1),
      ]) {
        assert.throws(call, (e) => e.name === 'DestroyedError' && e.what === 'arena');
      }
      const bytes = heap.memory.buffer.byteLength;
      const again = heap.createArena({ chunkBytes: 4 * PAGE });
      again.alloc(100);
      assert.equal(heap.memory.buffer.byteLength, bytes, 'a new arena takes the pages from the pool');
      again.destroy();
      assert.equal(heap.check(), 0);
    });
  });

  describe(`${build.name}: fixed heaps`, () => {
    test('the malloc family works inside the buffer', async () => {
      const heap = await make();
      const sub = heap.createHeap({ bytes: 64 * 1024 });
      const p = sub.malloc(100);
      const q = sub.calloc(10, 30);
      assert.ok(sub.read(q, 300).every((b) => b === 0));
      sub.write(p, [1, 2, 3]);
      const r = sub.realloc(p, 5000);
      assert.deepEqual([...sub.read(r, 3)], [1, 2, 3]);
      const a = sub.alignedAlloc(1024, 100);
      assert.equal(a % 1024, 0);
      assert.ok(sub.usableSize(a) >= 100);
      assert.equal(usedBlocks(sub), 3);
      const s = sub.stats();
      assert.equal(s.pagesGrown, 0);
      assert.ok(s.heapBytes <= 64 * 1024 && s.heapBytes >= 64 * 1024 - 2048);
      assert.equal(sub.blocks().filter((e) => e.used && e.kind !== 'slab').length, 3);
      assert.equal(sub.check(), 0);
      assert.equal(heap.check(), 0);
      assert.equal(usedBlocks(heap), 1, 'the parent sees one block: the buffer');
      assert.equal(heap.buffer, null, 'the default heap lives in no buffer');
      const block = heap.blocks().find((e) => e.used && e.kind === 'block');
      assert.deepEqual(sub.buffer, { ptr: block.ptr, size: 64 * 1024 }, 'buffer: the parent\'s block');
      const inner = sub.createHeap({ bytes: 8192 });
      const innerBlock = sub.blocks().find((e) => e.used && e.kind === 'block' && e.usable >= 8192);
      assert.deepEqual(inner.buffer, { ptr: innerBlock.ptr, size: 8192 }, 'a heap in a heap: a block of its parent');
      inner.destroy();
      for (const x of [q, r, a]) sub.free(x);
      assert.equal(usedBlocks(sub), 0);
      sub.destroy();
      assert.equal(usedBlocks(heap), 0, 'destroy gives the buffer back');
      assert.equal(heap.check(), 0);
    });

    test('a full fixed heap throws AllocationError and recovers after frees', async () => {
      const heap = await make();
      const sub = heap.createHeap({ bytes: 32 * 1024 });
      const pagesBefore = heap.memory.buffer.byteLength;
      const ptrs = [];
      let error;
      for (;;) {
        try {
          ptrs.push(sub.malloc(1000));
        } catch (e) {
          error = e;
          break;
        }
      }
      assert.equal(error.name, 'AllocationError');
      assert.equal(error.requestedSize, 1000);
      assert.ok(error.heapSize > 0 && error.heapSize <= 32 * 1024);
      assert.ok(ptrs.length >= 25, `${ptrs.length} blocks of 1000 bytes in 32 KiB`);
      assert.equal(sub.tryMalloc(1000), 0);
      assert.throws(() => sub.calloc(10, 1000), { name: 'AllocationError' });
      assert.throws(() => sub.realloc(ptrs[0], 20000), { name: 'AllocationError' });
      assert.equal(heap.memory.buffer.byteLength, pagesBefore, 'a fixed heap never grows memory');
      assert.equal(sub.check(), 0);
      for (const p of ptrs.splice(0, 5)) sub.free(p);
      ptrs.push(sub.malloc(1000), sub.malloc(3000));
      assert.equal(sub.check(), 0);
      for (const p of ptrs) sub.free(p);
      const big = sub.malloc(24 * 1024); // everything merged again
      sub.free(big);
      assert.equal(sub.check(), 0);
      assert.equal(heap.check(), 0);
      sub.destroy();
    });

    test('bad options and use after destroy are typed errors', async () => {
      const heap = await make({ maximumPages: 4 });
      assert.throws(() => heap.createHeap({ bytes: 2048 }), { name: 'InvalidSizeError' });
      assert.throws(() => heap.createHeap({ bytes: -1 }), { name: 'InvalidSizeError' });
      assert.throws(() => heap.createHeap({}), { name: 'InvalidSizeError' });
      assert.throws(() => heap.createHeap({ bytes: 10 * PAGE }), { name: 'AllocationError' });
      assert.throws(() => heap.destroy(), /default heap cannot be destroyed/);
      const sub = heap.createHeap({ bytes: 8192 });
      assert.throws(() => sub.malloc(-1), { name: 'InvalidSizeError' });
      assert.throws(() => sub.alignedAlloc(48, 8), { name: 'InvalidAlignmentError' });
      const p = sub.malloc(10);
      const nested = sub.createHeap({ bytes: 4096 });
      const n = nested.malloc(10);
      sub.destroy(); // destroys the heap created from it too
      const destroyed = (e) => e.name === 'DestroyedError' && e.what === 'heap';
      for (const h of [sub, nested]) {
        assert.throws(() => h.malloc(1), destroyed);
        assert.throws(() => h.calloc(1, 1), destroyed);
        assert.throws(() => h.alignedAlloc(16, 1), destroyed);
        assert.throws(() => h.stats(), destroyed);
        assert.throws(() => h.check(), destroyed);
        assert.throws(() => h.blocks(), destroyed);
        assert.throws(() => h.destroy(), destroyed);
        assert.throws(() => h.createArena(), destroyed);
      }
      assert.throws(() => sub.free(p), destroyed);
      assert.throws(() => sub.realloc(p, 1), destroyed);
      assert.throws(() => sub.usableSize(p), destroyed);
      assert.throws(() => sub.read(p, 1), destroyed);
      assert.throws(() => nested.free(n), destroyed);
      assert.equal(usedBlocks(heap), 0);
      assert.equal(heap.check(), 0);
    });

    test('a pointer freed on the wrong heap is InvalidPointerError; every heap stays intact', async () => {
      const heap = await make();
      const a = heap.createHeap({ bytes: 32 * 1024 });
      const b = heap.createHeap({ bytes: 32 * 1024 });
      const arena = heap.createArena();
      const owned = [
        [heap, [heap.malloc(100), heap.malloc(5000)]],
        [a, [a.malloc(100), a.malloc(5000)]],
        [b, [b.malloc(100), b.malloc(5000)]],
      ];
      for (const [h, ptrs] of owned) ptrs.forEach((p, i) => h.bytes(p, 100).fill(i + 7));
      const foreign = [arena.alloc(100), arena.alloc(5000)];
      const before = owned.map(([h, ptrs]) => snapshot(h, ptrs));
      for (const [h] of owned) {
        const others = owned.filter(([o]) => o !== h).flatMap(([, ptrs]) => ptrs);
        for (const p of [...others, ...foreign]) {
          assert.throws(() => h.free(p), { name: 'InvalidPointerError' }, `free(${p})`);
          assert.throws(() => h.realloc(p, 10), { name: 'InvalidPointerError' }, `realloc(${p})`);
          assert.throws(() => h.usableSize(p), { name: 'InvalidPointerError' }, `usableSize(${p})`);
        }
      }
      owned.forEach(([h, ptrs], i) => assertUnchanged(h, ptrs, before[i]));
      for (const [h, ptrs] of owned) for (const p of ptrs) h.free(p);
      for (const [h] of owned) assert.equal(usedBlocks(h), h === heap ? 2 : 0);
      a.destroy();
      b.destroy();
      arena.destroy();
      assert.equal(heap.check(), 0);
      assert.equal(usedBlocks(heap), 0);
    });

    test('random operations on a heap and two fixed heaps inside it stay independent', async (t) => {
      const seed = seedFromEnv();
      t.diagnostic(`seed ${seed} (replay: LM_SEED=${seed})`);
      console.log(`heaps.test.mjs ${build.name}: seed ${seed} (replay with LM_SEED=${seed})`);
      const r = rng(seed);
      const heap = await make();
      const subs = [heap.createHeap({ bytes: 48 * 1024 }), heap.createHeap({ bytes: 96 * 1024 })];
      const parent = new Shadow(heap);
      const buffers = heap.blocks().filter((e) => e.used && e.kind === 'block');
      assert.equal(buffers.length, 2);
      const ranges = subs.map((s) => {
        // The buffer is the parent's block holding the fixed heap's first
        // block: the parent must never hand it out again, and the fixed
        // heap's blocks must stay inside it.
        const first = s.blocks()[0];
        const at = first.header || first.ptr;
        const { ptr: start, usable } = buffers.find((e) => at >= e.ptr && at < e.ptr + e.usable);
        const end = start + usable;
        parent.reserve(start, end);
        return { start, end };
      });
      assert.ok(ranges[0].end <= ranges[1].start || ranges[1].end <= ranges[0].start, 'buffers overlap');
      const shadows = [parent, ...subs.map((s) => new Shadow(s))];
      const heaps = [heap, ...subs];
      const inside = (i, p) => {
        if (i === 0) return;
        const { start, end } = ranges[i - 1];
        assert.ok(p >= start && p + heaps[i].usableSize(p) <= end, `block ${p} outside its heap's buffer`);
      };
      const size = () => (r.next() < 0.7 ? r.int(257) : 257 + r.int(6000));
      let full = 0;
      for (let step = 0; step < STEPS; step++) {
        const i = r.int(3);
        const h = heaps[i];
        const shadow = shadows[i];
        const live = shadow.pointers();
        const roll = r.next();
        const where = `seed ${seed} step ${step} heap ${i}`;
        try {
          if (live.length === 0 || roll < 0.5) {
            const kind = r.next();
            const n = size();
            if (kind < 0.7) {
              const p = h.malloc(n);
              inside(i, p);
              shadow.add(p, n);
            } else if (kind < 0.85) {
              const p = h.calloc(1, n);
              assert.ok(h.read(p, n).every((x) => x === 0), `${where}: calloc not zeroed`);
              inside(i, p);
              shadow.add(p, n);
            } else {
              const alignment = 2 ** (1 + r.int(10));
              const p = h.alignedAlloc(alignment, n);
              inside(i, p);
              shadow.add(p, n, Math.max(16, alignment));
            }
          } else if (roll < 0.65) {
            const p = r.pick(live);
            const n = 1 + size();
            const q = h.realloc(p, n);
            inside(i, q);
            shadow.moved(p, q, n);
          } else {
            const p = r.pick(live);
            shadow.remove(p); // checks its bytes first
            h.free(p);
          }
        } catch (e) {
          if (e.name !== 'AllocationError' || i === 0) {
            e.message = `${where}: ${e.message}`;
            throw e;
          }
          full++; // a fixed heap is full: it must be intact, go on
        }
        for (let k = 0; k < 3; k++) {
          assert.equal(heaps[k].check(), 0, `${where}: check() of heap ${k}`);
          shadows[k].verifyAll();
        }
      }
      t.diagnostic(`${full} AllocationErrors from full fixed heaps`);
      for (const s of subs) s.destroy();
      for (const p of parent.pointers()) heap.free(p);
      assert.equal(usedBlocks(heap), 0);
      assert.equal(heap.check(), 0);
    });
  });
}
