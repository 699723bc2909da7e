// The side panels as DOM, from plain data: the named pointers, the step
// log, the stats table and the block details. Each fill* function replaces
// an element's children; statRows is the pure part (tested in Node). The
// page (app.mjs) decides when to call them.

import { formatBytes, hex } from './heap-layout.mjs';

const el = (tag, props = {}, ...children) => {
  const e = document.createElement(tag);
  Object.assign(e, props);
  e.append(...children);
  return e;
};

const plural = (n, one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** The stats table's rows: [label, text, key, value]. */
export function statRows(snap) {
  const s = snap.stats;
  return [
    ['memory', `${plural(snap.pages, 'page')} · ${formatBytes(snap.memoryBytes)}`, 'memoryBytes', snap.memoryBytes],
    ['heap', `${formatBytes(s.heapBytes)} (${s.heapBytes} B)`, 'heapBytes', s.heapBytes],
    ['in use', `${s.usedBytes} B in ${s.usedBlocks}`, 'usedBytes', s.usedBytes],
    ...freeRows(snap),
    ['overhead', `${s.overheadBytes} B`, 'overheadBytes', s.overheadBytes],
    ['fragmentation', `${(s.fragmentation * 100).toFixed(1)} %`, 'fragmentation', s.fragmentation],
    ...growRows(snap),
    ['slabs · spans', `${s.slabs} · ${s.spans}`, 'slabs', s.slabs],
    ['leaked', `${plural(snap.leaks.count, 'block')}, ${snap.leaks.bytes} B`, 'leaks', snap.leaks.count],
    ['heap check', snap.check ? `${snap.check} broken invariants` : '0 problems', 'check', snap.check],
    ['stack touched', `${snap.stackUsed} B of ${formatBytes(snap.place.stackTop - snap.place.stackBase)}`, 'stackUsed', snap.stackUsed],
    // Created heaps, arenas and the page pool, when there are any.
    ...(snap.heaps ?? []).map((h) => [
      `heap ${h.name}`, `${formatBytes(h.bytes)} fixed · ${h.stats.usedBytes} B in ${h.stats.usedBlocks} · ${h.stats.freeBytes} B free`,
      `heap:${h.name}`, h.stats.usedBytes,
    ]),
    ...(snap.arenas ?? []).map((a) => [
      `arena ${a.name}`, `${plural(a.pages, 'page')} · ${formatBytes(a.used)} used · peak ${formatBytes(a.peak)}`,
      `arena:${a.name}`, a.held,
    ]),
    ...(snap.pool?.length ? [(() => {
      const bytes = snap.pool.reduce((n, r) => n + r.end - r.start, 0);
      return ['page pool', `${bytes / 65536} page${bytes === 65536 ? '' : 's'} to reuse`, 'pool', bytes];
    })()] : []),
  ];
}

// Free memory as lm_stats counts it: free blocks (headers included) and
// the free objects of slabs, each part with its own count; the largest
// free block is a block's size (objects are never larger than 256 B).
function freeRows(snap) {
  const s = snap.stats;
  let objects = 0;
  let objectBytes = 0;
  for (const e of snap.entries) {
    if (e.kind === 'object' && !e.used && e.heapName === undefined) {
      objects++;
      objectBytes += e.size;
    }
  }
  const blockBytes = s.freeBytes - objectBytes;
  return [
    ['free (blocks + objects)', `${s.freeBytes} B`, 'freeBytes', s.freeBytes],
    ['· in free blocks', `${blockBytes} B in ${plural(s.freeBlocks, 'block')}`, 'freeBlockBytes', blockBytes],
    ['· in free slab objects', `${objectBytes} B in ${plural(objects, 'object')}`, 'freeObjectBytes', objectBytes],
    ['largest free block', `${s.largestFree} B`, 'largestFree', s.largestFree],
  ];
}

// memory.grow: every grow the map marks (snap.grows: the default heap's,
// and those that took pages for arenas and heaps from lm_pool). The
// default heap's own count (lm_stats) gets a row of its own when the two
// differ; otherwise the one row is both.
function growRows(snap) {
  const s = snap.stats;
  const grows = snap.grows ?? [];
  const pages = grows.reduce((n, g) => n + g.newPages - g.oldPages, 0);
  const heapRow = (label) => [label, `${s.growCount} (${plural(s.pagesGrown, 'page')})`, 'growCount', s.growCount];
  if (grows.length === s.growCount && pages === s.pagesGrown) return [heapRow('memory.grow')];
  return [
    ['memory.grow (all)', `${grows.length} (${plural(pages, 'page')})`, 'memoryGrows', grows.length],
    heapRow('· by the default heap'),
  ];
}

export function fillStats(tableEl, snap) {
  tableEl.replaceChildren(...statRows(snap).map(([label, text, key, value]) => {
    const td = el('td', { textContent: text });
    td.dataset.stat = key;
    td.dataset.value = String(value);
    return el('tr', {}, el('th', { scope: 'row', textContent: label }), td);
  }));
}

/** The named pointers, each a button; `pick(target, addr)` selects one,
 * `pickEntry(i)` the first leaked block. */
export function fillPointers(listEl, snap, { pick, pickEntry }) {
  const items = [];
  if (!snap.vars.length && !snap.handles?.length) {
    items.push(el('li', { className: 'muted', textContent: 'none yet: every allocation is stored in a named pointer' }));
  }
  for (const v of snap.vars) {
    const array = v.kind === 'array';
    const name = el('span', { textContent: array ? `${v.name}[${v.count}] → ${hex(v.first)}…` : `${v.name} = ${v.addr ? hex(v.addr) : 'NULL'}` });
    const badge = el('span', { className: `state ${array ? 'live' : v.state}`, textContent: array ? `${v.live} live` : v.state });
    const b = el('button', { type: 'button' }, name, badge);
    b.dataset.name = v.name;
    b.setAttribute('aria-label', `${name.textContent}, ${badge.textContent}`);
    b.addEventListener('click', () => pick(array ? { ref: v.name, index: 0 } : { ref: v.name }, array ? v.first : v.addr));
    items.push(el('li', {}, b));
  }
  // Heap and arena handles (lm_heap_t *, lm_arena_t *): pick selects the
  // region's first entry.
  for (const hd of snap.handles ?? []) {
    const name = el('span', { textContent: `${hd.name} = ${hex(hd.addr)} (${hd.kind})` });
    const badge = el('span', { className: `state ${hd.alive ? hd.kind : 'dangling'}`, textContent: hd.alive ? hd.kind : 'destroyed' });
    const b = el('button', { type: 'button', title: hd.title }, name, badge);
    b.dataset.handle = hd.name;
    b.setAttribute('aria-label', `${hd.title}${hd.alive ? '' : ', destroyed'}`);
    const region = hd.kind === 'arena' ? snap.arenas?.find((a) => a.name === hd.name)?.chunks[0]?.start : snap.heaps?.find((h) => h.name === hd.name)?.buffer;
    b.disabled = region === undefined;
    b.addEventListener('click', () => pick(null, region, hd));
    items.push(el('li', {}, b));
  }
  if (snap.leaks.count) {
    const leaked = snap.entries.find((e) => e.leaked);
    const text = `unreachable: ${plural(snap.leaks.count, 'block')}, ${formatBytes(snap.leaks.bytes)}`;
    const b = el('button', { type: 'button' }, el('span', { textContent: text }), el('span', { className: 'state leak', textContent: 'leaked' }));
    b.addEventListener('click', () => pickEntry(leaked.index));
    items.push(el('li', {}, b));
  }
  listEl.replaceChildren(...items);
}

/** The step log (the last 200 steps), undone steps struck through. */
export function fillLog(listEl, log) {
  const from = Math.max(0, log.length - 200);
  if (from) listEl.start = from + 1;
  else listEl.removeAttribute('start');
  listEl.replaceChildren(...log.slice(from).map((l) => {
    const li = el('li', { className: `${l.kind}${l.undone ? ' undone' : ''}`, title: l.text }, el('code', { textContent: l.code || '(note)' }));
    if (l.kind === 'error' || l.kind === 'leak') li.append(el('span', { className: 'kind', textContent: l.kind === 'leak' ? 'leak' : 'refused' }));
    return li;
  }));
  listEl.scrollTop = listEl.scrollHeight;
}

/** Block details (details.mjs describeEntry), or a hint when none is selected. */
export function fillDetails(boxEl, d) {
  if (!d) {
    boxEl.replaceChildren(el('p', { className: 'muted', textContent: 'Click a block in the map (or focus the map and use the arrow keys).' }));
    return;
  }
  const dl = el('dl');
  for (const [k, v] of d.rows) {
    const dd = el('dd', { textContent: v });
    dd.dataset.field = k;
    dl.append(el('dt', { textContent: k }), dd);
  }
  const pre = el('pre', { textContent: d.hex.join('\n') });
  pre.setAttribute('aria-label', 'hex dump of the first bytes');
  boxEl.replaceChildren(el('h3', { textContent: d.title }), dl, ...(d.note ? [el('p', { className: 'note', textContent: d.note })] : []), pre);
}
