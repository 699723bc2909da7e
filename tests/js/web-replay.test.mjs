// Unit tests of the replay page's pure parts, in Node (no browser):
// trace parsing (lmtrace v1 and CS:APP), writing and recording; the share
// link codec; snapshot bookkeeping; the replay engine (time travel returns
// a state byte for byte, figures equal an independent replay and the
// benchmark harness, a failed restore leaves no replay on the wrong heap);
// the worker client's promises (replay-client.mjs, on a fake worker); and
// the pure layouts of replay-view.mjs.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';

import { createHeap } from '../../wasm/lmalloc.mjs';
import { emscripten, lmallocJs } from '../../web/allocators.mjs';
import { Replay, diffLive } from '../../web/replay-engine.mjs';
import {
  compareNote, compareRows, coverage, occupancyLayout, replaySnapshot, sharedStep, stepAtX, stopText, timelineLayout, xOfStep,
} from '../../web/replay-view.mjs';
import { ReplayClient } from '../../web/replay-client.mjs';
import { packEntries, unpackEntries } from '../../web/packed-walk.mjs';
import { sessionTrace } from '../../web/session-trace.mjs';
import { HEAP_OPTIONS } from '../../web/session.mjs';
import { MAX_HASH, ShareError, decodeShare, encodeShare, parseHash } from '../../web/share.mjs';
import { SnapshotStore } from '../../web/snapshots.mjs';
import {
  TraceError, loadTrace, opCode, parseTrace, prefixOf, recordingHeap, traceFromCalls, writeTrace,
} from '../../web/trace.mjs';
import { loadModule, root } from '../web/helpers.mjs';
import { rng } from './helpers.mjs';
import {
  ensureWebBuild, nodeLmalloc, opsOf, prefixFile, runHarness,
} from '../web/replay-fixture.mjs';

const chars = (t) => [...t.op].map((c) => String.fromCharCode(c)).join('');
const release = () => WebAssembly.compile(readFileSync(join(root, 'wasm', 'dist', 'lmalloc.wasm')));

// --- trace parsing --------------------------------------------------------------

test('lmtrace v1: every operation, comments, CRLF and blank lines', () => {
  const t = parseTrace('lmtrace v1 ids 3 ops 6\r\n# a program\n\na 0 24\nc 1 100\nm 2 64 40\nr 0 48\nf 1\n# done\nf 0\n', { name: 'dir/x.trace.gz' });
  assert.equal(t.name, 'x');
  assert.equal(t.format, 'lmtrace');
  assert.equal(t.ids, 3);
  assert.equal(t.count, 6);
  assert.equal(chars(t), 'acmrff');
  assert.deepEqual([...t.id], [0, 1, 2, 0, 1, 0]);
  assert.deepEqual([...t.size], [24, 100, 40, 48, 0, 0]);
  assert.deepEqual([...t.align], [0, 0, 64, 0, 0, 0]);
  assert.deepEqual(t.comments, ['a program', 'done']);
  assert.equal(opCode(t, 2), 'p[2] = aligned_alloc(64, 40);');
  assert.equal(opCode(t, 3), 'p[0] = realloc(p[0], 48);');
});

test('lmtrace v1: violations are errors with their line number', () => {
  const bad = [
    ['lmtrace v2 ids 1 ops 1\na 0 1\n', /line 1: bad header/],
    ['lmtrace v1 ids 1 ops 1\nx 0 1\n', /line 2: unknown operation/],
    ['lmtrace v1 ids 1 ops 1\na 1 1\n', /line 2: id 1 is not below the header's ids 1/],
    ['lmtrace v1 ids 1 ops 2\na 0 1\na 0 1\n', /line 3: a of id 0, which is still live/],
    ['lmtrace v1 ids 2 ops 1\nf 1\n', /line 2: f of id 1, which is not live/],
    ['lmtrace v1 ids 2 ops 1\nr 1 8\n', /line 2: r of id 1, which is not live/],
    ['lmtrace v1 ids 1 ops 1\nm 0 48 8\n', /line 2: .*power of two/],
    ['lmtrace v1 ids 1 ops 1\na 0 4294967296\n', /line 2: .*below 2\^32/],
    ['lmtrace v1 ids 1 ops 1\na 0 1 2\n', /line 2: .*unexpected text/],
    ['lmtrace v1 ids 1 ops 2\na 0 1\n', /header says 2 operations, the file has 1/],
    ['# only a comment\n', /empty/],
  ];
  for (const [text, re] of bad) assert.throws(() => parseTrace(text), (e) => e instanceof TraceError && re.test(e.message), text);
});

test('a file that is not a trace: the error says so, with its line, quoted short; damaged gzip likewise', async () => {
  const refused = (text) => {
    try {
      parseTrace(text);
    } catch (e) {
      assert.ok(e instanceof TraceError, String(e));
      return e;
    }
    assert.fail(`parsed: ${JSON.stringify(text).slice(0, 40)}`);
  };
  const junk = refused('# notes\nhello world\nmore\n');
  assert.equal(junk.line, 2);
  assert.match(junk.message, /^line 2: not a trace: "hello world" is neither an lmtrace v1 header .* nor a CS:APP line/);
  // A binary file: its first "line" is quoted in at most 60 characters, without control characters.
  const binary = refused(`\x89PNG\r\n\x1a\n\x00\x00${'\x01x'.repeat(5000)}`);
  assert.equal(binary.line, 1);
  const quoted = /"([^"]*)"/.exec(binary.message)[1];
  assert.ok(quoted.length <= 61, `quoted ${quoted.length} characters`);
  assert.doesNotMatch(binary.message, /[\x00-\x08\x0b-\x1f]/);
  assert.ok(binary.message.length < 300, 'the message stays short');
  assert.match(refused('').message, /the file is empty/);
  // Gzip magic, then garbage: a TraceError that says what is wrong (not the stream's message).
  await assert.rejects(loadTrace(Uint8Array.from([0x1f, 0x8b, 1, 2, 3, 4])), (e) => e instanceof TraceError && /gzip .*does not decompress/.test(e.message));
});

