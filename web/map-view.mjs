// A memory map on a canvas, for the replay page: owns the canvas, the view
// (row length, scroll, compression), the selection (kept by address across
// snapshots), hover, zoom, drag, wheel and keyboard, and paints at most
// once per animation frame, whatever the number of snapshots handed to it.
// The drawing itself is render.mjs's layout (pure) painted by draw.mjs;
// `overlays(snapshot, geometry)` adds instructions on top (the comparison
// of two steps). app.mjs wires the playground's map the same way.

import { draw, makePatterns } from './draw.mjs';
import { formatBytes, hex } from './heap-layout.mjs';
import {
  BAR, PITCH, buildTrack, clampScroll, fitRowUnits, hitTest, layout, locate, neighbour, zoomAt,
} from './render.mjs';
import { entryAt, entryStart, nameOf } from './snapshot.mjs';

/** Prepares a canvas for drawing at its CSS size and the device pixel ratio. */
export function prepareCanvas(canvas, cache) {
  let c = cache.get(canvas);
  if (!c) {
    const ctx = canvas.getContext('2d');
    c = { ctx, patterns: makePatterns(ctx), w: 0, h: 0 };
    cache.set(canvas, c);
  }
  const dpr = window.devicePixelRatio || 1;
  const w = Math.max(1, Math.floor(canvas.clientWidth));
  const h = Math.max(1, Math.floor(canvas.clientHeight));
  if (c.w !== w || c.h !== h || c.dpr !== dpr) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
    Object.assign(c, { w, h, dpr });
  }
  c.ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  c.ctx.clearRect(0, 0, w, h);
  return c;
}

/** A one-line description of a snapshot entry (status line, screen readers). */
export function summary(e) {
  if (e.kind === 'object') return `${e.used ? `object ${nameOf(e) ?? ''}` : 'free object'} at ${hex(e.ptr)}, ${e.requested ?? e.size}/${e.size} bytes${e.step ? `, allocated at step ${e.step}` : ''}`;
  if (e.kind === 'slab') return `slab at ${hex(e.ptr)}: ${e.slabInfo.used}/${e.slabInfo.capacity} objects of ${e.slabInfo.size} bytes`;
  if (!e.used) return `${e.top ? 'top block' : 'free block'} at ${hex(e.header)}, ${e.size} bytes${e.top ? '' : `, class ${e.cls}`}`;
  return `block ${nameOf(e) ?? ''} at ${hex(e.ptr)}: ${e.requested ?? '?'} requested, ${e.usable} usable${e.step ? `, allocated at step ${e.step}` : ''}`;
}

export class MapView {
  #cache = new Map();
  #frameRequested = false;
  #waiters = [];

  constructor({ mapEl, wrapEl, statusEl, zoomLevelEl, onSelect = () => {}, overlays = () => [] }) {
    Object.assign(this, { mapEl, wrapEl, statusEl, zoomLevelEl, onSelect, overlays });
    this.snap = null;
    this.view = { rowUnits: 4096, scrollY: 0, compress: false, auto: true };
    this.selected = -1;
    this.selectedAt = -1;
    this.hover = -1;
    this.geometry = null;
    this.lastDraw = { frames: 0, instructions: 0, ms: 0 };
    this.#wire();
    new ResizeObserver(() => this.invalidate()).observe(wrapEl);
  }

  /** Shows a new snapshot; the selection follows its address. null: no
   * map, and `note` says why (written in its place). */
  setSnapshot(snap, note = '') {
    this.snap = snap;
    this.note = snap ? '' : note;
    this.hover = -1;
    if (!snap) {
      this.geometry = null;
      this.selected = -1;
      this.statusEl.textContent = this.note;
    } else if (this.selectedAt >= 0) {
      const i = entryAt(snap, this.selectedAt);
      this.selected = i;
      if (i >= 0) this.selectedAt = entryStart(snap.entries[i]);
    }
    this.invalidate();
  }

