// Seeded random sequences of every allocation call, checked against a
// shadow byte map of every live block (helpers.mjs): no block overlaps
// another, every block keeps its bytes, calloc's are zero, realloc keeps
// the prefix, and check() === 0 after every step. The seed is printed;
// LM_SEED=<seed> replays a run. LM_STEPS=<n> sets the length (default 4000).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { createHeap } from '../../wasm/lmalloc.mjs';
import { BUILDS, PAGE, Shadow, rng, seedFromEnv, usedBlocks } from './helpers.mjs';

const STEPS = Number(process.env.LM_STEPS ?? 4000);

// Sizes real programs ask for: mostly small, some medium, a few large.
function size(r) {
  const roll = r.next();
  if (roll < 0.6) return r.int(257);
  if (roll < 0.9) return 257 + r.int(4000);
  if (roll < 0.98) return 4096 + r.int(60000);
  return PAGE + r.int(4 * PAGE);
}

function run(heap, seed, steps) {
  const r = rng(seed);
  const shadow = new Shadow(heap);
  const counts = { malloc: 0, calloc: 0, realloc: 0, alignedAlloc: 0, free: 0 };
  for (let step = 0; step < steps; step++) {
    const live = shadow.pointers();
    const roll = r.next();
    // Drift between growing and shrinking phases, so the heap both grows
    // and gets emptied (merging) again and again.
    const phase = Math.floor(step / 500) % 2 === 0 ? 0.6 : 0.35;
    try {
      if (live.length === 0 || roll < phase) {
        const kind = r.next();
        if (kind < 0.7) {
          const n = size(r);
          shadow.add(heap.malloc(n), n);
          counts.malloc++;
        } else if (kind < 0.85) {
          const count = 1 + r.int(64);
          const each = 1 + r.int(200);
          const p = heap.calloc(count, each);
          const zero = heap.read(p, count * each).every((b) => b === 0);
          assert.ok(zero, `calloc(${count}, ${each}) = ${p} is not zeroed`);
          shadow.add(p, count * each);
          counts.calloc++;
        } else {
          const alignment = 2 ** (1 + r.int(15));
          const n = size(r);
          shadow.add(heap.alignedAlloc(alignment, n), n, Math.max(16, alignment));
          counts.alignedAlloc++;
        }
      } else if (roll < phase + 0.15) {
        const p = r.pick(live);
        const n = 1 + size(r);
        shadow.moved(p, heap.realloc(p, n), n);
        counts.realloc++;
      } else {
        const p = r.pick(live);
        shadow.remove(p);
        heap.free(p);
        counts.free++;
      }
      const problems = heap.check();
      assert.equal(problems, 0, `check() found ${problems} broken invariants`);
      if (step % 250 === 0) shadow.verifyAll();
    } catch (e) {
      e.message = `step ${step} (replay with LM_SEED=${seed}): ${e.message}`;
      throw e;
    }
  }
  shadow.verifyAll();
  assert.equal(usedBlocks(heap), shadow.live.size);
  for (const p of shadow.pointers()) {
    shadow.remove(p);
    heap.free(p);
  }
  assert.equal(usedBlocks(heap), 0);
  assert.equal(heap.check(), 0);
  return counts;
}

const seed = seedFromEnv();

for (const build of BUILDS) {
  describe(`${build.name}: random operations`, () => {
    test(`${STEPS} steps against a shadow byte map`, async (t) => {
      t.diagnostic(`seed ${seed} (replay with LM_SEED=${seed})`);
      const heap = await createHeap({ debug: build.debug, initialPages: 1 });
      const counts = run(heap, seed, STEPS);
      t.diagnostic(JSON.stringify(counts));
      for (const [op, n] of Object.entries(counts)) assert.ok(n > 0, `${op} never ran`);
    });

    test('a second seed (seed + 1) under a heap limit, so some calls fail', async (t) => {
      const s2 = (seed + 1) >>> 0;
      t.diagnostic(`seed ${s2}`);
      const heap = await createHeap({ debug: build.debug, maximumPages: 64 });
      // Out of memory is part of the sequence: failed calls change nothing.
      const r = rng(s2);
      const shadow = new Shadow(heap);
      let failures = 0;
      for (let step = 0; step < 1500; step++) {
        const live = shadow.pointers();
        if (live.length && r.next() < 0.3) {
          const p = r.pick(live);
          shadow.remove(p);
          heap.free(p);
        } else {
          const n = r.next() < 0.1 ? 8 * PAGE + r.int(8 * PAGE) : r.int(3000);
          const p = heap.tryMalloc(n);
          if (p) shadow.add(p, n);
          else failures++;
        }
        assert.equal(heap.check(), 0, `step ${step} (LM_SEED=${seed})`);
      }
      shadow.verifyAll();
      assert.ok(failures > 0, 'the limit was reached');
    });
  });
}
