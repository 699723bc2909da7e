// The debug build (lmalloc-debug.wasm, lmalloc-heaps-debug.wasm) is the C
// debug library (lmalloc_debug.h): every detection it makes, planted with
// raw writes through heap.memory.buffer (never through the checked
// helpers), reaches JavaScript as its typed error or as a finding of
// check(), with the block's requested size and its allocation and free
// sequence numbers. After each refused call the other blocks keep their
// bytes and check() === 0, except where a planted corruption is still in
// place (check() then reports exactly it). Also: the debug block layout
// (header, fill bytes, guard), realloc always moving, the quarantine,
// leaks() in both builds, and a seeded random run that plants overflows,
// underflows and writes after free (the seed is printed; LM_SEED=<seed>
// replays it, LM_STEPS=<n> sets its length).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  DoubleFreeError,
  InvalidPointerError,
  LmallocError,
  OverflowError,
  UseAfterFreeError,
  createHeap,
} from '../../wasm/lmalloc.mjs';
import { assertUnchanged, populated, rng, seedFromEnv, snapshot } from './helpers.mjs';

const STEPS = Number(process.env.LM_STEPS ?? 1500);

// lmalloc_debug.h: the bytes the debug library writes, and its layout.
const ALLOC_BYTE = 0xcd;
const FREED_BYTE = 0xdd;
const GUARD_BYTE = 0xfd;
const HEADER = 32;
const guardLength = (size) => 16 + ((16 - (size % 16)) % 16);
const blockBytes = (size) => HEADER + size + guardLength(size);

// Raw memory, past every check of the JS API.
const raw = (heap) => new Uint8Array(heap.memory.buffer);
const poke = (heap, at, value) => {
  const mem = raw(heap);
  const old = mem[at];
  mem[at] = value;
  return old;
};

// Runs bad(), which must throw Class; returns the error. The blocks in
// `ptrs` must keep their bytes and the used-block count must not change
// (but for `left` quarantined blocks that left the quarantine); check()
// must then find `findings` problems (0 unless a planted corruption is
// still there).
function refused(heap, ptrs, bad, Class, { findings = 0, left = 0 } = {}) {
  const before = snapshot(heap, ptrs);
  let error;
  assert.throws(bad, (e) => {
    assert.ok(e instanceof Class, `${e.name}: ${e.message}, expected ${Class.name}`);
    assert.ok(e instanceof LmallocError);
    error = e;
    return true;
  });
  if (findings === 0 && left === 0) {
    assertUnchanged(heap, ptrs, before);
  } else {
    assert.equal(heap.check(), findings, 'check() reports the planted corruption');
    ptrs.forEach((p, i) => assert.deepEqual(heap.read(p, before.contents[i].length), before.contents[i]));
    assert.equal(heap.stats().usedBlocks, before.usedBlocks - left);
  }
  return error;
}

const findingsOf = (heap) => {
  const found = [];
  const n = heap.check((f) => found.push(f));
  assert.equal(found.length, n);
  return found;
};

// A debug heap with a few live blocks of every kind (helpers.mjs).
const populatedDebug = (options = {}) => populated({ debug: true, ...options });

