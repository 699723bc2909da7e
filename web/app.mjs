// The playground page: loads lmalloc-heaps.wasm (session.mjs WASM_FILE:
// the release core with heaps and arenas) through the project's JS API
// (wasm/lmalloc.mjs), drives a Session (session.mjs) from the controls, and
// draws each snapshot with the pure layouts (render.mjs, index-view.mjs,
// chart.mjs) through draw.mjs. This file owns the DOM and nothing else: no
// heap decoding and no layout arithmetic happen here.
//
// Test hook: window.__lmalloc (see the end of the file) lets the end-to-end
// tests drive the session and compare what the page shows with what the
// heap holds.

import { createHeap } from '../wasm/lmalloc.mjs';
import { chartLayout, SERIES } from './chart.mjs';
import { describeEntry, dumpStart } from './details.mjs';
import { draw, paintSwatch } from './draw.mjs';
import { formatBytes, hex, quoteShort } from './heap-layout.mjs';
import { describeIndexRef, indexHit, indexLayout, related } from './index-view.mjs';
import { prepareCanvas } from './map-view.mjs';
import {
  BAR, MIN_ROW_UNITS, PITCH, TOP, buildTrack, clampScroll, fitRowUnits, hitTest, layout, locate, maxRowUnits, neighbour,
  pointToAddress, unitOf, widestSegment, zoomAt,
} from './render.mjs';
import { SCENARIOS, scenario } from './scenarios.mjs';
import { Session, WASM_FILE } from './session.mjs';
import { sessionTrace } from './session-trace.mjs';
import { ShareError, decodeShare, encodeShare, parseHash } from './share.mjs';
import { writeTrace } from './trace.mjs';
import { entryAt, entryStart } from './snapshot.mjs';
import { fillDetails, fillLog, fillPointers, fillStats } from './panels.mjs';
import { LEGEND, STYLES } from './styles.mjs';

const $ = (id) => document.getElementById(id);
const statusEl = $('status');
const explainEl = $('explain');
const undoEl = $('undo');
const redoEl = $('redo');
const resetEl = $('reset');
const stepCountEl = $('step-count');
const scenarioSelectEl = $('scenario-select');
const scenarioNextEl = $('scenario-next');
const scenarioAllEl = $('scenario-all');
const scenarioPosEl = $('scenario-pos');
const targetEl = $('target');
const pointersEl = $('pointers');
const logEl = $('log');
const mapWrapEl = $('map-wrap');
const mapEl = $('map');
const mapStatusEl = $('map-status');
const calloutEl = $('callout');
const calloutTitleEl = $('callout-title');
const calloutTextEl = $('callout-text');
const indexEl = $('index');
const indexStatusEl = $('index-status');
const detailsEl = $('details');
const statsEl = $('stats');
const chartEl = $('chart');
const zoomLevelEl = $('zoom-level');
const zoomInEl = $('zoom-in');
const zoomOutEl = $('zoom-out');
const compressEl = $('compress');
const readResultEl = $('read-result');
const allocHeapEl = $('alloc-heap');
const arenaSelectEl = $('arena-select');

const state = {
  session: null,
  snap: null,
  view: { rowUnits: 4096, scrollY: 0, compress: false, auto: true },
  selectedAt: -1, // entry start address of the selection (stable across steps)
  selected: -1, // its entry index in the current snapshot
  target: null, // the step target for the selected block: { ref, index } | { addr }
  hover: -1,
  indexRef: null,
  indexLayout: null,
  geometry: null,
  callout: null, // { at, kind, title, text }
  read: null, // the last read: { addr, id (its allocation's, if live), version }
  scenarioId: SCENARIOS[0].id,
  scenarioStart: 0,
  lastDraw: { instructions: 0, ms: 0, frames: 0, layoutMs: 0 },
  busy: false,
};

const TITLES = {
  DoubleFreeError: 'Double free',
  InvalidPointerError: 'Invalid free: not a block start',
  UseAfterFreeError: 'Write after free',
  Overflow: 'Buffer overflow',
  WriteToReused: 'Use after free: the memory was reused',
  FreeOfReused: 'Free through a dangling pointer',
  NullPointer: 'NULL pointer',
  StepError: 'Cannot do that',
  AllocationError: 'Out of memory',
  InvalidSizeError: 'Invalid size',
  InvalidAlignmentError: 'Invalid alignment',
  ArenaFree: 'Free of an arena allocation',
  WrongHeap: 'Free on the wrong heap',
  HeapInUse: 'This block holds a heap',
  UseAfterReset: 'Use after the arena\'s reset',
  DestroyedError: 'Destroyed heap or arena',
  HeapCorruptionError: 'Heap corruption',
};

// --- canvases ------------------------------------------------------------------

const canvases = new Map(); // canvas -> { ctx, patterns, w, h }
const prepare = (canvas) => prepareCanvas(canvas, canvases);

let frameRequested = false;
function invalidate() {
  if (frameRequested) return;
  frameRequested = true;
  requestAnimationFrame(frame);
}

const drawn = []; // resolvers waiting for the next frame (test hook)

