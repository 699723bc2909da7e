// The thin layer between drawing instructions (render.mjs, index-view.mjs,
// chart.mjs) and a 2D canvas: it knows colours, patterns and fonts, and no
// heap. Patterns are small tiles made once per context; a style's pattern
// is drawn over its fill in dark ink, or light ink on dark fills, so the
// kinds of bytes differ by texture as well as colour.

import { INK, STYLES } from './styles.mjs';

const FONT = '12px system-ui, -apple-system, "Segoe UI", sans-serif';
const SMALL = '10.5px system-ui, -apple-system, "Segoe UI", sans-serif';

function tile(doc, size, paint) {
  const c = doc.createElement('canvas');
  c.width = c.height = size;
  paint(c.getContext('2d'), size);
  return c;
}

const PAINTERS = {
  hatch: [8, (g, n) => { g.lineWidth = 1.2; g.beginPath(); g.moveTo(0, n); g.lineTo(n, 0); g.moveTo(-1, 1); g.lineTo(1, -1); g.moveTo(n - 1, n + 1); g.lineTo(n + 1, n - 1); g.stroke(); }],
  'hatch-wide': [14, (g, n) => { g.lineWidth = 1; g.beginPath(); g.moveTo(0, n); g.lineTo(n, 0); g.stroke(); }],
  'diag-dense': [5, (g, n) => { g.lineWidth = 1; g.beginPath(); g.moveTo(0, 0); g.lineTo(n, n); g.stroke(); }],
  dots: [6, (g) => { g.beginPath(); g.arc(3, 3, 1.1, 0, Math.PI * 2); g.fill(); }],
  sparse: [10, (g) => { g.fillRect(4, 4, 1.5, 1.5); }],
  cross: [7, (g, n) => { g.lineWidth = 1.3; g.beginPath(); g.moveTo(0, 0); g.lineTo(n, n); g.moveTo(n, 0); g.lineTo(0, n); g.stroke(); }],
  vlines: [4, (g, n) => { g.fillRect(0, 0, 1, n); }],
  hlines: [5, (g, n) => { g.fillRect(0, 0, n, 1); }],
  checks: [6, (g) => { g.fillRect(0, 0, 3, 3); g.fillRect(3, 3, 3, 3); }],
  grid: [6, (g, n) => { g.fillRect(0, 0, n, 1); g.fillRect(0, 0, 1, n); }],
  bricks: [10, (g, n) => { g.fillRect(0, 0, n, 1); g.fillRect(0, 5, n, 1); g.fillRect(0, 0, 1, 5); g.fillRect(5, 5, 1, 5); }],
};

/** Canvas patterns for a context: { 'hatch:dark': CanvasPattern, ... }. */
export function makePatterns(ctx) {
  const doc = ctx.canvas.ownerDocument ?? globalThis.document;
  const out = {};
  for (const [name, [size, paint]] of Object.entries(PAINTERS)) {
    for (const ink of ['dark', 'light']) {
      const c = tile(doc, size, (g, n) => {
        g.strokeStyle = g.fillStyle = ink === 'dark' ? 'rgba(0,0,0,0.38)' : 'rgba(255,255,255,0.6)';
        paint(g, n);
      });
      out[`${name}:${ink}`] = ctx.createPattern(c, 'repeat');
    }
  }
  return out;
}

function fillStyled(ctx, patterns, styleName, x, y, w, h) {
  const s = STYLES[styleName] ?? STYLES.unused;
  ctx.fillStyle = s.fill;
  ctx.fillRect(x, y, w, h);
  if (s.pattern && w >= 2) {
    ctx.fillStyle = patterns[`${s.pattern}:${s.text ? 'light' : 'dark'}`];
    ctx.fillRect(x, y, w, h);
  }
}

function fitText(ctx, text, maxWidth) {
  if (!maxWidth || ctx.measureText(text).width <= maxWidth) return text;
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (ctx.measureText(`${text.slice(0, mid)}…`).width <= maxWidth) lo = mid;
    else hi = mid - 1;
  }
  return lo ? `${text.slice(0, lo)}…` : '';
}

