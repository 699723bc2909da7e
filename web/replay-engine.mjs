// The replay engine: performs a trace (trace.mjs) on an allocator
// (allocators.mjs) and can be at any step, forwards or backwards. It runs
// in a Web Worker on the page (replay-worker.mjs) and directly in Node in
// the tests; nothing here touches the DOM.
//
// What it keeps, and the invariants:
// - pos: operations [0, pos) have been performed, in order, on the
//   allocator. The id tables say what a program's pointer table would:
//   ptr[id] (0 = not live), size[id] (bytes asked for) and born[id] (the
//   step, 1-based, of the malloc/calloc/aligned_alloc that made the block:
//   realloc keeps it, so (id, born) names one block through moves).
// - live bytes and peak live bytes are counted exactly as bench/replay.c
//   counts them (realloc: minus the old size, plus the new), so the peak
//   equals the harness's peak_live_bytes for the same trace.
// - frontier: the furthest step ever reached. Samples (for the charts),
//   memory-growth events and the time per operation are recorded only while
//   passing the frontier, i.e. once per step: going back and forth neither
//   duplicates nor re-times anything. Replays are deterministic, so what
//   was recorded holds for every later visit.
// - Snapshots (snapshots.mjs decides which steps are kept within the byte
//   budget) hold the allocator's memory and the id tables; seek(n) restores
//   the latest one at or before n into a fresh instance (or starts afresh)
//   and replays forward from there. A state reached twice is the same
//   state, byte for byte (tests/js/web-replay.test.mjs checks it).
// - An allocation that returns NULL for a non-zero size, or a call that
//   throws, stops the replay there: `error` says where and why (error.step,
//   1-based, is the operation refused; pos stays error.step - 1), as the
//   harness would fail. The allocator may be half-way through that call,
//   so a move to before error.step starts again from a snapshot.
// - If restoring a snapshot fails (the allocator's restore or reset threw,
//   e.g. memory could not grow), the allocator may already be a fresh
//   instance while pos and the id tables are not: the replay starts again
//   from a fresh allocator (pos 0) and the move fails with the reason; if
//   even that fails, `broken` holds the reason and every later move throws
//   it (nothing it would show could be trusted).
// - A snapshot is not taken while the memory it would copy is larger than
//   the whole budget (it could not be kept with any other; copying gigabytes
//   can fail): time travel then replays from an earlier one.

import { SnapshotStore } from './snapshots.mjs';

export const PAGE = 65536;
const now = () => performance.now();

export class Replay {
  /**
   * @param trace     a parsed trace
   * @param allocator from allocators.mjs
   * @param options   { samples: points on the charts (default 1500),
   *                    statsSamples: how many of them also take the
   *                    allocator's stats() (lmalloc only, default 120),
   *                    budgetBytes, interval: for the snapshot store }
   */
  constructor(trace, allocator, { samples = 1500, statsSamples = 120, budgetBytes, interval } = {}) {
    this.trace = trace;
    this.allocator = allocator;
    const ids = Math.max(1, trace.ids);
    this.ptr = new Uint32Array(ids);
    this.size = new Uint32Array(ids);
    this.born = new Uint32Array(ids);
    this.pos = 0;
    this.frontier = 0;
    this.live = 0;
    this.liveCount = 0;
    this.peak = 0;
    this.error = null;
    this.broken = null; // set when the replay can go no further (#restore)
    this.grows = [];
    this.sampleEvery = Math.max(1, Math.ceil(trace.count / samples));
    // Stats samples fall on chart samples: a multiple of sampleEvery.
    this.statsEvery = allocator.stats
      ? this.sampleEvery * Math.max(1, Math.ceil(trace.count / statsSamples / this.sampleEvery)) : 0;
    this.history = [];
    this.msTimed = 0;
    this.opsTimed = 0;
    this.store = new SnapshotStore({
      budgetBytes,
      interval: interval ?? Math.max(1024, 2 ** Math.round(Math.log2(Math.max(1, trace.count / 64)))),
    });
    this.heapStart = allocator.heapStart;
    this.#sample();
  }

  get count() {
    return this.trace.count;
  }

