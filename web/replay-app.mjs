// The replay page (replay.html): replays a real program's allocation trace
// on lmalloc and shows its heap at any step (play, pause, single steps,
// speed, a timeline to scrub, two steps compared), or the same trace on
// lmalloc, dlmalloc and emmalloc side by side. This file owns the DOM and
// the timing of requests; the work is elsewhere:
//   replay-worker.mjs  one Web Worker per allocator replays the trace
//                      (replay-engine.mjs: snapshots, time travel)
//   replay-client.mjs  the page's side of a worker (back-pressure)
//   replay-view.mjs    snapshots, timeline, comparison: pure layouts
//   map-view.mjs       the memory map canvas (render.mjs + draw.mjs)
// What comes from the build (web/build.mjs): /build/web/traces/ (the
// bundled traces, gzip, decompressed by the workers) and
// /build/web/allocators/ (the comparison's modules and their manifest).
//
// Redraws happen at most once per animation frame; the main thread never
// replays anything. While playing, the heap's detailed view (its walk and
// memory, decoded here) is requested no more often than keeps the main
// thread mostly idle (a view of a 230 000-block heap takes ~150 ms to
// decode); the timeline and figures follow every reply.
//
// Test hook: window.__replay (end of file).

import { REPLAY_SERIES, chartLayout } from './chart.mjs';
import { describeEntry, dumpStart } from './details.mjs';
import { draw, paintSwatch } from './draw.mjs';
import { formatBytes } from './heap-layout.mjs';
import { MapView, prepareCanvas } from './map-view.mjs';
import { fillDetails, fillStats } from './panels.mjs';
import { ReplayClient } from './replay-client.mjs';
import {
  SHADES, compareChartLayout, compareNote, compareRows, compareStyle, diffOverlays, occupancyLayout, replaySnapshot, sharedStep,
  stopText, timelineLayout,
} from './replay-view.mjs';
import { ShareError, decodeShare, encodeShare, parseHash } from './share.mjs';
import { LEGEND, STYLES } from './styles.mjs';

const $ = (id) => document.getElementById(id);
const statusEl = $('status');
const messageEl = $('message');
const messageTextEl = $('message-text');
const traceSelectEl = $('trace-select');
const fileInputEl = $('file-input');
const playEl = $('play');
const speedEl = $('speed');
const stepInputEl = $('step-input');
const stepCountEl = $('step-count');
const scrubEl = $('scrub');
const timelineEl = $('timeline');
const explainEl = $('explain');
const opsEl = $('ops');
const markAEl = $('mark-a');
const markBEl = $('mark-b');
const diffSummaryEl = $('diff-summary');
const traceInfoEl = $('trace-info');
const snapshotsEl = $('snapshots');
const layoutEl = document.querySelector('.replay-layout');
const detailsEl = $('details');
const statsEl = $('stats');
const statsStepEl = $('stats-step');
const chartEl = $('chart');
const compareViewEl = $('compare-view');
const compareMapsEl = $('compare-maps');
const compareTableEl = $('compare-table');
const compareNoteEl = $('compare-note');
const compareChartEl = $('compare-chart');
const tabHeapEl = $('tab-heap');
const tabCompareEl = $('tab-compare');

const WORKER = new URL('./replay-worker.mjs', import.meta.url);
const API = new URL('../wasm/lmalloc.mjs', import.meta.url).href;
const LMALLOC_WASM = new URL('../wasm/dist/lmalloc.wasm', import.meta.url).href;
const TRACES = new URL('../build/web/traces/', import.meta.url);
const ALLOCATORS = new URL('../build/web/allocators/', import.meta.url);
const DEFAULT_TRACE = 'perl-wordfreq';
// Which build the heap tab's figures come from (the Compare tab's lmalloc is another one).
const HEAP_BUILD = 'wasm/dist/lmalloc.wasm, built for WASI (16-byte granule), through wasm/lmalloc.mjs. '
  + 'The Compare tab\'s lmalloc is liblmalloc.a built for Emscripten (8-byte granule): its heap pages can differ.';

const state = {
  traces: [],
  manifest: null,
  source: null, // { url, name, bundled } | { bytes, name } | { text, name }
  heap: null, // ReplayClient on lmalloc.wasm (the detailed heap)
  compare: null, // [{ client, spec, view, figures }]
  compareReady: null, // resolves once state.compare's workers have opened the trace (or failed to)
  count: 0,
  target: 0, // the step asked for
  virtual: 0, // while playing: where playback is in time (ops)
  playing: false,
  speed: 100000,
  lastTick: 0,
  tab: 'heap',
  snap: null,
  view: null, // the last detail view (memory copy for hex dumps)
  around: null,
  diff: null,
  decodeMs: 0, // cost of the last snapshot decode (throttles views while playing)
  lastDetailAt: 0,
  tooLarge: null, // { step, memoryBytes, limit }: the last detail view had no map (memory too large)
  generation: 0, // bumped per opened trace: late replies of an old one are ignored
  opening: 0, // bumped per trace asked for: only the latest may replace the one shown
  stops: new Map(), // 'heap' | 'compare:<name>' -> the step refused, once reported
  errors: [], // every text the message strip showed, in order (the tests read it)
};

const canvases = new Map();
const mapView = new MapView({
  mapEl: $('map'), wrapEl: $('map-wrap'), statusEl: $('map-status'), zoomLevelEl: $('zoom-level'),
  onSelect: () => renderDetails(),
  overlays: (snap, g) => (state.diff && snap.step === state.diff.b ? diffOverlays(snap, g, state.diff) : []),
});