function frame() {
  frameRequested = false;
  if (!state.snap) return;
  const t0 = performance.now();
  const snap = state.snap;
  const m = prepare(mapEl);
  const track = buildTrack(snap, state.view.compress);
  if (state.view.auto) {
    state.view.rowUnits = fitRowUnits(track, m.h);
    state.view.scrollY = 0;
  }
  // Zoom limits: at most the whole memory in one row (compressing the
  // free space shortens the memory, so the limit moves).
  const widest = maxRowUnits(track);
  state.view.rowUnits = Math.min(state.view.rowUnits, widest);
  zoomOutEl.disabled = state.view.rowUnits >= widest;
  zoomInEl.disabled = state.view.rowUnits <= MIN_ROW_UNITS;
  const indexRel = state.indexRef ? related(snap, { ref: state.indexRef }) : null;
  const { instructions, geometry } = layout(snap, {
    width: m.w, height: m.h, rowUnits: state.view.rowUnits, scrollY: state.view.scrollY,
    compress: state.view.compress, selected: state.selected, hover: state.hover,
    highlight: indexRel?.entries,
  });
  const t1 = performance.now();
  state.geometry = geometry;
  const clamped = clampScroll(geometry, state.view.scrollY);
  if (clamped !== state.view.scrollY && !state.view.auto) {
    state.view.scrollY = clamped;
    frameRequested = false;
    invalidate();
  }
  draw(m.ctx, instructions, m.patterns);
  const t2 = performance.now();
  zoomLevelEl.textContent = `${formatBytes(state.view.rowUnits)} per row${state.view.compress ? ' (compressed)' : ''}`;

  // Free-space index: related classes and slabs of the hovered entry.
  const mapRel = state.hover >= 0 ? related(snap, { entry: state.hover }) : related(snap, { entry: state.selected });
  const ic = prepare(indexEl);
  state.indexLayout = indexLayout(snap, { width: ic.w, highlightClasses: mapRel.classes, highlightSlabs: mapRel.slabs });
  draw(ic.ctx, state.indexLayout.instructions, ic.patterns);

  const cc = prepare(chartEl);
  draw(cc.ctx, chartLayout(snap.history, { width: cc.w, height: cc.h, grows: snap.grows }), cc.patterns);

  placeCallout();
  const outlined = (list) => new Set(list.filter((d) => d.outline === 'highlight').map((d) => d.ref ?? `${d.x},${d.y}`)).size;
  state.lastDraw = {
    instructions: instructions.length, layoutMs: t1 - t0, mapMs: t2 - t0, ms: performance.now() - t0,
    frames: state.lastDraw.frames + 1,
    mapHighlights: outlined(instructions), indexHighlights: outlined(state.indexLayout.instructions),
    // The labelled regions drawn (created heaps, arena chunks): their tags
    // and frames, in canvas pixels.
    tags: instructions.filter((d) => d.kind === 'label' && d.tag).map(({ tag, name, text, x, y, start, end }) => ({ tag, name, text, x, y, start, end })),
    regionFrames: instructions.filter((d) => d.kind === 'outline' && (d.outline === 'arena' || d.outline === 'heap')).length,
  };
  for (const resolve of drawn.splice(0)) resolve(state.lastDraw);
}

// --- after every change ------------------------------------------------------------

function refresh() {
  const s = state.session;
  state.snap = s.snapshot();
  const snap = state.snap;
  state.selected = state.selectedAt >= 0 ? entryAt(snap, state.selectedAt) : -1;
  if (state.selected >= 0 && entryStart(snap.entries[state.selected]) !== state.selectedAt) {
    // The block merged or moved: keep the selection on what covers the address.
    state.selectedAt = entryStart(snap.entries[state.selected]);
  }
  state.hover = -1;
  if (state.target?.ref !== undefined && !s.vars.has(state.target.ref)) {
    // Undo removed the pointer: fall back to whichever pointer holds the block.
    const e = snap.entries[state.selected];
    state.target = e && e.kind !== 'slab' && e.kind !== 'chunk' ? s.targetFor(e.ptr) : null;
  }

  undoEl.disabled = !s.canUndo || state.busy;
  redoEl.disabled = !s.canRedo || state.busy;
  stepCountEl.textContent = `step ${s.cursor} of ${s.steps.length}`;
  renderScenarioPos();
  renderExplain();
  renderPointers();
  renderLog();
  renderStats();
  renderDetails();
  renderTarget();
  renderRead();
  renderHeapControls();
  invalidate();
}

// The result of "read" stays while its block is the same live allocation
// (read again after each change, so a write shows); it goes when that
// allocation is freed or replaced, or, for a read that found none, at the
// next change.
function renderRead() {
  const r = state.read;
  const s = state.session;
  if (r && r.version !== s.version) {
    if (r.id === undefined || s.meta.get(r.addr)?.id !== r.id) state.read = null;
    else r.version = s.version;
  }
  if (!state.read) {
    readResultEl.textContent = '';
    return;
  }
  try {
    readResultEl.textContent = `read: ${quoteShort(s.readString(r.addr), 60)}`;
  } catch (err) {
    readResultEl.textContent = `refused: ${err.message}`;
  }
}

