// node bench/results/ab-19/summarize.mjs FILE BASE: per trace and build, the median ns/op, the median over rounds of BASE ns / build ns in the same round (> 1: the build is faster), rounds won, median heap pages; then geometric means.
import { readFileSync } from 'node:fs';
const [file, base] = process.argv.slice(2);
const rows = readFileSync(file, 'utf8').trim().split('\n').map((l) => l.split(' '));
const med = (a) => { a = [...a].sort((x, y) => x - y); const n = a.length; return n % 2 ? a[n >> 1] : (a[n / 2 - 1] + a[n / 2]) / 2; };
const by = new Map();
for (const [t, i, b, ns, pg] of rows) {
  if (!by.has(t)) by.set(t, new Map());
  const m = by.get(t); if (!m.has(b)) m.set(b, new Map());
  m.get(b).set(i, { ns: +ns, pg: +pg });
}
const gm = new Map();
for (const [t, m] of by) {
  const B = m.get(base);
  for (const [b, r] of m) {
    const sp = [...r].filter(([i]) => B.has(i)).map(([i, v]) => B.get(i).ns / v.ns);
    const won = sp.filter((x) => x > 1).length;
    const s = med(sp); if (!gm.has(b)) gm.set(b, []); gm.get(b).push(s);
    console.log(t.padEnd(14), b.padEnd(18), med([...r.values()].map((v) => v.ns)).toFixed(2).padStart(7), 'speedup', s.toFixed(3), `won ${won}/${sp.length}`, 'pages', med([...r.values()].map((v) => v.pg)));
  }
}
for (const [b, a] of gm) console.log('geomean', b.padEnd(18), Math.exp(a.reduce((s, x) => s + Math.log(x), 0) / a.length).toFixed(3));