// --- status --------------------------------------------------------------------

// The status line (top bar) says what is happening; it may be cut short.
// An error, or a warning the user must read, also goes to the message
// strip under the timeline, whole, until it is closed or a trace is opened.
function say(text, error = false) {
  statusEl.textContent = text;
  statusEl.title = text;
  statusEl.classList.toggle('error', error);
  if (error) {
    state.errors.push(text);
    warn(text);
  }
}

function warn(text) {
  messageTextEl.textContent = text;
  messageEl.hidden = false;
}

function closeMessage() {
  messageEl.hidden = true;
  messageTextEl.textContent = '';
}

const fmt = (n) => Number(n).toLocaleString('en-US');

// --- loading ---------------------------------------------------------------------

async function getJson(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`cannot load ${new URL(url).pathname}: HTTP ${r.status} (build it: npm start, or node web/build.mjs)`);
  return r.json();
}

function traceSource(name) {
  const t = state.traces.find((x) => x.name === name);
  return t ? { url: new URL(t.file, TRACES).href, name: t.name, bundled: true, title: t.title } : null;
}

// Sends the trace to a worker: bytes are copied per worker (each transfers its own).
const forWorker = (source) => (source.bytes ? { bytes: source.bytes.slice(), name: source.name } : source);

/** Opens a trace (bundled, a user's file, or a shared link's text) at `step`.
 * The trace shown stays until the new one has been read: a file that is
 * not a trace changes nothing but the message. */
async function openSource(source, { step = 0 } = {}) {
  pause();
  const ticket = ++state.opening;
  const label = source.label ?? source.name;
  say(`loading ${label}…`);
  let gen = -1; // this trace's generation, once it is the one shown
  const heap = ReplayClient.create(WORKER);
  heap.onFailure = (e) => {
    if (gen === state.generation) say(`replay worker: ${e.message}`, true);
  };
  heap.onFigures = (f) => {
    if (gen === state.generation) onHeapFigures(f);
  };
  const t0 = performance.now();
  let opened;
  try {
    opened = await heap.open(
      { kind: 'lmalloc-js', module: LMALLOC_WASM, api: API, label: 'lmalloc' },
      forWorker(source), { budgetBytes: 160 * 2 ** 20 },
    );
  } catch (e) {
    heap.terminate();
    if (ticket !== state.opening) return; // another trace was asked for since
    showSource(state.source); // the list names the trace shown again
    const kept = state.source ? ` (${state.source.label ?? state.source.name} stays open)` : '';
    throw new Error(`cannot open ${label}: ${e.message}${kept}`);
  }
  if (ticket !== state.opening) {
    heap.terminate();
    return;
  }
  // The new trace replaces the old one.
  pause();
  gen = ++state.generation;
  closeMessage();
  state.heap?.terminate();
  closeCompare();
  state.stops.clear();
  state.source = source;
  showSource(source);
  state.snap = null;
  state.view = null;
  state.diff = null;
  state.tooLarge = null;
  diffSummaryEl.replaceChildren();
  state.heap = heap;
  state.count = opened.info.count;
  scrubEl.max = String(state.count);
  stepInputEl.max = String(state.count);
  stepCountEl.textContent = fmt(state.count);
  renderTraceInfo(opened.info);
  say(`${source.name}: ${fmt(state.count)} operations (loaded in ${Math.round(performance.now() - t0)} ms)`);
  if (state.tab === 'compare') await openCompare();
  // Another trace may have replaced this one while its comparison opened.
  if (gen !== state.generation) return;
  await move(Math.min(step, state.count));
}

function renderTraceInfo(info) {
  const rows = [
    ['name', info.name],
    ['format', info.format === 'csapp' ? 'CS:APP malloc-lab' : 'lmtrace v1'],
    ['operations', fmt(info.count)],
    ['ids', fmt(info.ids)],
  ];
  if (state.source?.title || info.comments?.[0]) rows.push(['program', state.source?.title || info.comments[0]]);
  for (const n of info.notes ?? []) rows.push(['note', n]);
  traceInfoEl.replaceChildren(...rows.flatMap(([k, v]) => {
    const dt = document.createElement('dt');
    dt.textContent = k;
    const dd = document.createElement('dd');
    dd.textContent = v;
    dd.dataset.field = k;
    return [dt, dd];
  }));
}

// --- moving along the trace ---------------------------------------------------------

const clampStep = (n) => Math.max(0, Math.min(state.count, Math.round(n)));

function activeClients() {
  if (state.tab === 'compare') return (state.compare ?? []).map((c) => c.client);
  return state.heap ? [state.heap] : [];
}

/** Moves the shown step; resolves once every active view has arrived. */
function move(step, { detail = true } = {}) {
  const target = clampStep(step);
  state.target = target;
  const gen = state.generation;
  const jobs = [];
  // A move that failed in a worker is reported (with the step it asked
  // for, not a later one); the next one may go. A worker the page stopped
  // (another trace, a comparison that could not open) is no news.
  const failed = (label) => (e) => {
    if (gen === state.generation && !e.terminated) say(`${label} cannot show step ${fmt(target)}: ${e.message}`, true);
  };
  if (state.tab === 'heap' && state.heap) {
    jobs.push(state.heap.goto(target, detail ? 'detail' : null).then((m) => {
      if (gen === state.generation) onHeapArrived(m);
    }, failed('lmalloc')));
  }
  if (state.tab === 'compare' && state.compare) {
    state.compare.forEach((c, k) => {
      jobs.push(c.client.goto(target, 'blocks').then((m) => {
        if (gen === state.generation) onCompareArrived(k, m);
      }, failed(c.spec.label)));
    });
  }
  renderPosition();
  return Promise.all(jobs);
}

