// End-to-end tests of the playground in real headless Chromium (Debian's
// /usr/bin/chromium driven by npm playwright-core, flags of TOOLCHAIN.md
// trap 5). Each test starts the page served by scripts/serve.mjs, drives it
// through its controls (and the window.__lmalloc test hook for bulk work),
// and checks that the map, the details and the stats show exactly what
// the heap holds (heap.blocks(), heap.stats()). Screenshots go to
// build/test-artifacts/web/.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { browserSuite } from '../web/helpers.mjs';

// openPage(t): a fresh page at 1366x768 with the heap loaded; page errors
// fail the test.
const { skip, shots, open: openPage } = await browserSuite();

const hook = (page, fn, arg) => page.evaluate(fn, arg);

// What the map shows (the page's snapshot) equals what the heap holds.
async function assertMapMatchesHeap(page) {
  const { shown, heap } = await hook(page, () => ({
    shown: window.__lmalloc.snapshot().entries.map((e) => [e.kind, e.ptr, e.size, e.used]),
    heap: window.__lmalloc.blocks().map((e) => [e.kind, e.ptr, e.size, e.used]),
  }));
  assert.deepEqual(shown, heap);
}

async function assertStatsMatchHeap(page) {
  const { cells, stats } = await hook(page, () => ({
    cells: Object.fromEntries([...document.querySelectorAll('#stats td')].map((td) => [td.dataset.stat, Number(td.dataset.value)])),
    stats: window.__lmalloc.stats(),
  }));
  for (const k of ['heapBytes', 'usedBytes', 'freeBytes', 'overheadBytes', 'largestFree', 'growCount', 'slabs']) {
    assert.equal(cells[k], stats[k], `stats panel ${k}`);
  }
}

const hex = (n) => `0x${n.toString(16)}`;
const field = (page, name) => page.locator(`#details dd[data-field="${name}"]`).textContent();

test('allocate, select and free through the UI: map, details and stats show the heap', { skip, timeout: 60000 }, async (t) => {
  const page = await openPage(t);
  await page.fill('#form-malloc input[name=size]', '300');
  await page.fill('#form-malloc input[name=name]', 'first');
  await page.click('#form-malloc button');
  await page.waitForFunction(() => document.querySelector('#step-count').textContent === 'step 1 of 1');
  await page.fill('#form-malloc input[name=size]', '5000');
  await page.fill('#form-malloc input[name=name]', 'second');
  await page.click('#form-malloc button');
  await page.fill('#form-calloc input[name=count]', '4');
  await page.fill('#form-calloc input[name=size]', '8');
  await page.fill('#form-calloc input[name=name]', 'third');
  await page.click('#form-calloc button');
  await page.waitForFunction(() => document.querySelector('#step-count').textContent === 'step 3 of 3');
  await hook(page, () => window.__lmalloc.redraw());
  await assertMapMatchesHeap(page);
  await assertStatsMatchHeap(page);

  // The last allocation is selected; click the first one in the map.
  assert.equal(await page.locator('#details h3').textContent(), 'object "third"');
  const first = await hook(page, () => window.__lmalloc.session.vars.get('first').addr);
  const at = await hook(page, (p) => window.__lmalloc.locate(p), first);
  await page.mouse.click(at.x, at.y);
  await page.waitForFunction(() => document.querySelector('#details h3')?.textContent === 'block "first"');
  assert.match(await field(page, 'address'), new RegExp(`^${hex(first)} \\(header at ${hex(first - 4)}\\)`));
  assert.equal(await field(page, 'requested'), '300 B');
  assert.equal(await field(page, 'usable'), '312 B'); // a 320-byte block: header and seal
  assert.equal(await field(page, 'allocated'), 'step 1: first = malloc(300);');
  assert.match(await field(page, 'header'), /^0x00000140 = size 320/);
  assert.match(await page.locator('#details pre').textContent(), new RegExp(`^0x${(first - 4).toString(16).padStart(6, '0')}  40 01 00 00`));
  assert.equal(await page.locator('#target').textContent(), 'p = first (live)');

  // Write a string and read it back.
  await page.fill('#form-write input[name=text]', 'hello, heap');
  await page.click('#form-write button[type=submit]');
  await page.click('#do-read');
  assert.equal(await page.locator('#read-result').textContent(), 'read: "hello, heap"');
  assert.match(await page.locator('#details pre').textContent(), /hello, heap/);

  await page.screenshot({ path: `${shots}/allocate.png` });
  await page.click('#do-free');
  await page.waitForFunction(() => document.querySelector('#step-count').textContent === 'step 5 of 5');
  const freed = await hook(page, (p) => window.__lmalloc.blocks().find((b) => b.ptr === p), first);
  assert.equal(freed.used, false);
  assert.equal(await page.locator('#details h3').textContent(), 'free block');
  assert.equal(await page.locator('#pointers button[data-name="first"] .state').textContent(), 'dangling');
  await assertMapMatchesHeap(page);
  await assertStatsMatchHeap(page);

  // One canvas for the map: no DOM node per block.
  const dom = await hook(page, () => ({ canvases: document.querySelectorAll('canvas').length, draw: window.__lmalloc.lastDraw }));
  assert.ok(dom.draw.instructions > 10);
  assert.ok(dom.canvases < 30, `${dom.canvases} canvases (map, index, chart, legend swatches)`);
  await page.screenshot({ path: `${shots}/free.png` });
});

