// The Web Worker that replays a trace (a module worker: new Worker(url,
// { type: 'module' })). One worker owns one allocator and one Replay
// (replay-engine.mjs), so the page never blocks: a 1.6 M-operation trace
// runs here in slices of SLICE_MS, and between slices the worker reads its
// messages, so a newer target (the user scrubbing, pausing) takes over at
// once. replay-client.mjs is the page's side of this protocol.
//
// Messages in (each may carry `seq`, echoed in the reply):
//   { type: 'open', allocator, trace, options }
//        allocator: { kind: 'lmalloc-js', module: url, api: url }
//                 | { kind: 'emscripten', module: url, name, label, breakOffset }
//        trace: { url } | { bytes } (gzip or plain; a user's file) | { text }
//     -> { type: 'opened', info, figures } or { type: 'failed', seq, message }
//   { type: 'goto', step, view }   move to `step`; view: 'detail' (the whole
//        lmalloc heap: walk + memory), 'blocks' (live blocks only) or null
//     -> { type: 'progress', figures } now and then while far away, and
//        { type: 'at', figures, view?, history } when there (or superseded,
//        or stopped before it by a refused operation: figures.error);
//        a detail view of a memory larger than MAX_VIEW_BYTES holds no
//        walk or copy, only { tooLarge: { memoryBytes, limit } };
//        { type: 'failed', seq, message } when the move itself failed, or
//        when no trace is open (no open yet, or the last open failed)
//   { type: 'diff', a, b }  which blocks appeared / moved / were freed
//        from step a to step b (the replay is left at b)
//     -> { type: 'diff', result, figures }
//   { type: 'time' }  time the whole trace once, uninterrupted
//     -> { type: 'timed', timed, figures }
//   { type: 'text', count }  the first `count` operations as lmtrace text
//     -> { type: 'text', text }
// Any request that fails (diff, time and text included) is answered
// { type: 'failed', seq, message }, and the messages queued behind it are
// still handled.
// Replies that carry `history` send only the samples the page has not had
// yet (the page keeps them); `grows` likewise.

import { emscripten, lmallocJs } from './allocators.mjs';
import { Replay, diffLive } from './replay-engine.mjs';
import { packEntries } from './packed-walk.mjs';
import { loadTrace, opCode, writeTrace } from './trace.mjs';

const SLICE_MS = 24;
const PROGRESS_MS = 120;
// A detail view copies the whole memory (and the page decodes it): a heap
// that grew past this is not drawn (malloc(4000000000) succeeds on wasm32).
const MAX_VIEW_BYTES = 256 * 2 ** 20;

let replay = null;
let target = 0;
let targetSeq = 0;
let wantView = null;
let sentHistory = 0;
let sentGrows = 0;
let lastProgress = 0;
const queue = [];

const post = (msg, transfer = []) => self.postMessage(msg, transfer);
const yieldNow = () => new Promise((resolve) => setTimeout(resolve, 0));