function shownStep() {
  if (state.tab === 'compare' && state.compare) return sharedStep(state.compare.map((c) => c.figures));
  return sharedStep([state.heap?.figures]);
}

function onHeapFigures(f) {
  if (state.tab !== 'heap') return;
  renderPosition();
  snapshotsEl.textContent = `Time travel: ${f.snapshots.count} snapshots (${formatBytes(f.snapshots.bytes)}, every ${fmt(f.snapshots.interval)} steps); ${f.restores} restores so far.`;
  noteStop('heap', 'lmalloc', f.error);
}

// An allocator that refused an operation is reported in the message strip
// once per stop (every reply while it is stopped carries the error; the
// strip the user closed stays closed); a move to before it clears it, so
// the next stop is reported again. The explanation line and the
// comparison's status row say it at every step.
function noteStop(key, label, error) {
  if (!error) {
    state.stops.delete(key);
    return;
  }
  if (state.stops.get(key) === error.step) return;
  state.stops.set(key, error.step);
  say(stopText(error, { label }), true);
}

function onHeapArrived(m) {
  if (m.view?.around) state.around = m.view.around;
  if (m.view?.tooLarge) {
    // Too large to copy and decode: no map at this step, and the page says why.
    const { memoryBytes, limit } = m.view.tooLarge;
    state.tooLarge = { step: m.view.step, memoryBytes, limit };
    state.view = null;
    state.snap = null;
    mapView.setSnapshot(null, `Not drawn: ${formatBytes(memoryBytes)} of memory (the map copies at most ${formatBytes(limit)})`);
    renderHeapPanels();
  } else if (m.view?.entries) {
    state.tooLarge = null;
    const t0 = performance.now();
    state.view = m.view;
    state.snap = replaySnapshot(m.view, { place: state.heap.info.allocator.place, history: state.heap.history, grows: state.heap.grows });
    state.decodeMs = performance.now() - t0;
    state.lastDetailAt = performance.now();
    mapView.setSnapshot(state.snap);
    renderHeapPanels();
  }
  renderPosition();
}

// --- playback --------------------------------------------------------------------------

function play() {
  if (!state.heap || state.playing) return;
  if (shownStep() >= state.count) move(0);
  state.playing = true;
  state.lastTick = performance.now();
  state.virtual = shownStep() >= state.count ? 0 : shownStep();
  playEl.textContent = '❚❚ Pause';
  playEl.setAttribute('aria-pressed', 'true');
  requestAnimationFrame(tick);
}

function pause() {
  if (!state.playing) return;
  state.playing = false;
  playEl.textContent = '▶ Play';
  playEl.setAttribute('aria-pressed', 'false');
  // Settle where the replay was asked to be, with a full view.
  move(state.target);
}

// One animation frame of playback: the step to show advances with the
// speed (ops per second) in real time; a new move is sent only when the
// last one has arrived (back-pressure), so a slow view delays the map, not
// the page. "As fast as it goes" moves in chunks of a 40th of the trace.
function tick(now) {
  if (!state.playing) return;
  const dt = Math.min(250, now - state.lastTick);
  state.lastTick = now;
  const shown = shownStep();
  const clients = activeClients();
  const busy = clients.some((c) => c.busy);
  // An allocator that refused an operation (as the harness would fail)
  // stays there (noteStop reported it); Play goes on for the others and
  // pauses when none is left running.
  const stopped = clients.filter((c) => c.figures?.error);
  if (clients.length && stopped.length === clients.length && !busy) {
    pause();
    say(`paused: ${stopped.map((c) => stopText(c.figures.error, { label: c.info?.allocator.label ?? 'the allocator' })).join('; ')}`);
    return;
  }
  if (state.speed !== Infinity) state.virtual = Math.min(state.count, state.virtual + (state.speed * dt) / 1000);
  if (!busy) {
    if (shown >= state.count) {
      pause();
      return;
    }
    // The detailed heap view costs the main thread its decode time: ask
    // for one only when the last decode took at most a fifth of the time
    // since (otherwise the figures and the timeline move, the map waits).
    const detail = state.tab !== 'heap' || performance.now() - state.lastDetailAt > 5 * state.decodeMs;
    const next = state.speed === Infinity
      ? Math.min(state.count, shown + Math.max(2000, Math.round(state.count / 40)))
      : Math.floor(state.virtual);
    if (next !== shown) move(next, { detail });
  }
  requestAnimationFrame(tick);
}

function stepBy(n) {
  pause();
  move(shownStep() + n);
}

// --- rendering --------------------------------------------------------------------------

let frameRequested = false;
function invalidate() {
  if (frameRequested) return;
  frameRequested = true;
  requestAnimationFrame(frame);
}

function frame() {
  frameRequested = false;
  renderTimeline();
  if (state.tab === 'heap') renderChart();
  else renderCompare();
}

function renderPosition() {
  const step = shownStep();
  if (document.activeElement !== stepInputEl) stepInputEl.value = String(step);
  if (document.activeElement !== scrubEl || state.playing) scrubEl.value = String(step);
  scrubEl.setAttribute('aria-valuetext', `step ${fmt(step)} of ${fmt(state.count)}`);
  renderOps(step);
  invalidate();
}