// The heap and arena choosers list the live heaps and arenas.
function renderHeapControls() {
  const handles = state.snap.handles ?? [];
  const fill = (selectEl, kind, first) => {
    const keep = selectEl.value;
    const live = handles.filter((h) => h.kind === kind && h.alive);
    const options = live.map((h) => {
      const o = document.createElement('option');
      o.value = h.name;
      o.textContent = kind === 'heap' ? `heap ${h.name} (lm_heap_malloc)` : h.name;
      return o;
    });
    if (first) options.unshift(first);
    selectEl.replaceChildren(...options);
    if ([...selectEl.options].some((o) => o.value === keep)) selectEl.value = keep;
    return live.length;
  };
  const def = document.createElement('option');
  def.value = '';
  def.textContent = 'the default heap (malloc)';
  const heaps = fill(allocHeapEl, 'heap', def);
  const arenas = fill(arenaSelectEl, 'arena', null);
  // A heap or arena just created becomes the one chosen.
  for (const el of [allocHeapEl, arenaSelectEl]) {
    if (el.dataset.want && [...el.options].some((o) => o.value === el.dataset.want)) el.value = el.dataset.want;
    delete el.dataset.want;
  }
  $('heap-destroy').disabled = state.busy || !heaps || !allocHeapEl.value;
  for (const id of ['arena-reset', 'arena-destroy']) $(id).disabled = state.busy || !arenas;
  $('form-arena-alloc').querySelector('button').disabled = state.busy || !arenas;
}

function renderExplain() {
  const s = state.session;
  explainEl.replaceChildren();
  const sc = scenario(state.scenarioId);
  if (s.cursor === 0) {
    explainEl.append(`Allocate, free and write through the controls on the left, or play a scenario. ${sc ? `"${sc.title}": ${sc.intro}` : ''}`);
    return;
  }
  const step = s.steps[s.cursor - 1];
  const r = step.result ?? {};
  const code = document.createElement('code');
  code.textContent = r.code ?? '';
  explainEl.append(`Step ${s.cursor}: `, code, ' ');
  if (r.say) explainEl.append(r.say);
  else if (r.text) explainEl.append(r.text);
}

function renderPointers() {
  fillPointers(pointersEl, state.snap, {
    pick: (target, addr) => selectTarget(target, addr),
    pickEntry: (i) => select(i),
  });
}

function renderLog() {
  fillLog(logEl, state.session.log());
}

function renderStats() {
  fillStats(statsEl, state.snap);
}

function renderDetails() {
  const snap = state.snap;
  const i = state.selected;
  const e = snap.entries[i];
  fillDetails(detailsEl, e ? describeEntry(snap, i, state.session.peek(dumpStart(e), 64), state.session.log()) : null);
}

function renderTarget() {
  const t = state.target;
  if (!t) {
    targetEl.textContent = 'none: click one';
    return;
  }
  const e = state.snap.entries[state.selected];
  const name = t.addr !== undefined ? hex(t.addr) : t.index === undefined ? t.ref : `${t.ref}[${t.index}]`;
  const v = t.ref !== undefined ? state.snap.vars.find((x) => x.name === t.ref) : null;
  const st = v?.kind === 'ptr' ? v.state : e?.used ? 'live' : 'free';
  targetEl.textContent = `p = ${name} (${st})`;
}

function renderScenarioPos() {
  const sc = scenario(state.scenarioId);
  const pos = scenarioPos();
  scenarioPosEl.textContent = pos < 0 ? '' : `${pos}/${sc.steps.length}`;
  scenarioNextEl.disabled = state.busy || pos >= sc.steps.length;
  scenarioAllEl.disabled = state.busy || pos >= sc.steps.length;
}

// How many steps of the chosen scenario have been applied, in order, from
// where it started; -1 when the steps since then are not the scenario's.
function scenarioPos() {
  const s = state.session;
  const sc = scenario(state.scenarioId);
  let k = 0;
  while (state.scenarioStart + k < s.cursor && k < sc.steps.length && s.steps[state.scenarioStart + k].op === sc.steps[k]) k++;
  return state.scenarioStart + k === s.cursor ? k : -1;
}

// --- selection, hover, callouts ----------------------------------------------------

function select(i, { scroll = true, target } = {}) {
  const snap = state.snap;
  state.selected = i;
  state.selectedAt = i >= 0 ? entryStart(snap.entries[i]) : -1;
  const e = snap.entries[i];
  state.target = target ?? (e && e.kind !== 'slab' && e.kind !== 'chunk' ? state.session.targetFor(e.ptr) : null);
  if (e?.arenaName && [...arenaSelectEl.options].some((o) => o.value === e.arenaName)) arenaSelectEl.value = e.arenaName;
  if (scroll && i >= 0) scrollToAddress(state.selectedAt);
  renderDetails();
  renderTarget();
  announce();
  invalidate();
}

function selectTarget(target, addr) {
  const i = addr ? entryAt(state.snap, addr) : -1;
  select(i, { target });
}

function announce() {
  const e = state.snap.entries[state.selected];
  mapStatusEl.textContent = e ? summary(e) : '';
}

function summary(e) {
  const where = e.heapName !== undefined ? `heap ${e.heapName}: ` : '';
  if (e.kind === 'chunk') return `arena ${e.arenaName}: chunk ${e.chunkIndex + 1} of ${e.chunkCount} at ${hex(e.header)}, ${e.size / 65536} page${e.size === 65536 ? '' : 's'}`;
  if (e.kind === 'bump') return `arena ${e.arenaName}: allocation "${e.label ?? ''}" at ${hex(e.ptr)}, ${e.requested ?? '?'}/${e.size} bytes`;
  if (e.heapBuffer !== undefined) return `block at ${hex(e.ptr)} holding heap ${e.heapBuffer}, ${e.size} bytes`;
  return where + summaryOf(e);
}

