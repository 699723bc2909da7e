// End-to-end tests of the replay page (web/replay.html) in real headless
// Chromium (/usr/bin/chromium through npm playwright-core, flags of
// TOOLCHAIN.md trap 5), served by scripts/serve.mjs on a free port. The
// expected figures come from tests/web/replay-fixture.mjs: the benchmark
// harness (bench/replay.c) run on the same trace, and lmalloc.wasm replayed
// by an independent loop in Node. Screenshots: build/test-artifacts/web/.
//
// Runtime: one test plays a whole bundled trace (perl-wordfreq, 0.17 M
// operations) on lmalloc, one plays the largest (jq-transform, 1.58 M) for
// a few seconds to check that the page stays responsive; the others use
// the first operations of a trace.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';

import { encodeShare } from '../../web/share.mjs';
import { browserSuite } from '../web/helpers.mjs';
import { rng } from './helpers.mjs';
import {
  ensureWebBuild, harnessProblems, nodeLmalloc, opsOf, prefixFile, runHarness, traceFile,
} from '../web/replay-fixture.mjs';

let manifest;
const suite = await browserSuite({ setUp: () => { manifest = ensureWebBuild(); } });
const { skip, shots } = suite;

// A fresh replay page at 1366x768, settled; page errors fail the test.
const openReplay = (t, hash = '') => suite.open(t, `replay.html${hash}`, async () => {
  await window.__replay.ready;
  await window.__replay.settle();
}, { acceptDownloads: true });

const R = (page, fn, arg) => page.evaluate(fn, arg);
// Every text the page put in its message strip so far (state.errors).
const errorsSaid = (page) => R(page, () => [...window.__replay.state.errors]);
const shot = (page, name) => page.screenshot({ path: join(shots, name) });

// What the map shows, block by block, with the trace's names.
const shown = (page) => R(page, () => window.__replay.snapshot().entries.map((e) => [e.kind, e.ptr, e.size, e.used, e.requested ?? null, e.traceId ?? null]));
const statCells = (page) => R(page, () => Object.fromEntries([...document.querySelectorAll('#stats td')].map((td) => [td.dataset.stat, Number(td.dataset.value)])));
// The state's figures: everything but the time per operation (a measurement).
const stateCells = async (page) => {
  const { nsPerOp, ...rest } = await statCells(page);
  return rest;
};

test('a bundled trace played to the end: the stats equal the harness and the same wasm in Node', { skip, timeout: 180000 }, async (t) => {
  const page = await openReplay(t, '#trace=perl-wordfreq');
  const count = await R(page, () => window.__replay.count);
  assert.equal(count, 173577);
  assert.equal(await page.locator('#trace-info dd[data-field="format"]').textContent(), 'lmtrace v1');
  await R(page, () => window.__replay.play(Infinity));
  assert.equal(await R(page, () => window.__replay.untilStopped()), count);
  await shot(page, 'replay-end.png');

  const text = (await import('node:fs')).readFileSync(traceFile('perl-wordfreq'), 'utf8');
  const want = await nodeLmalloc(opsOf(text));
  const harness = runHarness('lmalloc', traceFile('perl-wordfreq')) ?? runHarness('dlmalloc', traceFile('perl-wordfreq'));
  assert.ok(harness, `a harness program is needed: ${harnessProblems.join('; ')}`);
  const f = await R(page, () => window.__replay.figures());
  // The trace's figures, counted as bench/replay.c counts them.
  assert.equal(f.peakLiveBytes, harness.peak_live_bytes);
  assert.equal(f.liveBytes, harness.live_bytes_end);
  assert.equal(f.liveBlocks, harness.live_blocks_end);
  // lmalloc's own: the same wasm replayed in Node by another loop.
  assert.equal(f.heapPages, want.pagesGrown);
  const cells = await statCells(page);
  for (const k of ['heapBytes', 'usedBytes', 'freeBytes', 'overheadBytes', 'largestFree', 'growCount', 'slabs']) {
    assert.equal(cells[k], want.stats[k], `stats panel ${k}`);
  }
  assert.equal(cells.peakLiveBytes, harness.peak_live_bytes);
  assert.equal(cells.heapPages, want.pagesGrown);
  assert.equal(cells.check, 0, 'lm_check finds nothing');
  // The figures name their build (the Compare tab's lmalloc is another one).
  assert.equal(await page.locator('#stats td[data-stat="heapPages"]').evaluate((td) => td.previousElementSibling.textContent), 'heap pages grown (WASI)');
  assert.match(await page.locator('#stats-step').textContent(), /^at step 173,577 · WASI build$/);
  // Nothing went wrong: no message, nothing reported.
  assert.equal(await page.locator('#message').isHidden(), true, 'the message strip stays hidden');
  assert.deepEqual(await errorsSaid(page), []);
  const blocks = (await shown(page)).map((e) => e.slice(0, 4));
  assert.deepEqual(blocks, want.blocks.map((e) => [e.kind, e.ptr, e.size, e.used]));
  t.diagnostic(`perl-wordfreq on lmalloc.wasm: ${f.heapPages} pages grown, peak live ${f.peakLiveBytes} B, ${f.nsPerOp.toFixed(0)} ns/op (JS API)`);
});

