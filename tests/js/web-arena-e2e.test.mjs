// Heaps and arenas in the real playground page (headless Chromium, as in
// web-e2e.test.mjs): the per-frame arena scenario played through its
// controls, its labelled region found on the canvas (by the page's drawn
// tags, by clicking, and by the pixels painted there), the stats and
// chart's figures, an arena mistake refused in place, and a created heap
// made, used and destroyed through the controls. Screenshots go to
// build/test-artifacts/web/.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { STYLES } from '../../web/styles.mjs';
import { browserSuite } from '../web/helpers.mjs';

const { skip, shots, open: openPage } = await browserSuite();

const hook = (page, fn, arg) => page.evaluate(fn, arg);
const stepIs = (page, text) => page.waitForFunction((t) => document.querySelector('#step-count').textContent === t, text);
const rgb = (hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));

// The colour painted on the map canvas at client point (x, y).
const pixel = (page, { x, y }) => hook(page, ({ x, y }) => {
  const c = document.getElementById('map');
  const r = c.getBoundingClientRect();
  const k = c.width / r.width;
  const d = c.getContext('2d').getImageData(Math.round((x - r.left) * k), Math.round((y - r.top) * k), 1, 1).data;
  return [d[0], d[1], d[2]];
}, { x, y });

test('per-frame arena: the arena is a labelled region that keeps its 2 pages frame after frame', { skip, timeout: 90000 }, async (t) => {
  const page = await openPage(t);
  await page.selectOption('#scenario-select', 'arena');
  await page.click('#scenario-next');
  await page.waitForFunction(() => document.querySelector('#scenario-pos').textContent === '1/11');
  assert.match(await page.locator('#explain').textContent(), /^Step 1: frame = lm_arena_create\(0\);.*own framed, labelled region/);
  await hook(page, () => window.__lmalloc.redraw());
  let tags = await hook(page, () => window.__lmalloc.lastDraw.tags);
  assert.deepEqual(tags.map((x) => x.text), ['arena frame: 1 page, 0 B used']);

  await page.click('#scenario-all');
  await page.waitForFunction(() => document.querySelector('#scenario-pos').textContent === '11/11');
  assert.equal(await page.locator('#log .kind').count(), 0, 'no step refused');
  // Back to the end of frame 8, before the arena is destroyed.
  await page.click('#undo');
  await stepIs(page, 'step 10 of 11');
  await page.click('#undo');
  await stepIs(page, 'step 9 of 11');
  await hook(page, () => window.__lmalloc.redraw());

  const state = await hook(page, () => {
    const s = window.__lmalloc.session;
    const snap = window.__lmalloc.snapshot();
    return {
      info: s.arenas.get('frame').arena.info(),
      held: snap.history.map((h) => h.arenaHeldBytes ?? null),
      memory: snap.history.map((h) => h.memoryBytes),
      grows: snap.grows.map((g) => g.step),
      regions: snap.regions.filter((r) => r.kind === 'arena').map((r) => [r.start, r.end]),
      check: snap.check,
      defaultCheck: s.heap.check(),
      tags: window.__lmalloc.lastDraw.tags,
      frames: window.__lmalloc.lastDraw.regionFrames,
    };
  });
  assert.equal(state.info.pages, 2);
  assert.deepEqual(state.held.slice(2), Array(8).fill(2 * 65536), 'the arena holds the same 2 pages after every frame');
  assert.deepEqual(state.memory.slice(2), Array(8).fill(state.memory[2]), 'no memory.grow after frame 1');
  assert.deepEqual([...new Set(state.grows)], [1, 2]);
  assert.equal(state.check + state.defaultCheck, 0);
  // The labelled region drawn on the canvas is the arena's pages.
  const arenaTags = state.tags.filter((x) => x.tag === 'arena' && x.name === 'frame');
  assert.match(arenaTags[0].text, /^arena frame: 2 pages, [\d.]+ KiB used$/);
  assert.equal(arenaTags[1].text, 'arena frame: chunk 2 of 2');
  assert.deepEqual(arenaTags.map((x) => [x.start, x.end]), state.regions);
  assert.equal(state.regions.reduce((n, [a, b]) => n + b - a, 0), state.info.heldBytes);
  assert.ok(state.frames >= 2, `${state.frames} region frames drawn`);
  const statCell = page.locator('#stats td[data-stat="arena:frame"]');
  assert.equal(await statCell.getAttribute('data-value'), String(2 * 65536));
  assert.match(await statCell.textContent(), /^2 pages · [\d.]+ KiB used · peak 65.9 KiB$/);

  // Hit-test the canvas: an allocation well inside the first chunk (past
  // the tag) is painted in the arena allocations' colour, and a click on
  // it selects it.
  const tmp = await hook(page, () => window.__lmalloc.session.vars.get('tmp').addrs[400]);
  const at = await hook(page, (p) => window.__lmalloc.locate(p), tmp);
  const painted = await pixel(page, at);
  const want = rgb(STYLES.bump.fill);
  assert.ok(painted.every((v, i) => Math.abs(v - want[i]) <= 12), `pixel ${painted} at tmp[400], want ${want}`);
  await page.mouse.click(at.x, at.y);
  await page.waitForFunction(() => document.querySelector('#details h3')?.textContent === 'arena allocation "tmp[400]"');
  assert.match(await page.locator('#details dd[data-field="arena"]').textContent(), /^frame: [\d.]+ KiB used of 128 KiB \(2 pages, 2 chunks\)/);
  assert.equal(await page.inputValue('#arena-select'), 'frame');

  // Its tag: a click there selects the chunk.
  const box = await hook(page, () => document.getElementById('map').getBoundingClientRect().toJSON());
  await page.mouse.click(box.x + arenaTags[0].x + 4, box.y + arenaTags[0].y);
  await page.waitForFunction(() => document.querySelector('#details h3')?.textContent === 'arena frame: chunk 1 of 2');
  await page.screenshot({ path: `${shots}/scenario-arena.png` });

  // A mistake on an arena allocation: free(p) is refused and explained.
  await page.mouse.click(at.x, at.y);
  await page.waitForFunction(() => document.querySelector('#details h3')?.textContent === 'arena allocation "tmp[400]"');
  await page.click('#do-free');
  await page.waitForFunction(() => document.querySelector('#callout-title').textContent === 'Free of an arena allocation');
  assert.match(await page.locator('#callout-text').textContent(), /lm_arena_reset\(frame\) frees all of them at once/);
  assert.equal(await page.locator('#log li:last-child .kind').textContent(), 'refused');
  assert.equal(await hook(page, () => window.__lmalloc.snapshot().check), 0);
  await page.screenshot({ path: `${shots}/arena-free-refused.png` });
});