function summaryOf(e) {
  if (e.kind === 'object') return `${e.used ? `object "${e.label ?? ''}"` : 'free object'} at ${hex(e.ptr)}, ${e.requested ?? e.size}/${e.size} bytes${e.leaked ? ', LEAKED' : ''}`;
  if (e.kind === 'slab') return `slab at ${hex(e.ptr)}: ${e.slabInfo.used}/${e.slabInfo.capacity} objects of ${e.slabInfo.size} bytes`;
  if (!e.used) return `${e.top ? 'top block' : 'free block'} at ${hex(e.header)}, ${e.size} bytes${e.top ? '' : `, class ${e.cls}`}`;
  return `block "${e.label ?? ''}" at ${hex(e.ptr)}: ${e.requested ?? '?'} requested, ${e.usable} usable${e.leaked ? ', LEAKED' : ''}`;
}

function scrollToAddress(addr) {
  if (!state.geometry || state.view.auto) return;
  const g = state.geometry;
  const { y } = locate(g, addr); // on screen, with the geometry's scroll
  if (y < BAR || y > g.height - PITCH) {
    state.view.scrollY = Math.max(0, y + g.scrollY - g.height / 3);
  }
}

function showCallout(result) {
  if (!result || (result.kind !== 'error' && result.kind !== 'leak')) {
    state.callout = null;
    calloutEl.hidden = true;
    return;
  }
  const title = result.kind === 'leak' ? 'Memory leak' : TITLES[result.error] ?? result.error ?? 'Refused';
  state.callout = { at: result.at, kind: result.kind, title, text: result.explain ?? result.text };
  calloutTitleEl.textContent = title;
  calloutTextEl.textContent = state.callout.text;
  calloutEl.className = `callout ${result.kind}`;
  calloutEl.hidden = false;
  if (result.at !== undefined) scrollToAddress(result.at);
}

// Where a message about `addr` points: into the widest piece of the block
// holding it (a block may wrap over two rows).
function anchor(addr) {
  const g = state.geometry;
  const i = entryAt(state.snap, addr);
  if (i < 0) return locate(g, addr);
  const e = state.snap.entries[i];
  const start = entryStart(e);
  const best = widestSegment(g, start, start + e.size);
  return best ? { x: best.x0 + Math.min(24, (best.x1 - best.x0) / 2), y: best.y, row: best.row } : locate(g, addr);
}

function placeCallout() {
  const c = state.callout;
  if (!c || calloutEl.hidden) return;
  const g = state.geometry;
  const w = mapWrapEl.clientWidth;
  const h = mapWrapEl.clientHeight;
  let x = 40;
  let y = 30;
  let above = false;
  if (c.at !== undefined && g) {
    const at = anchor(c.at);
    x = at.x - 18;
    y = at.y + BAR + 10;
    const ch = calloutEl.offsetHeight || 120;
    if (y + ch > h && at.y - ch - 10 > 0) {
      y = at.y - ch - 10;
      above = true;
    }
  }
  const cw = calloutEl.offsetWidth || 360;
  const left = Math.max(4, Math.min(x, w - cw - 4));
  calloutEl.style.left = `${left}px`;
  calloutEl.style.setProperty('--arrow-x', `${Math.max(6, Math.min(cw - 24, x + 18 - left - 8))}px`);
  calloutEl.style.top = `${Math.max(4, Math.min(y, h - 40))}px`;
  calloutEl.classList.toggle('above', above);
}

// --- running steps --------------------------------------------------------------

async function run(work) {
  if (state.busy) return null;
  state.busy = true;
  statusEl.textContent = 'working…';
  statusEl.classList.remove('error');
  let result = null;
  try {
    result = await work();
    statusEl.textContent = 'ready';
  } catch (e) {
    statusEl.textContent = `error: ${e.message}`;
    statusEl.classList.add('error');
    console.error(e);
  } finally {
    state.busy = false;
  }
  refresh();
  return result;
}

function afterStep(result) {
  const op = state.session.steps[state.session.cursor - 1]?.op;
  if (op?.focus) focus(op.focus);
  refresh();
  showCallout(result);
  if (result?.ptr !== undefined && result.kind === 'info') {
    const i = entryAt(state.snap, result.ptr);
    if (i >= 0) select(i);
  } else if (result?.at !== undefined) {
    const i = entryAt(state.snap, result.at);
    if (i >= 0 && state.selected !== i && result.kind !== 'info') select(i, { target: state.target ?? undefined });
  }
  if (result?.kind === 'info' && result.text) mapStatusEl.textContent = result.text;
  invalidate();
  return result;
}

function apply(op) {
  return run(async () => afterStep(state.session.apply(op)));
}

function applyAll(ops) {
  return run(async () => {
    let last = null;
    for (const op of ops) {
      last = state.session.apply(op);
      if (last.kind === 'error') break;
    }
    return afterStep(last);
  });
}

