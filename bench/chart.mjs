// The benchmark chart: bench/results/latest.json -> an SVG the README shows.
//
//   node bench/chart.mjs [results.json] [out.svg]
//     (defaults: bench/results/latest.json, bench/results/latest.svg)
//
// Two panels over the program traces: speed relative to dlmalloc of the same
// toolchain (by round: the median over the rounds of dlmalloc's time
// divided by the allocator's in the same round, tables.mjs addRatios; for
// results without rounds, the ratio of the medians; right of 1 is faster),
// and heap pages relative to dlmalloc (left of 1 is smaller). Each
// bar is labelled with its value, and the builds differ by fill pattern as
// well as colour, so the chart reads without colour.
//
// chartSvg(results) is pure (results: the "results" array of latest.json)
// and is unit-tested in tests/js/bench-chart.test.mjs.

import { readFileSync, writeFileSync } from 'node:fs';

import { isMain } from '../scripts/is-main.mjs';

// Builds shown, in order; dlmalloc is the 1.0 line itself.
export const SERIES = [
  { build: 'wasi/lmalloc', label: 'lmalloc (wasi)', colour: '#1b6ac9', pattern: 'solid' },
  { build: 'emscripten/lmalloc', label: 'lmalloc (emcc)', colour: '#6aa7ec', pattern: 'hatch' },
  { build: 'emscripten/emmalloc', label: 'emmalloc (emcc)', colour: '#d9822b', pattern: 'dots' },
];

const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c]));

// One horizontal bar panel. rows: [{trace, values: [number|null per series]}].
function panel({ title, rows, x0, y0, width, maxValue, barH, gap }) {
  const out = [];
  const labelW = 110;
  const plotW = width - labelW - 50;
  const scale = (v) => (v / maxValue) * plotW;
  out.push(`<text x="${x0}" y="${y0 - 10}" class="title">${esc(title)}</text>`);
  let y = y0;
  for (const row of rows) {
    out.push(`<text x="${x0}" y="${y + (SERIES.length * barH) / 2 + 4}" class="trace">${esc(row.trace)}</text>`);
    row.values.forEach((v, i) => {
      const s = SERIES[i];
      if (v == null) return;
      const w = Math.max(1, scale(v));
      out.push(`<rect x="${x0 + labelW}" y="${y + i * barH}" width="${w.toFixed(1)}" height="${barH - 2}" fill="url(#p-${s.pattern})" stroke="${s.colour}"><title>${esc(s.label)} ${esc(row.trace)}: ${v.toFixed(2)}</title></rect>`);
      out.push(`<text x="${x0 + labelW + w + 4}" y="${y + i * barH + barH - 4}" class="value">${v.toFixed(2)}x</text>`);
    });
    y += SERIES.length * barH + gap;
  }
  const one = x0 + labelW + scale(1);
  out.push(`<line x1="${one}" y1="${y0 - 4}" x2="${one}" y2="${y - gap + 4}" class="one"/>`);
  out.push(`<text x="${one}" y="${y - gap + 16}" class="axis">dlmalloc = 1</text>`);
  return { svg: out.join('\n'), bottom: y - gap + 20 };
}

const speedOf = (r) => r?.speedup_round ?? r?.speedup ?? null;

export function chartSvg(results) {
  const programs = results.filter((r) => r.kind === 'program');
  const traces = [...new Set(programs.map((r) => r.trace))].sort();
  const find = (trace, build) => programs.find((r) => r.trace === trace && r.build === build);
  const speedRows = traces.map((trace) => ({ trace, values: SERIES.map((s) => speedOf(find(trace, s.build))) }));
  const heapRows = traces.map((trace) => ({ trace, values: SERIES.map((s) => find(trace, s.build)?.heap_ratio ?? null) }));
  const all = [...speedRows, ...heapRows].flatMap((r) => r.values).filter((v) => v != null);
  const maxValue = Math.max(1.5, ...all) * 1.05;
  const width = 900;
  const barH = 14;
  const gap = 10;
  const speed = panel({ title: 'Speed vs dlmalloc of the same toolchain, by round (higher is faster)', rows: speedRows, x0: 20, y0: 70, width: width / 2, maxValue, barH, gap });
  const heap = panel({ title: 'Heap pages vs dlmalloc (lower is smaller)', rows: heapRows, x0: 20 + width / 2, y0: 70, width: width / 2, maxValue, barH, gap });
  const height = Math.max(speed.bottom, heap.bottom) + 10;
  const legend = SERIES.map((s, i) => `<rect x="${20 + i * 190}" y="22" width="28" height="12" fill="url(#p-${s.pattern})" stroke="${s.colour}"/><text x="${54 + i * 190}" y="33" class="legend">${esc(s.label)}</text>`).join('\n');
  const defs = SERIES.map((s) => {
    if (s.pattern === 'solid') return `<pattern id="p-solid" width="4" height="4" patternUnits="userSpaceOnUse"><rect width="4" height="4" fill="${s.colour}"/></pattern>`;
    if (s.pattern === 'hatch') return `<pattern id="p-hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#fff"/><rect width="3" height="6" fill="${s.colour}"/></pattern>`;
    return `<pattern id="p-dots" width="6" height="6" patternUnits="userSpaceOnUse"><rect width="6" height="6" fill="#fff"/><circle cx="3" cy="3" r="1.8" fill="${s.colour}"/></pattern>`;
  }).join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">
<defs>${defs}</defs>
<style>.title{font-size:13px;font-weight:bold}.trace{font-size:12px}.value{font-size:10px}.legend{font-size:12px}.axis{font-size:10px;text-anchor:middle}.one{stroke:#333;stroke-dasharray:4 3}</style>
<rect width="100%" height="100%" fill="#fff"/>
${legend}
${speed.svg}
${heap.svg}
</svg>
`;
}

if (isMain(import.meta.url)) {
  const input = process.argv[2] ?? new URL('./results/latest.json', import.meta.url);
  const output = process.argv[3] ?? new URL('./results/latest.svg', import.meta.url);
  const { results } = JSON.parse(readFileSync(input, 'utf8'));
  writeFileSync(output, chartSvg(results));
}