test('a double free is refused with a message in place', { skip, timeout: 60000 }, async (t) => {
  const page = await openPage(t);
  await page.fill('#form-malloc input[name=size]', '300');
  await page.click('#form-malloc button');
  await page.fill('#form-malloc input[name=size]', '40');
  await page.click('#form-malloc button');
  await page.click('#pointers button[data-name="p1"]');
  await page.click('#m-double');
  await page.waitForFunction(() => !document.querySelector('#callout').hidden);
  assert.equal(await page.locator('#callout-title').textContent(), 'Double free');
  assert.match(await page.locator('#callout-text').textContent(), /free\(p1\) again: the block at 0x[0-9a-f]+ \("p1"\) was already freed at step 3\./);
  assert.equal(await page.locator('#log li:last-child .kind').textContent(), 'refused');
  // In place: the message points at the block in the map, just under or over it.
  const p1 = await hook(page, () => window.__lmalloc.session.vars.get('p1').addr);
  const { box, at } = await hook(page, (p) => {
    const r = document.querySelector('#callout').getBoundingClientRect();
    return { box: { x: r.x, y: r.y, w: r.width, h: r.height }, at: window.__lmalloc.anchor(p) };
  }, p1);
  const gap = Math.min(Math.abs(box.y - (at.y + at.h)), Math.abs(at.y - (box.y + box.h)));
  assert.ok(gap < 30 && at.x >= box.x - 40 && at.x <= box.x + box.w + 40, `callout ${JSON.stringify(box)} at block ${JSON.stringify(at)}`);
  await assertMapMatchesHeap(page);
  assert.equal(await hook(page, () => window.__lmalloc.session.heap.check()), 0, 'the heap is intact');
  await page.screenshot({ path: `${shots}/double-free.png` });

  // The other mistakes on the second block, each explained.
  await page.click('#pointers button[data-name="p2"]');
  await page.click('#m-overflow');
  await page.waitForFunction(() => document.querySelector('#callout-title').textContent === 'Buffer overflow');
  await page.click('#m-interior');
  await page.waitForFunction(() => document.querySelector('#callout-title').textContent === 'Invalid free: not a block start');
  await page.click('#m-uaf');
  await page.waitForFunction(() => document.querySelector('#callout-title').textContent === 'Write after free');
  assert.match(await page.locator('#callout-text').textContent(), /slab's link to its next free object/);
  await page.keyboard.press('Escape');
  assert.equal(await page.locator('#callout').isHidden(), true);
  await page.fill('#form-malloc input[name=size]', '500');
  await page.click('#form-malloc button');
  await page.click('#m-leak');
  await page.waitForFunction(() => document.querySelector('#callout-title').textContent === 'Memory leak');
  assert.equal(await page.locator('#stats td[data-stat="leaks"]').getAttribute('data-value'), '1');
  await page.screenshot({ path: `${shots}/leak.png` });
});

test('undo and redo replay the steps', { skip, timeout: 60000 }, async (t) => {
  const page = await openPage(t);
  await hook(page, async () => {
    await window.__lmalloc.apply({ op: 'malloc', name: 'a', size: 1000 });
    await window.__lmalloc.apply({ op: 'malloc', name: 'b', size: 70000 });
  });
  const two = await hook(page, () => window.__lmalloc.blocks());
  await page.click('#undo');
  await page.waitForFunction(() => document.querySelector('#step-count').textContent === 'step 1 of 2');
  const one = await hook(page, () => window.__lmalloc.blocks());
  assert.equal(one.filter((b) => b.used).length, 1);
  await assertMapMatchesHeap(page);
  await assertStatsMatchHeap(page);
  await page.locator('#map').focus();
  await page.keyboard.press('Control+y');
  await page.waitForFunction(() => document.querySelector('#step-count').textContent === 'step 2 of 2');
  assert.deepEqual(await hook(page, () => window.__lmalloc.blocks()), two);
  await page.keyboard.press('Control+z');
  await page.waitForFunction(() => document.querySelector('#step-count').textContent === 'step 1 of 2');
  assert.equal(await page.locator('#log li.undone').count(), 1);
});

test('scenarios play step by step and to their end', { skip, timeout: 60000 }, async (t) => {
  const page = await openPage(t);
  await page.selectOption('#scenario-select', 'list');
  await page.click('#scenario-next');
  await page.waitForFunction(() => document.querySelector('#scenario-pos').textContent === '1/10');
  assert.match(await page.locator('#explain').textContent(), /^Step 1: head = malloc\(sizeof\(struct node\)\);.*A node is 8 bytes/);
  await page.click('#scenario-all');
  await page.waitForFunction(() => document.querySelector('#scenario-pos').textContent === '10/10');
  assert.match(await page.locator('#explain').textContent(), /both nodes are leaked/);
  assert.equal(await page.locator('#stats td[data-stat="leaks"]').getAttribute('data-value'), '2');
  assert.equal(await page.locator('.pointers .state.leak').count(), 1);
  assert.equal(await page.locator('#callout-title').textContent(), 'Memory leak');
  assert.equal(await page.isDisabled('#scenario-next'), true);
  await assertMapMatchesHeap(page);
  await page.screenshot({ path: `${shots}/scenario-list.png` });

  await page.selectOption('#scenario-select', 'fragmentation');
  await page.click('#scenario-all');
  await page.waitForFunction(() => document.querySelector('#scenario-pos').textContent === '5/5');
  const grows = await hook(page, () => window.__lmalloc.snapshot().grows.map((g) => [g.step, g.code]));
  assert.deepEqual(grows, [[3, 'big = malloc(8000);']]);
  assert.equal(await page.locator('#stats td[data-stat="growCount"]').getAttribute('data-value'), '1');
  await assertMapMatchesHeap(page);
  await assertStatsMatchHeap(page);
  await page.click('#undo');
  await page.click('#undo');
  await page.waitForFunction(() => document.querySelector('#scenario-pos').textContent === '3/5');

  // Hover links the views: a size class in the index outlines its holes in
  // the map; a hole in the map outlines its class in the index.
  const cls = await hook(page, () => window.__lmalloc.snapshot().entries.find((e) => e.kind === 'block' && !e.used && !e.top).cls);
  const cell = await hook(page, (c) => window.__lmalloc.indexBox({ cls: c }), cls);
  await page.mouse.move(cell.x, cell.y);
  await page.waitForFunction(() => window.__lmalloc.lastDraw.mapHighlights > 0);
  const listed = await hook(page, (c) => window.__lmalloc.snapshot().bins.lists.get(c).length, cls);
  assert.equal(await hook(page, () => window.__lmalloc.lastDraw.mapHighlights), listed);
  assert.match(await page.locator('#index-status').textContent(), new RegExp(`^class ${cls} .*${listed} blocks`));
  await page.screenshot({ path: `${shots}/scenario-fragmentation.png` });
  const hole = await hook(page, () => window.__lmalloc.snapshot().entries.find((e) => e.kind === 'block' && !e.used && !e.top).ptr);
  const at = await hook(page, (p) => window.__lmalloc.anchor(p), hole);
  await page.mouse.move(at.x + 2, at.y + 5);
  await page.waitForFunction(() => window.__lmalloc.lastDraw.indexHighlights === 1 && window.__lmalloc.lastDraw.mapHighlights === 0);

  for (const id of ['array', 'records', 'stack']) {
    await page.selectOption('#scenario-select', id);
    await page.click('#scenario-all');
    await page.waitForFunction(() => /^(\d+)\/\1$/.test(document.querySelector('#scenario-pos').textContent));
    await assertMapMatchesHeap(page);
    assert.equal(await page.locator('#log .kind').count(), 0, `${id}: no step refused`);
    if (id === 'stack') {
      await page.click('#undo');
      await page.click('#undo');
      await page.click('#undo');
      await page.waitForFunction(() => window.__lmalloc.snapshot().frames.length === 2);
      await page.screenshot({ path: `${shots}/scenario-stack.png` });
    }
  }
});

test('keyboard: tab to every control and the map; Enter, Space and arrow keys work', { skip, timeout: 60000 }, async (t) => {
  const page = await openPage(t);
  // Enter on a focused button (and in a form field) runs it.
  await page.focus('#form-malloc input[name=size]');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.querySelector('#step-count').textContent === 'step 1 of 1');
  await page.focus('#form-malloc button');
  await page.keyboard.press('Space');
  await page.waitForFunction(() => document.querySelector('#step-count').textContent === 'step 2 of 2');
  await page.focus('#form-aligned button');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.querySelector('#step-count').textContent === 'step 3 of 3');

  // Tab order reaches the map after the controls.
  await page.focus('#undo');
  const order = [];
  for (let k = 0; k < 60; k++) {
    await page.keyboard.press('Tab');
    const id = await page.evaluate(() => document.activeElement.id || document.activeElement.textContent.trim().slice(0, 20));
    order.push(id);
    if (id === 'map') break;
  }
  assert.equal(order.at(-1), 'map', `tab order: ${order.join(', ')}`);
  assert.ok(order.indexOf('do-free') < order.indexOf('map'));

  // Arrows move the selection between blocks.
  await page.keyboard.press('Home');
  const first = await hook(page, () => window.__lmalloc.selected.index);
  assert.equal(first, 0);
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowRight');
  assert.equal(await hook(page, () => window.__lmalloc.selected.index), 2);
  await page.keyboard.press('ArrowLeft');
  assert.equal(await hook(page, () => window.__lmalloc.selected.index), 1);
  assert.ok((await page.locator('#map-status').textContent()).length > 10, 'the selection is announced');
  await page.keyboard.press('+');
  await page.keyboard.press('+');
  const zoomed = await hook(page, () => window.__lmalloc.view);
  assert.equal(zoomed.auto, false);
  await page.keyboard.press('0');
  assert.equal((await hook(page, () => window.__lmalloc.view)).auto, true);
  await page.keyboard.press('ArrowDown');
  assert.ok(await hook(page, () => window.__lmalloc.selected !== null));
});