test('a created heap through the controls: its own region, its blocks inside, destroyed at once', { skip, timeout: 90000 }, async (t) => {
  const page = await openPage(t);
  await page.fill('#form-malloc input[name=size]', '300');
  await page.click('#form-malloc button');
  await page.fill('#form-heap input[name=bytes]', '16384');
  await page.click('#form-heap button[type=submit]');
  await stepIs(page, 'step 2 of 2');
  assert.equal(await page.inputValue('#alloc-heap'), 'h', 'the new heap is chosen for the next allocations');
  await page.fill('#form-malloc input[name=size]', '1000');
  await page.fill('#form-malloc input[name=name]', 'inh');
  await page.click('#form-malloc button');
  await stepIs(page, 'step 3 of 3');
  assert.equal(await page.locator('#log li:last-child code').textContent(), 'inh = lm_heap_malloc(h, 1000);');
  await hook(page, () => window.__lmalloc.redraw());
  const tag = (await hook(page, () => window.__lmalloc.lastDraw.tags)).find((x) => x.tag === 'heap');
  assert.equal(tag.text, 'heap h: 16 KiB fixed, 1 block, 1000 B in use');
  assert.equal(await page.locator('#details h3').textContent(), 'heap h: block "inh"');
  // free(p) on its block runs on its heap.
  await page.click('#do-free');
  await stepIs(page, 'step 4 of 4');
  assert.equal(await page.locator('#log li:last-child code').textContent(), 'lm_heap_free(h, inh);');
  assert.equal(await page.locator('#log li:last-child .kind').count(), 0);
  await page.click('#heap-destroy');
  await stepIs(page, 'step 5 of 5');
  assert.equal(await page.locator('#log li:last-child code').textContent(), 'lm_heap_destroy(h); free(h_mem);');
  assert.equal(await page.inputValue('#alloc-heap'), '');
  await hook(page, () => window.__lmalloc.redraw());
  assert.deepEqual(await hook(page, () => window.__lmalloc.lastDraw.tags), []);
  assert.equal(await hook(page, () => window.__lmalloc.snapshot().check), 0);
  await page.click('#undo');
  await stepIs(page, 'step 4 of 5');
  await hook(page, () => window.__lmalloc.redraw());
  assert.equal((await hook(page, () => window.__lmalloc.lastDraw.tags))[0]?.text, 'heap h: 16 KiB fixed, 0 blocks, 0 B in use');
  await page.screenshot({ path: `${shots}/created-heap.png` });
});