function renderTimeline() {
  const c = prepareCanvas(timelineEl, canvases);
  const client = state.tab === 'compare' && state.compare ? state.compare[0].client : state.heap;
  if (!client) return;
  draw(c.ctx, timelineLayout({
    width: c.w, height: c.h, count: state.count, step: shownStep(),
    frontier: client.figures?.frontier ?? 0, history: client.history, grows: client.grows,
    marks: { a: numberOr(markAEl.value), b: numberOr(markBEl.value) },
  }), c.patterns);
}

const numberOr = (v) => (v === '' || v === undefined ? null : Number(v));

function renderOps(step) {
  const a = state.around;
  if (!a) return;
  const { notes, refused } = stopNotes(step);
  const items = a.codes.map((code, k) => {
    const i = a.from + k; // 0-based operation index; step i + 1 performs it
    const li = document.createElement('li');
    li.value = i + 1;
    const c = document.createElement('code');
    c.textContent = code;
    li.append(c);
    if (i + 1 === step) li.className = 'current';
    else if (i + 1 > step) li.className = 'next';
    if (refused.has(i + 1)) li.classList.add('fail');
    return li;
  });
  opsEl.replaceChildren(...items);
  const cur = opsEl.querySelector('.current');
  explainEl.textContent = [
    step === 0 ? `Step 0: nothing done yet. ${state.count ? `Press Play, or drag the timeline (${fmt(state.count)} steps).` : ''}`
      : `Step ${fmt(step)}: ${cur ? cur.textContent : ''}`,
    ...notes,
  ].join(' ').trim();
}

// Why a view is not what the step says: an allocator that refused an
// operation (its heap is the one before it), a heap too large to draw.
// Returns { notes: [sentence], refused: Set of the steps refused }.
function stopNotes(step) {
  const refused = new Set();
  const notes = [];
  const runs = state.tab === 'compare'
    ? (state.compare ?? []).map((c) => [c.spec.label, c.figures, 'its column shows'])
    : [['lmalloc', state.heap?.figures, 'the map shows']];
  for (const [label, f, shows] of runs) {
    if (!f?.error) continue;
    refused.add(f.error.step);
    notes.push(`${stopText(f.error, { label, here: step })}; ${shows} its heap before that operation.`);
  }
  const big = state.tab === 'heap' ? state.tooLarge : null;
  if (big) {
    notes.push(`The map is not drawn: at step ${fmt(big.step)} lmalloc's memory is ${formatBytes(big.memoryBytes)}, `
      + `more than the ${formatBytes(big.limit)} the page copies to draw it (the figures and the timeline still follow).`);
  }
  return { notes, refused };
}

function renderHeapPanels() {
  const snap = state.snap;
  const f = state.heap?.figures;
  if (!f) return;
  // lmalloc's stats come from the decoded heap (none when it is too large to draw).
  if (snap) fillStats(statsEl, snap);
  else statsEl.replaceChildren();
  // The trace's own figures, after lmalloc's.
  const extra = [
    ['live (requested)', `${fmt(f.liveBytes)} B in ${fmt(f.liveBlocks)}`, 'liveBytes', f.liveBytes],
    ['peak live', `${fmt(f.peakLiveBytes)} B`, 'peakLiveBytes', f.peakLiveBytes],
    ['heap pages grown (WASI)', `${fmt(f.heapPages)} (${fmt(f.growEvents)} memory.grow)`, 'heapPages', f.heapPages, HEAP_BUILD],
    ['time per op', f.opsTimed >= 1000 ? `${f.nsPerOp.toFixed(0)} ns (JS API, ${fmt(f.opsTimed)} ops)` : '- (too few ops to time)', 'nsPerOp', f.nsPerOp ?? ''],
  ];
  for (const [label, text, key, value, title] of extra) {
    const tr = document.createElement('tr');
    const th = document.createElement('th');
    th.scope = 'row';
    th.textContent = label;
    if (title) th.title = title;
    const td = document.createElement('td');
    td.textContent = text;
    td.dataset.stat = key;
    td.dataset.value = String(value);
    tr.append(th, td);
    statsEl.append(tr);
  }
  statsStepEl.textContent = `at step ${fmt(snap?.step ?? f.step)} · WASI build`;
  statsStepEl.title = HEAP_BUILD;
  // The two pages' "fragmentation" is lmalloc's external fragmentation, not the Compare tab's "heap not live".
  const frag = statsEl.querySelector('td[data-stat="fragmentation"]')?.previousElementSibling;
  if (frag) frag.title = '1 − largest free block / free bytes (lmalloc\'s stats). The Compare tab\'s "heap not live" is 1 − live bytes / break moved.';
  renderDetails();
  invalidate();
}

function renderDetails() {
  const snap = state.snap;
  const i = mapView.selected;
  const e = snap?.entries[i];
  if (!e) {
    fillDetails(detailsEl, null);
    return;
  }
  const start = dumpStart(e);
  const bytes = state.view.memory.subarray(start, Math.min(state.view.memory.length, start + 64));
  fillDetails(detailsEl, describeEntry(snap, i, bytes, null));
}

function renderChart() {
  if (!state.heap) return;
  const c = prepareCanvas(chartEl, canvases);
  draw(c.ctx, chartLayout(state.heap.history, {
    // memory.grow is marked on the timeline; here it would hide the lines.
    width: c.w, height: c.h, series: REPLAY_SERIES, grows: [],
    domain: [0, state.count], cursor: shownStep(),
  }), c.patterns);
}

