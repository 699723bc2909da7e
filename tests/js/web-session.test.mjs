// The playground's model (web/session.mjs) on the real heap: steps,
// undo and redo by replay, the classic mistakes refused with an explanation
// and the heap left intact, leaks found by reachability, memory.grow
// attributed to its step, and every scenario played to its end.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { SCENARIOS, scenario } from '../../web/scenarios.mjs';
import { codeOf } from '../../web/session.mjs';
import { entryByPtr } from '../../web/snapshot.mjs';
import { newSession } from '../web/helpers.mjs';

const shape = (blocks) => blocks.map((b) => `${b.kind}:${b.ptr}:${b.size}:${b.used}`).join(' ');

test('allocations are recorded with their request, label and step', async () => {
  const s = await newSession();
  const r1 = s.apply({ op: 'malloc', name: 'p1', size: 100 });
  const r2 = s.apply({ op: 'calloc', name: 'recs', label: 'records', count: 10, size: 40 });
  const r3 = s.apply({ op: 'aligned', name: 'al', align: 256, size: 40 });
  // r3 may need no lead gap (where the heap starts depends on the module's
  // static data); r4 comes right after r3's 48-byte block, so its aligned
  // payload is 208 bytes on, and the bytes between are a marked gap.
  const r4 = s.apply({ op: 'aligned', name: 'al2', align: 256, size: 40 });
  assert.equal(r1.kind, 'info');
  assert.match(r1.text, /112-byte object in the slab/);
  assert.match(r2.text, /block of 416 bytes/);
  assert.equal(r3.ptr % 256, 0);
  const snap = s.snapshot();
  const e1 = snap.entries[entryByPtr(snap, r1.ptr)];
  assert.deepEqual([e1.kind, e1.requested, e1.usable, e1.label, e1.step], ['object', 100, 112, 'p1', 1]);
  const e2 = snap.entries[entryByPtr(snap, r2.ptr)];
  assert.deepEqual([e2.kind, e2.requested, e2.usable, e2.label, e2.step], ['block', 400, 408, 'records', 2]);
  const e3 = snap.entries[entryByPtr(snap, r3.ptr)];
  assert.equal(e3.align, 256);
  const e4 = snap.entries[entryByPtr(snap, r4.ptr)];
  assert.equal(r4.ptr % 256, 0);
  assert.equal(r4.ptr - r3.ptr, 256, 'r4 is the next 256-byte boundary after r3');
  const pad = snap.entries[e4.index - 1];
  assert.equal(pad.used, false);
  assert.equal(pad.padFor, e4.index, 'the aligned block\'s lead gap is marked');
  assert.deepEqual(snap.vars.map((v) => [v.name, v.state]), [['p1', 'live'], ['recs', 'live'], ['al', 'live'], ['al2', 'live']]);
  assert.equal(codeOf({ op: 'calloc', name: 'x', count: 2, size: 3 }), 'x = calloc(2, 3);');
  assert.equal(snap.history.length, 5);
  assert.equal(snap.stats.usedBlocks, s.heap.stats().usedBlocks);
});

test('undo replays into a fresh heap and lands on the same addresses; redo goes forward', async () => {
  const s = await newSession();
  const shapes = [shape(s.heap.blocks())];
  const ops = [
    { op: 'malloc', name: 'a', size: 300 },
    { op: 'malloc', name: 'b', size: 20 },
    { op: 'malloc', name: 'c', size: 5000 },
    { op: 'free', target: { ref: 'a' } },
    { op: 'realloc', target: { ref: 'c' }, size: 70000 },
    { op: 'write', target: { ref: 'b' }, text: 'hello' },
    { op: 'free', target: { ref: 'a' } }, // a mistake is a step too
  ];
  for (const op of ops) {
    s.apply(op);
    shapes.push(shape(s.heap.blocks()));
  }
  const grows = s.grows.length;
  assert.ok(grows >= 1, 'realloc to 70000 grew memory');
  for (let n = ops.length - 1; n >= 0; n--) {
    await s.undo();
    assert.equal(s.cursor, n);
    assert.equal(shape(s.heap.blocks()), shapes[n], `after undo to step ${n}`);
  }
  assert.equal(s.canUndo, false);
  for (let n = 1; n <= ops.length; n++) {
    s.redo();
    assert.equal(shape(s.heap.blocks()), shapes[n], `after redo to step ${n}`);
  }
  assert.equal(s.grows.length, grows, 'replay records the same grows');
  assert.equal(s.heap.readString(s.vars.get('b').addr), 'hello', 'replayed writes too');
  await s.goto(2);
  s.apply({ op: 'malloc', name: 'd', size: 64 });
  assert.equal(s.steps.length, 3, 'a new step after undo drops the undone ones');
  assert.equal(s.canRedo, false);
});

