// Synthetic workloads as lmtrace v1 files, replayed by the same harness as
// the program traces (bench/replay.c). Every workload is a pure function
// of (name, seed): the same seed always writes the same bytes.
//
//   node bench/gen-synthetic.mjs [--seed 1] [--out build/bench/synthetic]
//                                [--only small,aligned]
//
// Workloads (each ends by freeing everything still live):
//   small     1 M ops, malloc 16-256 B / free, ~20 000 live blocks
//   medium    300 k ops, malloc 1-64 KiB / free, ~800 live blocks
//   large     30 k ops, malloc 256 KiB-16 MiB / free, ~12 live blocks
//             (sizes log-uniform, so most are small and a few are huge)
//   realloc   arrays growing by realloc (x1.5 + 16 B, from 16 B up to
//             256 KiB), the way vectors and string builders grow, with
//             small short-lived allocations between the steps
//   aligned   200 k ops, aligned_alloc with alignment 64, 4096 or 65536 and
//             sizes 16 B-64 KiB rounded up to a multiple of the alignment,
//             mixed with 30% plain malloc, ~2 000 live. The rounding is
//             what C11 required before DR 460, and Emscripten 3.1.6 still
//             enforces it: its aligned_alloc (libc/compat/aligned_alloc.c
//             with dlmalloc, emmalloc.c with emmalloc) returns NULL for any
//             other size.
import { mkdirSync, openSync, writeSync, closeSync, renameSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

import { isMain } from '../scripts/is-main.mjs';

export const WORKLOADS = ['small', 'medium', 'large', 'realloc', 'aligned'];

// splitmix32: a small, well-mixed 32-bit generator; seedable, no deps.
function rng(seed) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  return {
    u32: next,
    /** uniform float in [0, 1) */
    float: () => next() / 4294967296,
    /** uniform integer in [lo, hi] */
    int: (lo, hi) => lo + Math.floor((next() / 4294967296) * (hi - lo + 1)),
    /** log-uniform integer in [lo, hi] */
    logInt: (lo, hi) =>
      Math.min(hi, Math.floor(lo * Math.pow(hi / lo, next() / 4294967296))),
  };
}

// Collects operations, hands out ids (reusing freed ones, as the format
// allows) and tracks the live set so frees pick a random live block.
class TraceBuilder {
  constructor() {
    this.lines = [];
    this.freeIds = [];
    this.nextId = 0;
    this.live = []; // ids of live blocks, in no particular order
    this.where = new Map(); // id -> index in live
  }
  newId() {
    return this.freeIds.length ? this.freeIds.pop() : this.nextId++;
  }
  addLive(id) {
    this.where.set(id, this.live.length);
    this.live.push(id);
  }
  malloc(size) {
    const id = this.newId();
    this.lines.push(`a ${id} ${size}`);
    this.addLive(id);
    return id;
  }
  aligned(align, size) {
    const id = this.newId();
    this.lines.push(`m ${id} ${align} ${size}`);
    this.addLive(id);
    return id;
  }
  realloc(id, size) {
    this.lines.push(`r ${id} ${size}`);
  }
  free(id) {
    this.lines.push(`f ${id}`);
    const i = this.where.get(id);
    const last = this.live.pop();
    if (last !== id) {
      this.live[i] = last;
      this.where.set(last, i);
    }
    this.where.delete(id);
    this.freeIds.push(id);
  }
  freeRandom(r) {
    this.free(this.live[r.int(0, this.live.length - 1)]);
  }
  freeAll(r) {
    while (this.live.length) this.freeRandom(r);
  }
  text(comment) {
    const head = `lmtrace v1 ids ${Math.max(1, this.nextId)} ops ${this.lines.length}`;
    return [head, ...comment.map((c) => `# ${c}`), ...this.lines, ''].join('\n');
  }
}

// Random alloc/free around a target live count: below it allocations are
// more likely, above it frees, so the live set wanders near `target`.
function churn(b, r, ops, target, size) {
  while (b.lines.length < ops) {
    const pAlloc = b.live.length < target ? 0.7 : 0.3;
    if (b.live.length === 0 || r.float() < pAlloc) size(b);
    else b.freeRandom(r);
  }
}