// --- comparing two steps ------------------------------------------------------------------

async function compareSteps(a, b) {
  pause();
  a = clampStep(a);
  b = clampStep(b);
  markAEl.value = String(a);
  markBEl.value = String(b);
  say(`comparing step ${fmt(a)} with step ${fmt(b)}…`);
  const m = await state.heap.diff(a, b);
  state.diff = m.result;
  if (state.tab !== 'heap') selectTab('heap');
  await move(b);
  renderDiff();
  say(`step ${fmt(a)} → ${fmt(b)}: ${fmt(m.result.appearedCount)} appeared, ${fmt(m.result.freedCount)} freed, ${fmt(m.result.movedCount)} moved`);
  return m.result;
}

function renderDiff() {
  const d = state.diff;
  if (!d) return;
  const item = (key, text) => {
    const li = document.createElement('li');
    const k = document.createElement('span');
    k.className = `key ${key}`;
    const t = document.createElement('span');
    t.textContent = text;
    li.dataset.kind = key;
    li.append(k, t);
    return li;
  };
  diffSummaryEl.replaceChildren(
    item('appeared', `${fmt(d.appearedCount)} appeared (${formatBytes(d.appearedBytes)})`),
    item('freed', `${fmt(d.freedCount)} freed (${formatBytes(d.freedBytes)})`),
    item('moved', `${fmt(d.movedCount)} moved by realloc (${formatBytes(d.movedBytes)})`),
    item('resized', `${fmt(d.resizedCount)} resized in place`),
    item('kept', `${fmt(d.kept)} unchanged`),
  );
  const note = document.createElement('li');
  note.className = 'muted';
  note.textContent = `Outlined in the map at step B = ${fmt(d.b)} (freed: where they were at A = ${fmt(d.a)}).`;
  diffSummaryEl.append(note);
}

// --- compare allocators -------------------------------------------------------------------

/** Opens the trace shown on every allocator of the manifest, once per
 * trace (a second call waits for the first). When one cannot open it (its
 * module is missing or does not compile...), the comparison is closed,
 * the message strip says why, and the next visit of the tab tries again. */
function openCompare() {
  if (state.compare) return state.compareReady;
  if (!state.source) return Promise.resolve();
  state.compareReady = startCompare();
  return state.compareReady;
}

// Stops the comparison's workers (whatever waits on them is rejected) and forgets it.
function closeCompare() {
  for (const c of state.compare ?? []) c.client.terminate();
  state.compare = null;
  state.compareReady = null;
  for (const key of state.stops.keys()) if (key.startsWith('compare:')) state.stops.delete(key);
  compareMapsEl.replaceChildren();
}

async function startCompare() {
  const gen = state.generation;
  const specs = state.manifest.allocators;
  compareMapsEl.replaceChildren();
  const compare = specs.map((a, k) => {
    const figEl = document.createElement('figure');
    const captionEl = document.createElement('figcaption');
    const nameEl = document.createElement('strong');
    nameEl.textContent = a.label;
    nameEl.style.color = compareStyle(k).color;
    const capEl = document.createElement('span');
    capEl.className = 'muted';
    capEl.dataset.role = 'heap';
    captionEl.append(nameEl, capEl);
    const canvasEl = document.createElement('canvas');
    canvasEl.setAttribute('role', 'img');
    canvasEl.setAttribute('aria-label', `Where ${a.label} placed the live blocks`);
    canvasEl.dataset.allocator = a.name;
    figEl.append(captionEl, canvasEl);
    compareMapsEl.append(figEl);
    const client = ReplayClient.create(WORKER);
    client.onFailure = (e) => {
      if (gen === state.generation) say(`${a.label} worker: ${e.message}`, true);
    };
    client.onFigures = (f) => {
      if (gen !== state.generation || state.compare !== compare) return;
      compare[k].figures = f;
      if (state.tab !== 'compare') return;
      noteStop(`compare:${a.name}`, a.label, f.error);
      renderPosition();
    };
    return { client, spec: a, canvasEl, capEl, info: null, view: null, figures: null };
  });
  state.compare = compare;
  const shadesEl = document.createElement('p');
  shadesEl.className = 'shade-legend muted';
  shadesEl.append('live bytes per pixel: 0%');
  for (const c of SHADES) {
    const i = document.createElement('i');
    i.style.background = c;
    shadesEl.append(i);
  }
  const pastEl = document.createElement('i');
  pastEl.style.background = '#d9d9d9';
  shadesEl.append('100%; ', pastEl, ' past the break (not heap yet); ', Object.assign(document.createElement('span'), { textContent: '| memory.grow', style: 'color:#D55E00' }));
  compareNoteEl.replaceChildren(shadesEl, document.createTextNode(compareNote(specs)));
  const legendEl = $('compare-legend');
  legendEl.replaceChildren(...specs.map((a, k) => {
    const st = compareStyle(k);
    const li = document.createElement('li');
    li.innerHTML = `<svg width="22" height="8" aria-hidden="true"><line x1="0" y1="4" x2="22" y2="4" stroke="${st.color}" stroke-width="2" stroke-dasharray="${st.dash.join(' ')}"/></svg>`;
    li.append(a.label);
    return li;
  }));
  try {
    await Promise.all(compare.map((c) => c.client.open(
      { kind: 'emscripten', module: new URL(c.spec.file, ALLOCATORS).href, name: c.spec.name, label: c.spec.label, breakOffset: c.spec.breakOffset },
      forWorker(state.source), { budgetBytes: 64 * 2 ** 20 },
    ).then((m) => {
      c.info = m.info;
    }, (e) => {
      throw relabel(`${c.spec.label}: `, e);
    })));
  } catch (e) {
    // Replaced meanwhile (another trace): nothing to say.
    if (state.compare !== compare || e.terminated) return;
    closeCompare();
    say(`cannot compare the allocators on ${state.source.name}: ${e.message} (the Compare tab tries again when opened again)`, true);
  }
}

