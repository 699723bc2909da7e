// The page's side of one replay worker (replay-worker.mjs has the
// protocol): requests as promises, and back-pressure for moves, so that
// scrubbing or playing never queues work behind the worker: at most one
// goto is in flight; a newer one replaces any that waits, and every caller
// waiting for a superseded goto gets the reply of the one that replaced it.
// It also keeps what the worker sends only once: the chart samples
// (history) and the memory-growth events. Every promise it gives settles:
// with the worker's answer, or rejected when the worker fails (a failed
// request, a crashed worker) or is terminated.
//
// No DOM; a Worker (browser) is passed in or made from workerUrl.

export class ReplayClient {
  #worker;
  #seq = 0;
  #pending = new Map(); // seq -> { resolve, reject }
  #inFlight = null; // { seq, waiters: [{ resolve, reject }] }: the goto sent
  #queued = null; // { step, view, waiters: [{ resolve, reject }] }: the goto to send next
  #stopped = null; // the error of terminate(): later requests get it at once

  /** Samples for the charts, in step order (accumulated). */
  history = [];
  /** memory.grow events, in step order (accumulated). */
  grows = [];
  figures = null;
  info = null;
  /** Called with the figures of every reply (progress included). */
  onFigures = null;

  constructor(worker) {
    this.#worker = worker;
    worker.onmessage = (ev) => this.#receive(ev.data);
    worker.onerror = (ev) => {
      const err = new Error(`replay worker: ${ev.message ?? 'failed to start'}`);
      this.#failAll(err);
      this.onFailure?.(err);
    };
  }

  // Rejects every request waiting for an answer, and every move (sent or waiting).
  #failAll(err) {
    const pending = [...this.#pending.values()];
    const moves = [...(this.#inFlight?.waiters ?? []), ...(this.#queued?.waiters ?? [])];
    this.#pending.clear();
    this.#inFlight = null;
    this.#queued = null;
    for (const p of [...pending, ...moves]) p.reject(err);
  }

  static create(workerUrl) {
    return new ReplayClient(new Worker(workerUrl, { type: 'module' }));
  }

  #receive(m) {
    if (m.history?.length) this.#absorb(m.history);
    if (m.grows?.length) this.grows.push(...m.grows);
    if (m.figures) {
      this.figures = m.figures;
      this.onFigures?.(m.figures, m.type);
    }
    if (m.type === 'progress') return;
    if (m.type === 'at' && this.#inFlight) {
      const done = this.#inFlight;
      this.#inFlight = null;
      for (const w of done.waiters) w.resolve(m);
      this.#next();
      return;
    }
    if (m.type === 'failed' && m.seq !== undefined && m.seq === this.#inFlight?.seq) {
      // The move failed: its callers hear it, and the next move may go.
      const done = this.#inFlight;
      this.#inFlight = null;
      const err = new Error(m.message);
      for (const w of done.waiters) w.reject(err);
      this.#next();
      return;
    }
    const p = this.#pending.get(m.seq);
    if (!p) {
      if (m.type === 'failed') this.onFailure?.(new Error(m.message));
      return;
    }
    this.#pending.delete(m.seq);
    if (m.type === 'failed') p.reject(new Error(m.message));
    else p.resolve(m);
  }

  #absorb(samples) {
    // Samples arrive in step order; a resent step replaces the last one.
    for (const s of samples) {
      const last = this.history[this.history.length - 1];
      if (last && last.step === s.step) this.history[this.history.length - 1] = s;
      else this.history.push(s);
    }
  }

  #send(msg, transfer = []) {
    const seq = ++this.#seq;
    this.#worker.postMessage({ ...msg, seq }, transfer);
    return seq;
  }

  request(msg, transfer) {
    return new Promise((resolve, reject) => {
      if (this.#stopped) {
        reject(this.#stopped);
        return;
      }
      this.#pending.set(this.#send(msg, transfer), { resolve, reject });
    });
  }

  async open(allocator, trace, options) {
    this.history = [];
    this.grows = [];
    this.figures = null;
    const transfer = trace.bytes ? [trace.bytes.buffer] : [];
    const m = await this.request({ type: 'open', allocator, trace, options }, transfer);
    this.info = m.info;
    return m;
  }

  /** Moves to `step`; resolves with the worker's 'at' reply (its view when
   * asked for: 'detail' | 'blocks'). A later goto supersedes this one:
   * both resolve with the later reply. */
  goto(step, view = null) {
    return new Promise((resolve, reject) => {
      const waiter = { resolve, reject };
      if (this.#stopped) {
        reject(this.#stopped);
        return;
      }
      if (!this.#inFlight) {
        this.#inFlight = { seq: this.#send({ type: 'goto', step, view }), waiters: [waiter] };
        return;
      }
      const waiters = this.#queued ? [...this.#queued.waiters, waiter] : [waiter];
      this.#queued = { step, view, waiters };
    });
  }

  /** Whether a move is in flight (the page then waits before asking again). */
  get busy() {
    return !!this.#inFlight;
  }

  #next() {
    const q = this.#queued;
    if (!q) return;
    this.#queued = null;
    this.#inFlight = { seq: this.#send({ type: 'goto', step: q.step, view: q.view }), waiters: q.waiters };
  }

  diff(a, b) {
    return this.request({ type: 'diff', a, b });
  }

  time() {
    return this.request({ type: 'time' });
  }

  text(count) {
    return this.request({ type: 'text', count });
  }

  /** Stops the worker. Whatever still waits for it (an open, a move, a
   * diff...) is rejected with an error whose `terminated` is true: the
   * page stopped it on purpose, which is no failure to report. */
  terminate() {
    this.#worker.terminate();
    this.#stopped ??= Object.assign(new Error('replay worker stopped'), { terminated: true });
    this.#failAll(this.#stopped);
  }
}