// An allocation step on the heap chosen under "Allocate in".
function inHeap(op) {
  return allocHeapEl.value ? { ...op, heap: allocHeapEl.value } : op;
}

// free and realloc on the heap that allocated the target's block (a
// created heap's block needs lm_heap_free(h, p)).
function onOwner(op) {
  const heap = state.session.heapOf(op.target);
  return heap ? { ...op, heap } : op;
}

// A free name for a heap or an arena: base, base2, ...
function handleName(base) {
  const used = new Set([...state.session.vars.keys(), ...(state.snap.handles ?? []).filter((h) => h.alive).map((h) => h.name)]);
  let k = 1;
  while (used.has(k === 1 ? base : `${base}${k}`)) k++;
  return k === 1 ? base : `${base}${k}`;
}

function autoName() {
  const used = new Set(state.session.vars.keys());
  let k = 1;
  while (used.has(`p${k}`)) k++;
  return `p${k}`;
}

function needTarget() {
  if (state.target) return state.target;
  showCallout({ kind: 'error', error: 'StepError', explain: 'Choose a block first: click it in the map, or pick a named pointer on the left.' });
  return null;
}

function targetInfo() {
  const t = state.target;
  if (!t || t.ref === undefined) return { state: t ? 'raw' : 'none' };
  const v = state.snap.vars.find((x) => x.name === t.ref);
  if (!v) return { state: 'none' };
  if (v.kind === 'array') return { state: 'element' };
  return { state: v.state };
}

function usableOfTarget() {
  const e = state.snap.entries[state.selected];
  return e ? e.usable : 16;
}

// --- wiring ----------------------------------------------------------------------

function formValues(form) {
  return Object.fromEntries(new FormData(form).entries());
}

function wire() {
  $('form-malloc').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const v = formValues(ev.target);
    apply(inHeap({ op: 'malloc', size: Number(v.size), name: v.name.trim() || autoName() }));
  });
  $('form-calloc').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const v = formValues(ev.target);
    apply(inHeap({ op: 'calloc', count: Number(v.count), size: Number(v.size), name: v.name.trim() || autoName() }));
  });
  $('form-aligned').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const v = formValues(ev.target);
    apply(inHeap({ op: 'aligned', align: Number(v.align), size: Number(v.size), name: v.name.trim() || autoName() }));
  });
  $('form-realloc').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const t = needTarget();
    if (t) apply(onOwner({ op: 'realloc', target: t, size: Number(formValues(ev.target).size) }));
  });
  $('do-free').addEventListener('click', () => {
    const t = needTarget();
    if (t) apply(onOwner({ op: 'free', target: t }));
  });
  $('form-write').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const t = needTarget();
    if (t) apply({ op: 'write', target: t, text: formValues(ev.target).text });
  });
  $('do-read').addEventListener('click', () => {
    const t = needTarget();
    if (!t) return;
    const e = state.snap.entries[state.selected];
    const addr = t.addr ?? (t.ref !== undefined ? state.snap.vars.find((v) => v.name === t.ref)?.addr : e?.ptr) ?? e.ptr;
    const s = state.session;
    state.read = { addr, id: s.meta.get(addr)?.id, version: s.version };
    renderRead();
  });

  $('form-arena').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const v = formValues(ev.target);
    const name = v.name.trim() || handleName('frame');
    arenaSelectEl.dataset.want = name;
    apply({ op: 'arenaCreate', name, chunkBytes: Number(v.chunk) || 0 });
  });
  $('form-arena-alloc').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const v = formValues(ev.target);
    if (!v.arena) return;
    apply({ op: 'arenaAlloc', arena: v.arena, size: Number(v.size), name: v.name.trim() || autoName() });
  });
  $('arena-reset').addEventListener('click', () => arenaSelectEl.value && apply({ op: 'arenaReset', arena: arenaSelectEl.value }));
  $('arena-destroy').addEventListener('click', () => arenaSelectEl.value && apply({ op: 'arenaDestroy', arena: arenaSelectEl.value }));
  $('form-heap').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const v = formValues(ev.target);
    const name = v.name.trim() || handleName('h');
    allocHeapEl.dataset.want = name;
    apply({ op: 'heapCreate', name, bytes: Number(v.bytes) });
  });
  $('heap-destroy').addEventListener('click', () => allocHeapEl.value && apply({ op: 'heapDestroy', name: allocHeapEl.value }));
  allocHeapEl.addEventListener('change', () => renderHeapControls());

  $('m-double').addEventListener('click', () => {
    const t = needTarget();
    if (!t) return;
    const free = onOwner({ op: 'free', target: t });
    applyAll(targetInfo().state === 'live' || t.addr !== undefined ? [free, { ...free }] : [free]);
  });
  $('m-interior').addEventListener('click', () => {
    const t = needTarget();
    if (t) apply(onOwner({ op: 'free', target: t, offset: 8 }));
  });
  $('m-uaf').addEventListener('click', () => {
    const t = needTarget();
    if (!t) return;
    const write = { op: 'write', target: t, text: 'oops' };
    applyAll(targetInfo().state === 'live' ? [onOwner({ op: 'free', target: t }), write] : [write]);
  });
  $('m-overflow').addEventListener('click', () => {
    const t = needTarget();
    if (t) apply({ op: 'write', target: t, text: 'X'.repeat(usableOfTarget() + 7) });
  });
  $('m-leak').addEventListener('click', () => {
    const t = needTarget();
    if (!t) return;
    if (t.ref === undefined) {
      showCallout({ kind: 'error', error: 'StepError', at: t.addr, explain: 'No named pointer holds this block: there is no pointer left to lose.' });
      return;
    }
    apply({ op: 'assign', name: t.ref, index: t.index, value: null });
  });

  undoEl.addEventListener('click', undo);
  redoEl.addEventListener('click', redo);
  resetEl.addEventListener('click', () => run(async () => {
    await state.session.reset();
    state.scenarioStart = 0;
    select(-1, { scroll: false });
    showCallout(null);
  }));

  for (const sc of SCENARIOS) {
    const o = document.createElement('option');
    o.value = sc.id;
    o.textContent = sc.title;
    scenarioSelectEl.append(o);
  }
  scenarioSelectEl.addEventListener('change', () => {
    state.scenarioId = scenarioSelectEl.value;
    state.scenarioStart = state.session.cursor;
    refresh();
  });
  scenarioNextEl.addEventListener('click', () => playScenario(false));
  scenarioAllEl.addEventListener('click', () => playScenario(true));

  zoomInEl.addEventListener('click', () => zoom(0.5));
  zoomOutEl.addEventListener('click', () => zoom(2));
  $('zoom-fit').addEventListener('click', () => {
    state.view.auto = true;
    invalidate();
  });
  compressEl.addEventListener('change', () => {
    state.view.compress = compressEl.checked;
    invalidate();
  });
  $('callout-close').addEventListener('click', () => {
    showCallout(null);
    mapEl.focus();
  });

  $('share').addEventListener('click', () => shareLink());
  $('export-trace').addEventListener('click', () => exportTrace());
  $('to-replay').addEventListener('click', (ev) => {
    if (!state.session.cursor) return; // nothing done yet: just the replay page
    ev.preventDefault();
    openInReplay();
  });

  wireMap();
  wireIndex();
  window.addEventListener('keydown', (ev) => {
    if (ev.target.closest?.('input, select, textarea')) return;
    const k = ev.key.toLowerCase();
    if ((ev.ctrlKey || ev.metaKey) && k === 'z' && !ev.shiftKey) {
      ev.preventDefault();
      undo();
    } else if ((ev.ctrlKey || ev.metaKey) && (k === 'y' || (k === 'z' && ev.shiftKey))) {
      ev.preventDefault();
      redo();
    } else if (ev.key === 'Escape' && state.callout) {
      showCallout(null);
    }
  });
  new ResizeObserver(invalidate).observe(mapWrapEl);
  new ResizeObserver(invalidate).observe(indexEl);

  const legendEl = $('legend');
  for (const name of LEGEND) {
    const li = document.createElement('li');
    const c = document.createElement('canvas');
    c.width = 26;
    c.height = 14;
    paintSwatch(c, name);
    li.append(c, STYLES[name].legend);
    legendEl.append(li);
  }
  const chartLegendEl = $('chart-legend');
  for (const s of SERIES) {
    const li = document.createElement('li');
    li.innerHTML = `<svg width="22" height="8" aria-hidden="true"><line x1="0" y1="4" x2="22" y2="4" stroke="${s.color}" stroke-width="${s.width}" stroke-dasharray="${s.dash.join(' ')}"/></svg>`;
    li.append(s.label);
    chartLegendEl.append(li);
  }
}