// An error from a worker with a prefix saying what failed, as a new Error
// (terminate() hands one error to every waiter): `terminated` is kept, so
// work cut short by the page itself (another trace opened) is not reported.
function relabel(prefix, e) {
  return Object.assign(new Error(`${prefix}${e.message}`), { terminated: e.terminated });
}

function onCompareArrived(k, m) {
  const c = state.compare?.[k];
  if (!c) return;
  if (m.view) c.view = m.view;
  c.figures = m.figures;
  const snaps = state.compare.map((x) => x.figures?.snapshots).filter(Boolean);
  snapshotsEl.textContent = `Time travel: ${snaps.reduce((n, s) => n + s.count, 0)} snapshots in ${snaps.length} workers (${formatBytes(snaps.reduce((n, s) => n + s.bytes, 0))}).`;
  // The operations list follows the first allocator still running (Play
  // goes on past one that stopped).
  const lead = Math.max(0, state.compare.findIndex((x) => !x.figures?.error));
  if (k === lead && m.view?.around) state.around = m.view.around;
  renderPosition();
}

function renderCompare() {
  if (!state.compare) return;
  const runs = state.compare.map((c) => ({
    label: c.spec.label, figures: c.figures, history: c.client.history,
    breakOffset: c.info?.allocator.breakOffset, naturalOffset: c.info?.allocator.naturalOffset,
  }));
  // One scale for the three maps: the largest heap seen so far.
  let span = 65536;
  for (const r of runs) for (const h of r.history) span = Math.max(span, h.growthBytes);
  for (const c of state.compare) span = Math.max(span, c.figures?.growthBytes ?? 0);
  state.compare.forEach((c, k) => {
    if (!c.view || !c.figures) return;
    const cv = prepareCanvas(c.canvasEl, canvases);
    const rows = Math.max(4, Math.floor((cv.h - 22) / 12));
    const { instructions } = occupancyLayout(
      { heapStart: c.figures.heapStart, heapTop: c.figures.heapTop, memoryBytes: c.figures.memoryBytes, live: c.view.live },
      { width: cv.w, height: cv.h, span, rows, grows: c.client.grows.filter((g) => g.step <= c.figures.step) },
    );
    draw(cv.ctx, instructions, cv.patterns);
    c.capEl.textContent = `${fmt(c.figures.heapPages)} pages · ${formatBytes(c.figures.growthBytes)}`;
    c.canvasEl.dataset.heapPages = String(c.figures.heapPages);
    c.canvasEl.dataset.step = String(c.figures.step);
    c.canvasEl.dataset.liveBlocks = String(c.view.live.ptr.length);
  });
  const table = compareRows(runs);
  const thead = document.createElement('thead');
  const hr = document.createElement('tr');
  hr.append(Object.assign(document.createElement('th'), { textContent: `at step ${fmt(shownStep())}` }));
  table.head.forEach((label, k) => {
    const th = document.createElement('th');
    th.scope = 'col';
    th.textContent = label;
    th.title = `${state.compare[k].spec.source ?? label}: a standalone Emscripten build (web/build.mjs)`;
    th.style.color = compareStyle(k).color;
    hr.append(th);
  });
  thead.append(hr);
  const tbody = document.createElement('tbody');
  for (const row of table.rows) {
    const tr = document.createElement('tr');
    tr.dataset.key = row.key;
    tr.append(Object.assign(document.createElement('th'), { scope: 'row', textContent: row.name }));
    row.cells.forEach((cell, k) => {
      const td = document.createElement('td');
      td.textContent = cell.text;
      if (cell.title) td.title = cell.title;
      td.dataset.allocator = state.compare[k].spec.name;
      td.dataset.value = cell.value === undefined ? '' : String(cell.value);
      tr.append(td);
    });
    tbody.append(tr);
  }
  compareTableEl.replaceChildren(thead, tbody);
  const cc = prepareCanvas(compareChartEl, canvases);
  draw(cc.ctx, compareChartLayout(runs, { width: cc.w, height: cc.h, count: state.count, cursor: shownStep() }), cc.patterns);
}

async function timeAll() {
  if (!state.compare) return;
  pause();
  const button = $('time-all');
  button.disabled = true;
  try {
    for (const c of state.compare) {
      say(`timing ${c.spec.label} on the whole trace, alone…`);
      const m = await c.client.time().catch((e) => {
        throw relabel(`cannot time ${c.spec.label}: `, e);
      });
      c.figures = m.figures;
      invalidate();
    }
    say(`timed: ${state.compare.map((c) => `${c.spec.label} ${c.figures.timed.nsPerOp.toFixed(0)} ns/op`).join(', ')}`);
  } finally {
    button.disabled = false;
  }
}