test('100,000 live blocks: one canvas, no DOM node per block, redraws finish', { skip, timeout: 180000 }, async (t) => {
  const page = await openPage(t);
  const result = await hook(page, async () => {
    const t0 = performance.now();
    await window.__lmalloc.apply({ op: 'many', name: 'bulk', count: 100000, size: 300 });
    const applied = performance.now() - t0;
    const draws = [];
    for (let k = 0; k < 5; k++) {
      const t1 = performance.now();
      await window.__lmalloc.redraw();
      draws.push(performance.now() - t1);
    }
    await window.__lmalloc.setView({ compress: true });
    return {
      applied, draws, last: window.__lmalloc.lastDraw,
      entries: window.__lmalloc.snapshot().entries.length,
      live: window.__lmalloc.stats().usedBlocks,
      nodes: document.querySelectorAll('*').length,
    };
  });
  t.diagnostic(`apply ${result.applied.toFixed(0)} ms; redraws ${result.draws.map((d) => d.toFixed(0)).join(', ')} ms; map layout+draw ${result.last.mapMs.toFixed(1)} ms, ${result.last.instructions} instructions`);
  assert.equal(result.live, 100000);
  assert.ok(result.entries >= 100000);
  assert.ok(result.nodes < 1500, `${result.nodes} DOM nodes`);
  assert.ok(result.last.instructions < 20000, `${result.last.instructions} drawing instructions for 100,000 blocks`);
  await assertMapMatchesHeap(page);
  await assertStatsMatchHeap(page);
  // Still usable: pick a block in the middle with the mouse.
  const mid = await hook(page, () => window.__lmalloc.session.vars.get('bulk').addrs[50000]);
  await hook(page, () => window.__lmalloc.setView({ rowUnits: 8192, auto: false }));
  const at = await hook(page, (p) => window.__lmalloc.locate(p), mid);
  await page.mouse.click(at.x, at.y);
  await page.waitForFunction((p) => window.__lmalloc.selected?.ptr === p, mid);
  assert.equal(await page.locator('#details h3').textContent(), 'block "bulk[50000]"');
  await page.screenshot({ path: `${shots}/100k-blocks.png` });
});