const generators = {
  small(r) {
    const b = new TraceBuilder();
    churn(b, r, 1_000_000, 20_000, (b) => b.malloc(r.int(16, 256)));
    b.freeAll(r);
    return [b, 'malloc 16-256 B / free, ~20000 live'];
  },
  medium(r) {
    const b = new TraceBuilder();
    churn(b, r, 300_000, 800, (b) => b.malloc(r.int(1024, 65536)));
    b.freeAll(r);
    return [b, 'malloc 1-64 KiB / free, ~800 live'];
  },
  large(r) {
    const b = new TraceBuilder();
    churn(b, r, 30_000, 12, (b) => b.malloc(r.logInt(256 << 10, 16 << 20)));
    b.freeAll(r);
    return [b, 'malloc 256 KiB-16 MiB (log-uniform) / free, ~12 live'];
  },
  realloc(r) {
    const b = new TraceBuilder();
    const arrays = new Map(); // id -> current size
    const maxSize = 256 << 10;
    while (b.lines.length < 400_000) {
      const x = r.float();
      if (arrays.size < 64 && x < 0.05) {
        arrays.set(b.malloc(16), 16);
      } else if (arrays.size > 0 && x < 0.75) {
        const ids = [...arrays.keys()];
        const id = ids[r.int(0, ids.length - 1)];
        const size = arrays.get(id);
        if (size >= maxSize) {
          arrays.delete(id);
          b.free(id);
        } else {
          const grown = Math.min(maxSize, Math.floor(size * 1.5) + 16);
          b.realloc(id, grown);
          arrays.set(id, grown);
        }
      } else {
        // short-lived small allocations between the growth steps
        const nonArray = b.live.length - arrays.size;
        if (nonArray > 256 || (nonArray > 0 && r.float() < 0.5)) {
          let id;
          do id = b.live[r.int(0, b.live.length - 1)];
          while (arrays.has(id));
          b.free(id);
        } else b.malloc(r.int(16, 512));
      }
    }
    b.freeAll(r);
    return [b, 'up to 64 arrays grown by realloc (x1.5+16 B, 16 B-256 KiB) among small blocks'];
  },
  aligned(r) {
    const b = new TraceBuilder();
    const aligns = [64, 4096, 65536];
    churn(b, r, 200_000, 2_000, (b) => {
      const size = r.logInt(16, 65536);
      if (r.float() < 0.3) b.malloc(size);
      else {
        const align = aligns[r.int(0, 2)];
        b.aligned(align, Math.ceil(size / align) * align);
      }
    });
    b.freeAll(r);
    return [b, 'aligned_alloc 64/4096/65536 (70%, size a multiple of the alignment) and malloc (30%), 16 B-64 KiB, ~2000 live'];
  },
};

/** Writes workload `name` with `seed` to dir/name.trace; returns the path. */
export function generate(name, seed, dir) {
  const gen = generators[name];
  if (!gen) throw new Error(`unknown workload ${name} (have ${WORKLOADS.join(', ')})`);
  // Each workload gets its own stream, so adding one never changes another.
  const r = rng((seed * 0x2545f491) ^ [...name].reduce((h, c) => Math.imul(h ^ c.charCodeAt(0), 16777619), 2166136261));
  const [b, what] = gen(r);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.trace`);
  const text = b.text([`synthetic ${name}: ${what}`, `generator bench/gen-synthetic.mjs, seed ${seed}`]);
  const fd = openSync(`${path}.tmp`, 'w');
  writeSync(fd, text);
  closeSync(fd);
  renameSync(`${path}.tmp`, path);
  return path;
}

function main(argv) {
  const here = dirname(fileURLToPath(import.meta.url));
  let seed = 1;
  let out = resolve(here, '..', 'build', 'bench', 'synthetic');
  let only = WORKLOADS;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--seed') seed = Number(argv[++i]);
    else if (a === '--out') out = resolve(argv[++i]);
    else if (a === '--only') only = argv[++i].split(',');
    else {
      console.error('usage: node bench/gen-synthetic.mjs [--seed N] [--out DIR] [--only a,b]');
      process.exit(64);
    }
  }
  if (!Number.isInteger(seed) || seed < 0) {
    console.error('--seed must be a non-negative integer');
    process.exit(64);
  }
  for (const name of only) console.log(generate(name, seed, out));
}

if (isMain(import.meta.url)) {
  main(process.argv.slice(2));
}