test('time travel: stepping back returns an earlier state exactly', { skip, timeout: 120000 }, async (t) => {
  const page = await openReplay(t, '#trace=perl-wordfreq&step=30000');
  assert.equal(await R(page, () => window.__replay.step), 30000);
  const first = { map: await shown(page), stats: await stateCells(page) };
  await R(page, () => window.__replay.goto(120000));
  assert.equal(await R(page, () => window.__replay.step), 120000);
  assert.notDeepEqual(await shown(page), first.map);
  await R(page, () => window.__replay.goto(30000));
  assert.deepEqual({ map: await shown(page), stats: await stateCells(page) }, first);
  assert.ok((await R(page, () => window.__replay.figures().restores)) >= 1, 'restored from a snapshot');

  // One step back and forward with the buttons.
  await page.click('#step-back');
  await page.waitForFunction(() => window.__replay.step === 29999);
  await R(page, () => window.__replay.settle());
  const text = (await import('node:fs')).readFileSync(traceFile('perl-wordfreq'), 'utf8');
  const want = await nodeLmalloc(opsOf(text).slice(0, 30000), [29999, 30000]);
  const liveShown = async () => (await shown(page)).filter((e) => e[5] !== null).map((e) => [e[5], e[1]]).sort((x, y) => x[0] - y[0]);
  assert.deepEqual(await liveShown(), want.live.get(29999).map(([id, p]) => [id, p]));
  await page.click('#step-fwd');
  await page.waitForFunction(() => window.__replay.step === 30000);
  await R(page, () => window.__replay.settle());
  assert.deepEqual({ map: await shown(page), stats: await stateCells(page) }, first);
  assert.deepEqual(await liveShown(), want.live.get(30000).map(([id, p]) => [id, p]));
  // The operations list marks the one that step 30000 performed.
  const [op, id, size] = opsOf(text)[29999];
  const code = { a: `p[${id}] = malloc(${size});`, c: `p[${id}] = calloc(1, ${size});`, r: `p[${id}] = realloc(p[${id}], ${size});`, f: `free(p[${id}]);` }[op];
  assert.equal(await page.locator('#ops li.current code').textContent(), code);
  assert.equal(await page.locator('#ops li.current').getAttribute('value'), '30000');
  await shot(page, 'replay-step.png');

  // The keys the tooltips advertise work with the focus on a button or on
  // the map: ] and [ step; Space on the map plays and pauses (on a button,
  // Space presses that button).
  await page.focus('#step-fwd');
  await page.keyboard.press(']');
  await page.waitForFunction(() => window.__replay.step === 30001);
  await page.focus('canvas#map');
  await page.keyboard.press('[');
  await page.waitForFunction(() => window.__replay.step === 30000);
  await page.keyboard.press(' ');
  await page.waitForFunction(() => window.__replay.state.playing);
  await page.keyboard.press(' ');
  await page.waitForFunction(() => !window.__replay.state.playing);
});

test('two steps compared: blocks that appeared, moved and were freed', { skip, timeout: 120000 }, async (t) => {
  const { text } = prefixFile('gcc-cc1', 60000);
  const page = await openReplay(t);
  await R(page, (s) => window.__replay.openText(s, 'gcc-cc1-60000'), text);
  const A = 10000; // gcc-cc1 reallocs three blocks to new places in between
  const B = 50000;
  const want = await nodeLmalloc(opsOf(text), [A, B]);
  const a = new Map(want.live.get(A).map(([id, p, born]) => [id, { p, born }]));
  const b = new Map(want.live.get(B).map(([id, p, born]) => [id, { p, born }]));
  const same = [...b].filter(([id, x]) => a.get(id)?.born === x.born);
  const expected = {
    appeared: b.size - same.length,
    freed: a.size - same.length,
    moved: same.filter(([id, x]) => a.get(id).p !== x.p).length,
  };
  await page.fill('#mark-a', String(A));
  await page.fill('#mark-b', String(B));
  await page.click('#diff-go');
  await page.waitForFunction(() => document.querySelectorAll('#diff-summary li[data-kind]').length === 5);
  await R(page, () => window.__replay.settle());
  const counts = await R(page, () => Object.fromEntries([...document.querySelectorAll('#diff-summary li[data-kind]')]
    .map((li) => [li.dataset.kind, Number(li.textContent.replace(/,/g, '').match(/\d+/)[0])])));
  assert.equal(counts.appeared, expected.appeared);
  assert.equal(counts.freed, expected.freed);
  assert.equal(counts.moved, expected.moved);
  assert.ok(expected.appeared > 0 && expected.freed > 0 && expected.moved > 0, 'the steps differ in every way');
  assert.equal(await R(page, () => window.__replay.step), B);
  assert.ok((await R(page, () => window.__replay.lastDraw().overlays)) > 0, 'outlined in the map');
  await shot(page, 'replay-diff.png');
});

