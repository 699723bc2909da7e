// The benchmark chart (bench/chart.mjs) is a pure function of the results.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { SERIES, chartSvg } from '../../bench/chart.mjs';

const row = (trace, build, speedup, heap_ratio) => ({ trace, build, kind: 'program', speedup, heap_ratio });

test('one bar per trace and build in each panel, each labelled with its value', () => {
  const results = [
    row('sqlite', 'wasi/lmalloc', 0.89, 1.0),
    row('sqlite', 'emscripten/lmalloc', 0.9, 1.01),
    row('sqlite', 'emscripten/emmalloc', 0.84, 1.0),
    row('lua', 'wasi/lmalloc', 1.32, 0.9),
    row('lua', 'wasi/dlmalloc', 1, 1), // the baseline is the 1.0 line, not a bar
    row('syn-small', 'wasi/lmalloc', 5, 5), // synthetic: not drawn
  ];
  results[5].kind = 'synthetic';
  const svg = chartSvg(results);
  // A bar is a rect with a tooltip; sqlite has 3 builds, lua 1, in 2 panels.
  assert.equal((svg.match(/<\/title><\/rect>/g) || []).length, 2 * 4);
  for (const v of ['0.89x', '0.90x', '0.84x', '1.32x', '1.01x']) assert.ok(svg.includes(`>${v}<`), v);
  assert.ok(!svg.includes('5.00x'), 'synthetic workloads are not drawn');
  assert.ok(svg.includes('>lua<') && svg.includes('>sqlite<'));
  assert.equal((svg.match(/dlmalloc = 1/g) || []).length, 2);
});

test('speed bars show the median of the rounds\' ratios where the rounds were paired', () => {
  const results = [{ ...row('sqlite', 'emscripten/lmalloc', 1.28, 1), speedup_round: 1.05 }];
  const svg = chartSvg(results);
  assert.ok(svg.includes('>1.05x<') && !svg.includes('>1.28x<'));
});

test('every series has its own pattern, so the chart reads without colour', () => {
  const patterns = new Set(SERIES.map((s) => s.pattern));
  assert.equal(patterns.size, SERIES.length);
  const svg = chartSvg([]);
  for (const p of patterns) assert.ok(svg.includes(`id="p-${p}"`), p);
});

test('titles and trace names are escaped', () => {
  const svg = chartSvg([row('a<b&c', 'wasi/lmalloc', 1.1, 1)]);
  assert.ok(svg.includes('a&lt;b&amp;c') && !svg.includes('a<b&c'));
});
