// Memory growth: from one page to hundreds with every block intact and
// fresh views right; and a memory the host owns, uses and grows itself
// between calls, of which lmalloc must never hand out or write a byte.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { AllocationError, createHeap } from '../../wasm/lmalloc.mjs';
import { BUILDS, PAGE, Shadow, rng, seedFromEnv, usedBlocks } from './helpers.mjs';

// The host's bytes: a pattern that depends on the address, so a block
// handed out over them, or a stray write, shows up.
const hostByte = (addr) => (addr * 13 + (addr >>> 16)) & 0xff ^ 0xa5;

class Host {
  constructor(memory) {
    this.memory = memory;
    this.ranges = []; // [start, end) the host owns
  }

  // Takes pages at the end of memory the way another module's sbrk would.
  grow(pages) {
    const start = this.memory.grow(pages) * PAGE;
    this.own(start, start + pages * PAGE);
    return start;
  }

  own(start, end) {
    const bytes = new Uint8Array(this.memory.buffer, start, end - start);
    for (let i = 0; i < bytes.length; i++) bytes[i] = hostByte(start + i);
    this.ranges.push([start, end]);
  }

  verify() {
    const all = new Uint8Array(this.memory.buffer);
    for (const [start, end] of this.ranges) {
      for (let a = start; a < end; a++) {
        if (all[a] !== hostByte(a)) assert.fail(`host byte ${a} was overwritten`);
      }
    }
  }
}

for (const build of BUILDS) {
  describe(`${build.name}: growth`, () => {
    test('from 1 page to hundreds: blocks intact, fresh views right', async () => {
      const heap = await createHeap({ debug: build.debug, initialPages: 1 });
      assert.equal(heap.memory.buffer.byteLength, PAGE);
      const blocks = [];
      let grows = 0;
      heap.onGrow(() => grows++);
      for (let i = 0; heap.memory.buffer.byteLength < 300 * PAGE; i++) {
        const count = 1 + ((i * 7919) % 6000); // doubles: 8 B .. 48 KB
        const p = heap.malloc(count * 8);
        const f64 = heap.view(Float64Array, p, count);
        f64.fill(i + 0.25);
        blocks.push({ p, count, value: i + 0.25 });
        if (i % 3 === 2) {
          const gone = blocks.splice(i % blocks.length, 1)[0];
          heap.free(gone.p);
        }
      }
      assert.ok(grows > 10, `memory grew ${grows} times`);
      for (const { p, count, value } of blocks) {
        const f64 = heap.view(Float64Array, p, count);
        assert.equal(f64[0], value);
        assert.equal(f64[count - 1], value);
        assert.ok(f64.every((x) => x === value));
      }
      const s = heap.stats();
      assert.equal(s.spans, 1, 'nobody else grew this memory');
      assert.ok(s.pagesGrown >= 299);
      assert.equal(heap.check(), 0);
      for (const { p } of blocks) heap.free(p);
      assert.equal(usedBlocks(heap), 0);
      assert.equal(heap.check(), 0);
    });

    test("a host's memory: its bytes are never handed out or written", async (t) => {
      const seed = seedFromEnv();
      t.diagnostic(`seed ${seed} (replay with LM_SEED=${seed})`);
      const r = rng(seed);
      const memory = new WebAssembly.Memory({ initial: 3, maximum: 4000 });
      const host = new Host(memory);
      host.own(0, 3 * PAGE); // the host's data, from address 0
      const events = [];
      const heap = await createHeap({ memory, debug: build.debug, onGrow: (e) => events.push(e) });
      assert.equal(heap.memory, memory);
      assert.equal(events[0].cause, 'createHeap');
      assert.equal(events[0].oldPages, 3);
      host.verify(); // instantiation wrote lmalloc's data elsewhere

      // The host grows memory before lmalloc's first allocation: those
      // pages are the host's, not part of lmalloc's start-up region.
      host.grow(2);
      const shadow = new Shadow(heap);
      for (const [s, e] of host.ranges) shadow.reserve(s, e);

      for (let step = 0; step < 1500; step++) {
        const live = shadow.pointers();
        const roll = r.next();
        try {
          if (roll < 0.1) {
            const [s, e] = [memory.buffer.byteLength, host.grow(1 + r.int(3))];
            assert.equal(s, e);
            shadow.reserve(...host.ranges.at(-1));
          } else if (roll < 0.55 || live.length === 0) {
            const size = r.next() < 0.2 ? r.int(3 * PAGE) : r.int(400);
            shadow.add(heap.malloc(size), size);
          } else if (roll < 0.65) {
            const p = r.pick(live);
            const size = r.int(2 * PAGE);
            shadow.moved(p, heap.realloc(p, size || 1), size || 1);
          } else {
            const p = r.pick(live);
            shadow.remove(p);
            heap.free(p);
          }
          assert.equal(heap.check(), 0);
        } catch (e) {
          e.message = `step ${step} (LM_SEED=${seed}): ${e.message}`;
          throw e;
        }
        if (step % 100 === 0) host.verify();
      }
      host.verify();
      shadow.verifyAll();
      const s = heap.stats();
      assert.ok(s.spans > 1, `the host's growth split the heap (${s.spans} spans)`);
      assert.ok(events.some((e) => e.cause === 'external'));
      for (const p of shadow.pointers()) heap.free(p);
      assert.equal(usedBlocks(heap), 0);
      assert.equal(heap.check(), 0);
      host.verify();
    });

    test("a host's memory with no pages, and one at its maximum", async () => {
      const empty = new WebAssembly.Memory({ initial: 0 });
      const heap = await createHeap({ memory: empty, debug: build.debug });
      const p = heap.malloc(100);
      assert.ok(p > 0);
      heap.free(p);
      assert.equal(heap.check(), 0);

      const full = new WebAssembly.Memory({ initial: 2, maximum: 2 });
      await assert.rejects(createHeap({ memory: full, debug: build.debug }), AllocationError);
    });

    test("a host's memory reaching its maximum: AllocationError, heap intact", async () => {
      const memory = new WebAssembly.Memory({ initial: 1, maximum: 8 });
      const host = new Host(memory);
      host.own(0, PAGE);
      const heap = await createHeap({ memory, debug: build.debug });
      const p = heap.malloc(3 * PAGE);
      heap.bytes(p, 3 * PAGE).fill(9);
      host.grow(2);
      assert.throws(() => heap.malloc(4 * PAGE), AllocationError);
      assert.ok(heap.read(p, 3 * PAGE).every((b) => b === 9));
      assert.equal(heap.check(), 0);
      host.verify();
    });

    test("maximumPages with a host's memory caps the heap, not the memory", async () => {
      const memory = new WebAssembly.Memory({ initial: 1 });
      const heap = await createHeap({ memory, maximumPages: 4, debug: build.debug });
      heap.malloc(2 * PAGE);
      assert.throws(() => heap.malloc(3 * PAGE), AllocationError);
      assert.ok(heap.stats().heapBytes <= 4 * PAGE);
      memory.grow(10); // the host itself is not limited
    });

    test('a shared memory is refused', async () => {
      const shared = new WebAssembly.Memory({ initial: 1, maximum: 2, shared: true });
      await assert.rejects(createHeap({ memory: shared, debug: build.debug }), /shared memory/);
    });
  });
}