test('double free is refused, explained, and leaves the heap intact', async () => {
  const s = await newSession();
  s.apply({ op: 'malloc', name: 'p', size: 300 });
  s.apply({ op: 'free', target: { ref: 'p' } });
  const before = shape(s.heap.blocks());
  const r = s.apply({ op: 'free', target: { ref: 'p' } });
  assert.equal(r.kind, 'error');
  assert.equal(r.error, 'DoubleFreeError');
  assert.match(r.explain, /already freed at step 2/);
  assert.match(r.explain, /undefined behaviour/);
  assert.equal(shape(s.heap.blocks()), before);
  assert.equal(s.heap.check(), 0);
  assert.equal(s.snapshot().vars[0].state, 'dangling');
});

test('free of an interior pointer names the block it points into', async () => {
  const s = await newSession();
  const { ptr } = s.apply({ op: 'malloc', name: 'p', size: 300 });
  const r = s.apply({ op: 'free', target: { ref: 'p' }, offset: 8 });
  assert.equal(r.error, 'InvalidPointerError');
  assert.equal(r.at, ptr + 8);
  assert.match(r.explain, /8 bytes into the block at 0x[0-9a-f]+ \("p"\)/);
  const small = s.apply({ op: 'malloc', name: 'q', size: 24 });
  const r2 = s.apply({ op: 'free', target: { ref: 'q' }, offset: 8 });
  assert.equal(r2.error, 'InvalidPointerError');
  assert.ok(s.meta.has(small.ptr), 'the object is still allocated');
});