test('fits a 1366x768 screen without page scrolling', { skip, timeout: 60000 }, async (t) => {
  const page = await openPage(t);
  await hook(page, () => window.__lmalloc.apply({ op: 'malloc', name: 'a', size: 100 }));
  const layout = await page.evaluate(() => {
    const box = (id) => document.getElementById(id).getBoundingClientRect().toJSON();
    return {
      scrollW: document.documentElement.scrollWidth, scrollH: document.documentElement.scrollHeight,
      map: box('map'), index: box('index'), details: box('details'), stats: box('stats'), malloc: box('form-malloc'),
    };
  });
  assert.ok(layout.scrollW <= 1366 && layout.scrollH <= 768, `page is ${layout.scrollW}x${layout.scrollH}`);
  for (const k of ['map', 'index', 'details', 'stats', 'malloc']) {
    const b = layout[k];
    assert.ok(b.width > 100 && b.x >= 0 && b.x + b.width <= 1366 && b.y >= 0 && b.y < 768, `${k} visible: ${JSON.stringify(b)}`);
  }
  assert.ok(layout.map.width >= 600 && layout.map.height >= 250, `map ${layout.map.width}x${layout.map.height}`);
  await page.screenshot({ path: `${shots}/laptop-1366x768.png` });
});

test('long strings are shortened in the banner and the step log, and the banner wraps', { skip, timeout: 60000 }, async (t) => {
  const page = await openPage(t);
  // Neither the banner nor the step log is wider than its box, and neither
  // repeats a long string.
  const fits = async () => page.evaluate(() => {
    const ex = document.querySelector('#explain');
    const li = document.querySelector('#log li:last-child');
    return {
      banner: ex.textContent, bannerOver: ex.scrollWidth - ex.clientWidth,
      log: li.textContent, logOver: document.querySelector('#log').scrollWidth - document.querySelector('#log').clientWidth,
    };
  });
  await page.fill('#form-malloc input[name=size]', '3000');
  await page.fill('#form-malloc input[name=name]', 'big');
  await page.click('#form-malloc button');
  await page.waitForFunction(() => document.querySelector('#step-count').textContent === 'step 1 of 1');
  await page.click('#m-overflow');
  await page.waitForFunction(() => document.querySelector('#callout-title').textContent === 'Buffer overflow');
  let f = await fits();
  assert.match(f.banner, /^Step 2: strcpy\(big, "X{30}…X{8}" \/\* 3007 characters \*\/\);/);
  assert.ok(f.banner.length < 300 && f.bannerOver <= 0, `banner: ${f.bannerOver}px too wide, ${f.banner.length} characters`);
  assert.ok(f.log.length < 120 && f.logOver <= 0, `log: ${f.logOver}px too wide: ${f.log.slice(0, 100)}`);
  await page.fill('#form-write input[name=text]', 'y'.repeat(3010));
  await page.click('#form-write button[type=submit]');
  await page.waitForFunction(() => document.querySelector('#step-count').textContent === 'step 3 of 3');
  f = await fits();
  assert.match(f.banner, /^Step 3: strcpy\(big, "y{30}…y{8}" \/\* 3010 characters \*\/\);/);
  assert.ok(f.bannerOver <= 0 && f.logOver <= 0, JSON.stringify({ banner: f.bannerOver, log: f.logOver }));
  // A long word the page does not shorten (a pointer's name) wraps.
  await hook(page, () => window.__lmalloc.apply({ op: 'malloc', name: 'n'.repeat(400), size: 10 }));
  f = await fits();
  assert.ok(f.banner.includes('n'.repeat(400)));
  assert.ok(f.bannerOver <= 0, `banner ${f.bannerOver}px too wide`);
  await page.screenshot({ path: `${shots}/long-strings.png` });
});

