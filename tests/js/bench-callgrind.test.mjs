// Tests of the counted-instructions benchmark (bench/callgrind.sh and
// bench/callgrind.mjs): its parsing and table as pure functions, and one
// real run of both native builds under callgrind on a small trace, whose
// calls must all be counted.
//
//   node --test tests/js/bench-callgrind.test.mjs
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { callgrindTable, opCounts, parseInclusive } from '../../bench/callgrind.mjs';
import { root } from './helpers.mjs';

const dir = mkdtempSync(join(tmpdir(), 'lm-callgrind-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('opCounts: operations by letter; header and comments are not operations', () => {
  const text = 'lmtrace v1 ids 3 ops 6\n# a comment\na 0 16\nc 1 32\nm 2 64 100\nr 0 40\nf 0\nf 1\n';
  assert.deepEqual(opCounts(text), { a: 1, c: 1, m: 1, r: 1, f: 2 });
});

// What callgrind_annotate --inclusive=yes --show-percs=no prints (cut).
const annotated = `--------------------------------------------------------------------------------
Events recorded:  Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw
Events shown:     Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw
--------------------------------------------------------------------------------
Ir          Dr         Dw         I1mr  D1mr    D1mw    ILmr  DLmr   DLmw    file:function
--------------------------------------------------------------------------------
511,253,237 90,926,281 50,919,280 1,617 522,314 355,681 1,572  9,451 346,452  PROGRAM TOTALS
 90,000,000         10         10     .       .       .     .      .      .  ???:free [/usr/lib/x86_64-linux-gnu/libc.so.6]
 60,142,978  8,821,160  5,095,394     7  20,123      12     7      3       .  /work/main/src/stdlib.c:free [/x/replay-lmalloc]
 35,515,273  5,190,101  3,444,100    18   1,212     980    17      .      .  ???:malloc [/x/replay-lmalloc]
  2,066,214  2,041,807  2,040,869     .  34,008  35,404     .      .      .  ./string/memmove.S:__memcpy_avx_unaligned_erms [/usr/lib/libc.so.6]
      1,000        100        100     .       .       .     .      .      .  /elsewhere/other.c:free [/usr/lib/libc.so.6]
`;

test('parseInclusive: the named functions\' event counts in the program, "." as zero, the first listing of a name', () => {
  assert.equal(parseInclusive(annotated, ['free']).free.Ir, 90000000); // no object named: the first
  const c = parseInclusive(annotated, ['malloc', 'free', 'realloc'], '/replay-');
  assert.deepEqual(Object.keys(c).sort(), ['free', 'malloc']);
  assert.equal(c.free.Ir, 60142978);
  assert.equal(c.free.D1mr, 20123);
  assert.equal(c.free.DLmw, 0);
  assert.equal(c.malloc.Dw, 3444100);
  assert.equal(c.malloc.DLmr, 0);
});

test('callgrindTable: per call, per operation, and against dlmalloc of the same trace', () => {
  const cost = (ir, dr, dw, d1) => ({ Ir: ir, Dr: dr, Dw: dw, D1mr: d1, D1mw: 0 });
  const rows = [
    { trace: 't', allocator: 'lmalloc', counts: { a: 10, c: 0, m: 0, r: 0, f: 10 },
      costs: { malloc: cost(500, 50, 50, 10), free: cost(1500, 100, 0, 0) } },
    { trace: 't', allocator: 'dlmalloc', counts: { a: 10, c: 0, m: 0, r: 0, f: 10 },
      costs: { malloc: cost(600, 60, 60, 20), free: cost(400, 40, 40, 20) } },
  ];
  const md = callgrindTable(rows).split('\n');
  // lmalloc: 2000 instructions over 20 operations; dlmalloc 1000.
  assert.equal(md[2], '| t | lmalloc | 100.0 | 50.0 | - | - | - | 150.0 | 10.0 | 0.50 | 2.00x |');
  assert.equal(md[3], '| t | dlmalloc | 50.0 | 60.0 | - | - | - | 40.0 | 10.0 | 2.00 | - |');
  const cells = (line) => line.split('|').length;
  assert.ok(md.every((line) => cells(line) === cells(md[0])), 'every row has the header\'s columns');
});

const have = (cmd) => spawnSync(cmd, ['--version'], { encoding: 'utf8' }).status === 0;

test('bench/callgrind.sh: both native builds replay a trace under callgrind, every call counted',
  { skip: !have('valgrind') && 'valgrind is missing (npm test installs it)' }, () => {
    const trace = join(dir, 'small.trace');
    // Slab sizes and blocks: malloc, realloc, free, calloc, free, aligned_alloc.
    const ops = [];
    for (let i = 0; i < 40; i++) ops.push(`a ${i} ${16 + 24 * i}`);
    for (let i = 0; i < 40; i += 2) ops.push(`r ${i} ${600 + i}`);
    for (let i = 0; i < 40; i++) ops.push(`f ${i}`);
    for (let i = 0; i < 40; i++) ops.push(`c ${i} ${8 + 8 * i}`);
    for (let i = 0; i < 40; i++) ops.push(`f ${i}`);
    ops.push('m 0 64 100', 'f 0');
    writeFileSync(trace, `lmtrace v1 ids 40 ops ${ops.length}\n${ops.join('\n')}\n`);
    const r = spawnSync('bash', [join(root, 'bench/callgrind.sh'), '--traces', trace, '--out', dir], {
      encoding: 'utf8', env: { ...process.env, LM_BENCH_OUT: join(dir, 'build') },
    });
    assert.equal(r.status, 0, r.stderr);
    const md = readFileSync(join(dir, 'callgrind.md'), 'utf8');
    for (const allocator of ['lmalloc', 'dlmalloc']) {
      const row = md.split('\n').find((l) => l.startsWith(`| small | ${allocator} |`));
      assert.ok(row, `${allocator} row in:\n${md}`);
      // instr/op, then malloc, calloc, aligned_alloc, realloc, free: all
      // counted, each more than a jump to the allocator's own function.
      const cells = row.split('|').slice(3, 9).map((x) => x.trim());
      for (const c of cells) {
        assert.match(c, /^\d+\.\d$/, `${allocator}: ${row}`);
        assert.ok(Number(c) > 10, `${allocator}: ${row}`);
      }
    }
  });