function undo() {
  if (!state.session.canUndo) return null;
  return run(async () => {
    await state.session.undo();
    showCallout(null);
  });
}

function redo() {
  if (!state.session.canRedo) return null;
  return run(async () => afterStep(state.session.redo()));
}

async function playScenario(all) {
  const sc = scenario(state.scenarioId);
  let pos = scenarioPos();
  let note = '';
  if (pos < 0 || (pos === 0 && state.session.cursor > 0)) {
    // Start the scenario on a fresh heap, so its explanations hold.
    const dropped = state.session.steps.length;
    await run(async () => {
      await state.session.reset();
      state.scenarioStart = 0;
      select(-1, { scroll: false });
    });
    note = `"${sc.title}" started on a fresh heap${dropped ? ` (${dropped} earlier steps cleared)` : ''}`;
    pos = 0;
  }
  const ops = all ? sc.steps.slice(pos) : sc.steps.slice(pos, pos + 1);
  if (ops.length) await applyAll(ops);
  if (note) statusEl.textContent = note;
}

// A scenario step's view hint: { at: address | 'stackTop', rowUnits }.
function focus({ at, rowUnits }) {
  const addr = at === 'stackTop' ? state.session.place.stackTop : at;
  state.view.auto = false;
  state.view.rowUnits = rowUnits;
  const track = buildTrack(state.session.snapshot(), state.view.compress);
  const row = Math.floor(unitOf(track, addr) / rowUnits);
  state.view.scrollY = Math.max(0, TOP + (row - 2) * PITCH);
}

function zoom(factor, x, y) {
  const g = state.geometry;
  if (!g) return;
  const at = state.selected >= 0 && x === undefined ? locate(g, state.selectedAt) : null;
  const px = x ?? at?.x ?? g.width / 2;
  const py = y ?? (at ? at.y + BAR / 2 : g.height / 2);
  const z = zoomAt(g, px, py, factor);
  state.view.auto = false;
  state.view.rowUnits = z.rowUnits;
  state.view.scrollY = z.scrollY;
  invalidate();
}

