// Shared by the tests/js suites: where the built modules are, a seeded
// random generator, and a shadow of every live block that knows nothing of
// lmalloc's internals (walloc's test does the same): a byte map of which
// addresses are live, plus each block's expected contents.
//
// The suites build nothing: they use the wasi preset's build
// (build/wasi/wasm/*.wasm, copied to wasm/dist/ by the same build), which
// scripts/test.sh runs before them. Importing this file fails at once,
// with the command to run, when the modules are missing or stale.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { createHeap } from '../../wasm/lmalloc.mjs';

export const root = fileURLToPath(new URL('../../', import.meta.url));
export const built = {
  release: `${root}build/wasi/wasm/lmalloc.wasm`,
  debug: `${root}build/wasi/wasm/lmalloc-debug.wasm`,
  heaps: `${root}build/wasi/wasm/lmalloc-heaps.wasm`,
  heapsDebug: `${root}build/wasi/wasm/lmalloc-heaps-debug.wasm`,
};
export const dist = {
  release: `${root}wasm/dist/lmalloc.wasm`,
  debug: `${root}wasm/dist/lmalloc-debug.wasm`,
  heaps: `${root}wasm/dist/lmalloc-heaps.wasm`,
  heapsDebug: `${root}wasm/dist/lmalloc-heaps-debug.wasm`,
};

for (const build of Object.keys(built)) {
  for (const path of [built[build], dist[build]]) {
    if (!existsSync(path)) {
      throw new Error(
        `${path} is missing: build it first with ` +
          '`cmake --preset wasi && cmake --build --preset wasi -j2` (npm test does)',
      );
    }
  }
  if (!readFileSync(built[build]).equals(readFileSync(dist[build]))) {
    throw new Error(
      `${dist[build]} differs from ${built[build]}: rebuild with ` +
        '`cmake --build --preset wasi`, which copies it',
    );
  }
}

export const PAGE = 65536;

// A heap made with createHeap(options) holding a few live blocks of every
// kind (slab objects, blocks, an aligned block), each filled with its own
// byte (i + 1): { heap, ptrs }.
export async function populated(options = {}) {
  const heap = await createHeap(options);
  const ptrs = [
    heap.malloc(8), heap.malloc(40), heap.malloc(200), heap.malloc(1000),
    heap.malloc(70000), heap.alignedAlloc(4096, 300), heap.calloc(10, 10),
  ];
  ptrs.forEach((p, i) => heap.bytes(p, heap.usableSize(p)).fill(i + 1));
  return { heap, ptrs };
}
export const BUILDS = [
  { name: 'release', debug: false },
  { name: 'debug', debug: true },
];

// The seed for random tests: LM_SEED from the environment, or a fresh one.
export function seedFromEnv() {
  const env = process.env.LM_SEED;
  if (env !== undefined && env !== '') {
    const n = Number(env);
    assert.ok(Number.isInteger(n) && n >= 0 && n < 2 ** 32, `LM_SEED must be a uint32, got ${env}`);
    return n;
  }
  return (Math.random() * 2 ** 32) >>> 0;
}

// mulberry32: a small, fast, seedable generator.
export function rng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  return {
    next,
    int: (n) => Math.floor(next() * n), // 0 .. n-1
    pick: (array) => array[Math.floor(next() * array.length)],
  };
}

// The expected byte at offset i of a block filled with tag.
const fillByte = (tag, i) => (tag * 31 + i * 7 + (i >>> 8)) & 0xff;

// Every live block of a heap: its address range in a byte map (1 = live)
// and the bytes it must hold. `reserved` ranges (e.g. a host's data) must
// never be handed out either.
export class Shadow {
  constructor(heap) {
    this.heap = heap;
    this.live = new Map(); // ptr -> { size, usable, tag }
    this.map = new Uint8Array(heap.memory.buffer.byteLength);
    this.nextTag = 1;
  }