  /** Replays forward until pos === target or `budgetMs` have passed; returns pos. */
  runTo(target, budgetMs = Infinity) {
    if (this.broken) throw this.broken;
    target = Math.min(Math.max(0, target), this.trace.count);
    const t0 = now();
    while (this.pos < target && !this.error) {
      // A segment runs without interruption up to the next event: a sample,
      // a snapshot, the target, or a time check.
      let end = Math.min(target, this.pos + 8192);
      const interval = this.store.interval;
      const nextSnap = (Math.floor(this.pos / interval) + 1) * interval;
      if (nextSnap < end) end = nextSnap;
      const fresh = this.pos >= this.frontier;
      if (fresh) {
        const nextSample = (Math.floor(this.pos / this.sampleEvery) + 1) * this.sampleEvery;
        if (nextSample < end) end = nextSample;
      } else if (this.frontier < end) {
        end = this.frontier; // the next segment starts fresh
      }
      const p0 = this.pos;
      const s0 = now();
      this.#perform(end);
      if (fresh) {
        // Only segments wholly past the frontier are timed (once per step).
        this.msTimed += now() - s0;
        this.opsTimed += this.pos - p0;
        this.frontier = this.pos;
        if (this.pos % this.sampleEvery === 0 || this.pos === this.trace.count) this.#sample();
      }
      if (this.store.due(this.pos) && !this.error) this.#snapshot();
      if (now() - t0 > budgetMs) break;
    }
    return this.pos;
  }

  /** Goes to step `target` (backwards: from the nearest snapshot). */
  async seek(target) {
    await this.rewind(target);
    return this.runTo(target);
  }

  /** The first half of seek: restores the nearest snapshot at or before
   * `target` (or a fresh allocator) when that is behind us or closer than
   * where we are, or when the replay is stopped by a refused operation
   * and `target` is before it (the allocator may be half-way through that
   * call: even a move to the step it stopped at, pos, restores);
   * runTo(target) does the rest. Returns pos. */
  async rewind(target) {
    if (this.broken) throw this.broken;
    target = Math.min(Math.max(0, target), this.trace.count);
    const refused = this.error !== null && target < this.error.step; // before the refused operation
    if (target === this.pos && !refused) return this.pos;
    const snap = this.store.atOrBefore(target);
    if (refused || target < this.pos || (snap && snap.step > this.pos)) await this.#restore(snap);
    return this.pos;
  }

  /** Whether the replay is as far toward `target` as it can go: there, or
   * stopped by a refused operation at or before it. */
  reached(target) {
    target = Math.min(Math.max(0, target), this.trace.count);
    return this.error ? target >= this.error.step : this.pos === target;
  }

  /** Times the whole trace on a fresh allocator, in one uninterrupted run
   * (no samples, no snapshots), then comes back to where it was. Records
   * the first pass first if it has not been made. Returns { ms, ops }. */
  async timeWhole() {
    const back = this.pos;
    this.runTo(this.trace.count);
    await this.#restore(null);
    const t0 = now();
    this.#perform(this.trace.count);
    const ms = now() - t0;
    const ops = this.pos;
    this.timed = { ms, ops, nsPerOp: ops ? (ms * 1e6) / ops : null };
    await this.seek(back);
    return this.timed;
  }

