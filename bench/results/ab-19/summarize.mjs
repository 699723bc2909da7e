// node bench/results/ab-19/summarize.mjs FILE BASE: per trace and build, the median ns/op, the median over rounds of BASE ns / build ns in the same round (> 1: the build is faster), rounds won, median heap pages; then geometric means.
import { readFileSync } from 'node:fs';
import { geomean, median, pairedRounds } from '../../tables.mjs';

const [file, base] = process.argv.slice(2);
const rows = readFileSync(file, 'utf8').trim().split('\n').map((l) => l.split(' '));
// trace -> build -> { ns_by_rep: {round: ns}, pages: {round: pages} }, as run.mjs keeps them.
const by = new Map();
for (const [t, i, b, ns, pg] of rows) {
  if (!by.has(t)) by.set(t, new Map());
  const m = by.get(t);
  if (!m.has(b)) m.set(b, { ns_by_rep: {}, pages: {} });
  m.get(b).ns_by_rep[i] = +ns;
  m.get(b).pages[i] = +pg;
}
const speedups = new Map();
for (const [t, m] of by) {
  const B = m.get(base);
  for (const [b, r] of m) {
    const paired = pairedRounds(B, r);
    const won = paired.reps.filter((k) => B.ns_by_rep[k] > r.ns_by_rep[k]).length;
    if (!speedups.has(b)) speedups.set(b, []);
    speedups.get(b).push(paired.ratio);
    console.log(t.padEnd(14), b.padEnd(18), median(Object.values(r.ns_by_rep)).toFixed(2).padStart(7), 'speedup',
      paired.ratio.toFixed(3), `won ${won}/${paired.reps.length}`, 'pages', median(Object.values(r.pages)));
  }
}
for (const [b, a] of speedups) console.log('geomean', b.padEnd(18), geomean(a).toFixed(3));