describe('debug build: what a block looks like', () => {
  test('32-byte header, fill bytes, guard bytes, usableSize = requested size', async () => {
    const heap = await createHeap({ debug: true });
    for (const size of [0, 1, 24, 100, 256, 1000, 5000]) {
      const p = heap.malloc(size);
      assert.equal(p % 16, 0);
      assert.equal(heap.usableSize(p), size);
      const mem = raw(heap);
      for (let i = 0; i < size; i++) assert.equal(mem[p + i], ALLOC_BYTE, `malloc(${size}) byte ${i}`);
      const guard = guardLength(size);
      assert.equal((size + guard) % 16, 0);
      for (let i = size; i < size + guard; i++) assert.equal(mem[p + i], GUARD_BYTE, `guard byte +${i}`);
      const c = heap.calloc(1, size);
      assert.ok(raw(heap).subarray(c, c + size).every((b) => b === 0), 'calloc is zero');
    }
    assert.equal(heap.check(), 0);
  });

  test('a freed block is filled with 0xDD and stays in the quarantine, shown as free', async () => {
    const heap = await createHeap({ debug: true });
    const p = heap.malloc(300);
    const keep = heap.malloc(10);
    heap.free(p);
    assert.ok(raw(heap).subarray(p, p + 300).every((b) => b === FREED_BYTE));
    const entry = heap.blocks().find((e) => e.ptr === p);
    assert.equal(entry.used, false);
    assert.equal(entry.usable, 300);
    // It still takes its room until it leaves the quarantine.
    assert.notEqual(heap.malloc(300), p);
    assert.equal(heap.stats().usedBlocks, 3, 'the quarantined block counts as used');
    assert.equal(heap.flushQuarantine(), 0);
    assert.equal(heap.stats().usedBlocks, 2);
    heap.free(keep);
    assert.equal(heap.check(), 0);
  });

  test('realloc always moves the block and keeps its bytes', async () => {
    const heap = await createHeap({ debug: true });
    let p = heap.malloc(100);
    heap.bytes(p, 100).fill(7);
    for (const n of [100, 50, 200, 5000, 10]) {
      const q = heap.realloc(p, n);
      assert.notEqual(q, p, `realloc(${n}) moved`);
      assert.equal(heap.usableSize(q), n);
      assert.ok(heap.read(q, Math.min(n, 10)).every((b) => b === 7));
      assert.throws(() => heap.free(p), DoubleFreeError, 'the old pointer is freed');
      p = q;
    }
    assert.equal(heap.check(), 0);
  });

  test('sequence numbers count allocations and frees together, from 1', async () => {
    const heap = await createHeap({ debug: true });
    const a = heap.malloc(10); // #1
    const b = heap.malloc(20); // #2
    heap.free(a); // #3
    const c = heap.malloc(30); // #4
    const e = refused(heap, [b, c], () => heap.free(a), DoubleFreeError);
    assert.equal(e.allocSeq, 1);
    assert.equal(e.freeSeq, 3);
    assert.deepEqual(heap.leaks().map((l) => l.allocSeq), [2, 4]);
  });
});