function selectTab(tab) {
  state.tab = tab;
  tabHeapEl.setAttribute('aria-selected', String(tab === 'heap'));
  tabCompareEl.setAttribute('aria-selected', String(tab === 'compare'));
  layoutEl.classList.toggle('comparing', tab === 'compare');
  compareViewEl.hidden = tab !== 'compare';
  const go = async () => {
    if (tab === 'compare') await openCompare();
    await move(state.target);
    if (tab === 'heap') mapView.invalidate();
  };
  return go();
}

// --- share, export, files ----------------------------------------------------------------

async function share() {
  const step = shownStep();
  let hash;
  if (state.source.bundled) {
    hash = `trace=${encodeURIComponent(state.source.name)}&step=${step}`;
  } else {
    const { text } = await state.heap.text();
    try {
      hash = `t=${await encodeShare({ kind: 'trace', name: state.source.name, text })}&step=${step}`;
    } catch (e) {
      if (e instanceof ShareError) {
        say(e.message, true);
        return null;
      }
      throw e;
    }
  }
  if (state.tab === 'compare') hash += '&view=compare';
  history.replaceState(null, '', `#${hash}`);
  const link = location.href;
  try {
    await navigator.clipboard.writeText(link);
    say('link in the address bar, and copied');
  } catch {
    say('link in the address bar');
  }
  return link;
}

async function exportTrace() {
  const { text } = await state.heap.text();
  const blob = new Blob([text], { type: 'text/plain' });
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = `${state.source.name}.trace`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  return text;
}

async function openFile(file) {
  const bytes = new Uint8Array(await file.arrayBuffer());
  const name = file.name.replace(/\.gz$/i, '');
  await openSource({ bytes, name: name.replace(/\.(trace|rep|txt)$/i, ''), label: name });
}

/** The trace list shows `source` (a user's file: its own entry). */
function showSource(source) {
  if (!source) return;
  if (source.bundled) traceSelectEl.value = source.name;
  else addUserOption(source.label ?? source.name);
}

function addUserOption(name) {
  let o = traceSelectEl.querySelector('option[data-user]');
  if (!o) {
    o = document.createElement('option');
    o.dataset.user = '1';
    o.value = '';
    traceSelectEl.append(o);
  }
  o.textContent = `your file: ${name}`;
  traceSelectEl.value = '';
}

// --- wiring --------------------------------------------------------------------------------

function wire() {
  traceSelectEl.addEventListener('change', () => {
    const src = traceSource(traceSelectEl.value);
    if (src) run(() => openSource(src));
  });
  $('open-file').addEventListener('click', () => fileInputEl.click());
  fileInputEl.addEventListener('change', () => {
    const f = fileInputEl.files?.[0];
    if (f) run(() => openFile(f));
    fileInputEl.value = '';
  });
  $('share').addEventListener('click', () => run(share));
  $('export').addEventListener('click', () => run(exportTrace));
  playEl.addEventListener('click', () => (state.playing ? pause() : play()));
  $('to-start').addEventListener('click', () => { pause(); move(0); });
  $('to-end').addEventListener('click', () => { pause(); move(state.count); });
  $('step-back').addEventListener('click', (ev) => stepBy(ev.shiftKey ? -1000 : -1));
  $('step-fwd').addEventListener('click', (ev) => stepBy(ev.shiftKey ? 1000 : 1));
  speedEl.addEventListener('change', () => { state.speed = Number(speedEl.value); });
  stepInputEl.addEventListener('change', () => { pause(); move(Number(stepInputEl.value)); });
  scrubEl.addEventListener('input', () => {
    if (state.playing) pause();
    move(Number(scrubEl.value));
  });
  $('set-a').addEventListener('click', () => { markAEl.value = String(shownStep()); invalidate(); });
  $('set-b').addEventListener('click', () => { markBEl.value = String(shownStep()); invalidate(); });
  markAEl.addEventListener('change', invalidate);
  markBEl.addEventListener('change', invalidate);
  $('diff-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (markAEl.value === '' || markBEl.value === '') {
      say('set both steps A and B first ("= now" takes the step shown)', true);
      return;
    }
    run(() => compareSteps(Number(markAEl.value), Number(markBEl.value)));
  });
  tabHeapEl.addEventListener('click', () => run(() => selectTab('heap')));
  tabCompareEl.addEventListener('click', () => run(() => selectTab('compare')));
  $('time-all').addEventListener('click', () => run(timeAll));
  $('zoom-in').addEventListener('click', () => mapView.zoom(0.5));
  $('zoom-out').addEventListener('click', () => mapView.zoom(2));
  $('zoom-fit').addEventListener('click', () => mapView.fit());
  $('compress').addEventListener('change', (ev) => mapView.setCompress(ev.target.checked));
  $('message-close').addEventListener('click', closeMessage);
  window.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape' && !messageEl.hidden) {
      closeMessage();
      return;
    }
    // Typing goes to the field. A focused button keeps Space (it presses
    // the button: ▶ Play toggles, ◀ / ▶ step); the map handles its own keys
    // (arrows, Home, End, zoom) and stops them; every other shortcut works
    // from anywhere, as the tooltips say.
    if (ev.target.closest?.('input, select, textarea')) return;
    if (ev.key === ' ') {
      if (ev.target.closest?.('button')) return;
      ev.preventDefault();
      if (state.playing) pause();
      else play();
    } else if (ev.key === '[' || ev.key === ']' || ev.key === '{' || ev.key === '}') {
      stepBy((ev.key === '[' || ev.key === '{' ? -1 : 1) * (ev.shiftKey ? 1000 : 1));
    } else if (ev.key === 'Home') {
      pause();
      move(0);
    } else if (ev.key === 'End') {
      pause();
      move(state.count);
    }
  });
  for (const el of [timelineEl, compareMapsEl, compareChartEl, chartEl]) new ResizeObserver(invalidate).observe(el);

  const legendEl = $('legend');
  for (const name of LEGEND) {
    if (name === 'frame' || name === 'leak') continue;
    const li = document.createElement('li');
    const c = document.createElement('canvas');
    c.width = 26;
    c.height = 14;
    paintSwatch(c, name);
    li.append(c, STYLES[name].legend);
    legendEl.append(li);
  }
  $('chart-legend').replaceChildren(...REPLAY_SERIES.map((s) => {
    const li = document.createElement('li');
    li.innerHTML = `<svg width="22" height="8" aria-hidden="true"><line x1="0" y1="4" x2="22" y2="4" stroke="${s.color}" stroke-width="${s.width}" stroke-dasharray="${s.dash.join(' ')}"/></svg>`;
    li.append(s.label);
    return li;
  }));
}