test('zoom out stops at the whole memory in one row, and its button is disabled there', { skip, timeout: 60000 }, async (t) => {
  const page = await openPage(t);
  await hook(page, () => window.__lmalloc.apply({ op: 'malloc', name: 'a', size: 200000 })); // a few pages
  let presses = 0;
  while (presses < 30 && !(await page.isDisabled('#zoom-out'))) {
    await page.click('#zoom-out');
    await hook(page, () => window.__lmalloc.redraw());
    presses++;
  }
  assert.ok(presses < 30, 'the button is disabled before thirty presses');
  const { view, memory } = await hook(page, () => ({ view: window.__lmalloc.view, memory: window.__lmalloc.snapshot().memoryBytes }));
  assert.ok(view.rowUnits >= memory && view.rowUnits - memory < 256, `${view.rowUnits} bytes per row for ${memory}`);
  assert.doesNotMatch(await page.locator('#zoom-level').textContent(), /GiB/);
  // The key does no more than the button did.
  await page.focus('#map');
  for (let k = 0; k < 5; k++) await page.keyboard.press('-');
  await hook(page, () => window.__lmalloc.redraw());
  assert.equal((await hook(page, () => window.__lmalloc.view)).rowUnits, view.rowUnits);
  assert.equal(await page.isDisabled('#zoom-in'), false);
  await page.click('#zoom-in');
  await hook(page, () => window.__lmalloc.redraw());
  assert.equal(await page.isDisabled('#zoom-out'), false);
});

