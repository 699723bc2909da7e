// Snapshot bookkeeping for time travel: which saved states of a replay
// exist, where the next one is due, and which go when the budget is full.
// What a snapshot holds (a copy of the wasm memory, the id tables, the
// counters) is the replay engine's business (replay-engine.mjs); here a
// snapshot is { step, cost, ...payload } and only step and cost matter.
//
// Invariants:
// - Snapshots are kept sorted by step, at most one per step, and every
//   kept step is a multiple of `interval` (step 0 is never stored: the
//   fresh allocator is that state).
// - The total cost never exceeds budgetBytes after add() returns, unless a
//   single snapshot is larger than the whole budget (then only the newest
//   is kept). To make room, the interval doubles and every snapshot whose
//   step is not a multiple of the new interval goes ("thinning"): the kept
//   ones stay evenly spread over the steps reached, and the replay needed
//   to reach any step from the nearest snapshot at most doubles.
//
// Pure: no wasm, no DOM.

export class SnapshotStore {
  /**
   * @param options { budgetBytes: total cost allowed (default 256 MiB),
   *                  interval: steps between snapshots at first (default 4096) }
   */
  constructor({ budgetBytes = 256 * 2 ** 20, interval = 4096 } = {}) {
    if (!(interval >= 1) || !Number.isInteger(interval)) throw new RangeError('interval must be a positive integer');
    this.budgetBytes = budgetBytes;
    this.interval = interval;
    this.snaps = [];
    this.bytes = 0;
    this.dropped = 0;
  }

  get count() {
    return this.snaps.length;
  }

  /** Whether a snapshot should be taken after `step` operations. */
  due(step) {
    return step > 0 && step % this.interval === 0 && this.#index(step) < 0;
  }

  /** Adds a snapshot; returns the snapshots dropped to stay in budget. */
  add(snap) {
    if (!(snap.step > 0) || !(snap.cost >= 0)) throw new RangeError('a snapshot needs step > 0 and a cost');
    const at = this.#insertionPoint(snap.step);
    if (this.snaps[at]?.step === snap.step) {
      this.bytes -= this.snaps[at].cost;
      this.snaps[at] = snap;
    } else {
      this.snaps.splice(at, 0, snap);
    }
    this.bytes += snap.cost;
    const gone = [];
    while (this.bytes > this.budgetBytes && this.snaps.length > 1) {
      this.interval *= 2;
      const keep = [];
      for (const s of this.snaps) {
        if (s.step % this.interval === 0) keep.push(s);
        else gone.push(s);
      }
      // The newest snapshot must survive when thinning empties the store.
      if (!keep.length) {
        const newest = this.snaps[this.snaps.length - 1];
        keep.push(newest);
        gone.splice(gone.indexOf(newest), 1);
      }
      this.snaps = keep;
      this.bytes = keep.reduce((n, s) => n + s.cost, 0);
    }
    this.dropped += gone.length;
    return gone;
  }

  /** The latest snapshot at or before `step`, or null (start from scratch). */
  atOrBefore(step) {
    const at = this.#insertionPoint(step + 1) - 1;
    return at >= 0 ? this.snaps[at] : null;
  }

  /** Forgets every snapshot after `step` (used when a replay's future changes). */
  dropAfter(step) {
    const at = this.#insertionPoint(step + 1);
    const gone = this.snaps.splice(at);
    for (const s of gone) this.bytes -= s.cost;
    return gone;
  }

  clear() {
    this.snaps = [];
    this.bytes = 0;
  }

  /** { count, bytes, interval, steps } for display and tests. */
  summary() {
    return { count: this.snaps.length, bytes: this.bytes, interval: this.interval, steps: this.snaps.map((s) => s.step) };
  }

  #insertionPoint(step) {
    let lo = 0;
    let hi = this.snaps.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.snaps[mid].step < step) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  #index(step) {
    const at = this.#insertionPoint(step);
    return this.snaps[at]?.step === step ? at : -1;
  }
}