  #grow() {
    const len = this.heap.memory.buffer.byteLength;
    if (len > this.map.length) {
      const map = new Uint8Array(len);
      map.set(this.map);
      this.map = map;
    }
  }

  // Marks [start, end) as not lmalloc's to hand out.
  reserve(start, end) {
    this.#grow();
    this.map.fill(2, start, end);
  }

  // A block was just returned for `size` bytes (alignment: what the
  // address must be a multiple of). Checks it and fills it.
  add(ptr, size, alignment = 16) {
    const { heap } = this;
    this.#grow();
    assert.ok(ptr > 0, 'null block');
    assert.equal(ptr % alignment, 0, `block ${ptr} is not ${alignment}-aligned`);
    const usable = heap.usableSize(ptr);
    assert.ok(usable >= size, `usable ${usable} < requested ${size}`);
    assert.ok(!this.live.has(ptr), `block ${ptr} handed out twice`);
    const end = ptr + usable;
    assert.ok(end <= this.map.length, `block ${ptr}+${usable} runs past memory`);
    const clash = this.map.subarray(ptr, end).findIndex((b) => b !== 0);
    if (clash >= 0) {
      const what = this.map[ptr + clash] === 2 ? 'reserved bytes' : 'a live block';
      assert.fail(`block ${ptr}+${usable} overlaps ${what} at ${ptr + clash}`);
    }
    this.map.fill(1, ptr, end);
    const tag = this.nextTag++ & 0xffff;
    this.live.set(ptr, { size, usable, tag });
    this.fill(ptr);
  }

  fill(ptr) {
    const { usable, tag } = this.live.get(ptr);
    const bytes = this.heap.bytes(ptr, usable);
    for (let i = 0; i < usable; i++) bytes[i] = fillByte(tag, i);
  }

  // Checks that block ptr still holds its bytes (the first `limit`).
  verify(ptr, limit = Infinity) {
    const { usable, tag } = this.live.get(ptr);
    const n = Math.min(usable, limit);
    const bytes = this.heap.bytes(ptr, n);
    for (let i = 0; i < n; i++) {
      if (bytes[i] !== fillByte(tag, i)) {
        assert.fail(`block ${ptr} byte ${i} is ${bytes[i]}, expected ${fillByte(tag, i)}`);
      }
    }
  }

  verifyAll() {
    for (const ptr of this.live.keys()) this.verify(ptr);
  }

  remove(ptr) {
    const { usable } = this.live.get(ptr);
    this.verify(ptr);
    this.live.delete(ptr);
    this.map.fill(0, ptr, ptr + usable);
  }

  // realloc moved or resized block `from` to `to` for `size` bytes: the
  // first min(old size, size) bytes must have come along.
  moved(from, to, size) {
    const old = this.live.get(from);
    const keep = Math.min(old.size, size);
    this.live.delete(from);
    this.map.fill(0, from, from + old.usable);
    this.#grow();
    const usable = this.heap.usableSize(to);
    assert.ok(usable >= size, `realloc: usable ${usable} < ${size}`);
    assert.equal(to % 16, 0);
    const clash = this.map.subarray(to, to + usable).findIndex((b) => b !== 0);
    assert.equal(clash, -1, `realloc: block ${to}+${usable} overlaps at ${to + clash}`);
    const bytes = this.heap.bytes(to, keep);
    for (let i = 0; i < keep; i++) {
      if (bytes[i] !== fillByte(old.tag, i)) {
        assert.fail(`realloc ${from} -> ${to}: byte ${i} is ${bytes[i]}, expected ${fillByte(old.tag, i)}`);
      }
    }
    this.map.fill(1, to, to + usable);
    this.live.set(to, { size, usable, tag: old.tag });
    this.fill(to);
  }

  pointers() {
    return [...this.live.keys()];
  }
}

// stats().usedBlocks once the debug build's quarantine is emptied: its
// freed blocks count as used until they leave it (lmalloc_debug.h). In the
// release build flushQuarantine() does nothing.
export function usedBlocks(heap) {
  assert.equal(heap.flushQuarantine(), 0, 'a quarantined block was written to');
  return heap.stats().usedBlocks;
}

// A copy of every live block's bytes and the heap's health, to compare
// after an operation that must have changed nothing.
export function snapshot(heap, ptrs) {
  return {
    contents: ptrs.map((p) => heap.read(p, heap.usableSize(p))),
    usedBlocks: heap.stats().usedBlocks,
  };
}

export function assertUnchanged(heap, ptrs, before) {
  assert.equal(heap.check(), 0, 'check() after the error');
  ptrs.forEach((p, i) => {
    assert.deepEqual(heap.read(p, before.contents[i].length), before.contents[i], `block ${p} changed`);
  });
  assert.equal(heap.stats().usedBlocks, before.usedBlocks, 'used blocks changed');
}