  // Performs operations [pos, end).
  #perform(end) {
    const t = this.trace;
    const { op, id: idOf, size: sizeOf, align: alignOf } = t;
    const a = this.allocator;
    const ptr = this.ptr;
    const size = this.size;
    const born = this.born;
    const mem = a.memory;
    let bytesSeen = mem.buffer.byteLength;
    let live = this.live;
    let peak = this.peak;
    let liveCount = this.liveCount;
    let i = this.pos;
    const recordGrows = i >= this.frontier;
    try {
      for (; i < end; i++) {
        const id = idOf[i];
        const n = sizeOf[i];
        let p;
        switch (op[i]) {
          case 97: // a
            p = a.malloc(n);
            break;
          case 99: // c
            p = a.calloc(n);
            break;
          case 109: // m
            p = a.aligned(alignOf[i], n);
            break;
          case 114: { // r
            p = a.realloc(ptr[id], n);
            if (!p && n) throw new Error(`realloc(${ptr[id]}, ${n}) returned NULL`);
            live += n - size[id];
            ptr[id] = p;
            size[id] = n;
            if (live > peak) peak = live;
            break;
          }
          default: // f
            a.free(ptr[id]);
            live -= size[id];
            ptr[id] = 0;
            size[id] = 0;
            born[id] = 0;
            liveCount--;
            break;
        }
        if (op[i] !== 114 && op[i] !== 102) {
          if (!p && n) {
            const call = op[i] === 97 ? `malloc(${n})` : op[i] === 99 ? `calloc(1, ${n})` : `aligned_alloc(${alignOf[i]}, ${n})`;
            throw new Error(`${call} returned NULL`);
          }
          ptr[id] = p;
          size[id] = n;
          born[id] = i + 1;
          live += n;
          liveCount++;
          if (live > peak) peak = live;
        }
        const b = mem.buffer.byteLength;
        if (b !== bytesSeen) {
          if (recordGrows && i >= this.frontier) {
            this.grows.push({ step: i + 1, oldPages: bytesSeen / PAGE, newPages: b / PAGE, op: op[i], id, size: n });
          }
          bytesSeen = b;
        }
      }
    } catch (e) {
      this.error = { step: i + 1, message: e.message, name: e.name };
    }
    this.pos = i;
    this.live = live;
    this.peak = peak;
    this.liveCount = liveCount;
  }

  #sample() {
    const a = this.allocator;
    const top = a.top();
    const h = {
      step: this.pos,
      memoryBytes: a.memory.buffer.byteLength,
      heapTop: top,
      growthBytes: top - this.heapStart,
      liveBytes: this.live,
      liveBlocks: this.liveCount,
    };
    h.utilization = h.growthBytes > 0 ? this.live / h.growthBytes : 0;
    if (this.statsEvery && (this.pos % this.statsEvery === 0 || this.pos === this.trace.count)) {
      const s = a.stats();
      Object.assign(h, s);
      h.fragmentation = s.freeBytes ? 1 - s.largestFree / s.freeBytes : 0;
    }
    const last = this.history[this.history.length - 1];
    if (last && last.step === h.step) this.history[this.history.length - 1] = h;
    else this.history.push(h);
  }

  #snapshot() {
    if (this.allocator.memory.buffer.byteLength > this.store.budgetBytes) {
      this.snapshotsSkipped = (this.snapshotsSkipped ?? 0) + 1;
      return;
    }
    const saved = this.allocator.save();
    this.store.add({
      step: this.pos,
      cost: saved.cost + this.ptr.byteLength * 3,
      saved,
      ptr: this.ptr.slice(),
      size: this.size.slice(),
      born: this.born.slice(),
      live: this.live,
      liveCount: this.liveCount,
      peak: this.peak,
    });
  }

  async #restore(snap) {
    try {
      if (snap) {
        await this.allocator.restore(snap.saved);
        this.ptr.set(snap.ptr);
        this.size.set(snap.size);
        this.born.set(snap.born);
        this.pos = snap.step;
        this.live = snap.live;
        this.liveCount = snap.liveCount;
        this.peak = snap.peak;
      } else {
        await this.allocator.reset();
        this.ptr.fill(0);
        this.size.fill(0);
        this.born.fill(0);
        this.pos = 0;
        this.live = 0;
        this.liveCount = 0;
        this.peak = 0;
      }
    } catch (e) {
      // The allocator may be a fresh instance already, the tables not:
      // start again from nothing, or give up for good.
      if (!snap) {
        this.broken = new Error(`the replay cannot go on: starting a fresh allocator failed: ${e.message}`);
        throw this.broken;
      }
      await this.#restore(null); // when this fails too, it throws this.broken
      throw new Error(`restoring the snapshot of step ${snap.step} failed: ${e.message} (the replay starts again from step 0)`);
    }
    this.error = null;
    this.restores = (this.restores ?? 0) + 1;
  }

  /** Live blocks now, in address order: { ptr, size, id, born } columns. */
  liveBlocks() {
    const n = this.liveCount;
    const order = new Uint32Array(n);
    let k = 0;
    const { ptr, born } = this;
    for (let id = 0; id < ptr.length && k < n; id++) if (born[id]) order[k++] = id;
    const ids = order.subarray(0, k);
    ids.sort((x, y) => ptr[x] - ptr[y]);
    const out = { ptr: new Uint32Array(k), size: new Uint32Array(k), id: new Uint32Array(k), born: new Uint32Array(k) };
    for (let j = 0; j < k; j++) {
      const id = ids[j];
      out.ptr[j] = ptr[id];
      out.size[j] = this.size[id];
      out.id[j] = id;
      out.born[j] = born[id];
    }
    return out;
  }

  /** Memory-growth events up to the current step. */
  growsSoFar() {
    let k = this.grows.length;
    while (k > 0 && this.grows[k - 1].step > this.pos) k--;
    return this.grows.slice(0, k);
  }

  /** The numbers every view shows. */
  figures() {
    const top = this.allocator.top();
    const done = this.frontier === this.trace.count;
    return {
      step: this.pos,
      count: this.trace.count,
      frontier: this.frontier,
      liveBytes: this.live,
      liveBlocks: this.liveCount,
      peakLiveBytes: this.peak,
      memoryBytes: this.allocator.memory.buffer.byteLength,
      heapStart: this.heapStart,
      heapTop: top,
      growthBytes: top - this.heapStart,
      heapPages: Math.ceil((top - this.heapStart) / PAGE),
      growEvents: this.growsSoFar().length,
      nsPerOp: this.opsTimed ? (this.msTimed * 1e6) / this.opsTimed : null,
      timed: this.timed ?? null,
      opsTimed: this.opsTimed,
      timedAll: done && this.opsTimed === this.trace.count,
      snapshots: { ...this.store.summary(), skipped: this.snapshotsSkipped ?? 0 },
      restores: this.restores ?? 0,
      error: this.error,
    };
  }
}