test('allocators side by side: three maps, heap sizes and figures equal to the harness', { skip, timeout: 180000 }, async (t) => {
  const n = 150000;
  const { path, text } = prefixFile('gcc-cc1', n);
  const page = await openReplay(t);
  await R(page, (s) => window.__replay.openText(s, 'gcc-cc1-150000'), text);
  await page.click('#tab-compare');
  await page.waitForFunction(() => document.querySelectorAll('#compare-maps canvas').length === 3);
  await R(page, () => window.__replay.play(Infinity));
  assert.equal(await R(page, () => window.__replay.untilStopped()), n);
  await R(page, () => window.__replay.settle());
  assert.equal(await page.locator('#message').isHidden(), true, 'the message strip stays hidden');
  assert.deepEqual(await errorsSaid(page), []);
  const figures = await R(page, () => window.__replay.compareFigures());
  assert.deepEqual(figures.map((f) => f.name), manifest.allocators.map((a) => a.name));
  const maps = await R(page, () => [...document.querySelectorAll('#compare-maps canvas')].map((c) => ({
    name: c.dataset.allocator, heapPages: Number(c.dataset.heapPages), step: Number(c.dataset.step),
    caption: c.closest('figure').querySelector('figcaption').textContent,
  })));
  assert.equal(maps.length, 3);
  const table = await R(page, () => Object.fromEntries([...document.querySelectorAll('#compare-table tbody tr')].map((tr) => [
    tr.dataset.key, [...tr.querySelectorAll('td')].map((td) => td.dataset.value)])));
  // What the note says of the figures is what this build did.
  const note = await page.locator('#compare-note').textContent();
  const offsets = manifest.allocators.every((a) => a.breakOffset !== null);
  assert.equal(/these figures equal the harness's/.test(note), offsets, note);
  assert.equal(/own offset/.test(note), !offsets, note);
  const rowNames = await R(page, () => [...document.querySelectorAll('#compare-table tbody th')].map((th) => th.textContent));
  assert.ok(rowNames.includes('heap not live') && !rowNames.some((x) => /fragmentation/.test(x)), rowNames.join(', '));
  assert.ok(rowNames.includes('heap pages grown (Emscripten)'));
  const lines = [];
  for (const [k, f] of figures.entries()) {
    assert.equal(maps[k].name, f.name);
    assert.equal(maps[k].step, n);
    assert.equal(maps[k].heapPages, f.heapPages, 'the map shows its heap size');
    assert.match(maps[k].caption, new RegExp(`${f.heapPages} pages`));
    assert.equal(Number(table.heapPages[k]), f.heapPages);
    assert.equal(Number(table.peakLiveBytes[k]), f.peakLiveBytes);
    const h = runHarness(f.name, path);
    if (!h) {
      t.diagnostic(`${f.name}: no harness program (${harnessProblems.join('; ')}): not compared`);
      continue;
    }
    assert.equal(f.heapPages, h.heap_pages, `${f.name}: heap pages grown, page vs harness`);
    assert.equal(f.growthBytes, h.break_end - h.break_start, `${f.name}: break moved`);
    assert.equal(f.peakLiveBytes, h.peak_live_bytes, `${f.name}: peak live bytes`);
    lines.push(`${f.name} ${f.heapPages} pages (harness ${h.heap_pages}), peak ${f.peakLiveBytes} (harness ${h.peak_live_bytes})`);
  }
  t.diagnostic(lines.join('; '));
  await shot(page, 'replay-compare.png');
});

test('a CS:APP malloc-lab file opened from disk is replayed', { skip, timeout: 60000 }, async (t) => {
  // A seeded random malloc-lab trace with its four-number header.
  const rnd = rng(7).int; // 0 .. n-1
  const lines = [];
  const live = [];
  let next = 0;
  for (let i = 0; i < 3000; i++) {
    const r = rnd(10);
    if (live.length && r < 3) {
      const id = live.splice(rnd(live.length), 1)[0];
      lines.push(`f ${id}`);
    } else if (live.length && r < 5) {
      lines.push(`r ${live[rnd(live.length)]} ${1 + rnd(3000)}`);
    } else {
      lines.push(`a ${next} ${1 + rnd(r === 9 ? 40000 : 300)}`);
      live.push(next++);
    }
  }
  const text = `100000\n${next}\n${lines.length}\n1\n${lines.join('\n')}\n`;
  const page = await openReplay(t);
  // A file that is not a trace is refused with the line that is wrong.
  await page.setInputFiles('#file-input', { name: 'broken.rep', mimeType: 'text/plain', buffer: Buffer.from('a 0 10\nf 1\n') });
  await page.waitForFunction(() => document.querySelector('#status').classList.contains('error'));
  assert.match(await page.locator('#status').textContent(), /broken\.rep: line 2: f of id 1, which is not live/);
  await page.setInputFiles('#file-input', { name: 'random.rep', mimeType: 'text/plain', buffer: Buffer.from(text) });
  await page.waitForFunction(() => document.querySelector('#trace-info dd[data-field="format"]')?.textContent === 'CS:APP malloc-lab');
  assert.equal(await R(page, () => window.__replay.count), lines.length);
  assert.equal(await page.locator('#trace-select').evaluate((s) => s.selectedOptions[0].textContent), 'your file: random.rep');
  await R(page, (n) => window.__replay.goto(n), lines.length);
  const want = await nodeLmalloc(opsOf(text));
  assert.deepEqual((await shown(page)).map((e) => e.slice(0, 4)), want.blocks.map((e) => [e.kind, e.ptr, e.size, e.used]));
  const said = await errorsSaid(page);
  assert.equal(said.length, 1, `only the refused file was reported: ${said.join(' | ')}`);
  assert.match(said[0], /^error: cannot open broken\.rep: line 2: f of id 1, which is not live/);
  await shot(page, 'replay-csapp.png');
});

// The message strip: shown, inside the window, and its text not cut (no
// overflow either way). Returns its text.
async function wholeMessage(page) {
  await page.waitForFunction(() => !document.querySelector('#message').hidden);
  const m = await R(page, () => {
    const box = document.querySelector('#message').getBoundingClientRect();
    const p = document.querySelector('#message-text');
    return {
      text: p.textContent, inside: box.top >= 0 && box.left >= 0 && box.right <= innerWidth && box.bottom <= innerHeight,
      cut: p.scrollWidth > p.clientWidth + 1 || p.scrollHeight > p.clientHeight + 1,
    };
  });
  assert.ok(m.inside, `the message is inside the window: ${m.text}`);
  assert.ok(!m.cut, `the message is not cut: ${m.text}`);
  return m.text;
}

test('a file that is not a trace, or empty, changes nothing: the message names it and its line; the trace shown stays usable', { skip, timeout: 90000 }, async (t) => {
  const page = await openReplay(t, '#trace=perl-wordfreq&step=100');
  const selected = () => page.locator('#trace-select').evaluate((s) => s.selectedOptions[0].textContent);
  const before = { count: await R(page, () => window.__replay.count), option: await selected(), map: await shown(page) };
  assert.equal(before.count, 173577);
  await page.setInputFiles('#file-input', { name: 'junk.txt', mimeType: 'text/plain', buffer: Buffer.from('hello world\nthis is not a trace\n') });
  const text = await wholeMessage(page);
  assert.match(text, /junk\.txt: line 1: not a trace: "hello world"/);
  assert.match(text, /perl-wordfreq stays open/);
  await shot(page, 'replay-not-a-trace.png');
  assert.equal(await selected(), before.option, 'the list still names the trace shown');
  assert.equal(await page.locator('#trace-select option[data-user]').count(), 0, 'no entry for the refused file');
  assert.equal(await R(page, () => window.__replay.count), before.count);
  assert.deepEqual(await shown(page), before.map);
  // Every control still works on it.
  await page.click('#step-fwd');
  await page.waitForFunction(() => window.__replay.step === 101);
  await R(page, () => window.__replay.play(Infinity));
  await page.waitForFunction(() => window.__replay.step > 1000);
  await R(page, () => window.__replay.pause());
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export')]);
  assert.equal(download.suggestedFilename(), 'perl-wordfreq.trace');
  assert.match((await import('node:fs')).readFileSync(await download.path(), 'utf8'), /^lmtrace v1 ids \d+ ops 173577\n/);
  // Escape closes the message.
  await page.keyboard.press('Escape');
  assert.equal(await page.locator('#message').isHidden(), true);

  // A user's file open, then an empty one: the user's file stays, and its entry.
  await page.setInputFiles('#file-input', { name: 'tiny.trace', mimeType: 'text/plain', buffer: Buffer.from('lmtrace v1 ids 1 ops 2\na 0 10\nf 0\n') });
  await page.waitForFunction(() => window.__replay.count === 2);
  await page.setInputFiles('#file-input', { name: 'empty.trace', mimeType: 'text/plain', buffer: Buffer.alloc(0) });
  assert.match(await wholeMessage(page), /cannot open empty\.trace: the file is empty.*tiny\.trace stays open/);
  assert.equal(await selected(), 'your file: tiny.trace');
  assert.equal(await R(page, () => window.__replay.goto(2)), 2);
  const said = await errorsSaid(page);
  assert.equal(said.length, 2, said.join(' | '));
  assert.match(said[0], /junk\.txt: line 1: not a trace/);
  assert.match(said[1], /cannot open empty\.trace: the file is empty/);
});

test('a share link reproduces a user trace at its step; Export gives the trace back', { skip, timeout: 60000 }, async (t) => {
  const text = 'lmtrace v1 ids 4 ops 8\na 0 100\na 1 3000\nc 2 64\nf 0\nr 1 9000\nm 3 256 100\nf 2\na 0 24\n';
  const page = await openReplay(t);
  await R(page, (s) => window.__replay.openText(s, 'tiny'), text);
  await R(page, () => window.__replay.goto(6));
  const link = await R(page, () => window.__replay.share());
  assert.match(link, /replay\.html#t=[A-Za-z0-9_-]+&step=6$/);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export')]);
  assert.equal(download.suggestedFilename(), 'tiny.trace');
  const exported = (await import('node:fs')).readFileSync(await download.path(), 'utf8');
  assert.equal(exported, text);
  const before = await shown(page);
  const other = await openReplay(t, link.slice(link.indexOf('#')));
  assert.equal(await R(other, () => window.__replay.step), 6);
  assert.equal(await R(other, () => window.__replay.count), 8);
  assert.deepEqual(await shown(other), before);
  // A bundled trace's link names the trace and the view.
  await R(other, () => window.__replay.selectTab('compare'));
  const bundled = await openReplay(t, '#trace=sqlite&step=5000&view=compare');
  assert.equal(await R(bundled, () => window.__replay.step), 5000);
  assert.equal(await bundled.locator('#tab-compare').getAttribute('aria-selected'), 'true');
});

test('a link the page cannot follow says why and opens the default trace: damaged, for the playground, an unknown trace', { skip, timeout: 90000 }, async (t) => {
  const names = (await (await fetch(`${suite.url}build/web/traces/index.json`)).json()).map((x) => x.name);
  const playground = `s=${await encodeShare({ kind: 'steps', steps: [] })}`;
  const broken = `t=${await encodeShare({ kind: 'trace', name: 'mine', text: 'lmtrace v1 ids 1 ops 1\nf 0\n' })}`;
  const cases = [
    ['#t=garbage&step=7', /^the link is damaged: its data does not decompress .*\. Showing perl-wordfreq, the default trace, instead\.$/],
    [`#${playground.replace(/^s=/, 't=')}`, /this link is for the playground \(index\.html\), not the replay page\. Showing perl-wordfreq/],
    [`#${broken}&step=3`, /cannot open mine \(from the link\): line 2: f of id 0, which is not live\. Showing perl-wordfreq/],
    ['#trace=nope&step=5', new RegExp(`the link asks for the trace "nope", which is not one of the bundled traces \\(${names.join(', ')}\\)\\. Showing perl-wordfreq, the default trace, instead\\.$`)],
  ];
  for (const [hash, re] of cases) {
    // suite.open fails the test on any page error (the damaged link's was uncaught).
    const page = await openReplay(t, hash);
    assert.match(await wholeMessage(page), re, hash);
    assert.equal(await R(page, () => window.__replay.state.source.name), 'perl-wordfreq', hash);
    assert.equal(await R(page, () => window.__replay.step), 0, `${hash}: the default trace from its start`);
    assert.equal(await page.locator('#trace-select').inputValue(), 'perl-wordfreq');
    await page.click('#step-fwd');
    await page.waitForFunction(() => window.__replay.step === 1);
    if (hash.startsWith('#t=garbage')) await shot(page, 'replay-damaged-link.png');
    const said = await errorsSaid(page);
    assert.equal(said.length, 1, `${hash}: the one problem, once: ${said.join(' | ')}`);
    assert.match(said[0], re, hash);
  }
  // The playground reads the same links (#s=): its message is as clear.
  const page = await suite.open(t, '#s=garbage');
  await page.waitForFunction(() => document.querySelector('#status').classList.contains('error'));
  assert.match(await page.locator('#status').textContent(), /^error: the link is damaged: its data does not decompress/);
  // Shown whole: an error in the top bar wraps instead of being cut.
  const cut = await page.evaluate(() => {
    const el = document.querySelector('#status');
    return el.scrollWidth > el.clientWidth + 1;
  });
  assert.equal(cut, false, 'the error is not cut off');
});

test('malloc(4000000000): the views say which operation and why, the transport still works, the comparison agrees', { skip, timeout: 120000 }, async (t) => {
  const page = await openReplay(t);
  // lmalloc (both builds) and emmalloc grow to 3.73 GiB; dlmalloc returns NULL.
  await R(page, () => window.__replay.openText('lmtrace v1 ids 2 ops 3\na 0 100\na 1 4000000000\nf 0\n', 'huge'));
  const explain = () => page.locator('#explain').textContent();
  const stat = async (k) => Number(await page.locator(`#stats td[data-stat="${k}"]`).getAttribute('data-value'));

  // The heap view: the step is reached, the map says why it is not drawn, the figures follow.
  assert.equal(await R(page, () => window.__replay.goto(2)), 2);
  assert.match(await explain(), /^Step 2: p\[1\] = malloc\(4000000000\); The map is not drawn: at step 2 lmalloc's memory is 3\.73 GiB, more than the 256 MiB the page copies to draw it/);
  assert.match(await page.locator('#map-status').textContent(), /Not drawn: 3\.73 GiB of memory/);
  assert.equal(await R(page, () => window.__replay.snapshot()), null);
  assert.ok((await stat('heapPages')) > 61000, 'heap pages grown follow');
  assert.equal(await stat('liveBytes'), 4000000100);
  await shot(page, 'replay-huge-heap.png');
  // Every transport button still moves.
  await page.click('#step-back');
  await page.waitForFunction(() => window.__replay.step === 1 && window.__replay.snapshot()?.step === 1);
  assert.equal(await explain(), 'Step 1: p[0] = malloc(100);', 'drawn again: no note');
  await page.click('#step-fwd');
  await page.waitForFunction(() => window.__replay.step === 2);
  await page.click('#to-end');
  await page.waitForFunction(() => window.__replay.step === 3);
  await page.click('#to-start');
  await page.waitForFunction(() => window.__replay.step === 0);
  await R(page, () => window.__replay.play(Infinity));
  assert.equal(await R(page, () => window.__replay.untilStopped()), 3);

  // The comparison: header, explanation and columns name the same step; dlmalloc says why it stopped.
  await R(page, () => window.__replay.selectTab('compare'));
  const compare = () => R(page, () => ({
    head: document.querySelector('#compare-table thead th').textContent,
    status: [...document.querySelectorAll('#compare-table tr[data-key="error"] td')].map((td) => td.textContent),
    live: [...document.querySelectorAll('#compare-table tr[data-key="liveBytes"] td')].map((td) => Number(td.dataset.value)),
    maps: [...document.querySelectorAll('#compare-maps canvas')].map((c) => Number(c.dataset.step)),
  }));
  assert.equal(await R(page, () => window.__replay.goto(2)), 2);
  let c = await compare();
  assert.equal(c.head, 'at step 2');
  assert.deepEqual(c.status, ['at 2', 'stopped at step 2: malloc(4000000000) returned NULL', 'at 2']);
  assert.deepEqual(c.live, [4000000100, 100, 4000000100]);
  assert.deepEqual(c.maps, [2, 1, 2], 'dlmalloc\'s map is its heap before the refused operation');
  assert.match(await explain(), /^Step 2: p\[1\] = malloc\(4000000000\); dlmalloc stopped here: malloc\(4000000000\) returned NULL; its column shows its heap before that operation\.$/);
  await shot(page, 'replay-huge-compare.png');
  assert.equal(await R(page, () => window.__replay.goto(3)), 3);
  c = await compare();
  assert.equal(c.head, 'at step 3');
  assert.deepEqual(c.status, ['at the end', 'stopped at step 2: malloc(4000000000) returned NULL', 'at the end']);
  assert.match(await explain(), /^Step 3: free\(p\[0\]\); dlmalloc stopped at step 2: malloc\(4000000000\) returned NULL/);
  // Back before the refused operation: dlmalloc runs again.
  assert.equal(await R(page, () => window.__replay.goto(1)), 1);
  c = await compare();
  assert.deepEqual(c.status, ['at 1', 'at 1', 'at 1']);
  assert.equal(await explain(), 'Step 1: p[0] = malloc(100);');
  // Playing past the refusal says so in the message strip; the others go on to the end.
  await R(page, () => window.__replay.play(Infinity));
  assert.equal(await R(page, () => window.__replay.untilStopped()), 3);
  assert.match(await wholeMessage(page), /^dlmalloc stopped at step 2: malloc\(4000000000\) returned NULL$/);
  // Reported once per stop: when the tab opened (at step 3), and again after step 1 cleared it.
  assert.deepEqual(await errorsSaid(page), Array(2).fill('dlmalloc stopped at step 2: malloc(4000000000) returned NULL'));
});

// A trace of `n` small operations after `head`: Play takes several moves to cross it.
const longTrace = (head, n = 3000) => {
  const ops = [...head, ...Array.from({ length: n }, (_, i) => (i % 2 ? 'f 9' : `a 9 ${16 + (i % 200)}`))];
  return `lmtrace v1 ids 10 ops ${ops.length}\n${ops.join('\n')}\n`;
};

test('an operation lmalloc refuses is reported once: the message closed stays closed while the replay stays stopped', { skip, timeout: 90000 }, async (t) => {
  const page = await openReplay(t);
  const text = longTrace(['a 0 100', 'a 1 4294967295']);
  await R(page, (s) => window.__replay.openText(s, 'refused'), text);
  assert.equal(await R(page, () => window.__replay.goto(1)), 1);
  assert.equal(await page.locator('#message').isHidden(), true);
  const sentence = 'lmalloc stopped at step 2: malloc(4294967295) returned NULL';
  assert.equal(await R(page, () => window.__replay.goto(2)), 2);
  assert.equal(await wholeMessage(page), sentence);
  await page.keyboard.press('Escape');
  // Every later reply still carries the stop: the strip stays closed, nothing is reported twice.
  assert.equal(await R(page, () => window.__replay.goto(100)), 2, 'stopped: the step it refused');
  await page.click('#step-fwd');
  await R(page, () => window.__replay.settle());
  await R(page, () => window.__replay.play(Infinity));
  assert.equal(await R(page, () => window.__replay.untilStopped()), 2, 'Play pauses at once: nothing is left running');
  assert.equal(await page.locator('#message').isHidden(), true, 'the message the user closed stays closed');
  assert.deepEqual(await errorsSaid(page), [sentence]);
  assert.equal(await page.locator('#status').textContent(), `paused: ${sentence}`);
  assert.match(await page.locator('#explain').textContent(), /^Step 2: p\[1\] = malloc\(4294967295\); lmalloc stopped here: malloc\(4294967295\) returned NULL; the map shows its heap before that operation\.$/);
  // Back before it, then past it again: a new stop, reported again.
  assert.equal(await R(page, () => window.__replay.goto(1)), 1);
  assert.equal(await R(page, () => window.__replay.goto(50)), 2);
  assert.equal(await wholeMessage(page), sentence);
  assert.deepEqual(await errorsSaid(page), [sentence, sentence]);
});

test('Compare: Play goes on for the allocators still running past one that refused an operation', { skip, timeout: 90000 }, async (t) => {
  const page = await openReplay(t);
  // Emscripten's aligned_alloc(64, 100) is NULL (size not a multiple of the alignment): dlmalloc and emmalloc stop at step 2.
  const text = longTrace(['a 0 100', 'm 1 64 100']);
  const count = text.split('\n').length - 2;
  await R(page, (s) => window.__replay.openText(s, 'aligned'), text);
  await R(page, () => window.__replay.selectTab('compare'));
  await R(page, () => window.__replay.play(Infinity));
  assert.equal(await R(page, () => window.__replay.untilStopped()), count, 'lmalloc played to the end');
  const figures = await R(page, () => window.__replay.compareFigures().map((f) => [f.name, f.step, f.error?.step ?? null]));
  assert.deepEqual(figures, [['lmalloc', count, null], ['dlmalloc', 1, 2], ['emmalloc', 1, 2]]);
  const status = await R(page, () => [...document.querySelectorAll('#compare-table tr[data-key="error"] td')].map((td) => td.textContent));
  const stop = 'stopped at step 2: aligned_alloc(64, 100) returned NULL';
  assert.deepEqual(status, ['at the end', stop, stop]);
  // Each stop reported once, however many replies carried it (in the order
  // the two workers answered, which either may do first).
  assert.deepEqual((await errorsSaid(page)).sort(), [`dlmalloc ${stop}`, `emmalloc ${stop}`]);
  assert.match(await wholeMessage(page), /^(dl|em)malloc stopped at step 2: aligned_alloc\(64, 100\) returned NULL$/);
  assert.match(await page.locator('#explain').textContent(), new RegExp(`^Step ${count.toLocaleString('en-US')}: .* dlmalloc ${stop.replace(/[()]/g, '\\$&')}; its column shows its heap before that operation\\. emmalloc ${stop.replace(/[()]/g, '\\$&')}`));
});

test('a move that fails names the step it asked for, not a later one', { skip, timeout: 60000 }, async (t) => {
  const page = await openReplay(t, '#trace=perl-wordfreq');
  const message = await R(page, async () => {
    // The worker's answer to the move to 500 is a failure, and comes after the move to 800 was asked for.
    const c = window.__replay.state.heap;
    const goto = c.goto.bind(c);
    c.goto = (step, view) => (step === 500 ? new Promise((_, reject) => setTimeout(() => reject(new Error('the worker could not')), 300)) : goto(step, view));
    const first = window.__replay.goto(500);
    await window.__replay.goto(800);
    await first;
    return document.querySelector('#message-text').textContent;
  });
  assert.equal(message, 'lmalloc cannot show step 500: the worker could not');
  assert.equal(await R(page, () => window.__replay.step), 800);
});

// Settles a promise in the page within `ms`: 'answered', 'failed: message' or 'no answer'.
const SETTLE = `(p, ms = 10000) => Promise.race([
  p.then(() => 'answered', (e) => 'failed: ' + e.message),
  new Promise((r) => setTimeout(() => r('no answer'), ms)),
])`;

test('a worker with no trace open answers every request: a goto, a diff, a time, a text', { skip, timeout: 60000 }, async (t) => {
  const page = await openReplay(t);
  const out = await R(page, async (settleSrc) => {
    const settle = eval(settleSrc); // eslint-disable-line no-eval
    const { ReplayClient } = await import('./replay-client.mjs');
    const c = ReplayClient.create(new URL('./replay-worker.mjs', location.href));
    // An open that fails (no such module), and requests queued behind it while it runs.
    const spec = { kind: 'emscripten', module: new URL('/build/web/allocators/none.wasm', location.href).href, name: 'none', label: 'none' };
    const asked = [c.open(spec, { text: 'lmtrace v1 ids 1 ops 2\na 0 10\nf 0\n' }), c.diff(0, 2), c.text(1), c.goto(1), c.time()];
    const answers = await Promise.all(asked.map((p) => settle(p)));
    // And a goto alone, later.
    answers.push(await settle(c.goto(2)));
    c.terminate();
    return answers;
  }, SETTLE);
  assert.match(out[0], /^failed: cannot load http:\/\/[^ ]+\/build\/web\/allocators\/none\.wasm: HTTP 404$/);
  assert.deepEqual(out.slice(1), Array(5).fill('failed: no trace open'));
});

test('a comparison that cannot open says why; the heap view goes on and the Compare tab tries again', { skip, timeout: 90000 }, async (t) => {
  const page = await openReplay(t, '#trace=perl-wordfreq&step=100');
  // dlmalloc's module is not wasm (a damaged build): its worker's open fails.
  const damaged = '**/build/web/allocators/dlmalloc.wasm';
  await page.route(damaged, (route) => route.fulfill({ status: 200, contentType: 'application/wasm', body: 'not wasm' }));
  await page.click('#tab-compare');
  const text = await wholeMessage(page);
  assert.match(text, /^cannot compare the allocators on perl-wordfreq: dlmalloc: WebAssembly\.compile\(\): .* \(the Compare tab tries again when opened again\)$/);
  assert.equal(await R(page, () => window.__replay.state.compare), null, 'its workers are stopped');
  assert.equal(await page.locator('#compare-maps canvas').count(), 0);
  // Nothing waits on the workers that failed: moves and Play answer.
  assert.equal(await R(page, async (src) => eval(src)(window.__replay.goto(200)), SETTLE), 'answered');
  await R(page, () => window.__replay.play(Infinity));
  await R(page, () => window.__replay.pause());
  assert.equal(await R(page, async (src) => eval(src)(window.__replay.settle()), SETTLE), 'answered');
  await R(page, () => window.__replay.selectTab('heap'));
  assert.equal(await R(page, () => window.__replay.goto(300)), 300, 'the heap view goes on');
  // The module is mended: the tab, opened again, compares.
  await page.unroute(damaged);
  await page.click('#tab-compare');
  await page.waitForFunction(() => document.querySelectorAll('#compare-maps canvas').length === 3);
  assert.equal(await R(page, () => window.__replay.goto(400)), 400);
  assert.deepEqual(await R(page, () => window.__replay.compareFigures().map((f) => f.step)), [400, 400, 400]);
  const said = await errorsSaid(page);
  assert.equal(said.length, 1, said.join(' | '));
});

test('a trace opened while the previous one\'s comparison is still opening: the newer one wins, at its step, and nothing waits forever', { skip, timeout: 90000 }, async (t) => {
  const page = await openReplay(t, '#trace=perl-wordfreq&view=compare');
  // The comparison's modules arrive late: the second trace replaces the first while its comparison opens.
  await page.route('**/build/web/allocators/*.wasm', async (route) => {
    await new Promise((r) => setTimeout(r, 1500));
    await route.continue();
  });
  const text = `lmtrace v1 ids 10 ops 10\n${Array.from({ length: 10 }, (_, i) => `a ${i} ${32 * (i + 1)}`).join('\n')}\n`;
  const first = await R(page, async ({ text: s, settleSrc }) => {
    const settle = eval(settleSrc); // eslint-disable-line no-eval
    const r = window.__replay;
    const opening = r.openText(s, 'first', 7);
    while (r.state.source?.name !== 'first') await new Promise((res) => setTimeout(res, 5));
    await r.openText(s, 'second', 3);
    return settle(opening);
  }, { text, settleSrc: SETTLE });
  assert.equal(first, 'answered', 'the first open settles');
  await R(page, () => window.__replay.settle());
  assert.equal(await R(page, () => window.__replay.state.source.name), 'second');
  assert.equal(await R(page, () => window.__replay.step), 3);
  // The first trace's step never reached the second's workers.
  assert.deepEqual(await R(page, () => window.__replay.compareFigures().map((f) => [f.step, f.frontier])), [[3, 3], [3, 3], [3, 3]]);
  assert.equal(await page.locator('#message').isHidden(), true);
  assert.deepEqual(await errorsSaid(page), []);
});

test('a timing run cut short by another trace is no error: the new trace opens clean', { skip, timeout: 90000 }, async (t) => {
  const page = await openReplay(t, '#trace=jq-transform&view=compare');
  await page.waitForFunction(() => document.querySelectorAll('#compare-maps canvas').length === 3);
  await page.click('#time-all');
  await page.waitForFunction(() => document.querySelector('#time-all').disabled);
  const text = 'lmtrace v1 ids 2 ops 2\na 0 100\na 1 200\n';
  await R(page, (s) => window.__replay.openText(s, 'next'), text);
  await R(page, () => window.__replay.settle());
  await page.waitForFunction(() => !document.querySelector('#time-all').disabled);
  assert.equal(await R(page, () => window.__replay.state.source.name), 'next');
  assert.deepEqual(await errorsSaid(page), [], 'the stopped timing says nothing');
  assert.equal(await page.locator('#message').isHidden(), true);
});

test('the playground exports its steps as a trace and opens them in the replay page', { skip, timeout: 60000 }, async (t) => {
  const context = await suite.browser.newContext({ viewport: { width: 1366, height: 768 }, acceptDownloads: true });
  t.after(() => context.close());
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(suite.url);
  await page.evaluate(() => window.__lmalloc.ready);
  for (const op of [
    { op: 'malloc', size: 200, name: 'a' }, { op: 'calloc', count: 8, size: 32, name: 'b' },
    { op: 'free', target: { ref: 'a' } }, { op: 'free', target: { ref: 'a' } },
    { op: 'realloc', target: { ref: 'b' }, size: 5000 }, { op: 'aligned', align: 256, size: 100, name: 'c' },
  ]) await page.evaluate((o) => window.__lmalloc.apply(o), op);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-trace')]);
  const text = (await import('node:fs')).readFileSync(await download.path(), 'utf8');
  assert.match(text, /^lmtrace v1 ids 2 ops 5\n# lmalloc playground session: 6 steps, 5 allocation calls\na 0 200\nc 1 256\nf 0\nr 1 5000\nm 0 256 100\n$/);
  // Its share link reproduces the steps in a fresh playground.
  const link = await page.evaluate(() => window.__lmalloc.shareLink());
  const again = await context.newPage();
  await again.goto(link);
  await again.evaluate(() => window.__lmalloc.ready);
  await again.waitForFunction(() => window.__lmalloc.session.steps.length === 6);
  assert.deepEqual(await again.evaluate(() => window.__lmalloc.blocks()), await page.evaluate(() => window.__lmalloc.blocks()));
  await page.click('#to-replay');
  await page.waitForURL(/replay\.html#t=/);
  await page.evaluate(() => window.__replay.ready);
  await page.evaluate(() => window.__replay.settle());
  assert.equal(await page.evaluate(() => window.__replay.count), 5);
  assert.equal(await page.evaluate(() => window.__replay.step), 5, 'the link asks for step 6 of 5: the end');
  const want = await nodeLmalloc(opsOf(text));
  assert.deepEqual((await shown(page)).map((e) => e.slice(0, 4)), want.blocks.map((e) => [e.kind, e.ptr, e.size, e.used]));
  await page.screenshot({ path: join(shots, 'replay-from-playground.png') });
  assert.deepEqual(errors, []);
});

test('1.58 M operations (jq-transform): the page stays responsive while playing and travelling', { skip, timeout: 180000 }, async (t) => {
  const page = await openReplay(t, '#trace=jq-transform');
  assert.equal(await R(page, () => window.__replay.count), 1580099);
  // Frames keep coming while the worker replays at full speed.
  const run = await R(page, async () => {
    const gaps = [];
    let last = performance.now();
    let running = true;
    const loop = (now) => {
      gaps.push(now - last);
      last = now;
      if (running) requestAnimationFrame(loop);
    };
    requestAnimationFrame(loop);
    window.__replay.play(Infinity);
    await new Promise((r) => setTimeout(r, 4000));
    running = false;
    const step = window.__replay.step;
    window.__replay.pause();
    gaps.sort((a, b) => b - a);
    return { step, frames: gaps.length, worst: gaps[0], median: gaps[gaps.length >> 1] };
  });
  t.diagnostic(`4 s of playing: step ${run.step}, ${run.frames} frames, median gap ${run.median.toFixed(0)} ms, worst ${run.worst.toFixed(0)} ms`);
  assert.ok(run.step > 100000, `the replay advanced (${run.step})`);
  assert.ok(run.frames > 60, `frames kept coming (${run.frames} in 4 s)`);
  assert.ok(run.worst < 1500, `no frame waited 1.5 s (worst ${run.worst.toFixed(0)} ms)`);
  // Far jumps, forwards and back, each in a moment.
  for (const step of [1500000, 200000, 1200000]) {
    const t0 = Date.now();
    assert.equal(await R(page, (s) => window.__replay.goto(s), step), step);
    t.diagnostic(`goto ${step}: ${Date.now() - t0} ms`);
  }
  const f = await R(page, () => window.__replay.figures());
  assert.ok(f.snapshots.bytes <= 160 * 2 ** 20, 'snapshots stay within their budget');
  await shot(page, 'replay-jq.png');
});
