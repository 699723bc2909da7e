// Seed corpus for fuzz_heap, made from the real-program traces.
//
//   node tests/fuzz/corpus.mjs OUTDIR
//
// Each bench/traces/<name>.trace.gz (lmtrace v1, bench/traces/README.md)
// gives WINDOWS windows of at most WINDOW_OPS consecutive operations, spread
// evenly over the trace, encoded in fuzz_heap's input format (4-byte records
// [op, slot, lo, hi]; fuzz_heap.c documents it). Trace ids map to the
// fuzzer's 64 slots: an id takes a free slot when it is allocated; an id
// live before the window starts is first seen as a realloc (encoded as
// realloc(NULL)) or a free (dropped); allocations find no slot when all 64
// are taken (dropped too). A few hand-written seeds add what traces never do:
// failing requests, bad alignments, a heap limit, failing memory.grow and
// foreign growth. Output files are named <trace>-<window>; the directory is
// created and existing files are overwritten.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SLOTS = 64;
const WINDOWS = 16;
const WINDOW_OPS = 480; // 1920 bytes, under run.sh's -max_len=2048

const OP = { malloc: 0, calloc: 1, realloc: 2, free: 3, aligned: 4, limit: 5, fault: 6, other: 7 };

// The fuzzer's decode_size, inverted: a 16-bit value that decodes to the
// size, or to the next size it can express.
function encodeSize(size) {
  if (size <= 256) return size;
  if (size < 4096) return (1 << 14) | size;
  if (size <= 16383 * 16) return (2 << 14) | Math.ceil(size / 16);
  const kb = Math.min(2047, Math.ceil(size / 1024));
  return (3 << 14) | (kb << 3) | 5;
}

function record(op, x, slot, v) {
  return [(op & 7) | (x << 3), slot, v & 0xff, (v >> 8) & 0xff];
}

function encodeWindow(lines) {
  const slotOf = new Map();
  const free = [];
  for (let s = SLOTS - 1; s >= 0; s--) free.push(s);
  const out = [];
  for (const line of lines) {
    const f = line.split(' ');
    const op = f[0];
    const id = f[1];
    if (op === 'f') {
      if (!slotOf.has(id)) continue;
      const s = slotOf.get(id);
      slotOf.delete(id);
      free.push(s);
      out.push(record(OP.free, 0, s, 0));
      continue;
    }
    const size = Number(op === 'm' ? f[3] : f[2]);
    if (op === 'r' && slotOf.has(id)) {
      out.push(record(OP.realloc, 0, slotOf.get(id), encodeSize(size)));
      continue;
    }
    if (free.length === 0) continue;
    const s = free.pop();
    slotOf.set(id, s);
    if (op === 'a') out.push(record(OP.malloc, 0, s, encodeSize(size)));
    else if (op === 'c') out.push(record(OP.calloc, 0, s, encodeSize(size)));
    else if (op === 'r') out.push(record(OP.realloc, 0, s, encodeSize(size)));
    else if (op === 'm') {
      const log2 = Math.min(30, Math.round(Math.log2(Number(f[2]))));
      out.push(record(OP.aligned, log2, s, encodeSize(size)));
    }
  }
  return Buffer.from(out.flat());
}

// Hand-written seeds for what the traces never do.
function handSeeds() {
  const huge = (k) => (3 << 14) | k; // SIZE_MAX, SIZE_MAX-15, LM_MAX_REQUEST, +1, 2^31
  const seeds = {};
  seeds['hand-huge'] = [0, 1, 2, 3, 4].flatMap((k) => [
    record(OP.malloc, 0, k, huge(k)),
    record(OP.calloc, 0, k, huge(k)),
    record(OP.calloc, 31, k, 1000),
    record(OP.realloc, 0, 9, 100),
    record(OP.realloc, 0, 9, huge(k)),
  ]);
  seeds['hand-align'] = [
    ...[0, 1, 2, 3].map((k) => record(OP.aligned, 31, k, k)),
    ...[4, 5, 6, 12, 16, 20].map((lg, i) => record(OP.aligned, lg, 10 + i, 100 + i * 999)),
  ];
  const fill = [];
  for (let i = 0; i < 40; i++) fill.push(record(OP.malloc, 0, i, (2 << 14) | 4000));
  seeds['hand-limit'] = [record(OP.limit, 1, 0, 16), ...fill, record(OP.limit, 0, 0, 0), ...fill];
  seeds['hand-fault'] = [0, 1, 2, 3].flatMap((k) => [
    record(OP.fault, k, 0, 0),
    record(OP.malloc, 0, 20 + k, (2 << 14) | 9000),
    record(OP.malloc, 0, 30 + k, 100),
    record(OP.realloc, 0, 20 + k, (3 << 14) | (900 << 3) | 5),
  ]);
  seeds['hand-foreign'] = [0, 1, 2, 3, 4, 5].flatMap((k) => [
    record(OP.malloc, 0, k, (1 << 14) | 3000),
    record(OP.other, 0, 0, k),
    record(OP.realloc, 0, k, (2 << 14) | 8000),
  ]);
  for (const k of Object.keys(seeds)) seeds[k] = Buffer.from(seeds[k].flat());
  return seeds;
}

function main() {
  const outDir = process.argv[2];
  if (!outDir) {
    console.error('usage: node tests/fuzz/corpus.mjs OUTDIR');
    process.exit(2);
  }
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const traceDir = join(root, 'bench', 'traces');
  mkdirSync(outDir, { recursive: true });
  let files = 0;
  let bytes = 0;
  for (const file of readdirSync(traceDir).filter((f) => f.endsWith('.trace.gz')).sort()) {
    const name = file.replace(/\.trace\.gz$/, '');
    const lines = gunzipSync(readFileSync(join(traceDir, file)))
      .toString('latin1')
      .split('\n')
      .filter((l) => /^[acmrf] /.test(l));
    for (let w = 0; w < WINDOWS; w++) {
      const start = Math.floor((lines.length - WINDOW_OPS) * (w / (WINDOWS - 1)));
      const data = encodeWindow(lines.slice(Math.max(0, start), Math.max(0, start) + WINDOW_OPS));
      writeFileSync(join(outDir, `${name}-${w}`), data);
      files++;
      bytes += data.length;
    }
  }
  for (const [name, data] of Object.entries(handSeeds())) {
    writeFileSync(join(outDir, name), data);
    files++;
    bytes += data.length;
  }
  console.log(`corpus.mjs: ${files} seeds (${bytes} bytes) in ${outDir}`);
}

main();
