// The stats chart over the steps, as a pure layout: one polyline per series
// (memory size, heap bytes, in use, free, overhead against the left axis in
// bytes; external fragmentation against the right axis in percent), each
// with its own colour and dash pattern so no two differ by colour alone,
// and a dashed vertical line at each step that grew memory (one per pixel
// at most). The replay page passes its own series (REPLAY_SERIES: the
// trace's live bytes too), the whole trace as the domain, and a cursor at
// the current step.

import { formatBytes } from './heap-layout.mjs';

export const SERIES = [
  { key: 'memoryBytes', label: 'memory', color: '#1a1a1a', dash: [], width: 2 },
  { key: 'heapBytes', label: 'heap', color: '#56B4E9', dash: [6, 3], width: 2 },
  { key: 'usedBytes', label: 'in use', color: '#0072B2', dash: [], width: 2.5 },
  { key: 'freeBytes', label: 'free', color: '#009E73', dash: [2, 3], width: 2 },
  { key: 'overheadBytes', label: 'overhead', color: '#CC79A7', dash: [8, 3, 2, 3], width: 2 },
  { key: 'fragmentation', label: 'fragmentation %', color: '#D55E00', dash: [1, 2], width: 2, percent: true },
  // Arenas (only in sessions that made one: the history lacks these keys
  // otherwise, and the chart skips a series no sample has).
  { key: 'arenaHeldBytes', label: 'arena pages', color: '#E69F00', dash: [], width: 3 },
  { key: 'arenaUsedBytes', label: 'arena used', color: '#E69F00', dash: [5, 2], width: 2 },
];

/** The replay's series: stats are sampled less often than memory and the
 * trace's live bytes, so each series draws the samples that have it. */
export const REPLAY_SERIES = [
  SERIES[0],
  SERIES[1],
  SERIES[2],
  { key: 'liveBytes', label: 'live (requested)', color: '#E69F00', dash: [4, 2], width: 2 },
  SERIES[3],
  SERIES[5],
];

const PAD = { left: 52, right: 40, top: 8, bottom: 18 };

/**
 * @param history [{ step, memoryBytes, heapBytes, usedBytes, freeBytes,
 *                   overheadBytes, fragmentation (0..1) }]; a sample may
 *                   lack some keys (that series skips it)
 * @param options { width, height, grows: [{ step }], series (default
 *                  SERIES), domain: [first, last] step (default: the
 *                  history's), cursor: a step to mark }
 */
export function chartLayout(history, {
  width = 320, height = 150, grows = [], series = SERIES, domain, cursor,
} = {}) {
  const out = [];
  const x0 = PAD.left;
  const x1 = width - PAD.right;
  const y0 = height - PAD.bottom;
  const y1 = PAD.top;
  const last = domain ? domain[1] : history.length ? history[history.length - 1].step : 0;
  const first = domain ? domain[0] : history.length ? history[0].step : 0;
  const span = Math.max(1, last - first);
  let max = 1;
  for (const s of series) {
    if (s.percent) continue;
    for (const h of history) if (h[s.key] > max) max = h[s.key];
  }
  const xOf = (step) => x0 + ((step - first) / span) * (x1 - x0);
  const yOf = (v, percent) => y0 - (percent ? v : v / max) * (y0 - y1);

  out.push({ kind: 'line', x1: x0, y1: y0, x2: x1, y2: y0, line: 'axis' });
  out.push({ kind: 'line', x1: x0, y1: y0, x2: x0, y2: y1, line: 'axis' });
  out.push({ kind: 'line', x1: x1, y1: y0, x2: x1, y2: y1, line: 'axis' });
  out.push({ kind: 'text', x: x0 - 4, y: y1 + 4, text: formatBytes(max), align: 'right', style: 'muted', small: true });
  out.push({ kind: 'text', x: x0 - 4, y: y0, text: '0', align: 'right', style: 'muted', small: true });
  out.push({ kind: 'text', x: x1 + 4, y: y1 + 4, text: '100%', style: 'muted', small: true });
  out.push({ kind: 'text', x: x1 + 4, y: y0, text: '0%', style: 'muted', small: true });
  out.push({ kind: 'text', x: x0, y: y0 + 11, text: `step ${first}`, style: 'muted', small: true });
  out.push({ kind: 'text', x: x1, y: y0 + 11, text: `step ${last}`, style: 'muted', small: true, align: 'right' });

  let lastGrowX = -Infinity;
  for (const g of grows) {
    if (g.step < first || g.step > last) continue;
    const x = xOf(g.step);
    if (x - lastGrowX < 1) continue; // one line per pixel
    lastGrowX = x;
    out.push({ kind: 'line', x1: x, y1: y0, x2: x, y2: y1, line: 'grow' });
  }
  for (const s of series) {
    const points = [];
    for (const h of history) if (h[s.key] !== undefined) points.push([xOf(h.step), yOf(h[s.key], s.percent)]);
    if (!points.length) continue;
    if (points.length === 1) points.push([points[0][0] + 4, points[0][1]]);
    out.push({ kind: 'path', points, color: s.color, dash: s.dash, width: s.width, series: s.key });
  }
  if (cursor !== undefined) out.push({ kind: 'line', x1: xOf(cursor), y1: y0, x2: xOf(cursor), y2: y1, line: 'cursor' });
  return out;
}