test('CS:APP: with and without the four-number header; lenient realloc', () => {
  const withHeader = parseTrace('20000\n4\n6\n1\na 0 512\na 1 128\nr 0 640\nf 1\na 3 16\nf 0\n', { name: 'short1.rep' });
  assert.equal(withHeader.format, 'csapp');
  assert.equal(withHeader.ids, 4, 'ids from the header');
  assert.equal(withHeader.count, 6);
  assert.equal(chars(withHeader), 'aarfaf');
  assert.deepEqual(withHeader.notes, []);

  const bare = parseTrace('a 0 10\nr 5 20\nr 0 0\n');
  assert.equal(bare.format, 'csapp');
  assert.equal(bare.ids, 6);
  assert.equal(chars(bare), 'aaf', 'r of a free id is a malloc; r id 0 is a free');
  assert.equal(bare.notes.length, 2);
  assert.throws(() => parseTrace('a 0 10\nf 1\n'), /line 2: f of id 1, which is not live/);
  assert.throws(() => parseTrace('a 0 10\nc 1 10\n'), /line 2: unknown operation/);
  assert.throws(() => parseTrace('1\n2\na 0 1\n'), /four numbers/);
});

test('writeTrace and parseTrace round-trip; prefixOf keeps the first N', () => {
  const t = parseTrace('lmtrace v1 ids 3 ops 5\n# c\na 0 1\nm 1 4096 100\nr 0 9\nc 2 3\nf 1\n');
  const again = parseTrace(writeTrace(t));
  for (const k of ['op', 'id', 'size', 'align']) assert.deepEqual([...again[k]], [...t[k]], k);
  assert.deepEqual(again.comments, ['c']);
  const p = prefixOf(t, 3);
  assert.equal(p.count, 3);
  assert.equal(p.ids, 2);
  assert.match(writeTrace(p), /^lmtrace v1 ids 2 ops 3\n# c\na 0 1\nm 1 4096 100\nr 0 9\n$/);
});

test('a bundled trace: gzip is detected and decompressed, every line parsed', async () => {
  const gz = readFileSync(join(root, 'bench', 'traces', 'sqlite.trace.gz'));
  const t = await loadTrace(gz, { name: 'sqlite.trace.gz' });
  const text = gunzipSync(gz).toString('utf8');
  const header = /^lmtrace v1 ids (\d+) ops (\d+)/.exec(text);
  assert.equal(t.name, 'sqlite');
  assert.equal(t.ids, Number(header[1]));
  assert.equal(t.count, Number(header[2]));
  const ops = opsOf(text);
  assert.equal(ops.length, t.count);
  for (const i of [0, 1, 1000, t.count - 1]) {
    assert.deepEqual([String.fromCharCode(t.op[i]), t.id[i]], ops[i].slice(0, 2), `op ${i}`);
  }
});

test('traceFromCalls gives ids like a pointer table; recordingHeap logs only calls that returned', async () => {
  const heap = await createHeap({ checks: true }); // the JS checks refuse the double free, with either build
  const log = [];
  const h = recordingHeap(heap, log);
  const a = h.malloc(10);
  const b = h.calloc(4, 8);
  h.free(a);
  assert.throws(() => h.free(a), /double free/);
  const c = h.alignedAlloc(64, 100);
  const b2 = h.realloc(b, 300);
  h.realloc(b2, 0);
  assert.equal(h.usableSize(c) >= 100, true, 'other methods pass through');
  assert.deepEqual(log.map((x) => x.fn), ['malloc', 'calloc', 'free', 'alignedAlloc', 'realloc', 'realloc']);
  const t = traceFromCalls(log);
  assert.equal(writeTrace(t), 'lmtrace v1 ids 2 ops 6\na 0 10\nc 1 32\nf 0\nm 0 64 100\nr 1 300\nf 1\n');
});

test('a playground session exported as a trace replays to the same addresses', async () => {
  const module = await loadModule();
  const ops = [
    { op: 'malloc', size: 100, name: 'a' },
    { op: 'many', name: 'arr', count: 5, size: 40 },
    { op: 'free', target: { ref: 'a' } },
    { op: 'free', target: { ref: 'a' } }, // refused: not in the trace
    { op: 'realloc', target: { ref: 'arr', index: 2 }, size: 900 },
    { op: 'calloc', count: 3, size: 16, name: 'z' },
    { op: 'freeEvery', name: 'arr', start: 0, stride: 2 },
  ];
  const t = await sessionTrace(ops, { createHeap, module });
  assert.equal(chars(t), 'aaaaaafrcfff');
  // Replaying the trace on a fresh heap of the playground's module, made
  // as the playground makes it, hands out the same addresses.
  const heap = await createHeap({ module, ...HEAP_OPTIONS });
  const ptr = [];
  const got = [];
  for (let i = 0; i < t.count; i++) {
    const id = t.id[i];
    const op = String.fromCharCode(t.op[i]);
    if (op === 'a') got.push((ptr[id] = heap.malloc(t.size[i])));
    else if (op === 'c') got.push((ptr[id] = heap.calloc(1, t.size[i])));
    else if (op === 'r') got.push((ptr[id] = heap.realloc(ptr[id], t.size[i])));
    else heap.free(ptr[id]);
  }
  const recorded = t.calls.filter((c) => c.fn !== 'free').map((c) => c.result);
  assert.deepEqual(got, recorded);
});

// --- share links ----------------------------------------------------------------

test('share links round-trip a trace and playground steps; damage and size are refused', async () => {
  const text = writeTrace(parseTrace('a 0 10\na 1 20\nr 0 30\nf 1\n'));
  const packed = await encodeShare({ kind: 'trace', name: 'mine', text });
  assert.match(packed, /^[A-Za-z0-9_-]+$/);
  assert.deepEqual(await decodeShare(packed), { v: 1, kind: 'trace', name: 'mine', text });
  const steps = [{ op: 'malloc', size: 5, name: 'π' }, { op: 'free', target: { ref: 'π' } }];
  assert.deepEqual((await decodeShare(await encodeShare({ kind: 'steps', steps }))).steps, steps);
  await assert.rejects(decodeShare(`${packed.slice(0, -6)}!!`), ShareError);
  await assert.rejects(decodeShare(packed.slice(0, 10)), ShareError);
  let big = '';
  const rnd = rng(1).int; // random enough to stay over MAX_HASH compressed
  for (let i = 0; i < 12000; i++) big += `a ${i} ${rnd(100000)}\n`;
  await assert.rejects(encodeShare({ kind: 'trace', name: 'big', text: big }), (e) => e instanceof ShareError && e.message.includes(String(MAX_HASH)));
  assert.deepEqual([...parseHash('#trace=sqlite&step=12&flag')], [['trace', 'sqlite'], ['step', '12'], ['flag', '']]);
});

test('a damaged link is refused in the user\'s words, not the decompressor\'s', async () => {
  const packed = await encodeShare({ kind: 'trace', name: 'mine', text: 'lmtrace v1 ids 1 ops 1\na 0 10\n' });
  const damaged = ['garbage', packed.slice(0, -5), `${packed.slice(0, 8)}AAAA${packed.slice(12)}`, `${packed}x`, 'abcde', '', 'A!b'];
  for (const link of damaged) {
    await assert.rejects(decodeShare(link), (e) => {
      assert.ok(e instanceof ShareError, `${link}: ${e}`);
      assert.match(e.message, /^the link is damaged: (its data does not decompress|it was cut short|it has characters|its data is missing|its content is not JSON)/, link);
      // Nothing of the stream's own message ("Failed to fetch" in Chromium, zlib's words in Node).
      assert.doesNotMatch(e.message, /fetch|invalid|unexpected|stored|header check|end of file|character$/i, link);
      return true;
    });
  }
  await assert.rejects(decodeShare(await encodeShare({ kind: 'trace', v: 7 })), /made by another version of the page \(v7; this page reads v1\)/);
});

// --- snapshots --------------------------------------------------------------------

test('snapshot store: due steps, nearest snapshot, thinning within the budget', () => {
  const s = new SnapshotStore({ budgetBytes: 1000, interval: 10 });
  assert.equal(s.due(0), false);
  assert.equal(s.due(10), true);
  assert.equal(s.due(15), false);
  for (let step = 10; step <= 100; step += 10) s.add({ step, cost: 100 });
  assert.equal(s.bytes, 1000);
  assert.equal(s.interval, 10);
  assert.equal(s.due(20), false, 'already there');
  assert.equal(s.atOrBefore(9), null);
  assert.equal(s.atOrBefore(10).step, 10);
  assert.equal(s.atOrBefore(57).step, 50);
  assert.equal(s.atOrBefore(1e9).step, 100);
  const gone = s.add({ step: 110, cost: 100 });
  assert.equal(s.interval, 20, 'over budget: the interval doubles');
  assert.deepEqual(s.summary().steps, [20, 40, 60, 80, 100]);
  assert.deepEqual(gone.map((x) => x.step), [10, 30, 50, 70, 90, 110]);
  assert.ok(s.bytes <= s.budgetBytes);
  for (const x of s.snaps) assert.equal(x.step % s.interval, 0);
  assert.deepEqual(s.dropAfter(60).map((x) => x.step), [80, 100]);
  assert.equal(s.bytes, 300);
  // One snapshot larger than the budget: only the newest stays.
  const t = new SnapshotStore({ budgetBytes: 50, interval: 4 });
  t.add({ step: 4, cost: 40 });
  t.add({ step: 12, cost: 80 });
  assert.deepEqual(t.summary().steps, [12]);
  assert.throws(() => t.add({ step: 0, cost: 1 }), RangeError);
});

// --- the engine ----------------------------------------------------------------------

async function lmallocReplay(trace, options) {
  return new Replay(trace, await lmallocJs({ createHeap, module: await release() }), options);
}

test('time travel: a step reached again is the same heap, byte for byte', async () => {
  const { text } = prefixFile('gcc-cc1', 60000);
  const trace = parseTrace(text, { name: 'gcc-cc1' });
  const r = await lmallocReplay(trace, { interval: 4096, budgetBytes: 64 * 2 ** 20 });
  const state = () => ({
    pos: r.pos, live: r.live, peak: r.peak, blocks: r.allocator.blocks(), stats: r.allocator.stats(),
    bytes: Buffer.from(r.allocator.memory.buffer).toString('base64'),
  });
  r.runTo(23456);
  const first = state();
  r.runTo(50000);
  const later = state();
  await r.seek(23456);
  assert.ok(r.restores >= 1, 'went back through a snapshot');
  assert.deepEqual(state(), first);
  await r.seek(23455);
  await r.seek(23456); // one step back, one forward
  assert.deepEqual(state(), first);
  await r.seek(50000);
  assert.deepEqual(state(), later);
  await r.seek(0);
  assert.equal(r.allocator.blocks().length, 0);
  assert.equal(r.history.filter((h) => h.step === 23456).length <= 1, true, 'samples recorded once');
});

test('the engine agrees with an independent replay of lmalloc.wasm in Node', async () => {
  const { text } = prefixFile('perl-wordfreq', 40000);
  const trace = parseTrace(text);
  const r = await lmallocReplay(trace);
  r.runTo(trace.count);
  const expected = await nodeLmalloc(opsOf(text), [10000, 40000]);
  const f = r.figures();
  assert.deepEqual(r.allocator.stats(), expected.stats);
  assert.deepEqual(r.allocator.blocks(), expected.blocks);
  assert.equal(f.heapPages, expected.pagesGrown);
  await r.seek(10000);
  const live = r.liveBlocks();
  assert.deepEqual([...live.id].map((id, j) => [id, live.ptr[j], live.born[j]]).sort((x, y) => x[0] - y[0]), expected.live.get(10000));
});

test('the comparison allocators agree with the benchmark harness (first 200 000 ops of sqlite)', async (t) => {
  const manifest = ensureWebBuild();
  const { path, text } = prefixFile('sqlite', 200000);
  const trace = parseTrace(text);
  for (const a of manifest.allocators) {
    const want = runHarness(a.name, path);
    if (!want) {
      t.diagnostic(`${a.name}: no harness program (bench/build.sh failed); skipped`);
      continue;
    }
    const module = new WebAssembly.Module(readFileSync(join(root, 'build', 'web', 'allocators', a.file)));
    const r = new Replay(trace, emscripten({ module, name: a.name, breakOffset: a.breakOffset }), { budgetBytes: 32 * 2 ** 20 });
    r.runTo(trace.count);
    const f = r.figures();
    assert.equal(f.error, null);
    assert.equal(f.heapPages, want.heap_pages, `${a.name} heap pages`);
    assert.equal(f.growthBytes, want.break_end - want.break_start, `${a.name} break moved`);
    assert.equal(f.peakLiveBytes, want.peak_live_bytes, `${a.name} peak live`);
    assert.equal(f.liveBytes, want.live_bytes_end);
    assert.equal(f.liveBlocks, want.live_blocks_end);
    // Back in time, then forward again: the same blocks at the same places.
    await r.seek(150000);
    const mid = r.liveBlocks();
    await r.seek(trace.count);
    await r.seek(150000);
    assert.deepEqual(r.liveBlocks(), mid, `${a.name} time travel`);
  }
});

test('a refused operation stops the replay there; a move to before it starts again from a snapshot', async () => {
  const manifest = ensureWebBuild();
  const dl = manifest.allocators.find((a) => a.name === 'dlmalloc');
  const module = new WebAssembly.Module(readFileSync(join(root, 'build', 'web', 'allocators', dl.file)));
  // dlmalloc refuses 4000000000 bytes (lmalloc and emmalloc grow to 3.73 GiB).
  const trace = parseTrace('lmtrace v1 ids 2 ops 4\na 0 100\na 1 4000000000\nf 0\na 0 50\n');
  const r = new Replay(trace, emscripten({ module, name: 'dlmalloc', breakOffset: dl.breakOffset }));
  r.runTo(4);
  assert.deepEqual({ pos: r.pos, error: r.error }, { pos: 1, error: { step: 2, message: 'malloc(4000000000) returned NULL', name: 'Error' } });
  assert.equal(r.figures().step, 1, 'the figures are those before the refused operation');
  assert.ok(r.reached(4) && r.reached(2), 'as far as it goes toward any later step');
  assert.ok(!r.reached(1), 'step 1 is before the refused operation: not reached while stopped');
  const restores = r.restores ?? 0;
  await r.seek(1);
  assert.equal(r.error, null, 'a move before the refused operation clears the stop');
  assert.equal(r.pos, 1);
  assert.equal(r.restores, restores + 1, 'from a snapshot (the allocator may be half-way through the refused call)');
  assert.equal(r.liveBlocks().ptr.length, 1);
  r.runTo(4);
  assert.equal(r.error?.step, 2, 'forward again: refused again');
  // What the page shows: the step every running replay reached; one stopped
  // replay holds none back and, alone, shows the step it refused.
  assert.equal(sharedStep([r.figures()]), 2);
  assert.equal(sharedStep([{ step: 3 }, r.figures(), { step: 3 }]), 3);
  assert.equal(sharedStep([{ step: 1 }, r.figures(), { step: 3 }]), 1);
  assert.equal(sharedStep([null, { step: 3 }]), 0);
  const row = compareRows([{ label: 'dlmalloc', figures: r.figures() }]).rows.find((x) => x.key === 'error');
  assert.equal(row.cells[0].text, 'stopped at step 2: malloc(4000000000) returned NULL');
});

test('no snapshot of a memory larger than the whole budget; time travel replays from an earlier one', async () => {
  const text = ['lmtrace v1 ids 3000 ops 3000', ...Array.from({ length: 3000 }, (_, i) => `a ${i} 1000`)].join('\n');
  const budgetBytes = 2 ** 20;
  const r = await lmallocReplay(parseTrace(text), { interval: 512, budgetBytes });
  r.runTo(3000);
  assert.ok(r.allocator.memory.buffer.byteLength > 2 * budgetBytes);
  const s = r.figures().snapshots;
  assert.ok(s.count >= 1, 'the early, small ones are kept');
  assert.ok(s.skipped >= 1, 'the ones past the budget were not taken');
  for (const x of r.store.snaps) assert.ok(x.cost <= budgetBytes, `snapshot at ${x.step}: ${x.cost} B`);
  const end = r.liveBlocks();
  await r.seek(2000);
  assert.equal(r.liveBlocks().ptr.length, 2000);
  await r.seek(3000);
  assert.deepEqual(r.liveBlocks(), end);
});

// An allocator whose next restore fails after it has already replaced its
// instance (lmallocJs's restore makes a fresh heap, then grows its memory:
// that grow can fail), and whose reset fails too when asked.
async function failingAllocator() {
  const a = await lmallocJs({ createHeap, module: await release() });
  const fail = { restore: false, reset: false };
  const { restore, reset } = a;
  a.restore = async (saved) => {
    if (!fail.restore) return restore.call(a, saved);
    fail.restore = false;
    await reset.call(a); // a fresh instance...
    throw new RangeError('WebAssembly.Memory.grow(): Maximum memory size exceeded'); // ...and no bytes
  };
  a.reset = async () => {
    if (!fail.reset) return reset.call(a);
    throw new RangeError('WebAssembly.Instance(): Out of memory');
  };
  return { a, fail };
}

test('a restore that fails leaves no replay on the wrong heap: it starts again from step 0, or every move says why it cannot', async () => {
  const { text } = prefixFile('gcc-cc1', 6000);
  const trace = parseTrace(text);
  const reference = await lmallocReplay(trace);
  reference.runTo(5000);
  const want = { live: reference.liveBlocks(), blocks: reference.allocator.blocks(), stats: reference.allocator.stats() };

  const { a, fail } = await failingAllocator();
  const r = new Replay(trace, a, { interval: 1024 });
  r.runTo(6000);
  fail.restore = true;
  await assert.rejects(r.seek(3000), /^Error: restoring the snapshot of step \d+ failed: WebAssembly\.Memory\.grow\(\): Maximum memory size exceeded \(the replay starts again from step 0\)$/);
  // Wherever it says it is, its heap is that step's heap.
  const at = async (step) => {
    await reference.seek(step);
    return { live: reference.liveBlocks(), blocks: reference.allocator.blocks() };
  };
  assert.deepEqual({ live: r.liveBlocks(), blocks: a.blocks() }, await at(r.pos), `at step ${r.pos}`);
  assert.equal(r.pos, 0, 'the tables say step 0, as the fresh allocator is');
  // A later move replays on a heap that matches its tables: the same heap as a replay that never failed.
  await r.seek(5000);
  assert.deepEqual({ live: r.liveBlocks(), blocks: a.blocks(), stats: a.stats() }, want);
  assert.equal(r.error, null);

  // When even a fresh start fails, every later move fails with the reason.
  fail.restore = true;
  fail.reset = true;
  const broken = /^Error: the replay cannot go on: starting a fresh allocator failed: WebAssembly\.Instance\(\): Out of memory$/;
  await assert.rejects(r.seek(100), broken);
  await assert.rejects(r.seek(5000), broken);
  assert.throws(() => r.runTo(6000), broken);
  await assert.rejects(r.timeWhole(), broken);
});

// A Worker stand-in: records what is posted; `answer` replies as the worker would.
function fakeWorker() {
  const w = {
    posted: [],
    terminated: false,
    postMessage(m) { this.posted.push(m); },
    terminate() { this.terminated = true; },
    answer(m) { this.onmessage({ data: m }); },
  };
  return w;
}

// Whether a promise has settled, and how (after pending callbacks have run).
async function outcome(p) {
  const none = Symbol('pending');
  const r = await Promise.race([p.then((v) => ({ value: v }), (e) => ({ error: e })), new Promise((res) => setTimeout(() => res(none), 20))]);
  return r === none ? 'pending' : r;
}

test('the worker client: every promise settles; terminate() rejects what waits, and what is asked after', async () => {
  const w = fakeWorker();
  const c = new ReplayClient(w);
  const open = c.open({ kind: 'emscripten' }, { text: '' });
  const moving = c.goto(5); // sent
  const waiting = c.goto(7); // waits for the one sent
  const diff = c.diff(0, 3);
  assert.deepEqual(w.posted.map((m) => m.type), ['open', 'goto', 'diff']);
  // A failed request is answered with its seq: its promise, and only it, is rejected.
  const d = w.posted[2];
  w.answer({ type: 'failed', seq: d.seq, message: 'no trace open' });
  assert.equal((await outcome(diff)).error?.message, 'no trace open');
  assert.equal(await outcome(moving), 'pending');
  c.terminate();
  assert.equal(w.terminated, true);
  for (const p of [open, moving, waiting]) {
    const o = await outcome(p);
    assert.notEqual(o, 'pending', 'settled');
    assert.equal(o.error.message, 'replay worker stopped');
    assert.equal(o.error.terminated, true, 'marked: the page stopped it, no failure to report');
  }
  assert.equal(c.busy, false);
  for (const p of [c.goto(1), c.time(), c.text(2)]) assert.equal((await outcome(p)).error?.terminated, true);
  assert.equal(w.posted.length, 3, 'nothing is sent to a stopped worker');
});

test('stopText: one sentence for a stopped replay, in every place that says it', () => {
  const error = { step: 12345, message: 'malloc(4294967295) returned NULL' };
  assert.equal(stopText(error), 'stopped at step 12,345: malloc(4294967295) returned NULL');
  assert.equal(stopText(error, { label: 'lmalloc' }), 'lmalloc stopped at step 12,345: malloc(4294967295) returned NULL');
  assert.equal(stopText(error, { label: 'dlmalloc', here: 12345 }), 'dlmalloc stopped here: malloc(4294967295) returned NULL');
  assert.equal(stopText(error, { label: 'dlmalloc', here: 20000 }), 'dlmalloc stopped at step 12,345: malloc(4294967295) returned NULL');
  const row = compareRows([{ label: 'dlmalloc', figures: { step: 12344, count: 20000, error } }]).rows.find((x) => x.key === 'error');
  assert.equal(row.cells[0].text, stopText(error));
});

test('one memory.grow per operation at most: the heap tab\'s grow events agree with lm_stats at every step', async () => {
  // panels.mjs growRows compares snap.grows (one event per operation that
  // changed the memory size) with lm_stats' grow count: two grows in one
  // operation would give contradictory rows. Large reallocs (in place into
  // top, or moved), aligned and plain allocations, and frees.
  const rnd = rng(3).int; // a fixed trace: 0 .. n-1
  const lines = [];
  const live = [];
  let next = 0;
  for (let i = 0; i < 4000; i++) {
    const r = rnd(10);
    if (live.length && r < 1) {
      lines.push(`f ${live.splice(rnd(live.length), 1)[0]}`);
    } else if (live.length && r < 6) {
      const id = rnd(2) ? live[live.length - 1] : live[rnd(live.length)];
      lines.push(`r ${id} ${1 + rnd([100, 70000, 300000, 900000][rnd(4)])}`);
    } else if (r < 7) {
      lines.push(`m ${next} ${[16, 64, 4096, 65536][rnd(4)]} ${1 + rnd(200000)}`);
      live.push(next++);
    } else {
      lines.push(`a ${next} ${1 + rnd([64, 5000, 140000, 500000][rnd(4)])}`);
      live.push(next++);
    }
  }
  const trace = parseTrace(`lmtrace v1 ids ${next} ops ${lines.length}\n${lines.join('\n')}\n`);
  const r = await lmallocReplay(trace, { budgetBytes: 2 ** 20 });
  let checked = 0;
  while (r.pos < trace.count) {
    const before = r.allocator.memory.buffer.byteLength;
    r.runTo(r.pos + 1);
    if (r.allocator.memory.buffer.byteLength === before) continue;
    const s = r.allocator.stats();
    const grows = r.growsSoFar();
    assert.equal(grows.length, s.growCount, `step ${r.pos}: events and lm_stats' grow count`);
    assert.equal(grows.reduce((n, g) => n + g.newPages - g.oldPages, 0), s.pagesGrown, `step ${r.pos}: pages`);
    checked++;
  }
  assert.equal(r.error, null);
  assert.ok(checked > 100, `${checked} grows checked`);
});

test('diffLive: appeared, freed, moved, resized, kept', () => {
  const cols = (rows) => ({
    ptr: Uint32Array.from(rows.map((x) => x[1])), size: Uint32Array.from(rows.map((x) => x[2])),
    id: Uint32Array.from(rows.map((x) => x[0])), born: Uint32Array.from(rows.map((x) => x[3])),
  });
  // [id, ptr, size, born]
  const A = cols([[0, 100, 10, 1], [1, 200, 20, 2], [2, 300, 30, 3], [3, 400, 40, 4], [4, 500, 8, 5]]);
  const B = cols([[0, 100, 10, 1], [1, 900, 50, 2], [2, 300, 64, 3], [3, 400, 40, 9], [5, 600, 5, 10]]);
  const d = diffLive(A, B);
  assert.equal(d.kept, 1);
  assert.deepEqual(d.moved, [{ id: 1, from: 200, to: 900, size: 50, oldSize: 20 }]);
  assert.deepEqual(d.resized, [{ id: 2, ptr: 300, size: 64, oldSize: 30 }]);
  assert.deepEqual(d.appeared.map((x) => x.id), [3, 5], 'id 3 was freed and allocated again');
  assert.deepEqual(d.freed.map((x) => x.id), [3, 4]);
  assert.equal(d.freedBytes, 48);
  assert.equal(d.appearedBytes, 45);
});

// --- pure layouts ------------------------------------------------------------------------

test('replaySnapshot names every live block of the trace in lmalloc\'s walk', async () => {
  const { text } = prefixFile('perl-wordfreq', 5000);
  const r = await lmallocReplay(parseTrace(text));
  r.runTo(5000);
  const entries = r.allocator.blocks();
  const packed = packEntries(entries);
  assert.deepEqual(unpackEntries(packed), entries);
  const live = r.liveBlocks();
  const snap = replaySnapshot({
    step: 5000, entries: packed, memory: new Uint8Array(r.allocator.memory.buffer).slice(), stats: r.allocator.stats(), live,
  }, { place: r.allocator.place, history: r.history, grows: r.grows });
  assert.equal(snap.matched, live.ptr.length);
  assert.equal(snap.liveBytes, r.live);
  assert.deepEqual(snap.problems, []);
  const e = snap.entries.find((x) => x.traceId !== undefined);
  const j = [...live.ptr].indexOf(e.ptr);
  assert.equal(e.requested, live.size[j]);
  assert.equal(e.step, live.born[j]);
  assert.equal(snap.stats.heapBytes, r.allocator.stats().heapBytes);
});

test('coverage and the occupancy map', () => {
  const ptr = Uint32Array.from([100, 130, 300]);
  const size = Uint32Array.from([10, 70, 64]);
  // Buckets of 32 bytes from 96: [96,128) [128,160) [160,192) [192,224) ...
  const c = coverage(ptr, size, 96, 32, 8);
  assert.deepEqual([...c].map((x) => Math.round(x * 32)), [10, 30, 32, 8, 0, 0, 20, 32]);
  const out = occupancyLayout(
    { heapStart: 0, heapTop: 4096, memoryBytes: 65536, live: { ptr: Uint32Array.from([0]), size: Uint32Array.from([2048]) } },
    { width: 306, height: 200, span: 8192, rows: 4, grows: [] },
  );
  const fills = out.instructions.filter((d) => d.kind === 'fill');
  assert.equal(fills[0].color, '#08306b', 'the first half is fully live');
  assert.ok(fills.some((d) => d.color === '#ffffff'), 'heap without live bytes');
  assert.ok(fills.some((d) => d.color === '#d9d9d9'), 'past the break');
});

test('timeline: steps and pixels map both ways; cursor and marks are drawn', () => {
  for (const step of [0, 1, 500, 999, 1000]) assert.equal(stepAtX(xOfStep(step, 400, 1000), 400, 1000), step);
  const out = timelineLayout({ width: 400, height: 40, count: 1000, step: 250, frontier: 600, history: [{ step: 0, memoryBytes: 0, liveBytes: 0 }, { step: 600, memoryBytes: 10, liveBytes: 5 }], grows: [{ step: 10 }, { step: 11 }], marks: { a: 100, b: null } });
  const cursor = out.find((d) => d.line === 'cursor');
  assert.equal(cursor.x1, xOfStep(250, 400, 1000));
  assert.equal(out.filter((d) => d.line === 'mark').length, 1);
  assert.equal(out.filter((d) => d.line === 'grow').length, 1, 'grows one pixel apart share a tick');
});

test('compareNote says what is true of the build: harness offsets or the modules\' own, and which lmalloc', () => {
  const specs = (...offsets) => offsets.map((breakOffset, k) => ({ label: ['lmalloc', 'dlmalloc', 'emmalloc'][k], breakOffset }));
  const all = compareNote(specs(19200, 16304, 16896));
  assert.match(all, /Each break starts at the same offset in its 64 KiB page as in the benchmark harness, so these figures equal the harness's/);
  assert.doesNotMatch(all, /own offset/);
  const none = compareNote(specs(null, null, null));
  assert.doesNotMatch(none, /figures equal the harness's/, 'no harness offset: the figures are not the harness\'s');
  assert.match(none, /No harness was built for any allocator when web\/build\.mjs ran, so each break starts at the module's own offset .* may differ by one from the harness's/);
  const some = compareNote(specs(null, 16304, undefined));
  assert.match(some, /The break of dlmalloc starts at the benchmark harness's offset, so its figures equal the harness's; no harness was built for lmalloc and emmalloc .* the breaks of lmalloc and emmalloc start at the module's own offset/);
  for (const text of [all, none, some]) {
    assert.match(text, /lmalloc here is liblmalloc\.a built for Emscripten, whose granule is 8 bytes .* wasm\/dist\/lmalloc\.wasm, built for WASI with a 16-byte granule/);
    assert.match(text, /Heap not live: 1 − live bytes \/ break moved.*\(not the heap tab's fragmentation, which is 1 − largest free block \/ free bytes/);
  }
});

test('compareRows: the figures per allocator', () => {
  const figures = { heapPages: 3, growthBytes: 150000, memoryBytes: 262144, growEvents: 2, liveBytes: 100000, liveBlocks: 7, peakLiveBytes: 120000, nsPerOp: 50, opsTimed: 5000, step: 10, count: 10, error: null };
  const t = compareRows([{ label: 'x', figures, breakOffset: 17984 }, { label: 'y', figures: { ...figures, heapPages: 4 }, breakOffset: null, naturalOffset: 3696 }]);
  const row = (k) => t.rows.find((r) => r.key === k).cells;
  assert.deepEqual(t.head, ['x', 'y']);
  assert.deepEqual(row('heapPages').map((c) => c.value), [3, 4]);
  // Not "fragmentation": the heap tab's is 1 - largest free / free, this one 1 - live / heap.
  assert.equal(t.rows.find((r) => r.key === 'notLive').name, 'heap not live');
  assert.equal(row('notLive')[0].value, 1 - 100000 / 150000);
  assert.ok(!t.rows.some((r) => /fragmentation/.test(r.name)));
  assert.match(t.rows.find((r) => r.key === 'heapPages').name, /Emscripten/, 'the figure names its build');
  assert.deepEqual(row('breakOffset').map((c) => c.text), ['+17984 (harness)', '+3696 (own)']);
  assert.equal(row('error')[0].text, 'at the end');
});