/**
 * Which blocks appeared, moved, were resized or freed between two sets of
 * live blocks (liveBlocks() at steps a and b). A block is the same block
 * in both when it has the same id and the same birth step.
 * @returns { kept, appeared, freed, moved, resized } where each list holds
 *          at most `limit` entries and *Count / *Bytes give the totals.
 */
export function diffLive(A, B, { limit = 20000 } = {}) {
  const atA = new Map();
  for (let j = 0; j < A.id.length; j++) atA.set(A.id[j], j);
  const out = {
    kept: 0, appeared: [], freed: [], moved: [], resized: [],
    appearedCount: 0, freedCount: 0, movedCount: 0, resizedCount: 0,
    appearedBytes: 0, freedBytes: 0, movedBytes: 0,
  };
  const push = (list, key, item, bytes) => {
    out[`${key}Count`]++;
    if (bytes !== undefined) out[`${key}Bytes`] += bytes;
    if (list.length < limit) list.push(item);
  };
  const same = new Set();
  for (let k = 0; k < B.id.length; k++) {
    const id = B.id[k];
    const j = atA.get(id);
    if (j !== undefined && A.born[j] === B.born[k]) {
      same.add(id);
      if (A.ptr[j] !== B.ptr[k]) push(out.moved, 'moved', { id, from: A.ptr[j], to: B.ptr[k], size: B.size[k], oldSize: A.size[j] }, B.size[k]);
      else if (A.size[j] !== B.size[k]) push(out.resized, 'resized', { id, ptr: B.ptr[k], size: B.size[k], oldSize: A.size[j] });
      else out.kept++;
    } else {
      push(out.appeared, 'appeared', { id, ptr: B.ptr[k], size: B.size[k], born: B.born[k] }, B.size[k]);
    }
  }
  for (let j = 0; j < A.id.length; j++) {
    if (!same.has(A.id[j])) push(out.freed, 'freed', { id: A.id[j], ptr: A.ptr[j], size: A.size[j], born: A.born[j] }, A.size[j]);
  }
  return out;
}