const LINES = {
  page: { color: INK.page, width: 1, dash: [] },
  grow: { color: INK.grow, width: 2.5, dash: [5, 3] },
  end: { color: '#000', width: 2, dash: [] },
  axis: { color: '#9a9a9a', width: 1, dash: [] },
  cursor: { color: '#000', width: 2, dash: [] },
  mark: { color: '#CC79A7', width: 2, dash: [3, 2] },
  growThin: { color: INK.grow, width: 1.5, dash: [] },
};

// Outlines of a comparison of two steps (replay-view.mjs diffOverlays):
// each differs by dash pattern as well as colour.
const DIFF_OUTLINES = {
  appeared: { color: '#009E73', width: 2.5, dash: [] },
  moved: { color: '#E69F00', width: 2.5, dash: [6, 2] },
  movedFrom: { color: '#E69F00', width: 1.5, dash: [1, 2] },
  resized: { color: '#0072B2', width: 2.5, dash: [4, 2, 1, 2] },
  freed: { color: '#D55E00', width: 2, dash: [2, 2] },
};

/** Paints instructions on ctx (already scaled for devicePixelRatio). */
export function draw(ctx, instructions, patterns) {
  ctx.textBaseline = 'middle';
  for (const d of instructions) {
    switch (d.kind) {
      case 'rect':
        fillStyled(ctx, patterns, d.style, d.x, d.y, d.w, d.h);
        break;
      case 'fill':
        ctx.fillStyle = d.color;
        ctx.fillRect(d.x, d.y, d.w, d.h);
        break;
      case 'cell':
        if (d.on && d.style) fillStyled(ctx, patterns, d.style, d.x, d.y, d.w, d.h);
        else {
          ctx.fillStyle = d.on ? '#1a1a1a' : '#ffffff';
          ctx.fillRect(d.x, d.y, d.w, d.h);
        }
        ctx.strokeStyle = INK.grid;
        ctx.lineWidth = 1;
        ctx.setLineDash([]);
        ctx.strokeRect(d.x + 0.5, d.y + 0.5, d.w - 1, d.h - 1);
        if (d.text) {
          ctx.font = SMALL;
          ctx.textAlign = 'center';
          ctx.fillStyle = d.on && !d.style ? '#fff' : INK.text;
          if (d.on && d.style) {
            ctx.fillStyle = 'rgba(255,255,255,0.85)';
            ctx.fillRect(d.x + 1, d.y + 2, d.w - 2, d.h - 4);
            ctx.fillStyle = INK.text;
          }
          ctx.fillText(d.text, d.x + d.w / 2, d.y + d.h / 2 + 0.5);
        }
        break;
      case 'slabbox': {
        ctx.fillStyle = '#fff';
        ctx.fillRect(d.x, d.y, d.w, d.h);
        const f = d.capacity ? d.used / d.capacity : 0;
        fillStyled(ctx, patterns, 'object', d.x, d.y, d.w * f, d.h);
        ctx.strokeStyle = d.listed ? '#1a1a1a' : '#8a8a8a';
        ctx.setLineDash(d.listed ? [] : [2, 2]);
        ctx.lineWidth = 1;
        ctx.strokeRect(d.x + 0.5, d.y + 0.5, d.w - 1, d.h - 1);
        ctx.setLineDash([]);
        break;
      }
      case 'line': {
        const l = LINES[d.line] ?? LINES.page;
        ctx.strokeStyle = l.color;
        ctx.lineWidth = l.width;
        ctx.setLineDash(l.dash);
        ctx.beginPath();
        ctx.moveTo(Math.round(d.x1) + 0.5, d.y1);
        ctx.lineTo(Math.round(d.x2) + 0.5, d.y2);
        ctx.stroke();
        ctx.setLineDash([]);
        break;
      }
      case 'path': {
        ctx.strokeStyle = d.color;
        ctx.lineWidth = d.width ?? 1.5;
        ctx.setLineDash(d.dash ?? []);
        ctx.beginPath();
        d.points.forEach(([x, y], i) => (i ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
        ctx.stroke();
        ctx.setLineDash([]);
        break;
      }
      case 'text':
        ctx.font = d.small ? SMALL : FONT;
        ctx.textAlign = d.align ?? 'left';
        ctx.fillStyle = d.style === 'grow' ? INK.grow : d.style === 'muted' ? INK.muted : INK.text;
        ctx.fillText(d.text, d.x, d.y);
        break;
      case 'label': {
        ctx.font = FONT;
        ctx.textAlign = 'left';
        const text = fitText(ctx, d.text, d.maxWidth - 6);
        if (!text) break;
        const w = ctx.measureText(text).width;
        // A region's tag (created heap, arena): white on the region's colour.
        ctx.fillStyle = d.tag ? INK[d.tag] : 'rgba(255,255,255,0.88)';
        ctx.fillRect(d.x, d.y - 8, w + 6, 16);
        ctx.fillStyle = d.tag ? '#fff' : INK.text;
        ctx.fillText(text, d.x + 3, d.y + 0.5);
        break;
      }
      case 'break': {
        // A zigzag across a compressed stretch.
        ctx.lineWidth = 4;
        ctx.strokeStyle = '#fff';
        for (const pass of [0, 1]) {
          ctx.beginPath();
          for (let k = 0; k <= 4; k++) {
            const x = d.x + (k % 2 ? 4 : -4);
            const y = d.y + (k / 4) * d.h;
            k ? ctx.lineTo(x, y) : ctx.moveTo(x, y);
          }
          ctx.stroke();
          ctx.lineWidth = 1.5;
          ctx.strokeStyle = '#1a1a1a';
          if (pass) break;
        }
        break;
      }
      case 'outline': {
        const { x, y, w, h } = d;
        const diff = DIFF_OUTLINES[d.outline];
        if (diff) {
          ctx.lineWidth = diff.width;
          ctx.strokeStyle = diff.color;
          ctx.setLineDash(diff.dash);
          ctx.strokeRect(x - 1, y - 1, w + 2, h + 2);
          ctx.setLineDash([]);
        } else if (d.outline === 'selected') {
          ctx.setLineDash([]);
          ctx.lineWidth = 3;
          ctx.strokeStyle = INK.select;
          ctx.strokeRect(x - 1.5, y - 1.5, w + 3, h + 3);
          ctx.lineWidth = 1;
          ctx.strokeStyle = '#fff';
          ctx.strokeRect(x + 0.5, y + 0.5, Math.max(1, w - 1), h - 1);
        } else if (d.outline === 'arena' || d.outline === 'heap') {
          // The frame around a created heap or an arena chunk.
          ctx.setLineDash([]);
          ctx.lineWidth = 2;
          ctx.strokeStyle = INK[d.outline];
          ctx.strokeRect(x - 2, y - 2, w + 4, h + 4);
        } else if (d.outline === 'highlight') {
          ctx.lineWidth = 3;
          ctx.strokeStyle = INK.highlight;
          ctx.setLineDash([4, 2]);
          ctx.strokeRect(x - 1.5, y - 1.5, w + 3, h + 3);
          ctx.setLineDash([]);
        } else {
          ctx.lineWidth = 1.5;
          ctx.strokeStyle = INK.select;
          ctx.setLineDash([3, 2]);
          ctx.strokeRect(x - 1, y - 1, w + 2, h + 2);
          ctx.setLineDash([]);
        }
        break;
      }
      default:
        break;
    }
  }
}

/** A legend swatch for a style, painted on a small canvas. */
export function paintSwatch(canvas, styleName) {
  const ctx = canvas.getContext('2d');
  const patterns = makePatterns(ctx);
  fillStyled(ctx, patterns, styleName, 0, 0, canvas.width, canvas.height);
  ctx.strokeStyle = '#8a8a8a';
  ctx.strokeRect(0.5, 0.5, canvas.width - 1, canvas.height - 1);
}