async function run(work) {
  try {
    return await work();
  } catch (e) {
    // A worker the page stopped (another trace opened meanwhile) is no failure.
    if (e.terminated) return null;
    // The status line is where the page reports (a bad file is not a bug).
    say(`error: ${e.message}`, true);
    return null;
  }
}

// --- start ------------------------------------------------------------------------------------

async function start() {
  wire();
  [state.traces, state.manifest] = await Promise.all([
    getJson(new URL('index.json', TRACES).href),
    getJson(new URL('manifest.json', ALLOCATORS).href),
  ]);
  for (const t of state.traces) {
    const o = document.createElement('option');
    o.value = t.name;
    o.textContent = `${t.name} (${(t.ops / 1e6).toFixed(2)} M ops)`;
    o.title = t.title;
    traceSelectEl.append(o);
  }
  // What the link asks for. A link the page cannot follow (damaged, made
  // for the playground, naming no bundled trace) says why in the message
  // strip, and the default trace opens instead, at step 0.
  const hash = parseHash(location.hash);
  const step = Number(hash.get('step') ?? 0) || 0;
  if (hash.get('view') === 'compare') await selectTab('compare');
  let problem = null;
  if (hash.has('t')) {
    try {
      await openLinkTrace(hash.get('t'), step);
      return;
    } catch (e) {
      problem = e.message;
    }
  } else if (hash.has('trace')) {
    const name = decodeOr(hash.get('trace'));
    const src = traceSource(name);
    if (src) {
      await openSource(src, { step });
      return;
    }
    problem = `the link asks for the trace "${name}", which is not one of the bundled traces (${state.traces.map((t) => t.name).join(', ')})`;
  }
  const src = traceSource(DEFAULT_TRACE) ?? traceSource(state.traces[0]?.name);
  if (!src) throw new Error('no bundled trace: build them with node web/build.mjs');
  await openSource(src, { step: problem ? 0 : step });
  if (problem) say(`${problem}. Showing ${src.name}, the default trace, instead.`, true);
}

// A trace carried in the link itself (#t=...: share.mjs).
async function openLinkTrace(packed, step) {
  const sc = await decodeShare(packed);
  if (sc.kind !== 'trace') throw new ShareError('this link is for the playground (index.html), not the replay page');
  if (typeof sc.text !== 'string') throw new ShareError('the link is damaged: it holds no trace');
  const name = typeof sc.name === 'string' && sc.name ? sc.name : 'linked';
  await openSource({ text: sc.text, name, label: `${name} (from the link)` }, { step });
}

const decodeOr = (text) => {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
};

const ready = start().catch((e) => {
  say(`error: ${e.message}`, true);
  throw e;
});

/** Resolves when every active view is at the step asked for and drawn. */
async function settle() {
  for (let k = 0; k < 400; k++) {
    const clients = activeClients();
    if (!clients.some((c) => c.busy) && !state.playing) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  await mapView.nextFrame();
  await new Promise((r) => requestAnimationFrame(r));
}

window.__replay = {
  ready,
  get state() { return state; },
  get step() { return shownStep(); },
  get count() { return state.count; },
  snapshot: () => state.snap,
  figures: () => state.heap?.figures,
  info: () => state.heap?.info,
  history: () => state.heap?.history,
  compareFigures: () => state.compare?.map((c) => ({ name: c.spec.name, ...c.figures })),
  /** Goes to a step (as the timeline does); resolves once it is drawn. */
  async goto(step) {
    pause();
    await move(step);
    await settle();
    return shownStep();
  },
  async play(speed = Infinity) {
    state.speed = speed;
    speedEl.value = String(speed);
    play();
  },
  pause,
  settle,
  /** Resolves when playing stopped (at the end) and the last view is drawn. */
  async untilStopped(timeoutMs = 120000) {
    const t0 = performance.now();
    while (state.playing && performance.now() - t0 < timeoutMs) await new Promise((r) => setTimeout(r, 50));
    await settle();
    return shownStep();
  },
  compareSteps: (a, b) => compareSteps(a, b),
  selectTab,
  /** Opens a trace given as text, at `step` (as a #t= link does). */
  openText: (text, name = 'upload', step = 0) => openSource({ text, name }, { step }),
  share,
  exportTrace,
  timeAll,
  locate: (addr) => mapView.locateAddress(addr),
  get selected() { return mapView.selected >= 0 ? state.snap.entries[mapView.selected] : null; },
  lastDraw: () => mapView.lastDraw,
};