async function fetchBytes(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`cannot load ${url}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

async function makeAllocator(spec) {
  const module = await WebAssembly.compile(await fetchBytes(spec.module));
  if (spec.kind === 'lmalloc-js') {
    const { createHeap } = await import(spec.api);
    return lmallocJs({ createHeap, module, label: spec.label });
  }
  return emscripten({ module, name: spec.name, label: spec.label, breakOffset: spec.breakOffset ?? null });
}

async function open({ allocator, trace, options = {} }) {
  replay = null;
  sentHistory = 0;
  sentGrows = 0;
  const [a, t] = await Promise.all([
    makeAllocator(allocator),
    trace.url ? fetchBytes(trace.url).then((b) => loadTrace(b, { name: trace.name ?? trace.url }))
      : trace.text !== undefined ? loadTrace(new TextEncoder().encode(trace.text), { name: trace.name })
        : loadTrace(trace.bytes, { name: trace.name }),
  ]);
  replay = new Replay(t, a, options);
  target = 0;
  return {
    name: t.name, format: t.format, ids: t.ids, count: t.count, comments: t.comments, notes: t.notes,
    allocator: { name: a.name, label: a.label, detailed: a.detailed, place: a.place ?? null,
      breakOffset: a.breakOffset ?? null, naturalOffset: a.naturalOffset ?? null, heapStart: a.heapStart },
  };
}

// What the page needs to draw the current step.
function view(kind) {
  const out = { kind, step: replay.pos, around: around(8) };
  const transfer = [];
  const live = replay.liveBlocks();
  out.live = live;
  transfer.push(live.ptr.buffer, live.size.buffer, live.id.buffer, live.born.buffer);
  if (kind === 'detail' && replay.allocator.detailed) {
    const a = replay.allocator;
    const memoryBytes = a.memory.buffer.byteLength;
    if (memoryBytes > MAX_VIEW_BYTES) {
      out.tooLarge = { memoryBytes, limit: MAX_VIEW_BYTES };
      return { view: out, transfer };
    }
    const packed = packEntries(a.blocks());
    out.entries = packed;
    out.memory = new Uint8Array(a.memory.buffer).slice();
    out.stats = a.stats();
    out.check = a.check();
    transfer.push(packed.buffer, out.memory.buffer);
  }
  return { view: out, transfer };
}

// The C calls of the operations around the current step.
function around(n) {
  const t = replay.trace;
  const from = Math.max(0, replay.pos - n);
  const to = Math.min(t.count, replay.pos + n);
  const codes = [];
  for (let i = from; i < to; i++) codes.push(opCode(t, i));
  return { from, codes };
}

function news() {
  const history = replay.history.slice(sentHistory);
  sentHistory = replay.history.length;
  const grows = replay.grows.slice(sentGrows);
  sentGrows = replay.grows.length;
  return { history, grows };
}

function reply(type, extra = {}, transfer = []) {
  post({ type, figures: replay.figures(), ...news(), ...extra }, transfer);
}

// The replay, or an error that says there is none.
function opened() {
  if (!replay) throw new Error('no trace open');
  return replay;
}

// Moves toward `target` in slices until there, then answers the goto.
// (One at a time: only handle calls it, and onmessage runs one handle at
// a time.)
async function pump() {
  // No trace (none opened, or its open failed): the page waits for an
  // answer to every goto before it sends the next one.
  const r = opened();
  // After a refused operation only a move backwards can go anywhere.
  while (!r.reached(target)) {
    await r.rewind(target);
    r.runTo(target, SLICE_MS);
    if (performance.now() - lastProgress > PROGRESS_MS && r.pos !== target) {
      lastProgress = performance.now();
      reply('progress', { seq: targetSeq });
    }
    await yieldNow();
    await drain();
  }
  const { view: v, transfer } = wantView ? view(wantView) : { view: null, transfer: [] };
  reply('at', { seq: targetSeq, view: v }, transfer);
}

// Handles the messages that arrived while a slice ran: a new goto just
// moves the target; anything else waits for the pump to finish.
async function drain() {
  while (queue.length && queue[0].type === 'goto') {
    const m = queue.shift();
    target = m.step;
    targetSeq = m.seq;
    wantView = m.view ?? null;
  }
}

async function handle(m) {
  switch (m.type) {
    case 'open': {
      const info = await open(m);
      reply('opened', { seq: m.seq, info });
      break;
    }
    case 'goto':
      target = m.step;
      targetSeq = m.seq;
      wantView = m.view ?? null;
      try {
        await pump();
      } catch (e) {
        // Answer the move (the page waits for it before asking again).
        post({ type: 'failed', seq: targetSeq, message: e.message });
      }
      break;
    case 'diff': {
      const r = opened();
      await r.seek(m.a);
      const A = r.liveBlocks();
      await r.seek(m.b);
      const B = r.liveBlocks();
      target = r.pos;
      reply('diff', { seq: m.seq, result: { a: m.a, b: m.b, ...diffLive(A, B) } });
      break;
    }
    case 'time': {
      const timed = await opened().timeWhole();
      reply('timed', { seq: m.seq, timed });
      break;
    }
    case 'text': {
      const { trace } = opened();
      post({ type: 'text', seq: m.seq, text: writeTrace(trace, { count: m.count ?? trace.count }) });
      break;
    }
    default:
      post({ type: 'failed', seq: m.seq, message: `unknown message ${m.type}` });
  }
}

// Every request is answered, a failed one too (with its seq, so that the
// page's promise for it settles), and the queue is drained either way.
let running = false;
self.onmessage = async (ev) => {
  queue.push(ev.data);
  if (running) return;
  running = true;
  try {
    while (queue.length) {
      const m = queue.shift();
      try {
        await handle(m);
      } catch (e) {
        post({ type: 'failed', seq: m.seq, message: e.message, stack: e.stack });
      }
    }
  } finally {
    running = false;
  }
};