test('write after free says what the freed bytes hold', async () => {
  const s = await newSession();
  s.apply({ op: 'malloc', name: 'p', size: 300 });
  s.apply({ op: 'malloc', name: 'keep', size: 300 });
  s.apply({ op: 'free', target: { ref: 'p' } });
  const r = s.apply({ op: 'write', target: { ref: 'p' }, text: 'oops' });
  assert.equal(r.error, 'UseAfterFreeError');
  assert.match(r.explain, /free-list links \(next = 0x[0-9a-f]+, prev = 0x[0-9a-f]+\)/);
  s.apply({ op: 'malloc', name: 'o', size: 16 });
  s.apply({ op: 'malloc', name: 'o2', size: 16 });
  s.apply({ op: 'free', target: { ref: 'o' } });
  const r2 = s.apply({ op: 'write', target: { ref: 'o' }, text: 'x' });
  assert.equal(r2.error, 'UseAfterFreeError');
  assert.match(r2.explain, /slab's link to its next free object/);
});

test('a dangling pointer into reused memory changes someone else\'s block', async () => {
  const s = await newSession();
  s.apply({ op: 'malloc', name: 'p', size: 300 });
  s.apply({ op: 'malloc', name: 'guard', size: 300 });
  s.apply({ op: 'free', target: { ref: 'p' } });
  const q = s.apply({ op: 'malloc', name: 'q', size: 300 });
  assert.equal(q.ptr, s.vars.get('p').addr, 'q reuses p\'s block');
  const w = s.apply({ op: 'write', target: { ref: 'p' }, text: 'clobber' });
  assert.equal(w.error, 'WriteToReused');
  assert.match(w.explain, /now belongs to "q"/);
  assert.equal(s.heap.readString(q.ptr), 'clobber');
  const f = s.apply({ op: 'free', target: { ref: 'p' } });
  assert.equal(f.error, 'FreeOfReused');
  assert.equal(s.snapshot().vars.find((v) => v.name === 'q').state, 'dangling', 'q lost its block');
});

test('overflow names what the extra bytes would hit', async () => {
  const s = await newSession();
  s.apply({ op: 'malloc', name: 'p', size: 300 });
  s.apply({ op: 'malloc', name: 'next', size: 300 });
  // 300 bytes: a 320-byte block, 312 usable, then its 4-byte seal.
  const r = s.apply({ op: 'write', target: { ref: 'p' }, text: 'x'.repeat(317) });
  assert.equal(r.error, 'Overflow');
  assert.match(r.explain, /which has 312 usable bytes, runs 6 bytes past its end/);
  assert.match(r.explain, /land on the block's seal at 0x[0-9a-f]+ \(4 bytes lmalloc checks when the block is freed: that free would be refused\), then the header of the next block at 0x[0-9a-f]+ \(size 320, in use, "next"\)/);
  s.apply({ op: 'malloc', name: 'o1', size: 10 });
  s.apply({ op: 'malloc', name: 'o2', size: 10 });
  const r2 = s.apply({ op: 'write', target: { ref: 'o1' }, text: 'y'.repeat(20) });
  assert.match(r2.explain, /next object in the slab, "o2"/);
});

test('losing the last pointer is a leak; pointers stored in blocks keep blocks reachable', async () => {
  const s = await newSession();
  s.apply({ op: 'malloc', name: 'head', size: 8 });
  s.apply({ op: 'malloc', name: 'n', size: 8 });
  s.apply({ op: 'poke', target: { ref: 'head' }, offset: 4, value: { ref: 'n' } });
  const r = s.apply({ op: 'assign', name: 'n', value: null });
  assert.equal(r.kind, 'info', 'n is still reachable through head->next');
  const r2 = s.apply({ op: 'assign', name: 'head', value: null });
  assert.equal(r2.kind, 'leak');
  assert.equal(r2.leaked.length, 2);
  assert.match(r2.explain, /definitely lost/);
  const snap = s.snapshot();
  assert.deepEqual(snap.leaks, { count: 2, bytes: 32 });
  assert.equal(snap.entries.filter((e) => e.leaked).length, 2);
  const r3 = s.apply({ op: 'malloc', name: 'x', size: 100 });
  assert.equal(r3.kind, 'info', 'old leaks are not reported again');
  const r4 = s.apply({ op: 'malloc', name: 'x', size: 100 });
  assert.equal(r4.kind, 'leak', 'overwriting a pointer leaks its block');
  assert.match(r4.text, /no longer points to/);
});

test('a dangling pointer keeps nothing alive, and a block is chosen by its live pointer', async () => {
  const s = await newSession();
  const { ptr } = s.apply({ op: 'malloc', name: 'old', size: 300 });
  s.apply({ op: 'free', target: { ref: 'old' } });
  const r = s.apply({ op: 'malloc', name: 'fresh', size: 300 });
  assert.equal(r.ptr, ptr, 'the address is reused');
  assert.deepEqual(s.targetFor(ptr), { ref: 'fresh' });
  const lost = s.apply({ op: 'assign', name: 'fresh', value: null });
  assert.equal(lost.kind, 'leak', 'old (dangling) does not keep the new block reachable');
  s.apply({ op: 'assign', name: 'copy', value: { ref: 'old' } });
  assert.equal(s.snapshot().vars.find((v) => v.name === 'copy').state, 'dangling', 'p = q copies a dangling pointer as dangling');
});

test('a null pointer is explained, not dereferenced', async () => {
  const s = await newSession();
  s.apply({ op: 'assign', name: 'p', value: null });
  const r = s.apply({ op: 'write', target: { ref: 'p' }, text: 'x' });
  assert.equal(r.error, 'NullPointer');
  assert.equal(s.apply({ op: 'free', target: { ref: 'p' } }).kind, 'info', 'free(NULL) does nothing');
  const r3 = s.apply({ op: 'free', target: { ref: 'nobody' } });
  assert.equal(r3.error, 'StepError');
});

test('memory.grow is recorded with the step that caused it', async () => {
  const s = await newSession();
  const startBytes = s.heap.memory.buffer.byteLength; // data, stack, start-up region
  s.apply({ op: 'malloc', name: 'small', size: 100 });
  s.apply({ op: 'malloc', name: 'big', size: 200000 });
  const snap = s.snapshot();
  assert.equal(snap.grows.length, 1);
  assert.deepEqual(
    { step: snap.grows[0].step, cause: snap.grows[0].cause, code: snap.grows[0].code, at: snap.grows[0].at },
    { step: 2, cause: 'malloc', code: 'big = malloc(200000);', at: startBytes },
  );
  assert.equal(snap.stats.growCount, 1);
  assert.equal(snap.pages, snap.grows[0].newPages);
});

test('every scenario plays to its end as described', async () => {
  for (const sc of SCENARIOS) {
    const s = await newSession();
    const results = s.applyAll(sc.steps);
    results.forEach((r, k) => {
      assert.notEqual(r.kind, 'error', `${sc.id} step ${k + 1} (${r.code}): ${r.text}`);
      assert.ok(r.say, `${sc.id} step ${k + 1} has an explanation`);
      assert.ok(r.code, `${sc.id} step ${k + 1} has its C code`);
    });
    assert.equal(s.heap.check(), 0, sc.id);
    assert.deepEqual(s.snapshot().problems, [], sc.id);
  }
});

test('scenario details: list leak, realloc in place vs moved, calloc zeroes, fragmentation grows', async () => {
  let s = await newSession();
  let r = s.applyAll(scenario('list').steps);
  assert.equal(r.at(-1).kind, 'leak');
  assert.equal(s.snapshot().leaks.count, 2);
  assert.ok(r.slice(0, -1).every((x) => x.kind === 'info'), 'no leak before the head is lost');

  s = await newSession();
  r = s.applyAll(scenario('array').steps);
  assert.match(r[2].text, /grew in place/);
  assert.equal(r[4].moved, true);
  assert.match(r[4].text, /moved from/);
  assert.match(r[5].text, /grew in place/);
  assert.match(r[6].text, /shrank in place/);
  assert.equal(s.heap.readString(s.vars.get('a').addr), 'a[0..99] = 0, 1, 2, ...', 'the data moved with the array');

  s = await newSession();
  r = s.applyAll(scenario('records').steps);
  const junk = s.vars.get('junk').addr;
  assert.equal(r[3].ptr, junk);
  const recs = s.vars.get('recs').addr;
  assert.equal(recs, junk, 'calloc got the same bytes back');
  assert.ok(s.heap.read(recs, 1600).every((b) => b === 0), 'and cleared them');

  s = await newSession();
  r = s.applyAll(scenario('fragmentation').steps);
  const snap = s.snapshot();
  assert.equal(snap.grows.length, 1);
  assert.equal(snap.grows[0].step, 3, 'the big malloc after freeing every other block grew memory');
  assert.ok(snap.history[2].fragmentation > 0.8, `fragmentation after the holes: ${snap.history[2].fragmentation}`);
  assert.equal(r[4].ptr < snap.grows[0].at, true, 'the second big block fits in the merged hole');

  s = await newSession();
  s.applyAll(scenario('stack').steps.slice(0, 4));
  const frames = s.snapshot().frames;
  assert.deepEqual(frames.map((f) => f.fn), ['main', 'greet']);
  assert.equal(frames[0].top, s.place.stackTop);
  assert.equal(frames[1].top, frames[0].bottom, 'frames stack downwards');
});

test('a many step with fill allocates until the next block would need memory.grow', async () => {
  const s = await newSession();
  const op = { op: 'many', name: 'a', fill: true, size: 1000 };
  assert.equal(codeOf(op), 'for (i = 0; i < n; i++) a[i] = malloc(1000);  /* n: as many as fit in top */');
  const r = s.apply(op);
  const a = s.vars.get('a').addrs;
  assert.ok(a.length > 1 && a.every((p) => p), `${a.length} blocks`);
  assert.match(r.text, new RegExp(`^${a.length} blocks of 1000 bytes`));
  assert.equal(s.snapshot().grows.length, 0, 'filling did not grow memory');
  const blocks = s.heap.blocks();
  const size = blocks.find((e) => e.ptr === a[0]).size;
  const top = blocks.find((e) => e.kind === 'block' && e.top);
  assert.ok(!top || top.size < size, `top (${top?.size} bytes) cannot hold another block of ${size}`);
  s.apply({ op: 'malloc', name: 'x', size: 1000 });
  assert.equal(s.snapshot().grows.length, 1, 'the next block grew memory');
  assert.equal(s.snapshot().check, 0);

  // Holes of the size are filled too: the blocks taken from them leave
  // top as it was, and top is looked at again.
  const h = await newSession();
  h.apply({ op: 'many', name: 'b', count: 10, size: 1000 });
  h.apply({ op: 'freeEvery', name: 'b', start: 0, stride: 2 });
  h.apply({ op: 'many', name: 'c', fill: true, size: 1000 });
  assert.equal(h.vars.get('c').addrs.filter((p) => h.vars.get('b').addrs.includes(p)).length, 5, 'the five holes were filled');
  assert.equal(h.snapshot().grows.length, 0);
  h.apply({ op: 'malloc', name: 'x', size: 1000 });
  assert.equal(h.snapshot().grows.length, 1, 'holes and top are full: the next block grew memory');

  // Refused, with nothing done: slab sizes, and a count beside fill.
  for (const bad of [{ size: 100 }, { size: 1000, count: 3 }]) {
    const before = h.snapshot().stats.usedBlocks;
    const r = h.apply({ op: 'many', name: 'd', fill: true, ...bad });
    assert.equal(r.kind, 'error', JSON.stringify(bad));
    assert.match(r.text, /^many: fill /);
    assert.equal(h.snapshot().stats.usedBlocks, before);
  }
});

test('a free says when its block joined or became top, though a slab lies after top', async () => {
  const s = await newSession();
  s.apply({ op: 'malloc', name: 'a', size: 1000 });
  s.apply({ op: 'malloc', name: 'o', size: 16 }); // a slab, cut from top's end
  const blocks = s.heap.blocks();
  const top = blocks.find((e) => e.top);
  assert.ok(blocks.some((e) => e.kind === 'slab' && e.header === top.header + top.size), 'the slab follows top');
  const r = s.apply({ op: 'free', target: { ref: 'a' } });
  assert.match(r.text, /merged with the free block after it into a free block of \d+ bytes: the top block/);
  s.apply({ op: 'malloc', name: 'b', size: 2000 });
  s.apply({ op: 'malloc', name: 'c', size: 3000 });
  const r2 = s.apply({ op: 'free', target: { ref: 'b' } });
  assert.match(r2.text, /free list of its size class/, 'b, with c after it, goes to a list');
});

test('a free that merges with both neighbours says both, and the size of the block they make', async () => {
  const s = await newSession();
  for (const name of ['a', 'b', 'c', 'd']) s.apply({ op: 'malloc', name, size: 3000 }); // d keeps c off top
  const size = s.heap.blocks().find((e) => e.ptr === s.vars.get('a').addr).size;
  assert.match(s.apply({ op: 'free', target: { ref: 'b' } }).text, /a free block of \d+ bytes, on the free list/);
  assert.equal(s.apply({ op: 'free', target: { ref: 'c' } }).text,
    `free(c): merged with the free block before it into a free block of ${2 * size} bytes`);
  assert.equal(s.apply({ op: 'free', target: { ref: 'a' } }).text,
    `free(a): merged with the free block after it into a free block of ${3 * size} bytes`);

  // The tester's steps: a, b, c; free b; free a; free c: c joins a+b before it and top after it.
  const t = await newSession();
  for (const name of ['a', 'b', 'c']) t.apply({ op: 'malloc', name, size: 3000 });
  t.apply({ op: 'free', target: { ref: 'b' } });
  t.apply({ op: 'free', target: { ref: 'a' } });
  const r = t.apply({ op: 'free', target: { ref: 'c' } });
  const top = t.heap.blocks().find((e) => e.top);
  assert.equal(r.text, `free(c): merged with the free blocks before and after it into a free block of ${top.size} bytes: the top block`);
  assert.equal(top.ptr, t.vars.get('a').addr, 'a, b, c and top are one block');
});

test('a long string is shown shortened, start … end with its length, in the C line and the step log', async () => {
  const s = await newSession();
  s.apply({ op: 'malloc', name: 'p', size: 3000 });
  const long = `${'A'.repeat(1500)}${'B'.repeat(1510)}`;
  const short = '"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA…BBBBBBBB" /* 3010 characters */';
  const r = s.apply({ op: 'write', target: { ref: 'p' }, text: long }); // 3011 bytes: an overflow
  assert.equal(r.error, 'Overflow');
  assert.equal(r.code, `strcpy(p, ${short});`);
  assert.ok(!r.explain.includes('AAAAAAAAAA') && !r.text.includes('AAAAAAAAAA'), 'the explanation does not repeat the string');
  const ok = s.apply({ op: 'write', target: { ref: 'p' }, text: long.slice(0, 2999) });
  assert.equal(ok.kind, 'info');
  assert.ok(ok.code.length < 90, ok.code);
  assert.match(ok.code, /\/\* 2999 characters \*\/\);$/);
  const log = s.log();
  assert.equal(log[1].code, `strcpy(p, ${short});`);
  assert.ok(log.every((l) => l.code.length < 100));
  // Short strings stay whole; the write itself is whole in memory.
  assert.equal(codeOf({ op: 'write', target: { ref: 'p' }, text: 'hello, heap' }), 'strcpy(p, "hello, heap");');
  assert.equal(s.readString(s.vars.get('p').addr), long.slice(0, 2999));
});