function wireMap() {
  let drag = null;
  const point = (ev) => {
    const r = mapEl.getBoundingClientRect();
    return [ev.clientX - r.left, ev.clientY - r.top];
  };
  mapEl.addEventListener('pointerdown', (ev) => {
    const [x, y] = point(ev);
    drag = { x, y, scrollY: state.view.scrollY, moved: false };
    mapEl.setPointerCapture?.(ev.pointerId);
  });
  mapEl.addEventListener('pointermove', (ev) => {
    const [x, y] = point(ev);
    if (drag && ev.buttons) {
      if (Math.abs(y - drag.y) > 4) drag.moved = true;
      if (drag.moved) {
        state.view.auto = false;
        state.view.scrollY = clampScroll(state.geometry, drag.scrollY - (y - drag.y));
        invalidate();
      }
      return;
    }
    if (!state.geometry) return;
    const i = hitTest(state.snap, state.geometry, x, y);
    if (i !== state.hover) {
      state.hover = i;
      mapStatusEl.textContent = i >= 0 ? summary(state.snap.entries[i]) : '';
      mapEl.style.cursor = i >= 0 ? 'pointer' : 'crosshair';
      invalidate();
    }
  });
  mapEl.addEventListener('pointerup', (ev) => {
    const [x, y] = point(ev);
    const wasDrag = drag?.moved;
    drag = null;
    if (wasDrag || !state.geometry) return;
    const i = hitTest(state.snap, state.geometry, x, y);
    select(i, { scroll: false });
    if (i < 0) {
      // Static data, the stack, unused memory: nothing a step can act on.
      const a = pointToAddress(state.geometry, x, y);
      mapStatusEl.textContent = a >= 0 ? `nothing selected: ${hex(a)} is not in a heap block` : '';
    }
    mapEl.focus();
  });
  mapEl.addEventListener('pointerleave', () => {
    if (state.hover !== -1) {
      state.hover = -1;
      invalidate();
    }
  });
  mapEl.addEventListener('wheel', (ev) => {
    ev.preventDefault();
    const [x, y] = point(ev);
    if (ev.ctrlKey || ev.metaKey) {
      zoom(ev.deltaY > 0 ? 2 : 0.5, x, y);
    } else if (state.geometry) {
      state.view.auto = false;
      state.view.scrollY = clampScroll(state.geometry, state.view.scrollY + ev.deltaY);
      invalidate();
    }
  }, { passive: false });
  mapEl.addEventListener('keydown', (ev) => {
    const g = state.geometry;
    if (!g || !state.snap) return;
    const dirs = { ArrowLeft: 'left', ArrowRight: 'right', ArrowUp: 'up', ArrowDown: 'down' };
    let handled = true;
    if (dirs[ev.key]) {
      const i = neighbour(state.snap, g, state.selected, dirs[ev.key]);
      if (i >= 0) select(i);
    } else if (ev.key === 'Home') {
      if (state.snap.entries.length) select(0);
    } else if (ev.key === 'End') {
      if (state.snap.entries.length) select(state.snap.entries.length - 1);
    } else if (ev.key === '+' || ev.key === '=') {
      zoom(0.5);
    } else if (ev.key === '-') {
      zoom(2);
    } else if (ev.key === '0') {
      state.view.auto = true;
      invalidate();
    } else if (ev.key === 'PageDown' || ev.key === 'PageUp') {
      state.view.auto = false;
      const d = (ev.key === 'PageDown' ? 1 : -1) * (g.height - PITCH);
      state.view.scrollY = clampScroll(g, state.view.scrollY + d);
      invalidate();
    } else if (ev.key === 'Enter' || ev.key === ' ') {
      if (state.selected < 0 && state.snap.entries.length) select(0);
      else announce();
    } else {
      handled = false;
    }
    if (handled) ev.preventDefault();
  });
}

function wireIndex() {
  const point = (ev) => {
    const r = indexEl.getBoundingClientRect();
    return [ev.clientX - r.left, ev.clientY - r.top];
  };
  indexEl.addEventListener('pointermove', (ev) => {
    if (!state.indexLayout) return;
    const ref = indexHit(state.indexLayout, ...point(ev));
    if (JSON.stringify(ref) !== JSON.stringify(state.indexRef)) {
      state.indexRef = ref;
      indexStatusEl.textContent = describeIndexRef(state.snap, ref);
      invalidate();
    }
  });
  indexEl.addEventListener('pointerleave', () => {
    state.indexRef = null;
    invalidate();
  });
  indexEl.addEventListener('click', (ev) => {
    const ref = indexHit(state.indexLayout, ...point(ev));
    const rel = ref ? related(state.snap, { ref }) : null;
    const first = rel ? [...rel.entries][0] : undefined;
    if (first !== undefined) select(first);
  });
}

// --- share, export -------------------------------------------------------------

const appliedOps = () => state.session.steps.slice(0, state.session.cursor).map((s) => s.op);