describe('debug build: each misuse, planted with raw writes', () => {
  test('an overflow by one byte is an OverflowError at free, with the allocation number', async () => {
    const { heap, ptrs } = await populatedDebug();
    const p = heap.malloc(24); // allocation #8
    const old = poke(heap, p + 24, 0x41); // one byte past the requested size
    const e = refused(heap, ptrs, () => heap.free(p), OverflowError, { findings: 1 });
    assert.equal(e.kind, 'overflow');
    assert.equal(e.ptr, p);
    assert.equal(e.size, 24);
    assert.equal(e.allocSeq, 8);
    assert.equal(e.freeSeq, undefined);
    assert.equal(e.offset, 24);
    assert.match(e.message, /^free\(0x[0-9a-f]+\): overflow \(block of 24 bytes, allocation #8, byte \+24\): bytes past the requested size were written$/);
    // check() reports it too, and realloc refuses the block as well.
    const [finding] = findingsOf(heap);
    assert.equal(finding.kind, 'overflow');
    assert.equal(finding.address, p);
    assert.equal(finding.allocSeq, 8);
    assert.equal(finding.offset, 24);
    refused(heap, ptrs, () => heap.realloc(p, 100), OverflowError, { findings: 1 });
    // The block is still live: mended, it frees normally.
    poke(heap, p + 24, old);
    heap.free(p);
    assert.equal(heap.check(), 0);
  });

  test('an overflow anywhere in the guard is caught; so is one in a slab object', async () => {
    const { heap, ptrs } = await populatedDebug();
    for (const size of [1, 16, 40, 200, 3000]) {
      const guard = guardLength(size);
      for (const at of [size, size + guard - 1]) {
        const p = heap.malloc(size);
        const old = poke(heap, p + at, 0);
        const e = refused(heap, ptrs, () => heap.free(p), OverflowError, { findings: 1 });
        assert.equal(e.offset, at);
        assert.equal(e.size, size);
        poke(heap, p + at, old);
        heap.free(p);
      }
    }
    assert.equal(heap.check(), 0);
  });

  test('an underflow (a write just before the block) is an OverflowError of kind underflow', async () => {
    const { heap, ptrs } = await populatedDebug();
    const p = heap.malloc(100);
    const old = poke(heap, p - 1, 0);
    const e = refused(heap, ptrs, () => heap.free(p), OverflowError, { findings: 1 });
    assert.equal(e.kind, 'underflow');
    assert.equal(e.size, 100);
    assert.equal(e.offset, -1);
    assert.match(e.message, /underflow \(block of 100 bytes, allocation #\d+, byte -1\)/);
    assert.equal(findingsOf(heap)[0].kind, 'underflow');
    poke(heap, p - 1, old);
    heap.free(p);
    assert.equal(heap.check(), 0);
  });

  test('a write after free is found by check(), with both sequence numbers', async () => {
    const { heap, ptrs } = await populatedDebug();
    const p = heap.malloc(64); // #8
    heap.free(p); // #9
    assert.equal(heap.check(), 0);
    poke(heap, p + 10, 0x42);
    const found = findingsOf(heap);
    assert.equal(found.length, 1);
    assert.deepEqual(
      { kind: found[0].kind, address: found[0].address, size: found[0].size },
      { kind: 'use after free', address: p, size: 64 },
    );
    assert.equal(found[0].allocSeq, 8);
    assert.equal(found[0].freeSeq, 9);
    assert.equal(found[0].offset, 10);
    // Other calls go on; flushing the quarantine counts it and reuses it.
    const q = heap.malloc(10);
    heap.free(q);
    const flushed = [];
    assert.equal(heap.flushQuarantine((f) => flushed.push(f)), 1);
    assert.equal(flushed[0].address, p);
    assert.equal(heap.check(), 0);
    ptrs.forEach((x, i) => assert.ok(heap.read(x, heap.usableSize(x)).every((b) => b === i + 1)));
  });

  test('a write after free is a UseAfterFreeError when the block leaves the quarantine', async () => {
    // Room for one block of 100 bytes (160 with header and guard).
    const { heap, ptrs } = await populatedDebug({ quarantineBytes: blockBytes(100) + 40 });
    const p = heap.malloc(100); // #8
    const q = heap.malloc(100); // #9
    heap.free(p); // #10: into the quarantine
    poke(heap, p + 99, 0);
    // Freeing q pushes p out: p is checked, found written, given back, and
    // the free of q is not carried out.
    const e = refused(heap, [...ptrs, q], () => heap.free(q), UseAfterFreeError, { left: 1 });
    assert.equal(e.ptr, p);
    assert.equal(e.size, 100);
    assert.equal(e.allocSeq, 8);
    assert.equal(e.freeSeq, 10);
    assert.equal(e.offset, 99);
    assert.match(e.message, /^free: use after free at 0x[0-9a-f]+ \(block of 100 bytes, allocation #8, freed #10, byte \+99\): freed block was written to; found as it left the quarantine \(it is reused now\), so this free did nothing: call it again$/);
    assert.equal(heap.usableSize(q), 100, 'q is still live');
    heap.free(q);
    assert.equal(heap.check(), 0);
  });

  test('an allocation that runs out of memory empties the quarantine and reports writes found there', async () => {
    const heap = await createHeap({ debug: true, maximumPages: 8 });
    const keep = heap.malloc(1000);
    heap.bytes(keep, 1000).fill(3);
    const big = heap.malloc(4 * 65536);
    heap.free(big); // quarantined: the heap cannot grow by another 4 pages
    poke(heap, big + 5, 1);
    const e = refused(heap, [keep], () => heap.malloc(5 * 65536), UseAfterFreeError, { left: 1 });
    assert.equal(e.ptr, big);
    assert.match(e.message, /^malloc: use after free/);
    // big's room is free again: the same request now succeeds.
    const again = heap.malloc(5 * 65536);
    heap.free(again);
    assert.equal(heap.check(), 0);
  });

  test('a double free is a DoubleFreeError with both sequence numbers', async () => {
    const { heap, ptrs } = await populatedDebug();
    const p = heap.malloc(500); // #8
    const object = heap.malloc(16); // #9
    heap.free(p); // #10
    heap.free(object); // #11
    const e = refused(heap, ptrs, () => heap.free(p), DoubleFreeError);
    assert.equal(e.ptr, p);
    assert.equal(e.size, 500);
    assert.equal(e.allocSeq, 8);
    assert.equal(e.freeSeq, 10);
    assert.match(e.message, /^free\(0x[0-9a-f]+\): double free \(block of 500 bytes, allocation #8, freed #10\): block is already free/);
    const o = refused(heap, ptrs, () => heap.free(object), DoubleFreeError);
    assert.equal(o.allocSeq, 9);
    assert.equal(o.freeSeq, 11);
    refused(heap, ptrs, () => heap.realloc(p, 10), DoubleFreeError);
    const u = refused(heap, ptrs, () => heap.usableSize(p), UseAfterFreeError);
    assert.equal(u.freeSeq, 10);
    // Once the block has left the quarantine (its memory not reused), it
    // is still a double free, without the numbers.
    heap.flushQuarantine();
    const late = refused(heap, ptrs, () => heap.free(p), DoubleFreeError);
    assert.match(late.message, /left the quarantine/);
  });

  test('interior, misaligned and foreign pointers are InvalidPointerErrors', async () => {
    const { heap, ptrs } = await populatedDebug();
    const big = ptrs[3]; // malloc(1000): allocation #4
    const cases = [
      [big + 32, /invalid pointer \(block of 1000 bytes, allocation #4\): interior pointer/, 4],
      [ptrs[1] + 16, /interior pointer/, 2], // inside a slab object
      [big + 8, /not 16-byte aligned/],
      [16, /outside the heap/],
      [2 ** 31, /outside the heap/],
    ];
    for (const [p, message, allocSeq] of cases) {
      for (const bad of [() => heap.free(p), () => heap.realloc(p, 10), () => heap.usableSize(p)]) {
        const e = refused(heap, ptrs, bad, InvalidPointerError);
        assert.match(e.message, message);
        assert.equal(e.ptr, p);
        assert.equal(e.allocSeq, allocSeq);
      }
    }
    // A fake header inside a block does not fool the keyed debug header.
    raw(heap).fill(0, big + 100, big + 132);
    ptrs.splice(3, 1);
    refused(heap, ptrs, () => heap.free(big + 132), InvalidPointerError);
  });

  test('a trampled debug header is reported as an underflow; check() names the block', async () => {
    const { heap, ptrs } = await populatedDebug();
    const p = heap.malloc(2000);
    const saved = raw(heap).slice(p - HEADER, p);
    raw(heap).fill(0, p - HEADER, p);
    const e = refused(heap, ptrs, () => heap.free(p), OverflowError, { findings: 1 });
    assert.equal(e.kind, 'underflow');
    assert.equal(findingsOf(heap)[0].kind, 'underflow');
    raw(heap).set(saved, p - HEADER);
    heap.free(p);
    assert.equal(heap.check(), 0);
  });
});

describe('leaks()', () => {
  test('debug: every live block with its requested size and allocation number', async () => {
    const heap = await createHeap({ debug: true });
    const a = heap.malloc(10); // #1
    const b = heap.malloc(3000); // #2
    const c = heap.calloc(5, 7); // #3
    const d = heap.alignedAlloc(256, 33); // #4
    heap.free(b); // #5: freed blocks are not leaks, even in the quarantine
    const e = heap.realloc(a, 70); // #6 (new block), #7 (frees a)
    assert.deepEqual(
      heap.leaks().sort((x, y) => x.allocSeq - y.allocSeq),
      [
        { ptr: c, size: 35, allocSeq: 3 },
        { ptr: d, size: 33, allocSeq: 4 },
        { ptr: e, size: 70, allocSeq: 6 },
      ],
    );
    const leaks = heap.leaks();
    for (let i = 1; i < leaks.length; i++) assert.ok(leaks[i].ptr > leaks[i - 1].ptr, 'address order');
    for (const p of [c, d, e]) heap.free(p);
    assert.deepEqual(heap.leaks(), []);
    assert.equal(heap.check(), 0);
  });

  test('release: every used block with its usable size, allocSeq undefined', async () => {
    const heap = await createHeap({ debug: false });
    const a = heap.malloc(10);
    const b = heap.malloc(3000);
    heap.malloc(500);
    heap.free(heap.malloc(20));
    heap.free(b);
    const leaks = heap.leaks();
    assert.equal(leaks.length, 2);
    assert.deepEqual(leaks.find((l) => l.ptr === a), { ptr: a, size: heap.usableSize(a), allocSeq: undefined });
    assert.equal(heap.flushQuarantine(), 0, 'no quarantine in the release build');
  });
});

describe('lmalloc-heaps-debug.wasm: the debug library in fixed heaps', () => {
  test('overflow, double free, leaks and check in a heap created inside another', async () => {
    const heap = await createHeap({ debug: true, heaps: true });
    const keep = heap.malloc(100); // #1
    heap.bytes(keep, 100).fill(9);
    const sub = heap.createHeap({ bytes: 64 * 1024 }); // its buffer: #2
    const p = sub.malloc(24); // #3
    const q = sub.malloc(1000); // #4
    sub.bytes(q, 1000).fill(5);
    const old = poke(heap, p + 24, 0);
    const e = refused(sub, [q], () => sub.free(p), OverflowError, { findings: 1 });
    assert.equal(e.allocSeq, 3);
    assert.equal(heap.check(), 0, 'the parent is healthy');
    poke(heap, p + 24, old);
    sub.free(p); // #5
    const d = refused(sub, [q], () => sub.free(p), DoubleFreeError);
    assert.deepEqual([d.allocSeq, d.freeSeq], [3, 5]);
    assert.deepEqual(sub.leaks(), [{ ptr: q, size: 1000, allocSeq: 4 }]);
    assert.deepEqual(heap.leaks().map((l) => l.allocSeq), [1, 2], 'the parent: keep and the buffer');
    // A write into a freed block of the fixed heap, found by its check().
    poke(heap, p, 1);
    assert.equal(findingsOf(sub)[0].kind, 'use after free');
    assert.equal(heap.flushQuarantine(), 1);
    assert.equal(sub.check(), 0);
    sub.free(q);
    sub.destroy();
    assert.equal(heap.check(), 0);
    assert.ok(heap.read(keep, 100).every((b) => b === 9));
  });

  test('destroy empties the quarantine: a write found there stops it, and it can be called again', async () => {
    const heap = await createHeap({ debug: true, heaps: true });
    const sub = heap.createHeap({ bytes: 64 * 1024 });
    const p = sub.malloc(50); // #2
    sub.free(p); // #3
    poke(heap, p + 3, 9);
    const e = refused(sub, [], () => sub.destroy(), UseAfterFreeError, { left: 1 });
    assert.deepEqual([e.ptr, e.allocSeq, e.freeSeq, e.offset], [p, 2, 3, 3]);
    assert.match(e.message, /^destroy: use after free/);
    sub.destroy();
    assert.throws(() => sub.malloc(1), { name: 'DestroyedError' });
    assert.equal(heap.check(), 0);
    assert.deepEqual(heap.leaks(), []);
  });
});

describe('debug build: seeded random operations with planted corruption', () => {
  test(`${STEPS} steps; every plant is caught and every other block intact`, async (t) => {
    const seed = seedFromEnv();
    t.diagnostic(`seed ${seed} (replay with LM_SEED=${seed})`);
    const r = rng(seed);
    const heap = await createHeap({ debug: true });
    const live = new Map(); // ptr -> { size, tag }
    const fillOf = (tag, i) => (tag + i * 13) & 0xff;
    const fill = (p) => {
      const { size, tag } = live.get(p);
      const mem = raw(heap);
      for (let i = 0; i < size; i++) mem[p + i] = fillOf(tag, i);
    };
    const verify = (where) => {
      const mem = raw(heap);
      for (const [p, { size, tag }] of live) {
        for (let i = 0; i < size; i++) {
          if (mem[p + i] !== fillOf(tag, i)) assert.fail(`${where}: block ${p} byte ${i} changed`);
        }
      }
    };
    const size = () => (r.next() < 0.7 ? r.int(300) : 300 + r.int(5000));
    const planted = { overflow: 0, underflow: 0, 'use after free': 0 };
    for (let step = 0; step < STEPS; step++) {
      const where = `step ${step} (LM_SEED=${seed})`;
      try {
        const ptrs = [...live.keys()];
        const roll = r.next();
        if (ptrs.length < 4 || roll < 0.5) {
          const n = size();
          const p = heap.malloc(n);
          assert.ok(!live.has(p));
          live.set(p, { size: n, tag: step & 0xff });
          fill(p);
        } else if (roll < 0.85) {
          const p = r.pick(ptrs);
          live.delete(p);
          heap.free(p);
          if (r.next() < 0.1) {
            // Write into the block just freed: it is in the quarantine.
            const n = heap.blocks().find((e) => e.ptr === p).usable;
            if (n > 0) {
              const at = p + r.int(n);
              const old = poke(heap, at, raw(heap)[at] ^ 0xff);
              const found = findingsOf(heap);
              assert.equal(found.length, 1);
              assert.equal(found[0].kind, 'use after free');
              assert.equal(found[0].address, p);
              assert.equal(found[0].offset, at - p);
              poke(heap, at, old); // mended: it leaves the quarantine clean
              planted['use after free']++;
            }
          }
        } else {
          // Overflow (somewhere in the guard) or underflow (the header's
          // last bytes) of a live block: free refuses it, check reports it.
          const p = r.pick(ptrs);
          const { size: n } = live.get(p);
          const under = r.next() < 0.3;
          const at = under ? p - 1 - r.int(4) : p + n + r.int(guardLength(n));
          const old = poke(heap, at, raw(heap)[at] ^ 0x5a);
          const others = ptrs.filter((x) => x !== p);
          const e = refused(heap, others, () => heap.free(p), OverflowError, { findings: 1 });
          assert.equal(e.kind, under ? 'underflow' : 'overflow');
          assert.equal(e.ptr, p);
          assert.equal(e.size, n);
          assert.equal(e.offset, at - p);
          poke(heap, at, old);
          planted[e.kind]++;
        }
        assert.equal(heap.check(), 0);
        if (step % 100 === 0) verify(where);
      } catch (e) {
        e.message = `${where}: ${e.message}`;
        throw e;
      }
    }
    verify('end');
    assert.equal(heap.leaks().length, live.size);
    for (const p of live.keys()) heap.free(p);
    assert.deepEqual(heap.leaks(), []);
    assert.equal(heap.flushQuarantine(), 0);
    assert.equal(heap.stats().usedBlocks, 0);
    t.diagnostic(JSON.stringify(planted));
    for (const [kind, n] of Object.entries(planted)) assert.ok(n > 0, `no ${kind} planted`);
  });
});