test('no stale text: a read follows its block, a click outside the heap clears the selection, Reset clears both', { skip, timeout: 60000 }, async (t) => {
  const page = await openPage(t);
  const steps = (n) => page.waitForFunction((k) => document.querySelector('#step-count').textContent === `step ${k} of ${k}`, n);
  const text = (sel) => page.locator(sel).textContent();
  await page.fill('#form-malloc input[name=size]', '300');
  await page.fill('#form-malloc input[name=name]', 'a');
  await page.click('#form-malloc button');
  await page.fill('#form-malloc input[name=name]', 'b');
  await page.click('#form-malloc button');
  await steps(2);
  await page.click('#pointers button[data-name="a"]');
  await page.fill('#form-write input[name=text]', 'hello');
  await page.click('#form-write button[type=submit]');
  await steps(3);
  await page.click('#do-read');
  assert.equal(await text('#read-result'), 'read: "hello"');
  // A write to the block read shows in the result; freeing the block clears it.
  await page.fill('#form-write input[name=text]', 'world');
  await page.click('#form-write button[type=submit]');
  await steps(4);
  assert.equal(await text('#read-result'), 'read: "world"');
  await page.click('#do-free');
  await steps(5);
  assert.equal(await text('#read-result'), '');

  // A click on static data selects nothing: free(p) then asks for a block.
  const b = await hook(page, () => window.__lmalloc.session.vars.get('b').addr);
  const at = await hook(page, (p) => window.__lmalloc.locate(p), b);
  await page.mouse.click(at.x, at.y);
  await page.waitForFunction(() => document.querySelector('#details h3')?.textContent === 'block "b"');
  assert.equal(await text('#target'), 'p = b (live)');
  const data = await hook(page, async () => {
    await window.__lmalloc.setView({ auto: true });
    const { dataStart, dataEnd } = window.__lmalloc.session.place;
    return window.__lmalloc.anchor((dataStart + dataEnd) >> 1);
  });
  await page.mouse.click(data.x, data.y + data.h / 2);
  await page.waitForFunction(() => window.__lmalloc.selected === null);
  assert.equal(await text('#target'), 'none: click one');
  assert.match(await text('#map-status'), /^nothing selected: 0x[0-9a-f]+ is not in a heap block$/);
  await page.click('#do-free');
  await page.waitForFunction(() => !document.querySelector('#callout').hidden);
  assert.match(await text('#callout-text'), /Choose a block first/);
  assert.equal(await text('#step-count'), 'step 5 of 5', 'nothing was freed');
  assert.equal(await hook(page, (p) => window.__lmalloc.blocks().find((e) => e.ptr === p).used, b), true);

  // Reset: no line about an old block under the map, no old read.
  await page.click('#pointers button[data-name="b"]');
  await page.click('#do-read');
  assert.equal(await text('#read-result'), 'read: ""');
  assert.match(await text('#map-status'), /block "b"/);
  await page.click('#reset');
  await page.waitForFunction(() => document.querySelector('#step-count').textContent === 'step 0 of 0');
  assert.equal(await text('#map-status'), '');
  assert.equal(await text('#read-result'), '');
  assert.equal(await text('#target'), 'none: click one');
});

test('the byte-count fields show six digits whole', { skip, timeout: 60000 }, async (t) => {
  const page = await openPage(t);
  await page.fill('#form-arena input[name=chunk]', '200000');
  const fields = await page.evaluate(() => ['#form-heap input[name=bytes]', '#form-arena input[name=chunk]'].map((sel) => {
    const i = document.querySelector(sel);
    const close = i.nextElementSibling.getBoundingClientRect(); // the C text after it: "), …)" or ")"
    return { sel, value: i.value, over: i.scrollWidth - i.clientWidth, sameLine: Math.abs(close.top - i.getBoundingClientRect().top) < 8 };
  }));
  assert.deepEqual(fields.map((f) => f.value), ['16384', '200000']);
  for (const f of fields) {
    assert.ok(f.over <= 0, `${f.sel}: "${f.value}" is ${f.over}px wider than the field`);
    assert.ok(f.sameLine, `${f.sel}: the C call stays on one line`);
  }
});