/** Puts the applied steps in the URL's hash (#s=...); returns the link. */
async function shareLink() {
  try {
    const packed = await encodeShare({ kind: 'steps', steps: appliedOps() });
    history.replaceState(null, '', `#s=${packed}`);
    statusEl.textContent = 'link in the address bar';
    await navigator.clipboard?.writeText(location.href).then(() => { statusEl.textContent = 'link in the address bar, and copied'; }, () => {});
    return location.href;
  } catch (e) {
    statusEl.textContent = `cannot share: ${e.message}`;
    return null;
  }
}

/** The applied steps' allocation calls as an lmtrace v1 trace. */
async function traceText() {
  const trace = await sessionTrace(appliedOps(), { createHeap, module: state.module });
  return writeTrace(trace);
}

async function exportTrace() {
  const text = await traceText();
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([text], { type: 'text/plain' }));
  a.download = 'playground-session.trace';
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  statusEl.textContent = 'trace downloaded: open it on the replay page';
  return text;
}

// The replay page with these steps as its trace (in the link itself).
async function openInReplay() {
  const text = await traceText();
  try {
    const packed = await encodeShare({ kind: 'trace', name: 'playground-session', text });
    location.href = `replay.html#t=${packed}&step=${state.session.cursor}`;
  } catch (e) {
    if (!(e instanceof ShareError)) throw e;
    await exportTrace();
    statusEl.textContent = 'too many steps for a link: the trace was downloaded; open it on the replay page';
  }
}

// Steps from a shared link (#s=...), applied on the fresh heap.
async function stepsFromHash() {
  const packed = parseHash(location.hash).get('s');
  if (!packed) return;
  try {
    const sc = await decodeShare(packed);
    if (sc.kind !== 'steps' || !Array.isArray(sc.steps)) throw new ShareError('this link is not a playground session');
    // Every step, mistakes included (applyAll stops at the first refusal).
    await run(async () => {
      let last = null;
      for (const op of sc.steps) last = state.session.apply(op);
      return afterStep(last);
    });
    statusEl.textContent = `${sc.steps.length} steps from the link`;
  } catch (e) {
    statusEl.textContent = `error: ${e.message}`;
    statusEl.classList.add('error');
  }
}

// --- start ------------------------------------------------------------------------

async function loadModule() {
  const url = new URL(`../wasm/dist/${WASM_FILE}`, import.meta.url);
  const response = await fetch(url);
  if (!response.ok) throw new Error(`cannot load ${url.pathname}: HTTP ${response.status} (build it: npm start)`);
  return WebAssembly.compile(await response.arrayBuffer());
}

async function start() {
  const module = await loadModule();
  state.module = module;
  state.session = await Session.create({ createHeap, module });
  wire();
  refresh();
  statusEl.textContent = 'ready';
  await stepsFromHash();
  await nextFrame();
}

function nextFrame() {
  return new Promise((resolve) => {
    drawn.push(resolve);
    invalidate();
  });
}

// The test hook: drives the same session the controls drive.
const ready = start().catch((e) => {
  statusEl.textContent = `error: ${e.message}`;
  statusEl.classList.add('error');
  throw e;
});

window.__lmalloc = {
  ready,
  get session() { return state.session; },
  get view() { return { ...state.view }; },
  get lastDraw() { return { ...state.lastDraw }; },
  get selected() { return state.selected >= 0 ? state.snap.entries[state.selected] : null; },
  snapshot: () => state.snap,
  blocks: () => state.session.heap.blocks(),
  stats: () => state.session.heap.stats(),
  /** Applies a step as the controls do; resolves after the next frame. */
  async apply(op) {
    const r = await apply(op);
    await nextFrame();
    return r;
  },
  async undo() { await undo(); await nextFrame(); },
  async redo() { await redo(); await nextFrame(); },
  redraw: () => nextFrame(),
  /** Client coordinates of the middle of the entry at `addr` (scrolled into
   * view): of its widest piece, when it wraps over two rows. */
  async locate(addr) {
    const i = entryAt(state.snap, addr);
    if (i < 0) return null;
    state.view.auto = false;
    scrollToAddress(entryStart(state.snap.entries[i]));
    await nextFrame();
    const g = state.geometry;
    const e = state.snap.entries[i];
    const start = entryStart(e);
    const best = widestSegment(g, start, start + e.size);
    const r = mapEl.getBoundingClientRect();
    return { x: r.left + (best.x0 + best.x1) / 2, y: r.top + best.y + BAR / 2, index: i };
  },
  /** Client coordinates of where a message about `addr` points. */
  anchor(addr) {
    const a = anchor(addr);
    const r = mapEl.getBoundingClientRect();
    return { x: r.left + a.x, y: r.top + a.y, h: BAR };
  },
  /** Client coordinates of the middle of the index box for a ref ({cls} or {slab}). */
  indexBox(ref) {
    const h = state.indexLayout.hits.find((x) => JSON.stringify(x.ref) === JSON.stringify(ref));
    const r = indexEl.getBoundingClientRect();
    return h ? { x: r.left + h.x + h.w / 2, y: r.top + h.y + h.h / 2 } : null;
  },
  setView(view) {
    Object.assign(state.view, view);
    if (view.compress !== undefined) compressEl.checked = view.compress;
    return nextFrame();
  },
  topOfMap: TOP,
  shareLink: () => shareLink(),
  traceText: () => traceText(),
};