  invalidate() {
    if (this.#frameRequested) return;
    this.#frameRequested = true;
    requestAnimationFrame(() => this.#frame());
  }

  /** Resolves after the next paint. */
  nextFrame() {
    return new Promise((resolve) => {
      this.#waiters.push(resolve);
      this.invalidate();
    });
  }

  #frame() {
    this.#frameRequested = false;
    const snap = this.snap;
    if (snap) {
      const t0 = performance.now();
      const m = prepareCanvas(this.mapEl, this.#cache);
      const track = buildTrack(snap, this.view.compress);
      if (this.view.auto) {
        this.view.rowUnits = fitRowUnits(track, m.h);
        this.view.scrollY = 0;
      }
      const { instructions, geometry } = layout(snap, {
        width: m.w, height: m.h, rowUnits: this.view.rowUnits, scrollY: this.view.scrollY,
        compress: this.view.compress, selected: this.selected, hover: this.hover,
      });
      this.geometry = geometry;
      const extra = this.overlays(snap, geometry);
      draw(m.ctx, instructions.concat(extra), m.patterns);
      if (this.zoomLevelEl) this.zoomLevelEl.textContent = `${formatBytes(this.view.rowUnits)} per row${this.view.compress ? ' (compressed)' : ''}`;
      this.lastDraw = {
        frames: this.lastDraw.frames + 1, instructions: instructions.length + extra.length,
        overlays: extra.length, ms: performance.now() - t0, step: snap.step,
      };
    } else if (this.note) {
      const m = prepareCanvas(this.mapEl, this.#cache);
      draw(m.ctx, [{ kind: 'text', x: m.w / 2, y: m.h / 2, text: this.note, align: 'center' }], m.patterns);
      this.lastDraw = { frames: this.lastDraw.frames + 1, instructions: 1, overlays: 0, ms: 0, step: null, note: this.note };
    }
    for (const resolve of this.#waiters.splice(0)) resolve(this.lastDraw);
  }

  select(i, { scroll = true } = {}) {
    const e = this.snap?.entries[i];
    this.selected = e ? i : -1;
    this.selectedAt = e ? entryStart(e) : -1;
    if (e && scroll) this.scrollTo(this.selectedAt);
    if (e) this.statusEl.textContent = summary(e);
    this.onSelect(this.selected);
    this.invalidate();
  }

  scrollTo(addr) {
    if (!this.geometry || this.view.auto) return;
    const g = this.geometry;
    const { y } = locate(g, addr);
    if (y < BAR || y > g.height - PITCH) this.view.scrollY = Math.max(0, y + g.scrollY - g.height / 3);
  }

  zoom(factor, x, y) {
    const g = this.geometry;
    if (!g) return;
    const at = this.selected >= 0 && x === undefined ? locate(g, this.selectedAt) : null;
    const z = zoomAt(g, x ?? at?.x ?? g.width / 2, y ?? (at ? at.y + BAR / 2 : g.height / 2), factor);
    Object.assign(this.view, { auto: false, rowUnits: z.rowUnits, scrollY: z.scrollY });
    this.invalidate();
  }

  fit() {
    this.view.auto = true;
    this.invalidate();
  }

  setCompress(on) {
    this.view.compress = on;
    this.invalidate();
  }

  /** Client coordinates of the middle of the entry at `addr`, scrolled into view (tests). */
  async locateAddress(addr) {
    const i = entryAt(this.snap, addr);
    if (i < 0) return null;
    this.view.auto = false;
    this.scrollTo(entryStart(this.snap.entries[i]));
    await this.nextFrame();
    const g = this.geometry;
    const e = this.snap.entries[i];
    const a = locate(g, entryStart(e));
    const b = locate(g, entryStart(e) + e.size - 1);
    const r = this.mapEl.getBoundingClientRect();
    const x = a.row === b.row ? (a.x + b.x) / 2 : a.x + 2;
    return { x: r.left + x, y: r.top + a.y + BAR / 2, index: i };
  }

  #point(ev) {
    const r = this.mapEl.getBoundingClientRect();
    return [ev.clientX - r.left, ev.clientY - r.top];
  }

  #wire() {
    const mapEl = this.mapEl;
    let drag = null;
    mapEl.addEventListener('pointerdown', (ev) => {
      const [x, y] = this.#point(ev);
      drag = { x, y, scrollY: this.view.scrollY, moved: false };
      mapEl.setPointerCapture?.(ev.pointerId);
    });
    mapEl.addEventListener('pointermove', (ev) => {
      const [x, y] = this.#point(ev);
      if (drag && ev.buttons) {
        if (Math.abs(y - drag.y) > 4) drag.moved = true;
        if (drag.moved && this.geometry) {
          this.view.auto = false;
          this.view.scrollY = clampScroll(this.geometry, drag.scrollY - (y - drag.y));
          this.invalidate();
        }
        return;
      }
      if (!this.geometry || !this.snap) return;
      const i = hitTest(this.snap, this.geometry, x, y);
      if (i !== this.hover) {
        this.hover = i;
        this.statusEl.textContent = i >= 0 ? summary(this.snap.entries[i]) : '';
        mapEl.style.cursor = i >= 0 ? 'pointer' : 'crosshair';
        this.invalidate();
      }
    });
    mapEl.addEventListener('pointerup', (ev) => {
      const [x, y] = this.#point(ev);
      const wasDrag = drag?.moved;
      drag = null;
      if (wasDrag || !this.geometry) return;
      const i = hitTest(this.snap, this.geometry, x, y);
      if (i >= 0) this.select(i, { scroll: false });
      mapEl.focus();
    });
    mapEl.addEventListener('pointerleave', () => {
      if (this.hover !== -1) {
        this.hover = -1;
        this.invalidate();
      }
    });
    mapEl.addEventListener('wheel', (ev) => {
      ev.preventDefault();
      const [x, y] = this.#point(ev);
      if (ev.ctrlKey || ev.metaKey) this.zoom(ev.deltaY > 0 ? 2 : 0.5, x, y);
      else if (this.geometry) {
        this.view.auto = false;
        this.view.scrollY = clampScroll(this.geometry, this.view.scrollY + ev.deltaY);
        this.invalidate();
      }
    }, { passive: false });
    mapEl.addEventListener('keydown', (ev) => {
      const g = this.geometry;
      const snap = this.snap;
      if (!g || !snap) return;
      const dirs = { ArrowLeft: 'left', ArrowRight: 'right', ArrowUp: 'up', ArrowDown: 'down' };
      let handled = true;
      if (dirs[ev.key]) {
        const i = neighbour(snap, g, this.selected, dirs[ev.key]);
        if (i >= 0) this.select(i);
      } else if (ev.key === 'Home') {
        if (snap.entries.length) this.select(0);
      } else if (ev.key === 'End') {
        if (snap.entries.length) this.select(snap.entries.length - 1);
      } else if (ev.key === '+' || ev.key === '=') {
        this.zoom(0.5);
      } else if (ev.key === '-') {
        this.zoom(2);
      } else if (ev.key === '0') {
        this.fit();
      } else if (ev.key === 'PageDown' || ev.key === 'PageUp') {
        this.view.auto = false;
        this.view.scrollY = clampScroll(g, this.view.scrollY + (ev.key === 'PageDown' ? 1 : -1) * (g.height - PITCH));
        this.invalidate();
      } else {
        handled = false;
      }
      if (handled) {
        ev.preventDefault();
        ev.stopPropagation();
      }
    });
  }
}
