// Tests of the synthetic workload generator: determinism per seed, and
// every workload is a valid lmtrace v1 file (the same rules bench/trace.c
// enforces), with the properties its description promises.
//
//   node --test tests/js/bench-synthetic.test.mjs
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { WORKLOADS, generate } from '../../bench/gen-synthetic.mjs';

const dir = mkdtempSync(join(tmpdir(), 'lm-gen-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// Parses and validates a trace the way the C loader does; returns stats.
function check(text) {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const m = /^lmtrace v1 ids (\d+) ops (\d+)$/.exec(lines[0]);
  assert.ok(m, `bad header: ${lines[0]}`);
  const ids = Number(m[1]);
  const ops = Number(m[2]);
  const live = new Map(); // id -> size
  const stats = { ops: 0, counts: {}, aligns: new Set(), maxLive: 0, maxSize: 0, minSize: Infinity };
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    if (line.startsWith('#')) continue;
    const f = line.split(' ');
    const op = f[0];
    const id = Number(f[1]);
    assert.ok(Number.isInteger(id) && id >= 0 && id < ids, `line ${i + 1}: id ${f[1]}`);
    stats.counts[op] = (stats.counts[op] || 0) + 1;
    stats.ops++;
    if (op === 'a' || op === 'c' || op === 'm') {
      assert.ok(!live.has(id), `line ${i + 1}: id ${id} still live`);
      const size = Number(op === 'm' ? f[3] : f[2]);
      if (op === 'm') {
        const align = Number(f[2]);
        assert.equal(align & (align - 1), 0, `line ${i + 1}: align ${align}`);
        assert.equal(size % align, 0, `line ${i + 1}: size ${size} not a multiple of ${align}`);
        stats.aligns.add(align);
      }
      live.set(id, size);
      stats.maxSize = Math.max(stats.maxSize, size);
      stats.minSize = Math.min(stats.minSize, size);
    } else if (op === 'r') {
      assert.ok(live.has(id), `line ${i + 1}: realloc of dead id ${id}`);
      live.set(id, Number(f[2]));
    } else if (op === 'f') {
      assert.ok(live.has(id), `line ${i + 1}: free of dead id ${id}`);
      live.delete(id);
    } else {
      assert.fail(`line ${i + 1}: bad op ${op}`);
    }
    stats.maxLive = Math.max(stats.maxLive, live.size);
  }
  assert.equal(stats.ops, ops, 'header ops matches the operation lines');
  assert.equal(live.size, 0, 'everything is freed at the end');
  return stats;
}

test('same seed, same bytes; another seed, other bytes', () => {
  const a = readFileSync(generate('medium', 7, join(dir, 'a')), 'utf8');
  const b = readFileSync(generate('medium', 7, join(dir, 'b')), 'utf8');
  const c = readFileSync(generate('medium', 8, join(dir, 'c')), 'utf8');
  assert.equal(a, b);
  assert.notEqual(a, c);
});

test('every workload is a valid trace with the promised shape', () => {
  const want = {
    small: (s) => s.minSize >= 16 && s.maxSize <= 256 && s.maxLive > 15000,
    medium: (s) => s.minSize >= 1024 && s.maxSize <= 65536,
    large: (s) => s.minSize >= 256 << 10 && s.maxSize <= 16 << 20,
    realloc: (s) => s.counts.r > 100000,
    aligned: (s) => s.aligns.size === 3 && s.counts.m > 50000,
  };
  assert.deepEqual(Object.keys(want).sort(), [...WORKLOADS].sort());
  for (const name of WORKLOADS) {
    const stats = check(readFileSync(generate(name, 1, dir), 'utf8'));
    assert.ok(want[name](stats), `${name}: ${JSON.stringify({ ...stats, aligns: [...stats.aligns] })}`);
  }
});

test('unknown workload is refused', () => {
  assert.throws(() => generate('nope', 1, dir), /unknown workload/);
});
